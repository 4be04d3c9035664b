package provider

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// fileRosterConfig gates identities on an HR export, with optional
// safeguards in the provider block.
func fileRosterConfig(ledger, file, safeguards string) string {
	return providerConfig(ledger, safeguards) + gatedIdentities(fmt.Sprintf("  file = %q", file))
}

func hrExport(names ...string) string {
	var b strings.Builder
	b.WriteString("name,kind,owner,end_date,status\n")
	for _, n := range names {
		fmt.Fprintf(&b, "%s,human,hr@example.com,%s,active\n", n, day(365))
	}
	return b.String()
}

// TestAccMassRevocationBreaker: a truncated export must not revoke
// everyone. An empty export fails the roster; a partial one trips the
// breaker; only the acknowledged exact count goes through.
func TestAccMassRevocationBreaker(t *testing.T) {
	dir := t.TempDir()
	ledger := filepath.Join(dir, "evidence.jsonl")
	export := filepath.Join(dir, "hr.csv")
	staff := make([]string, 12)
	for i := range staff {
		staff[i] = fmt.Sprintf("person-%02d", i+1)
	}
	stillDeclared := statecheck.ExpectKnownValue(`sunset_identity.staff["person-12"]`, tfjsonpath.New("status"), knownvalue.StringExact("active"))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: func() { writeFile(t, export, hrExport(staff...)) },
				Config:    fileRosterConfig(ledger, export, ""),
			},
			{
				// The export arrives truncated to nothing.
				PreConfig:   func() { writeFile(t, export, "") },
				Config:      fileRosterConfig(ledger, export, ""),
				ExpectError: wrapped(`Cannot read the roster file`, `holds no identities`),
			},
			{
				// Truncated to one row: 11 destroys, more than the default 10.
				PreConfig:   func() { writeFile(t, export, hrExport("person-12")) },
				Config:      fileRosterConfig(ledger, export, ""),
				ExpectError: wrapped(`Mass-revocation safeguard`, `would destroy 11 sunset resources, more than safeguards.max_revocations (10)`, `acknowledge_revocations = 11`),
			},
			{
				// With min_identities the roster itself refuses the
				// truncated export, before any destroy is planned.
				Config: strings.Replace(fileRosterConfig(ledger, export, ""), `data "sunset_roster" "staff" {`, `data "sunset_roster" "staff" {
  min_identities = 10`, 1),
				ExpectError: wrapped(`Roster source returned too few identities`, `returned 1 identities; min_identities is 10`),
			},
			{
				// An acknowledgement of another number does not cover it.
				Config:      fileRosterConfig(ledger, export, `safeguards = { acknowledge_revocations = 10 }`),
				ExpectError: wrapped(`would destroy 11 sunset resources, but acknowledge_revocations is 10`),
			},
			{
				// Nothing was destroyed by the failed plans.
				PreConfig: func() { writeFile(t, export, hrExport(staff...)) },
				Config:    fileRosterConfig(ledger, export, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					stillDeclared,
					ledgerCheck(func() error {
						events, _, err := ledgerEvents(ledger)
						if err != nil {
							return err
						}
						for _, e := range events {
							if strings.HasPrefix(e, "identity.offboarded") {
								return fmt.Errorf("a failed plan offboarded someone: %s", e)
							}
						}
						return nil
					}),
				},
			},
			{
				// The acknowledged plan goes through.
				PreConfig: func() { writeFile(t, export, hrExport("person-12")) },
				Config:    fileRosterConfig(ledger, export, `safeguards = { acknowledge_revocations = 11 }`),
				ConfigStateChecks: []statecheck.StateCheck{
					stillDeclared,
					statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("active"), knownvalue.MapSizeExact(1)),
					ledgerCheck(func() error {
						events, _, err := ledgerEvents(ledger)
						if err != nil {
							return err
						}
						n := 0
						for _, e := range events {
							if strings.HasPrefix(e, "identity.offboarded") {
								n++
							}
						}
						if n != 11 {
							return fmt.Errorf("%d offboardings recorded, want 11", n)
						}
						return nil
					}),
				},
			},
			{
				// person-12 leaves too, so no for_each instance remains for
				// the framework's state shim.
				PreConfig: func() {
					writeFile(t, export, "name,kind,owner,end_date,status\nperson-12,human,hr@example.com,"+day(365)+",terminated\n")
				},
				Config: fileRosterConfig(ledger, export, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("active"), knownvalue.MapSizeExact(0)),
				},
			},
		},
	})
}
