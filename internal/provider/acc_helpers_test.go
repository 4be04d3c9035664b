package provider

// Helpers the acceptance tests of every resource share: DESIGN.md's gated
// configuration, HCL quoting, and the checks that no secret reaches state,
// plans, logs or the ledger. One copy of each, so that a fix to a check
// reaches the tests of every resource.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
)

// gatedIdentities is DESIGN.md's gate: the "staff" roster (its body given)
// and one sunset_identity per identity in the roster's active set.
// Credential resources follow it with for_each = sunset_identity.staff, so
// that an identity that ends shows in the plan as their destroy.
func gatedIdentities(rosterBody string) string {
	return `
data "sunset_roster" "staff" {
` + rosterBody + `
}

resource "sunset_identity" "staff" {
  for_each  = data.sunset_roster.staff.active
  name      = each.key
  kind      = each.value.kind
  owner     = each.value.owner
  end_date  = each.value.end_date
  exception = each.value.exception
}
`
}

// inlineRoster is a roster body that declares identities inline, followed
// by extra roster arguments (such as allEnded).
func inlineRoster(identities, extra string) string {
	return fmt.Sprintf("  identities = {\n%s\n  }\n  %s", identities, extra)
}

// allEnded evaluates a roster far in the future: every identity has ended,
// so every for_each over the active set is empty. For_each tests end with
// it, because the test framework's post-test state shim cannot read
// for_each instances.
const allEnded = `as_of = "2099-01-01T00:00:00Z"`

// hclString quotes s as an HCL string literal, escaping template sequences,
// so that hostile names reach the provider as themselves.
func hclString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "${"):
			b.WriteString("$${")
			i += 2
			continue
		case strings.HasPrefix(s[i:], "%{"):
			b.WriteString("%%{")
			i += 2
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// readText is a file's content, "" when it cannot be read (the check that
// follows then fails on what is missing).
func readText(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// noSecretsIn fails when any secret, or its URL-escaped form, occurs in
// text. Terraform wraps long lines, so the text is searched with its
// whitespace removed too.
func noSecretsIn(what, text string, secrets ...string) error {
	text += "\n" + strings.Join(strings.Fields(text), "")
	for _, s := range secrets {
		for _, form := range []string{s, strings.ReplaceAll(s, "-", "%2D")} {
			if strings.Contains(text, form) {
				return fmt.Errorf("%s contains the secret %q", what, form)
			}
		}
	}
	return nil
}

// stateHasNoSecrets checks the whole state, as terraform shows it, for
// secrets. A state that holds no sunset resource fails: the check would
// prove nothing.
type stateHasNoSecrets []string

func (s stateHasNoSecrets) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if !holdsSunsetResource(req.State) {
		resp.Error = errors.New("the state holds no sunset resource: the check would prove nothing")
		return
	}
	b, err := json.Marshal(req.State)
	if err != nil {
		resp.Error = err
		return
	}
	resp.Error = noSecretsIn("state", string(b), s...)
}

func holdsSunsetResource(st *tfjson.State) bool {
	if st == nil || st.Values == nil || st.Values.RootModule == nil {
		return false
	}
	for _, r := range st.Values.RootModule.Resources {
		if r.Mode == tfjson.ManagedResourceMode && strings.HasPrefix(r.Type, "sunset_") {
			return true
		}
	}
	return false
}

// planHasNoSecrets checks the whole plan, as terraform shows it, for secrets.
type planHasNoSecrets []string

func (s planHasNoSecrets) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	b, err := json.Marshal(req.Plan)
	if err != nil {
		resp.Error = err
		return
	}
	resp.Error = noSecretsIn("plan", string(b), s...)
}
