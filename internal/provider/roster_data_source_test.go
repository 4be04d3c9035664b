package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// gatedConfig is DESIGN.md's pattern: identities created with for_each over
// the roster's active set.
func gatedConfig(ledger, identities, extraRoster string) string {
	return providerConfig(ledger, "") + gatedIdentities(inlineRoster(identities, extraRoster))
}

// allEndedStep ends every identity (allEnded), so the for_each set is empty.
func allEndedStep(ledger, identities, extraRoster string) resource.TestStep {
	return resource.TestStep{
		Config: gatedConfig(ledger, identities, extraRoster+"\n  "+allEnded),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("active"), knownvalue.MapSizeExact(0)),
		},
	}
}

func workload(name, end string) string {
	return fmt.Sprintf(`    %q = { kind = "workload", owner = "data-eng@example.com", end_date = %q }`+"\n", name, end)
}

func TestAccRosterGateDestroysEndedIdentity(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// Both identities still active: both are declared.
				Config: gatedConfig(ledger, workload("etl-loader", day(1))+workload("report-bot", day(1)), ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(`sunset_identity.staff["etl-loader"]`, tfjsonpath.New("status"), knownvalue.StringExact("active")),
					statecheck.ExpectKnownValue(`sunset_identity.staff["report-bot"]`, tfjsonpath.New("id"), knownvalue.StringExact("report-bot")),
					statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("expiring").AtMapKey("etl-loader").AtMapKey("status"), knownvalue.StringExact("expiring")),
				},
			},
			{
				// etl-loader's end date is corrected to yesterday; report-bot
				// ends tomorrow. The plan destroys exactly the ended one.
				Config: gatedConfig(ledger, workload("etl-loader", day(-1))+workload("report-bot", day(1)), ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(`sunset_identity.staff["etl-loader"]`, plancheck.ResourceActionDestroy),
						plancheck.ExpectResourceAction(`sunset_identity.staff["report-bot"]`, plancheck.ResourceActionNoop),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("ended").AtMapKey("etl-loader").AtMapKey("reason"), knownvalue.StringExact("end_date_reached")),
					statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("active"), knownvalue.MapSizeExact(1)),
					ledgerCheck(func() error {
						return expectLedgerEventSet(ledger, []string{
							"identity.declared:etl-loader", "identity.declared:report-bot",
							// The trigger comes from state, which still holds the
							// end date from before the correction.
							"identity.offboarded:etl-loader:removed_from_configuration",
						})
					}),
				},
			},
			allEndedStep(ledger, workload("etl-loader", day(-1))+workload("report-bot", day(1)), ""),
		},
	})
}

func TestAccRosterAsOfForecastsDestroy(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	ids := workload("etl-loader", day(1)) + workload("report-bot", day(30))
	asOf := time.Now().UTC().Add(72 * time.Hour).Format(time.RFC3339)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: gatedConfig(ledger, ids, "")},
			{
				// In three days etl-loader will have ended: the forecast plan
				// shows its destroy while the identity is active today.
				Config: gatedConfig(ledger, ids, fmt.Sprintf("as_of = %q", asOf)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(`sunset_identity.staff["etl-loader"]`, plancheck.ResourceActionDestroy),
						plancheck.ExpectResourceAction(`sunset_identity.staff["report-bot"]`, plancheck.ResourceActionNoop),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("evaluated_at"), knownvalue.StringExact(asOf)),
				},
			},
			allEndedStep(ledger, ids, ""),
		},
	})
}

func TestAccRosterFileTerminatedAndExceptions(t *testing.T) {
	dir := t.TempDir()
	ledger := filepath.Join(dir, "evidence.jsonl")
	csv := filepath.Join(dir, "hr.csv")
	writeFile(t, csv, "name,kind,owner,end_date,status,email,department\n"+
		"alice,human,hr@example.com,"+day(365)+",active,alice@example.com,finance\n"+
		"bob,contractor,hr@example.com,"+day(365)+",terminated,bob@example.com,ops\n"+
		"carol,human,hr@example.com,"+day(-3)+",active,carol@example.com,legal\n")
	inline := `    "vendor-console" = { kind = "service_account", owner = "it@example.com", end_date = "` + day(-10) + `",
      exception = { kind = "no_api", reason = "vendor console has no API", approved_by = "ciso@example.com", expires = "` + day(5) + `" } }
`
	rec := &diagRecorder{}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: rec.factories(),
		Steps: []resource.TestStep{{
			Config: gatedConfig(ledger, inline, fmt.Sprintf("file = %q", csv)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("ended").AtMapKey("bob").AtMapKey("reason"), knownvalue.StringExact("terminated_in_source")),
				statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("ended").AtMapKey("carol").AtMapKey("reason"), knownvalue.StringExact("end_date_reached")),
				statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("active").AtMapKey("alice").AtMapKey("attributes").AtMapKey("department"), knownvalue.StringExact("finance")),
				statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("exceptions").AtMapKey("vendor-console").AtMapKey("exception").AtMapKey("approved_by"), knownvalue.StringExact("ciso@example.com")),
				statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("active").AtMapKey("vendor-console").AtMapKey("status"), knownvalue.StringExact("excepted")),
				statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("active"), knownvalue.MapSizeExact(2)),
			},
		}, allEndedStep(ledger, inline, fmt.Sprintf("file = %q", csv))},
	})
	// The plan warns of both ended identities and of the exception, on
	// the roster as a whole (TestAccPlanWarningsAsTerraformShowsThem checks
	// what terraform prints). The last step, when everyone has ended, warns
	// of 4: a summary of its own.
	rec.expectOn(t, tfprotov6.DiagnosticSeverityWarning, "2 identities have ended", "",
		"- bob (contractor, owner hr@example.com, terminated in source)",
		"- carol (human, owner hr@example.com, end date "+day(-3)+")")
	rec.expectOn(t, tfprotov6.DiagnosticSeverityWarning, "1 identity is held active by an exception", "",
		"- vendor-console: no_api (vendor console has no API), approved by ciso@example.com, until "+day(5))
	for _, d := range rec.find(tfprotov6.DiagnosticSeverityWarning, "2 identities have ended") {
		if strings.Contains(d.Detail, "alice") || strings.Contains(d.Detail, "vendor-console") {
			t.Errorf("the ended warning names an active identity: %q", d.Detail)
		}
	}
}

func TestAccRosterInvalidInput(t *testing.T) {
	dir := t.TempDir()
	ledger := filepath.Join(dir, "evidence.jsonl")
	dup := filepath.Join(dir, "dup.json")
	writeFile(t, dup, `[{"name": "etl-loader", "kind": "workload", "owner": "o@example.com", "end_date": "`+day(9)+`"}]`)
	empty := filepath.Join(dir, "empty.csv")
	writeFile(t, empty, "name,owner\n")
	noApprover := `    "held" = { kind = "workload", owner = "o@example.com", end_date = "` + day(-1) + `",
      exception = { kind = "legal_hold", reason = "case 17", approved_by = "", expires = "` + day(30) + `" } }
`
	cases := []struct {
		name, identities, extra string
		want                    wantAttrError
	}{
		{"invalid end date", workload("etl", "2027-02-30"), "", onNested(`Invalid identity end_date`, `identities["etl"].end_date`, `identity "etl": end_date: date "2027-02-30" is not a valid calendar date`)},
		{"end before start", `    "etl" = { kind = "workload", owner = "o", start_date = "` + day(10) + `", end_date = "` + day(5) + `" }` + "\n", "", onNested(`Invalid identity end_date`, `identities["etl"].end_date`, `is not after start_date`)},
		{"missing required end date", `    "etl" = { kind = "workload", owner = "o" }` + "\n", "", onNested(`Invalid identity end_date`, `identities["etl"].end_date`, `is required for kind "workload" by policy.require_end_date`)},
		{"exception without approver", noApprover, "", onNested(`Invalid identity exception.approved_by`, `identities["held"].exception.approved_by`, `an exception needs an approver`)},
		{"unknown kind", `    "etl" = { kind = "robot", owner = "o", end_date = "` + day(5) + `" }` + "\n", "", onNested(`Invalid identity kind`, `identities["etl"].kind`, `kind "robot" is not one of`)},
		{"as_of in the past", workload("etl", day(5)), `as_of = "2020-01-01T00:00:00Z"`, onAttr(`as_of is in the past`, "as_of", `cannot turn the clock back`)},
		{"malformed as_of", workload("etl", day(5)), `as_of = "tomorrow"`, onAttr(`Invalid as_of`, "as_of", `"tomorrow" is not an RFC 3339 timestamp`)},
		{"bad expiring_within", workload("etl", day(5)), `expiring_within = "soon"`, onAttr(`Invalid expiring_within`, "expiring_within", `duration "soon"`)},
		{"name both inline and in file", workload("etl-loader", day(5)), fmt.Sprintf("file = %q", dup), onLine(`Invalid identity name`, `identities["etl-loader"]`, `"etl-loader"\s*=`, `declared twice (inline and file)`)},
		{"empty export", workload("etl", day(5)), fmt.Sprintf("file = %q", empty), onAttr(`Cannot read the roster file`, "file", `holds no identities`)},
		{"missing file", workload("etl", day(5)), `file = "/nonexistent/hr.csv"`, onAttr(`Cannot read the roster file`, "file", `no such file or directory`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testAttrError(t, resource.TestStep{Config: gatedConfig(ledger, c.identities, c.extra)}, c.want)
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
