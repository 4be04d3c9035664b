package provider

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/config"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/ldap"
	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// These tests drive the real terraform binary against a real slapd
// (internal/testenv): ppolicy with a default policy, memberof, ldaps.
// The target's base_dn is ou=people, as a directory team would scope it;
// groups live in ou=groups and are found through the root DSE.

const (
	ldapPeople  = testenv.SlapdPeopleDN
	ldapNobody  = "cn=nobody," + testenv.SlapdBaseDN // empty_group_member
	ldapAccount = `sunset_ldap_account.a`
)

// ldapTargets is the provider's targets block for a test slapd.
func ldapTargets(s *testenv.Slapd, extra string) string {
	return fmt.Sprintf(`targets = {
    corp = { ldap = {
      url                = %q
      bind_dn            = %q
      bind_password      = %q
      base_dn            = %q
      ca_file            = %q
      empty_group_member = %q
      %s
    } }
  }`, s.LDAPSURL, s.BindDN, s.BindPassword, s.PeopleDN, s.CAFile, ldapNobody, extra)
}

func ldapProvider(ledger string, s *testenv.Slapd) string {
	return providerConfig(ledger, ldapTargets(s, ""))
}

// ldapGatedConfig is DESIGN.md's pattern for directory accounts: identities
// from the roster's active set, one account per identity.
func ldapGatedConfig(ledger string, s *testenv.Slapd, identities, extraRoster, account string) string {
	return ldapProvider(ledger, s) + gatedIdentities(inlineRoster(identities, extraRoster)) + fmt.Sprintf(`
resource "sunset_ldap_account" "staff" {
  for_each    = sunset_identity.staff
  target      = "corp"
  identity_id = each.value.id
  uid         = each.key
  ou          = %q
  expires_at  = each.value.end_date
%s
}
`, ldapPeople, account)
}

func contractor(name, end string) string {
	return fmt.Sprintf(`    %q = { kind = "contractor", owner = "hr@example.com", end_date = %q }`+"\n", name, end)
}

// --- talking to slapd as its administrator ---------------------------------

func ldapDial(s *testenv.Slapd) (*goldap.Conn, error) {
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	conn, err := goldap.DialURL(s.LDAPSURL, goldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}))
	if err != nil {
		return nil, err
	}
	conn.SetTimeout(5 * time.Second)
	return conn, nil
}

// ldapAdmin runs f on a fresh connection bound as the rootdn. Fresh, so
// that it works across the server restarts some tests make.
func ldapAdmin(s *testenv.Slapd, f func(*goldap.Conn) error) error {
	conn, err := ldapDial(s)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.Bind(s.BindDN, s.BindPassword); err != nil {
		return err
	}
	return f(conn)
}

func mustLDAPAdmin(t *testing.T, s *testenv.Slapd, f func(*goldap.Conn) error) {
	t.Helper()
	if err := ldapAdmin(s, f); err != nil {
		t.Fatal(err)
	}
}

// ldapGroup adds a groupOfNames under ou=groups with the given members
// (the schema needs one: a placeholder when none is given).
func ldapGroup(t *testing.T, s *testenv.Slapd, cn string, members ...string) string {
	t.Helper()
	dn, err := ldap.BuildDN("cn", cn, s.GroupsDN)
	if err != nil {
		t.Fatal(err)
	}
	if len(members) == 0 {
		members = []string{ldapNobody}
	}
	mustLDAPAdmin(t, s, func(c *goldap.Conn) error {
		add := goldap.NewAddRequest(dn, nil)
		add.Attribute("objectClass", []string{"groupOfNames"})
		add.Attribute("cn", []string{cn})
		add.Attribute("member", members)
		return c.Add(add)
	})
	return dn
}

func ldapModify(s *testenv.Slapd, dn string, f func(*goldap.ModifyRequest)) error {
	return ldapAdmin(s, func(c *goldap.Conn) error {
		m := goldap.NewModifyRequest(dn, nil)
		f(m)
		if err := c.Modify(m); err != nil {
			return fmt.Errorf("modify %s: %w", dn, err)
		}
		return nil
	})
}

// ldapEntry reads an entry with its ppolicy attributes; nil when absent.
func ldapEntry(s *testenv.Slapd, dn string) (*goldap.Entry, error) {
	var e *goldap.Entry
	err := ldapAdmin(s, func(c *goldap.Conn) error {
		res, err := c.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 5, false,
			"(objectClass=*)", []string{"*", "pwdAccountLockedTime", "pwdEndTime"}, nil))
		if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			return nil
		}
		if err != nil {
			return err
		}
		e = res.Entries[0]
		return nil
	})
	return e, err
}

// ldapGroupsListing lists the groups whose member names dn, as the admin
// sees them.
func ldapGroupsListing(s *testenv.Slapd, dn string) ([]string, error) {
	var out []string
	err := ldapAdmin(s, func(c *goldap.Conn) error {
		res, err := c.Search(goldap.NewSearchRequest(s.GroupsDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 5, false,
			"(member="+ldap.EscapeFilterValue(dn)+")", []string{"1.1"}, nil))
		if err != nil {
			return err
		}
		for _, e := range res.Entries {
			out = append(out, e.DN)
		}
		return nil
	})
	return out, err
}

func ldapGroupMembers(s *testenv.Slapd, group string) ([]string, error) {
	var out []string
	err := ldapAdmin(s, func(c *goldap.Conn) error {
		res, err := c.Search(goldap.NewSearchRequest(group, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 5, false,
			"(objectClass=*)", []string{"member"}, nil))
		if err == nil {
			out = res.Entries[0].GetAttributeValues("member")
		}
		return err
	})
	return out, err
}

// ldapBind says whether the directory accepts a simple bind; a refusal is
// (false, nil), anything else that keeps us from knowing is an error.
func ldapBind(s *testenv.Slapd, dn, pw string) (bool, error) {
	conn, err := ldapDial(s)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	err = conn.Bind(dn, pw)
	if err == nil {
		return true, nil
	}
	if goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
		return false, nil
	}
	return false, err
}

func ldapDN(t *testing.T, uid string) string {
	t.Helper()
	dn, err := ldap.BuildDN("uid", uid, ldapPeople)
	if err != nil {
		t.Fatal(err)
	}
	return dn
}

// ldapPlanCheck runs a function on the plan terraform is about to apply.
type ldapPlanCheck func(*tfjson.Plan) error

func (f ldapPlanCheck) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	resp.Error = f(req.Plan)
}

// ldapBefore returns one attribute of a resource's prior value in a plan:
// what refresh read from the directory.
func ldapBefore(p *tfjson.Plan, address, attr string) (any, error) {
	for _, rc := range p.ResourceChanges {
		if rc.Address == address {
			before, ok := rc.Change.Before.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s has no prior value in the plan", address)
			}
			return before[attr], nil
		}
	}
	return nil, fmt.Errorf("%s is not in the plan", address)
}

// ldapLazy is a configuration variable whose value is read when the step
// writes its configuration, after PreConfig: for timestamps a few seconds
// ahead of the moment the step starts.
type ldapLazy func() string

func (f ldapLazy) MarshalJSON() ([]byte, error) { return json.Marshal(f()) }

// --- End to end ------------------------------------------------------------

// An end date passes (the roster evaluated three days ahead): the plan
// destroys the account, the apply takes it out of its groups and locks it,
// a bind with its password fails, and the ledger holds the verified
// removal.
func TestAccLDAPAccountEndToEndEndDatePasses(t *testing.T) {
	s := testenv.SlapdForTest(t)
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	vpn := ldapGroup(t, s, "vpn")
	wifi := ldapGroup(t, s, "wifi") // only the nobody placeholder: alice becomes its sole member
	ids := contractor("alice", day(1)) + contractor("bob", day(30))
	account := fmt.Sprintf(`  groups      = [%q, %q]
  attributes  = { mail = ["${each.key}@example.org"], cn = ["${each.key} (contractor)"] }
  password_wo = "pw-${each.key}-S3cret!"
  password_wo_version = 1`, vpn, wifi)
	alice, bob := ldapDN(t, "alice"), ldapDN(t, "bob")
	aliceAddr, bobAddr := `sunset_ldap_account.staff["alice"]`, `sunset_ldap_account.staff["bob"]`
	asOf := time.Now().UTC().Add(72 * time.Hour).Format(time.RFC3339)

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config: ldapGatedConfig(ledger, s, ids, "", account),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(aliceAddr, tfjsonpath.New("id"), knownvalue.StringExact("corp/"+alice)),
					statecheck.ExpectKnownValue(aliceAddr, tfjsonpath.New("dn"), knownvalue.StringExact(alice)),
					statecheck.ExpectKnownValue(aliceAddr, tfjsonpath.New("locked"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(aliceAddr, tfjsonpath.New("object_classes"), knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("inetOrgPerson")})),
					stateHasNoSecrets{s.BindPassword, "pw-alice-S3cret!", "pw-bob-S3cret!"},
					ledgerCheck(func() error {
						for _, who := range []string{"alice", "bob"} {
							dn := ldapDN(t, who)
							if ok, err := ldapBind(s, dn, "pw-"+who+"-S3cret!"); err != nil || !ok {
								return fmt.Errorf("%s cannot bind after create: %v", who, err)
							}
							groups, err := ldapGroupsListing(s, dn)
							if err != nil || len(groups) != 2 {
								return fmt.Errorf("%s groups %v %v", who, groups, err)
							}
						}
						e, err := ldapEntry(s, alice)
						if err != nil {
							return err
						}
						if got, want := e.GetAttributeValue("pwdEndTime"), ldap.FormatGeneralizedTime(ldapEndsAt(t, day(1))); got != want {
							return fmt.Errorf("alice pwdEndTime %q, want %q (the end of her end date)", got, want)
						}
						if e.GetAttributeValue("mail") != "alice@example.org" || e.GetAttributeValue("sn") != "alice" {
							return fmt.Errorf("alice's attributes: mail %q sn %q", e.GetAttributeValue("mail"), e.GetAttributeValue("sn"))
						}
						return expectLedgerEventSet(ledger, []string{
							"identity.declared:alice", "identity.declared:bob",
							"credential.issued:corp/" + alice, "credential.issued:corp/" + bob,
						})
					}),
				},
			},
			{
				// Three days on, alice's end date has passed.
				Config: ldapGatedConfig(ledger, s, ids, fmt.Sprintf("as_of = %q", asOf), account),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(aliceAddr, plancheck.ResourceActionDestroy),
						plancheck.ExpectResourceAction(`sunset_identity.staff["alice"]`, plancheck.ResourceActionDestroy),
						plancheck.ExpectResourceAction(bobAddr, plancheck.ResourceActionNoop),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{ledgerCheck(func() error {
					if ok, err := ldapBind(s, alice, "pw-alice-S3cret!"); err != nil || ok {
						return fmt.Errorf("alice's bind after the destroy: accepted=%v %v", ok, err)
					}
					if ok, err := ldapBind(s, bob, "pw-bob-S3cret!"); err != nil || !ok {
						return fmt.Errorf("bob was touched: bind accepted=%v %v", ok, err)
					}
					if groups, err := ldapGroupsListing(s, alice); err != nil || len(groups) != 0 {
						return fmt.Errorf("groups still listing alice: %v %v", groups, err)
					}
					if groups, err := ldapGroupsListing(s, bob); err != nil || len(groups) != 2 {
						return fmt.Errorf("bob's groups: %v %v", groups, err)
					}
					// The placeholder left wifi when alice joined; bob remains.
					if m, err := ldapGroupMembers(s, wifi); err != nil || !slices.Equal(m, []string{bob}) {
						return fmt.Errorf("wifi members %v %v", m, err)
					}
					e, err := ldapEntry(s, alice)
					if err != nil || e == nil || e.GetAttributeValue("pwdAccountLockedTime") != ldap.PermanentLock {
						return fmt.Errorf("alice's entry after a disable-mode destroy: %v %v", e, err)
					}
					if err := expectLedgerEventSet(ledger, []string{
						"identity.declared:alice", "identity.declared:bob",
						"credential.issued:corp/" + alice, "credential.issued:corp/" + bob,
						// The trigger comes from state and the wall clock: the roster
						// looked ahead, but alice's end date has not passed yet.
						"credential.revoked:corp/" + alice + ":removed_from_configuration",
						"identity.offboarded:alice:removed_from_configuration",
					}); err != nil {
						return err
					}
					rec, err := ledgerRecord(ledger, evidence.EventCredentialRevoked, alice)
					if err != nil {
						return err
					}
					for _, want := range []string{"pwdAccountLockedTime=000001010000Z", "0 groups"} {
						if !strings.Contains(rec.Verification, want) {
							return fmt.Errorf("verification %q lacks %q", rec.Verification, want)
						}
					}
					if rec.Action != "lock" || rec.System != "ldap" || rec.VerifiedAt == nil || rec.RemovedAt == nil || rec.Actor != "acceptance-test" ||
						rec.Identity == nil || rec.Identity.ID != "alice" || rec.Identity.EndDate != day(1) {
						return fmt.Errorf("revocation record %+v", rec)
					}
					if d := rec.Details["removed_from_groups"]; !strings.Contains(d, "cn=vpn") || !strings.Contains(d, "cn=wifi") || rec.Details["entry_existed"] != "true" {
						return fmt.Errorf("revocation details %v", rec.Details)
					}
					return noSecretsIn("ledger", readText(ledger), s.BindPassword, "pw-alice-S3cret!", "pw-bob-S3cret!")
				})},
			},
			ldapAllEndedStep(ledger, s, ids, account, ledgerCheck(func() error {
				// bob was wifi's last member: the placeholder takes his place.
				if m, err := ldapGroupMembers(s, wifi); err != nil || !slices.Equal(m, []string{ldapNobody}) {
					return fmt.Errorf("wifi members after the last revocation: %v %v", m, err)
				}
				return nil
			})),
		},
	})
}

// ldapAllEndedStep evaluates the roster far ahead so that no for_each
// instance is left (the test framework cannot read them after the test).
func ldapAllEndedStep(ledger string, s *testenv.Slapd, ids, account string, checks ...statecheck.StateCheck) tfresource.TestStep {
	return tfresource.TestStep{
		Config: ldapGatedConfig(ledger, s, ids, allEnded, account),
		ConfigStateChecks: append([]statecheck.StateCheck{
			statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("active"), knownvalue.MapSizeExact(0)),
		}, checks...),
	}
}

// ldapEndsAt is when a calendar end date ends (the next midnight, UTC).
func ldapEndsAt(t *testing.T, date string) time.Time {
	t.Helper()
	d, err := time.Parse("2006-01-02", date)
	if err != nil {
		t.Fatal(err)
	}
	return d.AddDate(0, 0, 1)
}

// --- The directory enforces the end date by itself ---------------------------

// The identity's end date is a timestamp a few seconds ahead. The account
// binds before it and is refused after it with no apply in between: the
// directory enforces pwdEndTime. Then the next plan, with nothing looked
// ahead, destroys it, and the ledger says the end date was reached.
func TestAccLDAPAccountDirectoryEnforcesEndDate(t *testing.T) {
	s := testenv.SlapdForTest(t)
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	const pw = "eve-Pw-7fQ2"
	eve := ldapDN(t, "eve")
	var end time.Time
	vars := config.Variables{"end": ldapLazy(func() string { return end.UTC().Format(time.RFC3339) })}
	cfg := `variable "end" { type = string }
` + ldapGatedConfig(ledger, s, `    "eve" = { kind = "contractor", owner = "hr@example.com", end_date = var.end }`, "",
		fmt.Sprintf(`  password_wo = %q
  password_wo_version = 1`, pw))

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				// Long enough for terraform to plan and apply, short enough to wait for.
				PreConfig:       func() { end = time.Now().Add(10 * time.Second).Truncate(time.Second) },
				Config:          cfg,
				ConfigVariables: vars,
				ConfigStateChecks: []statecheck.StateCheck{ledgerCheck(func() error {
					t.Logf("the apply ended %v before the end date", time.Until(end).Round(time.Millisecond))
					if time.Until(end) < time.Second {
						return fmt.Errorf("the apply ended %v before the end date: too slow to watch the directory enforce it", time.Until(end))
					}
					if ok, err := ldapBind(s, eve, pw); err != nil || !ok {
						return fmt.Errorf("eve cannot bind before her end date %s: %v", end, err)
					}
					var refusedAt time.Time
					for deadline := end.Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
						started := time.Now()
						ok, err := ldapBind(s, eve, pw)
						if err != nil {
							return err
						}
						if !ok {
							refusedAt = started
							break
						}
					}
					if refusedAt.IsZero() {
						return fmt.Errorf("eve could still bind 10s after her end date %s", end)
					}
					// slapd compares at the second: refused from the end date on, not before.
					if refusedAt.Before(end.Add(-time.Second)) {
						return fmt.Errorf("refused at %s, before the end date %s", refusedAt, end)
					}
					e, err := ldapEntry(s, eve)
					if err != nil || e.GetAttributeValue("pwdAccountLockedTime") != "" {
						return fmt.Errorf("the directory, not a lock, must have refused eve: %v %v", e, err)
					}
					t.Logf("end date %s; first refused bind started %s", end.Format(time.RFC3339), refusedAt.Format(time.RFC3339Nano))
					return nil
				})},
				// By now the end date has passed: the next plan is not empty.
				ExpectNonEmptyPlan: true,
			},
			{
				Config:          cfg,
				ConfigVariables: vars,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(`sunset_ldap_account.staff["eve"]`, plancheck.ResourceActionDestroy),
						plancheck.ExpectResourceAction(`sunset_identity.staff["eve"]`, plancheck.ResourceActionDestroy),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("active"), knownvalue.MapSizeExact(0)),
					ledgerCheck(func() error {
						return expectLedgerEvents(ledger, []string{
							"identity.declared:eve",
							"credential.issued:corp/" + eve,
							"credential.revoked:corp/" + eve + ":end_date_reached",
							"identity.offboarded:eve:end_date_reached",
						})
					}),
				},
			},
		},
	})
}

// --- Drift: out-of-band changes show in the next plan --------------------------

func ldapSingleConfig(ledger string, s *testenv.Slapd, body string) string {
	return ldapProvider(ledger, s) + fmt.Sprintf(`
resource "sunset_ldap_account" "a" {
  target      = "corp"
%s
}
`, body)
}

// A managed account's Read sees what an administrator did by hand: a
// group added, the expiry extended, an attribute changed; and for a
// suspended account, an unlock. Each shows as an update in the next plan
// and the apply undoes it, with a credential.changed record.
func TestAccLDAPAccountOutOfBandChangesShowInPlan(t *testing.T) {
	s := testenv.SlapdForTest(t)
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	eng := ldapGroup(t, s, "eng")
	admins := ldapGroup(t, s, "admins")
	carol := ldapDN(t, "carol")
	const pw = "carol-Pw-Xy81"
	body := func(groups, extra string) string {
		return fmt.Sprintf(`  identity_id = "carol"
  uid         = "carol"
  groups      = [%s]
  expires_at  = %q
  attributes  = { mail = ["carol@example.org"] }
  password_wo = %q
  password_wo_version = 1
%s`, groups, day(30), pw, extra)
	}
	live := ldapSingleConfig(ledger, s, body(fmt.Sprintf("%q", eng), ""))
	suspended := ldapSingleConfig(ledger, s, body("", "  suspended = true"))
	later := ldap.FormatGeneralizedTime(time.Now().AddDate(1, 0, 0))

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{Config: live},
			{
				PreConfig: func() {
					// By hand: carol into admins, a year more, another mail.
					if err := ldapModify(s, admins, func(m *goldap.ModifyRequest) { m.Add("member", []string{carol}) }); err != nil {
						t.Fatal(err)
					}
					if err := ldapModify(s, carol, func(m *goldap.ModifyRequest) {
						m.Replace("pwdEndTime", []string{later})
						m.Replace("mail", []string{"carol@attacker.example"})
					}); err != nil {
						t.Fatal(err)
					}
				},
				Config: live,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(ldapAccount, plancheck.ResourceActionUpdate),
						ldapPlanCheck(func(p *tfjson.Plan) error {
							groups, err := ldapBefore(p, ldapAccount, "groups")
							if err != nil {
								return err
							}
							if g, _ := groups.([]any); len(g) != 2 {
								return fmt.Errorf("refreshed groups %v: want eng and the added admins", groups)
							}
							exp, _ := ldapBefore(p, ldapAccount, "expires_at")
							if want, _ := ldap.ParseGeneralizedTime(later); exp != want.Format(time.RFC3339) {
								return fmt.Errorf("refreshed expires_at %v: want the extended %s", exp, want.Format(time.RFC3339))
							}
							attrs, _ := ldapBefore(p, ldapAccount, "attributes")
							if !strings.Contains(fmt.Sprint(attrs), "carol@attacker.example") {
								return fmt.Errorf("refreshed attributes %v: want the changed mail", attrs)
							}
							return nil
						}),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{ledgerCheck(func() error {
					groups, err := ldapGroupsListing(s, carol)
					if err != nil || len(groups) != 1 || !ldapSameDN(groups[0], eng) {
						return fmt.Errorf("carol's groups after the apply: %v %v", groups, err)
					}
					e, err := ldapEntry(s, carol)
					if err != nil {
						return err
					}
					if got, want := e.GetAttributeValue("pwdEndTime"), ldap.FormatGeneralizedTime(ldapEndsAt(t, day(30))); got != want || e.GetAttributeValue("mail") != "carol@example.org" {
						return fmt.Errorf("after the apply: pwdEndTime %q (want %q), mail %q", got, want, e.GetAttributeValue("mail"))
					}
					rec, err := ledgerRecord(ledger, evidence.EventCredentialChanged, carol)
					if err != nil {
						return err
					}
					for _, k := range []string{"groups", "expires_at", "attributes.mail"} {
						if _, ok := rec.Changes[k]; !ok {
							return fmt.Errorf("credential.changed lacks %s: %+v", k, rec.Changes)
						}
					}
					if c := rec.Changes["groups"]; !strings.Contains(c.Old, "cn=admins") || strings.Contains(c.New, "cn=admins") {
						return fmt.Errorf("groups change %+v", c)
					}
					return nil
				})},
			},
			{
				// Suspended: locked, out of every group, verified with the password.
				Config: suspended,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(ldapAccount, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(ldapAccount, tfjsonpath.New("locked"), knownvalue.Bool(true)),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ldapAccount, tfjsonpath.New("locked"), knownvalue.Bool(true)),
					ledgerCheck(func() error {
						if ok, err := ldapBind(s, carol, pw); err != nil || ok {
							return fmt.Errorf("suspended carol binds: %v %v", ok, err)
						}
						if groups, err := ldapGroupsListing(s, carol); err != nil || len(groups) != 0 {
							return fmt.Errorf("suspended carol's groups: %v %v", groups, err)
						}
						rec, err := ledgerRecord(ledger, evidence.EventCredentialChanged, carol)
						if err != nil {
							return err
						}
						if rec.Action != "lock" || rec.Changes["suspended"].New != "true" || !strings.Contains(rec.Verification, "bind refused") || rec.VerifiedAt == nil {
							return fmt.Errorf("suspension record %+v", rec)
						}
						return nil
					}),
				},
			},
			{
				// By hand: carol unlocked and put back into eng.
				PreConfig: func() {
					if err := ldapModify(s, carol, func(m *goldap.ModifyRequest) { m.Delete("pwdAccountLockedTime", nil) }); err != nil {
						t.Fatal(err)
					}
					if err := ldapModify(s, eng, func(m *goldap.ModifyRequest) { m.Add("member", []string{carol}) }); err != nil {
						t.Fatal(err)
					}
					if ok, err := ldapBind(s, carol, pw); err != nil || !ok {
						t.Fatalf("the out-of-band unlock did not work: %v %v", ok, err)
					}
				},
				Config: suspended,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(ldapAccount, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(ldapAccount, tfjsonpath.New("locked"), knownvalue.Bool(true)),
						ldapPlanCheck(func(p *tfjson.Plan) error {
							if locked, err := ldapBefore(p, ldapAccount, "locked"); err != nil || locked != false {
								return fmt.Errorf("refreshed locked = %v (%v): the unlock was not seen", locked, err)
							}
							if groups, _ := ldapBefore(p, ldapAccount, "groups"); len(groups.([]any)) != 1 {
								return fmt.Errorf("refreshed groups %v: the re-added group was not seen", groups)
							}
							return nil
						}),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{ledgerCheck(func() error {
					if ok, err := ldapBind(s, carol, pw); err != nil || ok {
						return fmt.Errorf("carol binds after the re-lock: %v %v", ok, err)
					}
					if groups, err := ldapGroupsListing(s, carol); err != nil || len(groups) != 0 {
						return fmt.Errorf("carol's groups after the re-lock: %v %v", groups, err)
					}
					rec, err := ledgerRecord(ledger, evidence.EventCredentialChanged, carol)
					if err != nil {
						return err
					}
					if c := rec.Changes["locked"]; rec.Action != "lock" || c.Old != "false" || c.New != "true" || !strings.Contains(rec.Changes["groups"].Old, "cn=eng") {
						return fmt.Errorf("re-lock record %+v", rec)
					}
					return nil
				})},
			},
			{
				// Nothing moved since: no diff.
				Config:   suspended,
				PlanOnly: true,
			},
		},
		CheckDestroy: func(*terraform.State) error {
			return expectLedgerEvents(ledger, []string{
				"credential.issued:corp/" + carol,
				"credential.changed:corp/" + carol,
				"credential.changed:corp/" + carol,
				"credential.changed:corp/" + carol,
				"credential.revoked:corp/" + carol + ":removed_from_configuration",
			})
		},
	})
}

// --- Hostile names --------------------------------------------------------------

// Names that break naive DN and filter building are created, found,
// grouped and revoked as themselves (half in delete mode, half in disable
// mode), and a bystander is untouched.
func TestAccLDAPAccountHostileNames(t *testing.T) {
	s := testenv.SlapdForTest(t)
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	group := ldapGroup(t, s, `ops, eu+"x"`)
	victim := ldapDN(t, "victim")
	const victimPW = "victim-pw-1"
	mustLDAPAdmin(t, s, func(c *goldap.Conn) error {
		add := goldap.NewAddRequest(victim, nil)
		add.Attribute("objectClass", []string{"inetOrgPerson"})
		for k, v := range map[string]string{"uid": "victim", "cn": "victim", "sn": "victim", "userPassword": victimPW} {
			add.Attribute(k, []string{v})
		}
		if err := c.Add(add); err != nil {
			return err
		}
		m := goldap.NewModifyRequest(group, nil)
		m.Add("member", []string{victim})
		return c.Modify(m)
	})
	names := []string{
		"o'neil, jr+sr",
		"*",
		"*)(uid=*",
		`back\slash`,
		"#hash",
		" lead and trail ",
		`<a>;b="c"`,
		"victim,ou=people",
		"Zoë=ü 名前",
		"a/b",
		"${not.interpolated}",
	}
	var entries []string
	for i, n := range names {
		mode := "disable"
		if i%2 == 0 {
			mode = "delete"
		}
		entries = append(entries, fmt.Sprintf("    %s = %q", hclString(n), mode))
	}
	cfg := func(accounts []string) string {
		// More accounts than the default mass-revocation limit are destroyed
		// at once here, deliberately.
		return providerConfig(ledger, ldapTargets(s, "")+"\n  safeguards = { max_revocations = 100 }") + fmt.Sprintf(`
resource "sunset_ldap_account" "h" {
  for_each    = {
%s
  }
  target      = "corp"
  identity_id = "hostile"
  uid         = each.key
  on_destroy  = each.value
  groups      = [%s]
  password_wo = "pw:${each.key}"
  password_wo_version = 1
  expires_at  = %q
}
`, strings.Join(accounts, "\n"), hclString(group), day(30))
	}
	var checks []statecheck.StateCheck
	for _, n := range names {
		checks = append(checks, statecheck.ExpectKnownValue(fmt.Sprintf("sunset_ldap_account.h[%s]", hclString(n)), tfjsonpath.New("id"), knownvalue.StringExact("corp/"+ldapDN(t, n))))
	}
	checks = append(checks, ledgerCheck(func() error {
		for _, n := range names {
			var found []*goldap.Entry
			if err := ldapAdmin(s, func(c *goldap.Conn) error {
				res, err := c.Search(goldap.NewSearchRequest(ldapPeople, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 5, false,
					"(uid="+ldap.EscapeFilterValue(n)+")", []string{"uid"}, nil))
				if err == nil {
					found = res.Entries
				}
				return err
			}); err != nil {
				return err
			}
			if len(found) != 1 || !ldapSameDN(found[0].DN, ldapDN(t, n)) || found[0].GetAttributeValue("uid") != n {
				return fmt.Errorf("uid %q: search found %d entries (%v)", n, len(found), found)
			}
			parsed, err := goldap.ParseDN(found[0].DN)
			if err != nil || len(parsed.RDNs) != 4 || parsed.RDNs[0].Attributes[0].Value != n {
				return fmt.Errorf("uid %q became DN %q", n, found[0].DN)
			}
			if ok, err := ldapBind(s, found[0].DN, "pw:"+n); err != nil || !ok {
				return fmt.Errorf("uid %q cannot bind: %v", n, err)
			}
			if groups, err := ldapGroupsListing(s, found[0].DN); err != nil || len(groups) != 1 {
				return fmt.Errorf("uid %q groups %v %v", n, groups, err)
			}
		}
		return nil
	}))

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{Config: cfg(entries), ConfigStateChecks: checks},
			{
				Config: cfg(nil),
				ConfigStateChecks: []statecheck.StateCheck{ledgerCheck(func() error {
					var want []string
					for i, n := range names {
						dn := ldapDN(t, n)
						e, err := ldapEntry(s, dn)
						if err != nil {
							return err
						}
						if i%2 == 0 && e != nil {
							return fmt.Errorf("uid %q: still present after a delete-mode destroy", n)
						}
						if i%2 == 1 && (e == nil || e.GetAttributeValue("pwdAccountLockedTime") != ldap.PermanentLock) {
							return fmt.Errorf("uid %q: not locked after a disable-mode destroy: %v", n, e)
						}
						if ok, err := ldapBind(s, dn, "pw:"+n); err != nil || ok {
							return fmt.Errorf("uid %q still binds: %v %v", n, ok, err)
						}
						if groups, err := ldapGroupsListing(s, dn); err != nil || len(groups) != 0 {
							return fmt.Errorf("uid %q still in %v %v", n, groups, err)
						}
						want = append(want, "credential.issued:corp/"+dn, "credential.revoked:corp/"+dn+":removed_from_configuration")
					}
					// The bystander (whose DN one name imitates) is untouched.
					e, err := ldapEntry(s, victim)
					if err != nil || e == nil || e.GetAttributeValue("pwdAccountLockedTime") != "" {
						return fmt.Errorf("the bystander was touched: %v %v", e, err)
					}
					if ok, err := ldapBind(s, victim, victimPW); err != nil || !ok {
						return fmt.Errorf("the bystander cannot bind: %v", err)
					}
					if groups, err := ldapGroupsListing(s, victim); err != nil || len(groups) != 1 {
						return fmt.Errorf("the bystander's groups: %v %v", groups, err)
					}
					return expectLedgerEventSet(ledger, want)
				})},
			},
		},
	})
}

// Invalid names and forms are refused at plan time, on the attribute at
// fault, before anything reaches a directory (none listens here).
func TestAccLDAPAccountInvalidConfig(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	prov := providerConfig(ledger, `targets = {
    corp = { ldap = { url = "ldaps://127.0.0.1:1", bind_dn = "cn=admin,dc=example,dc=org", bind_password = "unused-pw", base_dn = "ou=people,dc=example,dc=org" } }
  }`)
	cases := []struct {
		name, body string
		want       wantAttrError
	}{
		{"NUL in uid", `uid = "nul\u0000byte"`, onAttr(`Invalid uid`, "uid", `control character U+0000`)},
		{"newline in uid", `uid = "two\nlines"`, onAttr(`Invalid uid`, "uid", `control character U+000A`)},
		{"blank uid", `uid = "  "`, onAttr(`Invalid uid`, "uid", `uid is empty`)},
		{"escaped NUL in dn", `dn = "uid=a\\00b,ou=people,dc=example,dc=org"`, onAttr(`Invalid dn`, "dn", `control character U+0000`)},
		{"not a dn", `dn = "alice"`, onAttr(`Invalid dn`, "dn", `is not a valid DN`)},
		{"invalid ou", `
uid = "a"
ou = "ou=people,,dc=x"`, onAttr(`Invalid ou`, "ou", `is not a valid DN`)},
		{"dn outside base_dn", `dn = "uid=a,ou=groups,dc=example,dc=org"`, onAttr(`Invalid account DN`, "dn", `is not under base_dn`)},
		{"ou outside base_dn", `
uid = "a"
ou = "ou=admins,dc=example,dc=org"`, onAttr(`Invalid account DN`, "ou", `is not under base_dn`)},
		{"dn and uid", `
dn = "uid=a,ou=people,dc=example,dc=org"
uid = "a"`, onAttr(`Conflicting account names`, "dn")},
		{"no name", `groups = []`, onNested(`Missing account name`, "uid")},
		{"ou without uid", `
dn = "uid=a,ou=people,dc=example,dc=org"
ou = "ou=people,dc=example,dc=org"`, onAttr(`ou without uid`, "ou")},
		{"password in attributes", `
uid = "a"
attributes = { userPassword = ["x"] }`, onLine(`Reserved attribute`, `attributes["userPassword"]`, `attributes\s*=\s*\{\s*userPassword\s*=`, `managed through password_wo`)},
		{"lock in attributes", `
uid = "a"
attributes = { pwdAccountLockedTime = ["000001010000Z"] }`, onLine(`Reserved attribute`, `attributes["pwdAccountLockedTime"]`, `attributes\s*=\s*\{\s*pwdAccountLockedTime\s*=`, `suspended and on_destroy`)},
		{"bad attribute name", `
uid = "a"
attributes = { "mail)(x" = ["x"] }`, onLine(`Invalid attributes`, `attributes["mail)(x"]`, `attributes\s*=\s*\{\s*"mail\)\(x"\s*=`, `is not an LDAP attribute name`)},
		{"person without sn", `
uid = "a"
object_classes = ["inetOrgPerson", "posixAccount"]
attributes = { cn = ["A"] }`, onAttr(`Missing required attributes`, "attributes", `require sn`)},
		{"invalid group", `
uid = "a"
groups = ["vpn"]`, onAttr(`Invalid groups`, "groups", `is not a valid DN`)},
		{"suspended in a group", `
uid = "a"
suspended = true
groups = ["cn=vpn,ou=groups,dc=example,dc=org"]`, onAttr(`A suspended account is in no group`, "groups")},
		{"password without version", `
uid = "a"
password_wo = "secret-pw"`, onNested(`Missing password_wo_version`, "password_wo_version")},
		{"bad expires_at", `
uid = "a"
expires_at = "31/12/2027"`, onAttr(`Invalid expires_at`, "expires_at")},
		{"bad on_destroy", `
uid = "a"
on_destroy = "shred"`, onAttr(`Invalid Attribute Value Match`, "on_destroy", `shred`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testAttrError(t, tfresource.TestStep{Config: prov + fmt.Sprintf(`
resource "sunset_ldap_account" "a" {
  target      = "corp"
  identity_id = "x"
  %s
}
`, c.body)}, c.want)
		})
	}
}

// --- Import, unknown targets ---------------------------------------------------

// An account is imported by TARGET/DN; the DN holds a slash, which the id
// tolerates because target names cannot. identity_id comes back from the
// ledger.
func TestAccLDAPAccountImportSlashDN(t *testing.T) {
	s := testenv.SlapdForTest(t)
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	g := ldapGroup(t, s, "ci")
	dn := "uid=ops/ci," + ldapPeople
	expires := time.Now().UTC().AddDate(0, 2, 0).Truncate(time.Second).Format(time.RFC3339)
	cfg := ldapSingleConfig(ledger, s, fmt.Sprintf(`  identity_id = "ops-ci"
  dn          = %q
  groups      = [%q]
  expires_at  = %q`, dn, g, expires))
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ldapAccount, tfjsonpath.New("id"), knownvalue.StringExact("corp/"+dn)),
				},
			},
			{
				ResourceName:      ldapAccount,
				ImportState:       true,
				ImportStateId:     "corp/" + dn,
				ImportStateVerify: true,
			},
			{
				// New object classes would replace the entry, but a disabled
				// entry keeps its DN: refused at plan time.
				Config: strings.Replace(cfg, `  identity_id = "ops-ci"`, `  identity_id = "ops-ci"
  object_classes = ["inetOrgPerson", "extensibleObject"]
  attributes  = { cn = ["ops"], sn = ["ci"] }`, 1),
				ExpectError: wrapped(`Cannot replace a disabled entry in place`, `on_destroy = "delete"`),
			},
			{
				ResourceName:  ldapAccount,
				ImportState:   true,
				ImportStateId: "corp/uid=ghost," + ldapPeople,
				ExpectError:   wrapped(`Cannot import directory account`, `account not found`),
			},
			{
				ResourceName:  ldapAccount,
				ImportState:   true,
				ImportStateId: "uid=no-target," + ldapPeople,
				ExpectError:   wrapped(`Invalid import id`, `is not of the form TARGET/ACCOUNT`),
			},
			{
				ResourceName:  ldapAccount,
				ImportState:   true,
				ImportStateId: "nope/uid=x," + ldapPeople,
				ExpectError:   wrapped(`Invalid target`, `target "nope" is not defined`),
			},
			{
				ResourceName:  ldapAccount,
				ImportState:   true,
				ImportStateId: "corp/uid=x,ou=groups,dc=example,dc=org",
				ExpectError:   wrapped(`Cannot import directory account`, `is not under base_dn`),
			},
		},
	})
}

func TestAccLDAPAccountUnknownTarget(t *testing.T) {
	s := testenv.SlapdForTest(t)
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	targets := strings.Replace(ldapTargets(s, ""), "corp = {", `other = { scim = { url = "https://scim.example", token = "unused-token" } }
    corp = {`, 1)
	prov := providerConfig(ledger, targets)
	for name, c := range map[string]struct {
		target string
		want   *regexp.Regexp
	}{
		"undefined":  {"crop", wrapped(`Invalid target`, `target "crop" is not defined in the provider's targets (defined: corp, other)`)},
		"wrong kind": {"other", wrapped(`Invalid target`, `target "other" is a scim target; this resource needs a ldap target`)},
	} {
		t.Run(name, func(t *testing.T) {
			tfresource.Test(t, tfresource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []tfresource.TestStep{{
					Config: prov + fmt.Sprintf(`
resource "sunset_ldap_account" "a" {
  target      = %q
  identity_id = "x"
  uid         = "a"
}
`, c.target),
					ExpectError: c.want,
				}},
			})
		})
	}
}

// --- Secrets ------------------------------------------------------------------

// The bind password (recognisable: a random hex string) and the account's
// password appear nowhere: not in state, not in the ledger, not in errors
// from a bind that fails with a wrong password.
func TestAccLDAPAccountSecretsNeverShown(t *testing.T) {
	s := testenv.SlapdForTest(t)
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	const userPW = "Dave-Acct-Pw-Q7w3"
	const wrongBind = "Wrong-Bind-Pw-Zk41"
	good := ldapSingleConfig(ledger, s, fmt.Sprintf(`  identity_id = "dave"
  uid         = "dave"
  password_wo = %q
  password_wo_version = 1`, userPW))
	wrong := providerConfig(ledger, strings.Replace(ldapTargets(s, ""), s.BindPassword, wrongBind, 1)) + fmt.Sprintf(`
resource "sunset_ldap_account" "a" {
  target      = "corp"
  identity_id = "erin"
  uid         = "erin"
  password_wo = %q
  password_wo_version = 1
}
`, userPW)

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{{
			Config: good,
			ConfigStateChecks: []statecheck.StateCheck{
				stateHasNoSecrets{s.BindPassword, userPW},
				ledgerCheck(func() error {
					return noSecretsIn("ledger", readText(ledger), s.BindPassword, userPW)
				}),
			},
		}},
	})

	sawError := false
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		// ExpectError says what an error holds, not what it lacks:
		// ErrorCheck sees the whole text.
		ErrorCheck: func(err error) error {
			sawError = true
			if !wrapped(`Cannot create directory account`, `Invalid Credentials`).MatchString(err.Error()) {
				return err
			}
			return noSecretsIn("error output", err.Error(), wrongBind, s.BindPassword, userPW)
		},
		Steps: []tfresource.TestStep{{Config: wrong}},
	})
	if !sawError {
		t.Fatal("the apply with a wrong bind password succeeded")
	}
	if err := noSecretsIn("ledger", readText(ledger), wrongBind, s.BindPassword, userPW); err != nil {
		t.Fatal(err)
	}
}

// --- Server down during destroy ---------------------------------------------------

// The directory is down when the account leaves the configuration: the
// refresh keeps the last known state (with a warning), the destroy fails
// with credential.revoke_failed recorded and the account stays in state;
// once the directory is back the next apply revokes it.
func TestAccLDAPAccountServerDownDuringDestroy(t *testing.T) {
	s := testenv.SlapdForTest(t)
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	g := ldapGroup(t, s, "down")
	frank := ldapDN(t, "frank")
	const pw = "frank-Pw-0kD2"
	with := ldapSingleConfig(ledger, s, fmt.Sprintf(`  identity_id = "frank"
  uid         = "frank"
  groups      = [%q]
  password_wo = %q
  password_wo_version = 1`, g, pw))
	without := ldapProvider(ledger, s)
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{Config: with},
			{
				PreConfig: func() {
					if err := s.Kill(); err != nil {
						t.Fatal(err)
					}
				},
				Config:      without,
				ExpectError: wrapped(`Revocation failed`, `Revoking `+frank+` in target "corp"`, `The resource stays in state; the next apply retries the revocation`),
			},
			{
				PreConfig: func() {
					if err := expectLedgerEvents(ledger, []string{
						"credential.issued:corp/" + frank,
						"credential.revoke_failed:corp/" + frank + ":removed_from_configuration",
					}); err != nil {
						t.Fatal(err)
					}
					if err := s.Start(); err != nil {
						t.Fatal(err)
					}
					if ok, err := ldapBind(s, frank, pw); err != nil || !ok {
						t.Fatalf("frank changed while the directory was down: %v %v", ok, err)
					}
				},
				Config: without,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(ldapAccount, plancheck.ResourceActionDestroy)},
				},
				Check: func(*terraform.State) error {
					if ok, err := ldapBind(s, frank, pw); err != nil || ok {
						return fmt.Errorf("frank binds after the retry: %v %v", ok, err)
					}
					if groups, err := ldapGroupsListing(s, frank); err != nil || len(groups) != 0 {
						return fmt.Errorf("frank's groups after the retry: %v %v", groups, err)
					}
					if err := expectLedgerEvents(ledger, []string{
						"credential.issued:corp/" + frank,
						"credential.revoke_failed:corp/" + frank + ":removed_from_configuration",
						"credential.revoked:corp/" + frank + ":removed_from_configuration",
					}); err != nil {
						return err
					}
					failed, err := ledgerRecord(ledger, evidence.EventRevokeFailed, frank)
					if err != nil {
						return err
					}
					if failed.Error == "" || failed.Action != "lock" {
						return fmt.Errorf("revoke_failed record %+v: want the reason", failed)
					}
					return noSecretsIn("ledger", readText(ledger), s.BindPassword, pw)
				},
			},
		},
	})
}

// --- A lock the directory does not enforce -----------------------------------------

// With the ppolicy overlay loaded but no policy governing the accounts,
// slapd stores pwdAccountLockedTime and ignores it. A disable-mode destroy
// there must fail, not be recorded as revoked; switching to delete mode
// then completes it.
func TestAccLDAPAccountUnenforcedLockFailsDestroy(t *testing.T) {
	s := testenv.SlapdForTestWith(t, testenv.SlapdOptions{NoDefaultPolicy: true})
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	gina := ldapDN(t, "gina")
	const pw = "gina-Pw-5tR1"
	body := func(extra string) string {
		return ldapSingleConfig(ledger, s, fmt.Sprintf(`  identity_id = "gina"
  uid         = "gina"
  expires_at  = %q
  password_wo = %q
  password_wo_version = 1
%s`, day(30), pw, extra))
	}
	without := ldapProvider(ledger, s)
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{Config: body("")},
			{
				Config:      without,
				ExpectError: wrapped(`Revocation could not be verified`, `cannot be trusted`, `could still bind`, `use on_destroy = "delete"`),
			},
			{
				PreConfig: func() {
					// The lock is there and means nothing: that is why it was not trusted.
					e, err := ldapEntry(s, gina)
					if err != nil || e == nil || e.GetAttributeValue("pwdAccountLockedTime") != ldap.PermanentLock {
						t.Fatalf("gina after the failed destroy: %v %v", e, err)
					}
					if ok, err := ldapBind(s, gina, pw); err != nil || !ok {
						t.Fatalf("expected gina to still bind on this directory: %v %v", ok, err)
					}
				},
				Config: body(`  on_destroy = "delete"`),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(ldapAccount, plancheck.ResourceActionUpdate)},
				},
			},
			{
				Config: without,
				Check: func(*terraform.State) error {
					if e, err := ldapEntry(s, gina); err != nil || e != nil {
						return fmt.Errorf("gina after a delete-mode destroy: %v %v", e, err)
					}
					if err := expectLedgerEvents(ledger, []string{
						"credential.issued:corp/" + gina,
						"credential.revoke_failed:corp/" + gina + ":removed_from_configuration",
						"credential.changed:corp/" + gina,
						"credential.revoked:corp/" + gina + ":removed_from_configuration",
					}); err != nil {
						return err
					}
					rec, err := ledgerRecord(ledger, evidence.EventCredentialRevoked, gina)
					if err != nil {
						return err
					}
					if rec.Action != "delete" || !strings.Contains(rec.Verification, "entry absent") {
						return fmt.Errorf("revocation record %+v", rec)
					}
					return nil
				},
			},
		},
	})
}

// --- The ledger cannot be written ---------------------------------------------------

// An unrecorded live credential is the worst outcome. When the ledger
// refuses the credential.issued record after the entry exists, the entry
// is deleted again; when it refuses a credential.changed record, the change
// stays (the directory has it) and the record is kept as pending evidence
// that the next apply writes.
func TestAccLDAPAccountLedgerFailure(t *testing.T) {
	s := testenv.SlapdForTest(t)
	dir := t.TempDir()
	ledger := filepath.Join(dir, "evidence.jsonl")
	aside := filepath.Join(dir, "evidence.real")
	g := ldapGroup(t, s, "ledgered")
	hank := ldapDN(t, "hank")
	// A dangling symlink passes the ledger's open (its directory exists)
	// but cannot be appended to: the failure comes after the directory
	// has changed.
	breakLedger := func() {
		if _, err := os.Stat(ledger); err == nil {
			if err := os.Rename(ledger, aside); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(filepath.Join(dir, "gone", "evidence.jsonl"), ledger); err != nil {
			t.Fatal(err)
		}
	}
	mendLedger := func() {
		if err := os.Remove(ledger); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(aside); err == nil {
			if err := os.Rename(aside, ledger); err != nil {
				t.Fatal(err)
			}
		}
	}
	body := func(expires, groups string) string {
		return ldapSingleConfig(ledger, s, fmt.Sprintf(`  identity_id = "hank"
  uid         = "hank"
  expires_at  = %q
  groups      = [%s]`, expires, groups))
	}
	first := body(day(10), "")
	extended := body(day(40), fmt.Sprintf("%q", g))

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				PreConfig:   breakLedger,
				Config:      first,
				ExpectError: wrapped(`Cannot record the new credential`, `so it was deleted again`),
			},
			{
				PreConfig: func() {
					if e, err := ldapEntry(s, hank); err != nil || e != nil {
						t.Fatalf("an unrecorded account is live: %v %v", e, err)
					}
					mendLedger()
				},
				Config: first,
			},
			{
				PreConfig:   breakLedger,
				Config:      extended,
				ExpectError: wrapped(`Change applied but not recorded`, `kept as pending evidence`),
			},
			{
				PreConfig: func() {
					// The change is in the directory...
					if groups, err := ldapGroupsListing(s, hank); err != nil || len(groups) != 1 {
						t.Fatalf("hank's groups after the unrecorded change: %v %v", groups, err)
					}
					mendLedger()
				},
				Config: extended,
				// ...and in state, so only the owed record makes this plan non-empty.
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(ldapAccount, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(ldapAccount, tfjsonpath.New("evidence_pending"), knownvalue.Bool(false)),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ldapAccount, tfjsonpath.New("evidence_pending"), knownvalue.Bool(false)),
					ledgerCheck(func() error {
						if err := expectLedgerEvents(ledger, []string{"credential.issued:corp/" + hank, "credential.changed:corp/" + hank}); err != nil {
							return err
						}
						rec, err := ledgerRecord(ledger, evidence.EventCredentialChanged, hank)
						if err != nil {
							return err
						}
						if c := rec.Changes["expires_at"]; c.Old != day(10) || c.New != day(40) || rec.Details["applied_at"] == "" || rec.Details["end_date_change"] != "extended" {
							return fmt.Errorf("the late record %+v", rec)
						}
						return nil
					}),
				},
			},
		},
	})
}

// --- Plan-time advice (no terraform) -------------------------------------------------

func TestLDAPExpiryAdvice(t *testing.T) {
	cases := []struct {
		name, expires, identityEnd string
		seen                       bool
		want                       string
	}{
		{"missing while the identity ends", "", "2027-03-31", true, "No directory-side expiry"},
		{"after the identity's end", "2027-04-30", "2027-03-31", true, "Credential outlives its identity"},
		{"timestamp one second late", "2027-04-01T00:00:01Z", "2027-03-31", true, "Credential outlives its identity"},
		{"at the identity's end", "2027-04-01T00:00:00Z", "2027-03-31", true, ""},
		{"before it", "2027-03-01", "2027-03-31", true, ""},
		{"identity without an end", "2030-01-01", "", true, ""},
		{"identity not seen", "2030-01-01", "", false, ""},
	}
	for _, c := range cases {
		got, detail := ldapExpiryAdvice(c.expires, "etl", c.identityEnd, c.seen, time.UTC)
		if got != c.want {
			t.Errorf("%s: %q (%s), want %q", c.name, got, detail, c.want)
		}
	}
	// A calendar date ends at midnight in the provider's zone.
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	if got, _ := ldapExpiryAdvice("2027-03-31T23:30:00Z", "etl", "2027-03-31", true, berlin); got == "" {
		t.Error("23:30 UTC is after midnight in Berlin: want a warning")
	}
}

func TestLDAPNameChecks(t *testing.T) {
	for _, ok := range []string{"alice", "*)(uid=*", " lead", "#x", `a\b`, "Zoë", "a/b", "o'neil, jr+sr"} {
		if err := ldapCheckName("uid", ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "  ", "a\x00b", "a\nb", "a\x7fb", "a\u0085b"} {
		if err := ldapCheckName("uid", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := ldapCheckDN("dn", `uid=a\00b,dc=x`); err == nil {
		t.Error("an escaped NUL in a DN accepted")
	}
	if m := ldapMissingPersonAttributes([]string{"inetOrgPerson"}, []string{"CN"}, "uid=a,dc=x"); !slices.Equal(m, []string{"sn"}) {
		t.Errorf("missing %v", m)
	}
	if m := ldapMissingPersonAttributes([]string{"organizationalPerson"}, []string{"sn"}, "cn=a,dc=x"); m != nil {
		t.Errorf("cn from the RDN not counted: %v", m)
	}
	if m := ldapMissingPersonAttributes([]string{"account"}, nil, "uid=a,dc=x"); m != nil {
		t.Errorf("non-person class: %v", m)
	}
	if p := ldapParentDN(`uid=a\,b,ou=People,dc=x`); p != "ou=People,dc=x" && !ldapSameDN(p, "ou=people,dc=x") {
		t.Errorf("parent %q", p)
	}
	live := ldapAlignDNs([]string{"CN=VPN,OU=Groups,DC=X", "cn=other,dc=x"}, []string{"cn=vpn,ou=groups,dc=x"})
	if !slices.Equal(live, []string{"cn=vpn,ou=groups,dc=x", "cn=other,dc=x"}) {
		t.Errorf("aligned %v", live)
	}
}

// ldapPlanDiags runs ModifyPlan for a new account with configuration m
// (computed attributes unknown) and returns its diagnostics.
func ldapPlanDiags(t *testing.T, rt *runtime, m ldapAccountModel) diag.Diagnostics {
	t.Helper()
	ctx := context.Background()
	r := &ldapAccountResource{providerRuntime{rt}}
	var sr fwresource.SchemaResponse
	r.Schema(ctx, fwresource.SchemaRequest{}, &sr)
	typ := sr.Schema.Type().TerraformType(ctx)
	// tfsdk.Config cannot be set from a model: build its value as a state.
	conf := m
	if conf.DN.IsUnknown() {
		conf.DN = types.StringNull()
	}
	conf.ID, conf.ObjectClasses, conf.Locked, conf.EvidencePending = types.StringNull(), types.SetNull(types.StringType), types.BoolNull(), types.BoolNull()
	raw := tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(typ, nil)}
	if d := raw.Set(ctx, &conf); d.HasError() {
		t.Fatal(d)
	}
	cfg := tfsdk.Config{Schema: sr.Schema, Raw: raw.Raw}
	plan := tfsdk.Plan{Schema: sr.Schema, Raw: tftypes.NewValue(typ, nil)}
	if d := plan.Set(ctx, &m); d.HasError() {
		t.Fatal(d)
	}
	req := fwresource.ModifyPlanRequest{Config: cfg, Plan: plan, State: tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(typ, nil)}}
	resp := fwresource.ModifyPlanResponse{Plan: plan}
	r.ModifyPlan(ctx, req, &resp)
	return resp.Diagnostics
}

func TestLDAPAccountPlanWarnings(t *testing.T) {
	targets, diags := resolveTargets(map[string]targetModel{
		"corp": {LDAP: &ldapTargetModel{URL: types.StringValue("ldaps://127.0.0.1:1"), BindDN: types.StringValue("cn=admin,dc=x"),
			BindPassword: types.StringValue("unused-pw"), BindPasswordEnv: types.StringNull(), BaseDN: types.StringValue("ou=people,dc=x")}},
	}, envOf(nil))
	if diags.HasError() {
		t.Fatal(diags)
	}
	rt := &runtime{now: time.Now, policy: lifecycle.DefaultPolicy(), targets: targets}
	rt.rememberEndDate("etl", day(10))
	model := func(identity, expires, dn string) ldapAccountModel {
		m := ldapAccountModel{
			ID: types.StringUnknown(), Target: types.StringValue("corp"), IdentityID: types.StringValue(identity),
			DN: types.StringUnknown(), UID: types.StringValue("etl"), OU: types.StringNull(),
			ObjectClasses: types.SetUnknown(types.StringType), Attributes: types.MapNull(ldapAttributesType),
			Groups: types.SetValueMust(types.StringType, nil), ExpiresAt: types.StringNull(),
			PasswordWO: types.StringNull(), PasswordWOVersion: types.Int64Null(),
			OnDestroy: types.StringValue("disable"), Suspended: types.BoolValue(false),
			Locked: types.BoolUnknown(), EvidencePending: types.BoolUnknown(),
		}
		if expires != "" {
			m.ExpiresAt = types.StringValue(expires)
		}
		if dn != "" {
			m.UID, m.DN = types.StringNull(), types.StringValue(dn)
		}
		return m
	}
	cases := []struct {
		name, identity, expires, dn string
		want                        string // a warning or error summary; "" for none
	}{
		{"expiry missing", "etl", "", "", "No directory-side expiry"},
		{"expiry after the identity's end", "etl", day(20), "", "Credential outlives its identity"},
		{"expiry at the identity's end", "etl", day(10), "", ""},
		{"identity not seen", "other", "", "", ""},
		{"expiry passed", "other", day(-2), "", "expires_at has passed"},
		{"outside base_dn", "etl", day(10), "uid=etl,ou=admins,dc=x", "Invalid account DN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := ldapPlanDiags(t, rt, model(c.identity, c.expires, c.dn))
			var got []string
			for _, x := range d {
				got = append(got, x.Summary())
			}
			if c.want == "" && len(got) != 0 || c.want != "" && !slices.Equal(got, []string{c.want}) {
				t.Fatalf("diagnostics %q, want %q", got, c.want)
			}
		})
	}
}
