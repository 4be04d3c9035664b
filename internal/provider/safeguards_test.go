package provider

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
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
				ExpectError: wrapped(`would destroy 11 sunset resources, but safeguards.acknowledge_revocations is 10`),
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

// renamedIdentities declares one sunset_identity per key, named
// PREFIX-KEY: changing the prefix replaces every one of them (name
// requires replacement), which destroys the old identity.
func renamedIdentities(ledger, safeguards, prefix string, keys ...string) string {
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = hclString(k)
	}
	return providerConfig(ledger, safeguards) + fmt.Sprintf(`
resource "sunset_identity" "svc" {
  for_each = toset([%s])
  name     = "%s-${each.key}"
  kind     = "workload"
  owner    = "platform@example.com"
  end_date = %q
}
`, strings.Join(quoted, ", "), prefix, day(90))
}

// countLedgerEvents counts ledger records whose event (with its subject) starts
// with prefix.
func countLedgerEvents(ledger, prefix string) (int, error) {
	events, _, err := ledgerEvents(ledger)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range events {
		if strings.HasPrefix(e, prefix) {
			n++
		}
	}
	return n, nil
}

// TestAccMassRevocationBreakerCountsReplacements: a replacement destroys
// the old object, so renaming more identities than max_revocations in one
// plan trips the breaker like destroying them would, and nothing changes.
// SUNSET_ACKNOWLEDGE_REVOCATIONS with the exact count lets it through; a
// leftover acknowledgement does not block a later plan within the limit.
func TestAccMassRevocationBreakerCountsReplacements(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	limit := `safeguards = { max_revocations = 3 }`
	keys := []string{"1", "2", "3", "4"}
	offboarded := func(want int) statecheck.StateCheck {
		return ledgerCheck(func() error {
			n, err := countLedgerEvents(ledger, "identity.offboarded")
			if err != nil {
				return err
			}
			if n != want {
				return fmt.Errorf("%d identity.offboarded records, want %d", n, want)
			}
			return nil
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: renamedIdentities(ledger, limit, "old", keys...)},
			{
				// Four replacements, more than 3.
				Config: renamedIdentities(ledger, limit, "new", keys...),
				ExpectError: wrapped(`Mass-revocation safeguard`, `would destroy 4 sunset resources, more than safeguards.max_revocations (3)`,
					`First resources planned for destroy (type and id; Terraform does not tell a provider their addresses):`, `sunset_identity old-`, `(replace)`,
					`SUNSET_ACKNOWLEDGE_REVOCATIONS=4`),
			},
			{
				// The failed plan changed nothing.
				Config: renamedIdentities(ledger, limit, "old", keys...),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(`sunset_identity.svc["1"]`, tfjsonpath.New("name"), knownvalue.StringExact("old-1")),
					offboarded(0),
				},
			},
			{
				// Acknowledged by the environment with the exact count:
				// the replacements go through.
				PreConfig: func() { t.Setenv(AcknowledgeEnv, "4") },
				Config:    renamedIdentities(ledger, limit, "new", keys...),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(`sunset_identity.svc["1"]`, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(`sunset_identity.svc["4"]`, tfjsonpath.New("name"), knownvalue.StringExact("new-4")),
					offboarded(4),
				},
			},
			{
				// The environment's acknowledgement is left over: a plan
				// of one destroy, within the limit, still goes through
				// (with a warning that it was not needed).
				Config:            renamedIdentities(ledger, limit, "new", keys[:3]...),
				ConfigStateChecks: []statecheck.StateCheck{offboarded(5)},
			},
			{
				// So does one acknowledged in the provider block.
				PreConfig:         func() { t.Setenv(AcknowledgeEnv, "") },
				Config:            renamedIdentities(ledger, `safeguards = { max_revocations = 3, acknowledge_revocations = 4 }`, "new", keys[:2]...),
				ConfigStateChecks: []statecheck.StateCheck{offboarded(6)},
			},
			{
				// An environment acknowledgement of another number does
				// not cover a plan over the limit, and says where it
				// came from.
				PreConfig:   func() { t.Setenv(AcknowledgeEnv, "1") },
				Config:      renamedIdentities(ledger, `safeguards = { max_revocations = 1 }`, "newer", keys[:2]...),
				ExpectError: wrapped(`would destroy 2 sunset resources, but SUNSET_ACKNOWLEDGE_REVOCATIONS is 1`),
			},
			{
				// No for_each instance is left for the framework's state shim.
				PreConfig:         func() { t.Setenv(AcknowledgeEnv, "") },
				Config:            renamedIdentities(ledger, limit, "new"),
				ConfigStateChecks: []statecheck.StateCheck{offboarded(8)},
			},
		},
	})
}

// TestAccMassRevocationBreakerCountsLDAPReplacements: sunset_ldap_account
// decides in its own ModifyPlan that a new DN replaces the entry; those
// replacements count against the breaker too.
func TestAccMassRevocationBreakerCountsLDAPReplacements(t *testing.T) {
	s := testenv.SlapdForTest(t)
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	accounts := func(safeguards, prefix string, keys ...string) string {
		quoted := make([]string, len(keys))
		for i, k := range keys {
			quoted[i] = hclString(k)
		}
		return providerConfig(ledger, ldapTargets(s, "")+"\n  "+safeguards) + fmt.Sprintf(`
resource "sunset_ldap_account" "r" {
  for_each    = toset([%s])
  target      = "corp"
  identity_id = "svc-${each.key}"
  uid         = "%s-${each.key}"
  expires_at  = %q
}
`, strings.Join(quoted, ", "), prefix, day(30))
	}
	limit := `safeguards = { max_revocations = 1 }`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: accounts(limit, "brk-old", "1", "2")},
			{
				Config: accounts(limit, "brk-new", "1", "2"),
				ExpectError: wrapped(`Mass-revocation safeguard`, `would destroy 2 sunset resources, more than safeguards.max_revocations (1)`,
					`sunset_ldap_account corp/uid=brk-old-`, `(replace)`),
			},
			{
				// Nothing was replaced.
				Config: accounts(limit, "brk-old", "1", "2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{Config: accounts(`safeguards = { max_revocations = 1, acknowledge_revocations = 2 }`, "brk-old")},
		},
	})
}

// TestGuardDestroyWarnsOfAnUnneededAcknowledgement: the provider turns the
// breaker's verdict on a plan within the limit into a warning naming the
// acknowledgement's source.
func TestGuardDestroyWarnsOfAnUnneededAcknowledgement(t *testing.T) {
	for _, c := range []struct {
		name, env, cfg, want string
	}{
		{"environment", "7", "", "SUNSET_ACKNOWLEDGE_REVOCATIONS=7 was not needed: this plan destroys 1 sunset resource, within safeguards.max_revocations (10)"},
		{"provider block", "", "7", "safeguards.acknowledge_revocations = 7 was not needed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := &safeguardsModel{}
			if c.cfg != "" {
				m.AcknowledgeRevocations = types.Int64Value(7)
			}
			b, aerr := breakerFromConfig(m, func(k string) string {
				if k == AcknowledgeEnv {
					return c.env
				}
				return ""
			})
			if aerr != nil {
				t.Fatal(aerr)
			}
			rt := &runtime{breaker: b}
			diags := rt.guardDestroy(context.Background(), "sunset_identity", "alice")
			if diags.HasError() || diags.WarningsCount() != 1 {
				t.Fatalf("want one warning and no error, got %v", diags)
			}
			if got := diags.Warnings()[0].Detail(); !strings.Contains(got, c.want) {
				t.Errorf("warning %q lacks %q", got, c.want)
			}
		})
	}
}

// TestSchemaRequiresReplaceSeesEveryPlanModifier: guardPlannedDestroy finds
// replacements by asking the plan modifiers of top-level attributes of the
// types schemaRequiresReplace handles. A plan modifier anywhere else (a
// nested attribute, a type it does not handle) could require a replacement
// the breaker never counts: extend schemaRequiresReplace first.
func TestSchemaRequiresReplaceSeesEveryPlanModifier(t *testing.T) {
	ctx := context.Background()
	for _, f := range (&sunsetProvider{}).Resources(ctx) {
		r := f()
		var md fwresource.MetadataResponse
		r.Metadata(ctx, fwresource.MetadataRequest{ProviderTypeName: "sunset"}, &md)
		var sr fwresource.SchemaResponse
		r.Schema(ctx, fwresource.SchemaRequest{}, &sr)
		for name, a := range sr.Schema.Attributes {
			switch a.(type) {
			case schema.StringAttribute, schema.Int64Attribute, schema.BoolAttribute, schema.ListAttribute, schema.SetAttribute, schema.MapAttribute:
				continue
			}
			for _, where := range planModifiersIn(reflect.ValueOf(a), name) {
				t.Errorf("%s: %s has plan modifiers that schemaRequiresReplace does not ask", md.TypeName, where)
			}
		}
	}
}

// planModifiersIn lists the attributes under v (a schema attribute) that
// carry plan modifiers.
func planModifiersIn(v reflect.Value, at string) []string {
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	var out []string
	switch v.Kind() {
	case reflect.Struct:
		if pm := v.FieldByName("PlanModifiers"); pm.IsValid() && pm.Len() > 0 {
			out = append(out, at)
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).Name == "PlanModifiers" || !v.Type().Field(i).IsExported() {
				continue
			}
			out = append(out, planModifiersIn(v.Field(i), at)...)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			out = append(out, planModifiersIn(v.MapIndex(k), at+"."+fmt.Sprint(k.Interface()))...)
		}
	}
	return out
}

// TestAccSCIMRosterMinIdentities: min_identities applies to a SCIM
// directory as to a file. Inline identities do not count towards it.
func TestAccSCIMRosterMinIdentities(t *testing.T) {
	idp := scimTestServer(t, testenv.SCIMOptions{})
	for _, n := range []string{"alice", "bob", "carol"} {
		if _, err := idp.AddUser(testenv.SCIMUser{UserName: n, Email: n + "@example.com", EndDate: day(90)}); err != nil {
			t.Fatal(err)
		}
	}
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	provider := scimProvider(ledger, scimTargetHCL("idp", idp.URL, ""))
	roster := func(min int) string {
		return provider + fmt.Sprintf(`
data "sunset_roster" "staff" {
  scim           = { target = "idp", default_owner = "hr@example.com" }
  identities     = { etl = { kind = "workload", owner = "data@example.com", end_date = %q } }
  min_identities = %d
}
`, day(30), min)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      roster(4),
				ExpectError: wrapped(`Roster source returned too few identities`, `the SCIM directory returned 3 identities; min_identities is 4`),
			},
			{
				Config: roster(3),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("active"), knownvalue.MapSizeExact(4)),
				},
			},
		},
	})
}
