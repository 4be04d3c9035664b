package provider

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// hrEndDate is the testenv directory's HR extension attribute holding end dates.
const hrEndDate = testenv.SCIMHRSchema + ":endDate"

// scimRosterConfig reads identities from the "idp" directory and gives each
// active one a user in the "app" service provider.
func scimRosterConfig(provider, scimInput, identities, extraRoster string) string {
	return provider + gatedIdentities(fmt.Sprintf("  scim = { %s }\n  %s\n  %s", scimInput, identities, extraRoster)) + `
resource "sunset_scim_user" "staff" {
  for_each    = sunset_identity.staff
  target      = "app"
  identity_id = each.value.id
  user_name   = each.key
  external_id = try(data.sunset_roster.staff.active[each.key].attributes.scim_id, null)
}
`
}

func TestAccSCIMRosterEndsUserDeactivatedInDirectory(t *testing.T) {
	idp := scimTestServer(t, testenv.SCIMOptions{})
	app := scimTestServer(t, testenv.SCIMOptions{})
	users := map[string]testenv.SCIMUser{
		"alice": {UserName: "alice", Email: "alice@example.com", EndDate: day(90)},
		"bob":   {UserName: "bob", Email: "bob@example.com", EndDate: day(90)},
		// Already terminated in the directory: never provisioned.
		"carol": {UserName: "carol", Email: "carol@example.com", Inactive: true},
	}
	dirID := map[string]string{}
	for name, u := range users {
		id, err := idp.AddUser(u)
		if err != nil {
			t.Fatal(err)
		}
		dirID[name] = id
	}
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	provider := scimProvider(ledger, scimTargetHCL("idp", idp.URL, ""), scimTargetHCL("app", app.URL, ""))
	input := fmt.Sprintf(`target = "idp", end_date_attribute = %q, default_owner = "hr@example.com"`, hrEndDate)
	inline := `identities = { etl = { kind = "workload", owner = "data@example.com", end_date = "` + day(30) + `" } }`
	roster := "data.sunset_roster.staff"
	var bobAppID string

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config: scimRosterConfig(provider, input, inline, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(roster, tfjsonpath.New("active"), knownvalue.MapSizeExact(3)),
					statecheck.ExpectKnownValue(roster, tfjsonpath.New("active").AtMapKey("alice").AtMapKey("source"), knownvalue.StringExact("scim")),
					statecheck.ExpectKnownValue(roster, tfjsonpath.New("active").AtMapKey("alice").AtMapKey("end_date"), knownvalue.StringExact(day(90))),
					statecheck.ExpectKnownValue(roster, tfjsonpath.New("active").AtMapKey("alice").AtMapKey("email"), knownvalue.StringExact("alice@example.com")),
					statecheck.ExpectKnownValue(roster, tfjsonpath.New("active").AtMapKey("alice").AtMapKey("owner"), knownvalue.StringExact("hr@example.com")),
					statecheck.ExpectKnownValue(roster, tfjsonpath.New("active").AtMapKey("alice").AtMapKey("kind"), knownvalue.StringExact("human")),
					statecheck.ExpectKnownValue(roster, tfjsonpath.New("active").AtMapKey("alice").AtMapKey("attributes").AtMapKey("scim_id"), knownvalue.StringExact(dirID["alice"])),
					statecheck.ExpectKnownValue(roster, tfjsonpath.New("active").AtMapKey("etl").AtMapKey("source"), knownvalue.StringExact("inline")),
					statecheck.ExpectKnownValue(roster, tfjsonpath.New("ended").AtMapKey("carol").AtMapKey("reason"), knownvalue.StringExact("terminated_in_source")),
					ledgerCheck(func() error {
						for _, n := range []string{"alice", "bob", "etl"} {
							u, err := scimUserState(app, n)
							if err != nil || !u.Active {
								return fmt.Errorf("app user %s: %+v %v", n, u, err)
							}
							if n == "bob" {
								bobAppID = u.ID
							}
						}
						if _, ok := app.UserIDByUserName("carol"); ok {
							return errors.New("carol, terminated in the directory, got a user")
						}
						return nil
					}),
				},
			},
			{
				// bob is deactivated in the directory: the next plan ends
				// him and destroys his identity and his application user.
				PreConfig: func() {
					if err := idp.SetUserActive(dirID["bob"], false); err != nil {
						t.Fatal(err)
					}
				},
				Config: scimRosterConfig(provider, input, inline, ""),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(`sunset_scim_user.staff["bob"]`, plancheck.ResourceActionDestroy),
						plancheck.ExpectResourceAction(`sunset_identity.staff["bob"]`, plancheck.ResourceActionDestroy),
						plancheck.ExpectResourceAction(`sunset_scim_user.staff["alice"]`, plancheck.ResourceActionNoop),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(roster, tfjsonpath.New("ended").AtMapKey("bob").AtMapKey("reason"), knownvalue.StringExact("terminated_in_source")),
					ledgerCheck(func() error {
						if u, ok := app.User(bobAppID); !ok || u.Active {
							return fmt.Errorf("bob's app user after the directory ended him: %+v", u)
						}
						rec, err := ledgerRecord(ledger, evidence.EventCredentialRevoked, bobAppID)
						if err != nil {
							return err
						}
						if rec.Identity == nil || rec.Identity.ID != "bob" || rec.Identity.EndDate != day(90) || rec.Verification == "" {
							return fmt.Errorf("revoked record %+v", rec)
						}
						if u, err := scimUserState(app, "alice"); err != nil || !u.Active {
							return fmt.Errorf("alice's app user: %+v %v", u, err)
						}
						return nil
					}),
				},
			},
			{
				Config: scimRosterConfig(provider, input, inline, allEnded),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(roster, tfjsonpath.New("active"), knownvalue.MapSizeExact(0)),
				},
			},
		},
	})
}

func TestAccSCIMRosterInvalid(t *testing.T) {
	idp := scimTestServer(t, testenv.SCIMOptions{})
	for _, u := range []testenv.SCIMUser{
		{UserName: "alice", EndDate: day(90)},
		{UserName: "dave", EndDate: "31/12/2027"},
	} {
		if _, err := idp.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	provider := scimProvider(ledger, scimTargetHCL("idp", idp.URL, ""))
	good := fmt.Sprintf(`target = "idp", default_owner = "hr@example.com", filter = "userName eq \"alice\""`)
	cases := []struct {
		name, input, extra string
		want               wantAttrError
	}{
		{"empty directory answer", `target = "idp", default_owner = "o", filter = "userName eq \"nobody\""`, "",
			onAttr(`Empty SCIM roster`, "scim", `listed no users matching filter userName eq "nobody"`, `not proof of absence`)},
		{"name both inline and in the directory", good,
			`identities = { alice = { kind = "workload", owner = "o", end_date = "` + day(5) + `" } }`,
			onLine(`Invalid identity name`, `identities["alice"]`, `identities\s*=\s*\{\s*alice\s*=`, `identity "alice": name: is declared twice (inline and scim)`)},
		{"names that differ only in case", good,
			`identities = { Alice = { kind = "workload", owner = "o", end_date = "` + day(5) + `" } }`,
			onAttr(`Cannot read the SCIM directory`, "scim", `differ only in case`)},
		{"unreadable end date in the directory", fmt.Sprintf(`target = "idp", default_owner = "o", end_date_attribute = %q`, hrEndDate), "",
			onNested(`Invalid identity end_date`, "scim.end_date_attribute", `identity "dave": end_date: `, `31/12/2027`, `(SCIM user id `)},
		{"no owner", `target = "idp", filter = "userName eq \"alice\""`, "",
			onNested(`Invalid identity owner`, "scim.owner_attribute", `identity "alice": owner: must name an accountable owner`)},
		{"unterminated filter string", `target = "idp", default_owner = "o", filter = "userName eq \"alice"`, "",
			onNested(`Invalid filter`, "scim.filter", `unterminated string`)},
		{"filter the server refuses", `target = "idp", default_owner = "o", filter = "userName xx \"alice\""`, "",
			onAttr(`Cannot read the SCIM directory`, "scim", `HTTP 400`)},
		{"invalid attribute path", `target = "idp", default_owner = "o", end_date_attribute = "end date"`, "",
			onNested(`Invalid end_date_attribute`, "scim.end_date_attribute", `is not a SCIM attribute path`)},
		{"unknown target", `target = "nowhere", default_owner = "o"`, "",
			onNested(`Invalid target`, "scim.target", `target "nowhere" is not defined in the provider's targets (defined: idp)`)},
		{"unknown kind", `target = "idp", default_owner = "o", kind = "robot"`, "",
			onNested(`Invalid kind`, "scim.kind", `kind "robot" is not one of`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testAttrError(t, tfresource.TestStep{
				Config: provider + fmt.Sprintf("data \"sunset_roster\" \"staff\" {\n  scim = { %s }\n  %s\n}\n", c.input, c.extra),
			}, c.want)
		})
	}
}
