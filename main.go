// Command terraform-provider-sunset serves the sunset Terraform provider.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/sunset-iam/terraform-provider-sunset/internal/provider"
)

// version is set by the release build through -ldflags "-X main.version=...".
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	if !debug && !logsWanted(os.Environ()) {
		silenceLogs(os.Setenv)
	}
	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/sunset-iam/sunset",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}

// logsWanted reports whether anyone keeps the provider's logs. The plugin
// SDK logs every RPC at TRACE level to stderr unless told otherwise, and
// Terraform reads every line, parses it and throws it away unless a TF_LOG*
// variable (TF_LOG, TF_LOG_PROVIDER, …) asks for logs: at 1,000 resources
// that was about 6% of a plan's CPU time, provider and terraform together.
// Any TF_LOG* variable with a value counts as wanting logs.
func logsWanted(environ []string) bool {
	for _, kv := range environ {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "TF_LOG") && v != "" {
			return true
		}
	}
	return false
}

// silenceLogs turns off the SDK's logs (its subsystems, such as the
// framework's, follow it) and the provider's own, in this process only.
// Panics still reach Terraform: the Go runtime writes them to stderr itself.
func silenceLogs(setenv func(key, value string) error) {
	for _, k := range []string{"TF_LOG_SDK", "TF_LOG_PROVIDER"} {
		_ = setenv(k, "off")
	}
}
