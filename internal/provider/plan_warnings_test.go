//go:build linux

package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// The plan warnings are the roster's and the identity's way of telling a
// reviewer what a plan will revoke, or should have revoked already.
// terraform-plugin-testing does not show warnings, so these tests run the
// real terraform against the binary built from this tree (tfbinary_test.go)
// and read `terraform plan` as a reviewer would.

// planDiagnostic returns the one diagnostic of out (terraform's -no-color
// output) that begins "severity: summary", from that line to the line
// before the next diagnostic or the end of the output. Terraform prints a
// diagnostic as its summary line, the "with"/"on" lines and the
// configuration it is about, then its detail.
func planDiagnostic(t *testing.T, out, severity, summary string) string {
	t.Helper()
	head := severity + ": " + summary + "\n"
	if n := strings.Count(out, "\n"+head); n != 1 {
		t.Fatalf("terraform printed %q %d times, want once:\n%s", strings.TrimSpace(head), n, out)
	}
	rest := out[strings.Index(out, "\n"+head)+1:]
	next := regexp.MustCompile(`\n(Warning|Error): `).FindStringIndex(rest[len(head):])
	if next == nil {
		return rest
	}
	return rest[:len(head)+next[0]]
}

// expectShown fails unless diag (a planDiagnostic) matches every pattern of
// wrapped's form, and fails if it holds any of absent.
func expectShown(t *testing.T, diag string, want *regexp.Regexp, absent ...string) {
	t.Helper()
	if !want.MatchString(diag) {
		t.Errorf("terraform showed\n%s\nwant it to match %s", diag, want)
	}
	for _, a := range absent {
		if strings.Contains(diag, a) {
			t.Errorf("terraform showed\n%s\nwhich names %q", diag, a)
		}
	}
}

func TestAccPlanWarningsAsTerraformShowsThem(t *testing.T) {
	bin := buildProviderBinary(t)

	t.Run("roster: ended identities and exceptions", func(t *testing.T) {
		d := newTFDir(t, bin)
		ended1, ended2, active, expires := day(-1), day(-3), day(30), day(20)
		d.write("main.tf", requiredSunset+`
provider "sunset" {
  evidence = { file = "${path.module}/evidence.jsonl" }
  actor    = "plan-warnings-test"
}
`+gatedIdentities(inlineRoster(
			workload("etl-loader", ended1)+
				`    "report-bot" = { kind = "bot", owner = "ops@example.com", end_date = "`+ended2+`" }
    "alice" = { kind = "human", owner = "hr@example.com", end_date = "`+active+`" }
    "vendor-console" = { kind = "workload", owner = "it@example.com", end_date = "`+ended1+`",
      exception = { kind = "no_api", reason = "vendor console has no API", approved_by = "ciso@example.com", expires = "`+expires+`" } }
`, "")))
		out := d.ok("plan").Output()

		endedWarn := planDiagnostic(t, out, "Warning", "2 identities have ended")
		expectShown(t, endedWarn, wrapped(
			`with data.sunset_roster.staff,`,
			`Credentials created with for_each over this roster's`, `are planned for destroy:`,
		), "alice", "vendor-console")
		for _, line := range []string{
			fmt.Sprintf(`- etl-loader (workload, owner data-eng@example.com, end date %s)`, ended1),
			fmt.Sprintf(`- report-bot (bot, owner ops@example.com, end date %s)`, ended2),
		} {
			expectShown(t, endedWarn, wrapped(`are planned for destroy:`, line))
		}

		exceptWarn := planDiagnostic(t, out, "Warning", "1 identity is held active by an exception")
		expectShown(t, exceptWarn, wrapped(
			`with data.sunset_roster.staff,`,
			`would otherwise have ended; they stay active until their exception expires:`,
			fmt.Sprintf(`- vendor-console: no_api (vendor console has no API), approved by ciso@example.com, until %s`, expires),
		), "alice", "etl-loader", "report-bot")

		// The excepted identity is still declared; the ended ones are not.
		for _, want := range []string{`sunset_identity.staff["alice"] will be created`, `sunset_identity.staff["vendor-console"] will be created`} {
			if !strings.Contains(out, want) {
				t.Errorf("the plan does not say %q:\n%s", want, out)
			}
		}
		for _, n := range []string{"etl-loader", "report-bot"} {
			if strings.Contains(out, `sunset_identity.staff["`+n+`"]`) {
				t.Errorf("the plan declares ended identity %s:\n%s", n, out)
			}
		}
		// Held by its exception, it is not overdue: no "ended but still
		// declared" warning contradicts the roster's.
		if strings.Contains(out, "Identity has ended but is still declared") {
			t.Errorf("the excepted identity is reported overdue:\n%s", out)
		}
	})

	t.Run("identity: ended but still declared", func(t *testing.T) {
		d := newTFDir(t, bin)
		ended := day(-2)
		d.write("main.tf", requiredSunset+fmt.Sprintf(`
provider "sunset" {
  evidence = { file = "${path.module}/evidence.jsonl" }
  actor    = "plan-warnings-test"
}

resource "sunset_identity" "old" {
  name     = "old-bot"
  kind     = "bot"
  owner    = "ops@example.com"
  end_date = %q
}
`, ended))
		out := d.ok("plan").Output()
		w := planDiagnostic(t, out, "Warning", "Identity has ended but is still declared")
		// On the end_date attribute: terraform shows its line.
		if !regexp.MustCompile(`(?s)^Warning: [^\n]*\n\n\s*with sunset_identity\.old,\n\s*on main\.tf line \d+, in resource "sunset_identity" "old":\n\s*\d+:\s*end_date\s*=`).MatchString(w) {
			t.Errorf("the warning is not shown on end_date:\n%s", w)
		}
		expectShown(t, w, wrapped(
			fmt.Sprintf(`Identity "old-bot" ended on %s and is still declared: revocation of its access is overdue.`, ended),
			`Remove it from the configuration`,
		))
	})
}
