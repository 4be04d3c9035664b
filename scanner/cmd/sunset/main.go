// Command sunset is the companion CLI of the sunset provider: drift scans,
// plan reviews and evidence checks.
package main

import (
	"fmt"
	"os"
)

// version is set by the release build through -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "version" || os.Args[1] == "--version") {
		fmt.Println("sunset", version)
		return
	}
	fmt.Fprintln(os.Stderr, "usage: sunset version")
	os.Exit(2)
}
