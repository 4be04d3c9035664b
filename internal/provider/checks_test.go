package provider

import (
	"context"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-testing/statecheck"
)

// ledgerCheck runs a check on the evidence ledger as a state check.
// terraform-plugin-testing's legacy Check functions shim state into a form
// that cannot hold for_each instances, so checks that are not about state
// use this instead.
type ledgerCheck func() error

func (c ledgerCheck) CheckState(_ context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = c()
}

// wrapped matches a message that terraform may have wrapped across lines:
// each space in the parts matches any run of whitespace, and the parts may
// be separated by anything.
func wrapped(parts ...string) *regexp.Regexp {
	quoted := make([]string, len(parts))
	for i, p := range parts {
		quoted[i] = strings.ReplaceAll(regexp.QuoteMeta(p), " ", `\s+`)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(quoted, ".*"))
}
