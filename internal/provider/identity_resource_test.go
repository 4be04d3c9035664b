package provider

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func identityConfig(ledger, providerExtra, body string) string {
	return providerConfig(ledger, providerExtra) + fmt.Sprintf(`
resource "sunset_identity" "etl" {
%s
}
`, body)
}

// etlLoaderBody is a workload identity's resource body, ending at end.
func etlLoaderBody(end string) string {
	return fmt.Sprintf(`  name     = "etl-loader"
  kind     = "workload"
  owner    = "data-eng@example.com"
  end_date = %q`, end)
}

func TestAccIdentityDeclareExtendOffboard(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	first, extended := day(30), day(90)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: identityConfig(ledger, "", etlLoaderBody(first)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("sunset_identity.etl", tfjsonpath.New("id"), knownvalue.StringExact("etl-loader")),
					statecheck.ExpectKnownValue("sunset_identity.etl", tfjsonpath.New("status"), knownvalue.StringExact("active")),
				},
				Check: func(*terraform.State) error {
					return expectLedgerEvents(ledger, []string{"identity.declared:etl-loader"})
				},
			},
			{
				Config: identityConfig(ledger, "", etlLoaderBody(extended)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("sunset_identity.etl", plancheck.ResourceActionUpdate)},
				},
				Check: func(*terraform.State) error {
					if err := expectLedgerEvents(ledger, []string{"identity.declared:etl-loader", "identity.changed:etl-loader"}); err != nil {
						return err
					}
					_, recs, err := ledgerEvents(ledger)
					if err != nil {
						return err
					}
					c := recs[1].Changes["end_date"]
					if c.Old != first || c.New != extended {
						return fmt.Errorf("identity.changed end_date = %+v, want %s -> %s", c, first, extended)
					}
					if d := recs[1].Details; d["end_date_change"] != "extended" || d["end_date_change_days"] != "60" {
						return fmt.Errorf("identity.changed details = %v, want extended by 60 days", d)
					}
					if recs[1].Actor != "acceptance-test" || recs[1].Prev != recs[0].Hash {
						return fmt.Errorf("record actor %q, prev %q (previous hash %q)", recs[1].Actor, recs[1].Prev, recs[0].Hash)
					}
					return nil
				},
			},
			{
				ResourceName:      "sunset_identity.etl",
				ImportState:       true,
				ImportStateId:     "etl-loader",
				ImportStateVerify: true,
			},
		},
		CheckDestroy: func(*terraform.State) error {
			return expectLedgerEvents(ledger, []string{
				"identity.declared:etl-loader", "identity.changed:etl-loader",
				"identity.offboarded:etl-loader:removed_from_configuration",
			})
		},
	})
}

// The warning as terraform prints it is checked by
// TestAccPlanWarningsAsTerraformShowsThem; here, that the provider sends it
// on end_date, naming the identity and its end date.
func TestAccIdentityEndedStillDeclaredWarnsAndStatusEnded(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	ended := day(-2)
	rec := &diagRecorder{}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: rec.factories(),
		Steps: []resource.TestStep{{
			Config: identityConfig(ledger, "", fmt.Sprintf(`  name = "old-bot"
  kind = "bot"
  owner = "ops@example.com"
  end_date = %q`, ended)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("sunset_identity.etl", tfjsonpath.New("status"), knownvalue.StringExact("ended")),
			},
		}},
		CheckDestroy: func(*terraform.State) error {
			return expectLedgerEvents(ledger, []string{"identity.declared:old-bot", "identity.offboarded:old-bot:end_date_reached"})
		},
	})
	rec.expectOn(t, tfprotov6.DiagnosticSeverityWarning, "Identity has ended but is still declared", "end_date",
		fmt.Sprintf(`Identity "old-bot" ended on %s and is still declared: revocation of its access is overdue.`, ended))
}

func TestAccIdentityImportUnknownName(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: identityConfig(ledger, "", `  name = "a"
  kind = "human"
  owner = "hr@example.com"`)},
			{
				ResourceName:  "sunset_identity.etl",
				ImportState:   true,
				ImportStateId: "never-declared",
				ExpectError:   wrapped(`Cannot import identity`, `holds no current declaration of identity "never-declared"`),
			},
		},
	})
}

func TestAccIdentityInvalidInput(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	policy := `policy = { max_lifetime = { api_client = "90d" } }`
	cases := []struct {
		name, providerExtra, body string
		want                      wantAttrError
	}{
		{"malformed end date", "", `name = "a"
kind = "human"
owner = "o"
end_date = "31/12/2027"`, onAttr(`Invalid end_date`, "end_date", `date "31/12/2027" is not a valid calendar date (YYYY-MM-DD)`)},
		{"end before start", "", fmt.Sprintf(`name = "a"
kind = "human"
owner = "o"
start_date = %q
end_date = %q`, day(10), day(5)), onAttr(`Invalid end_date`, "end_date", `is not after start_date`)},
		{"empty owner", "", `name = "a"
kind = "human"
owner = ""`, onAttr(`Empty owner`, "owner", `owner must name an accountable owner`)},
		{"unknown kind", "", `name = "a"
kind = "robot"
owner = "o"`, onAttr(`Invalid kind`, "kind", `kind "robot" is not one of`)},
		{"missing end date for a workload", "", `name = "a"
kind = "workload"
owner = "o"`, onNested(`Invalid end_date`, "end_date", `is required for kind "workload"`)},
		{"lifetime beyond max_lifetime", policy, fmt.Sprintf(`name = "a"
kind = "api_client"
owner = "o"
end_date = %q`, day(200)), onAttr(`Invalid end_date`, "end_date", `policy.max_lifetime for kind "api_client" is 90d`)},
		{"invalid timezone", `timezone = "Mars/Olympus"`, `name = "a"
kind = "human"
owner = "o"`, onAttr(`Invalid timezone`, "timezone", `Mars/Olympus`)},
		{"invalid max_lifetime", `policy = { max_lifetime = { api_client = "forever" } }`, `name = "a"
kind = "human"
owner = "o"`, onNested(`Invalid policy`, `policy.max_lifetime["api_client"]`, `duration "forever"`)},
		{"target with two blocks", `targets = { warehouse = { postgres = { dsn = "postgres://x" }, scim = { url = "https://x" } } }`, `name = "a"
kind = "human"
owner = "o"`, onLine(`Target needs exactly one connector block`, `targets["warehouse"]`, `targets\s*=\s*\{\s*warehouse\s*=`, `Target "warehouse" holds 2 connector blocks (postgres, scim)`)},
		{"bad target name", `targets = { "my/target" = { postgres = { dsn = "postgres://x" } } }`, `name = "a"
kind = "human"
owner = "o"`, onLine(`Invalid target name`, `targets["my/target"]`, `targets\s*=\s*\{\s*"my/target"\s*=`, `Target name "my/target" must start with a letter`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testAttrError(t, resource.TestStep{Config: identityConfig(ledger, c.providerExtra, c.body)}, c.want)
		})
	}
}
