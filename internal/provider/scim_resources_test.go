package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/scim"
	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// scimTestToken is the bearer token of the test servers: recognisable, so a
// leak into state, plan, ledger or error output can be searched for.
const scimTestToken = "Scim-Bearer-Secret-4fQz9Lm"

// scimTokenEnv is where the tests' configurations read the token from, as
// the documentation recommends: a token written into the configuration is
// part of the plan's copy of the configuration.
const scimTokenEnv = "SUNSET_TEST_SCIM_TOKEN"

// scimTestServer starts a real SCIM server (testenv) requiring scimTestToken.
func scimTestServer(t *testing.T, opts testenv.SCIMOptions) *testenv.SCIMServer {
	t.Helper()
	if opts.Token == "" {
		opts.Token = scimTestToken
	}
	t.Setenv(scimTokenEnv, scimTestToken)
	return testenv.SCIMForTest(t, opts)
}

// scimTargetHCL is one scim target block with short timeouts, so that the
// retry tests take seconds, not minutes.
func scimTargetHCL(name, url, extra string) string {
	return fmt.Sprintf(`%s = { scim = { url = %q, token_env = %q, timeout = "2s", max_attempts = 4, retry_wait_max = "200ms" %s } }`,
		name, url, scimTokenEnv, extra)
}

// scimProvider is the provider block with the given targets.
func scimProvider(ledger string, targets ...string) string {
	return providerConfig(ledger, "targets = {\n    "+strings.Join(targets, "\n    ")+"\n  }\n  safeguards = { max_revocations = 50 }")
}

// gatedSCIMConfig is DESIGN.md's configuration with SCIM users: identities
// from the roster's active set, one user per identity in target "app".
func gatedSCIMConfig(provider, identities, extraRoster, extraUser string) string {
	return provider + gatedIdentities(inlineRoster(identities, extraRoster)) + fmt.Sprintf(`
resource "sunset_scim_user" "staff" {
  for_each     = sunset_identity.staff
  target       = "app"
  identity_id  = each.value.id
  user_name    = "${each.key}@example.com"
  display_name = upper(each.key)
  external_id  = each.key
  emails       = [{ value = "${each.key}@example.com", type = "work", primary = true }]
  %s
}
`, extraUser)
}

// scimUserID finds a user's id on the server, outside the code under test.
func scimUserID(srv *testenv.SCIMServer, userName string) (string, error) {
	id, ok := srv.UserIDByUserName(userName)
	if !ok {
		return "", fmt.Errorf("no user %q on the SCIM server", userName)
	}
	return id, nil
}

// scimUserState reads a user's stored state by userName.
func scimUserState(srv *testenv.SCIMServer, userName string) (testenv.SCIMUserState, error) {
	id, err := scimUserID(srv, userName)
	if err != nil {
		return testenv.SCIMUserState{}, err
	}
	u, ok := srv.User(id)
	if !ok {
		return u, fmt.Errorf("user %s vanished", id)
	}
	return u, nil
}

// --- End to end ------------------------------------------------------------

func TestAccSCIMUserEndToEndEndDatePasses(t *testing.T) {
	clock := &scimClock{}
	app := scimTestServer(t, testenv.SCIMOptions{Now: clock.Now})
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	provider := scimProvider(ledger, scimTargetHCL("app", app.URL, ""))
	ids := workload("etl", day(1)) + workload("report", day(30))
	asOf := fmt.Sprintf("as_of = %q", time.Now().UTC().Add(72*time.Hour).Format(time.RFC3339))
	// report is deleted on destroy, etl deactivated (the target's default).
	onDestroy := `on_destroy = each.key == "report" ? "delete" : null`
	etl, report := `sunset_scim_user.staff["etl"]`, `sunset_scim_user.staff["report"]`
	var etlID, reportID string

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: clock.factories(),
		Steps: []tfresource.TestStep{
			{
				Config: gatedSCIMConfig(provider, ids, "", onDestroy),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(etl, tfjsonpath.New("identity_end_date"), knownvalue.StringExact(day(1))),
					statecheck.ExpectKnownValue(etl, tfjsonpath.New("active"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(etl, tfjsonpath.New("version"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(report, tfjsonpath.New("emails").AtSliceIndex(0).AtMapKey("primary"), knownvalue.Bool(true)),
					stateHasNoSecrets{scimTestToken},
					ledgerCheck(func() error {
						var err error
						if etlID, err = scimUserID(app, "etl@example.com"); err != nil {
							return err
						}
						if reportID, err = scimUserID(app, "report@example.com"); err != nil {
							return err
						}
						u, _ := app.User(etlID)
						if !u.Active || u.ExternalID != "etl" {
							return fmt.Errorf("etl on the server: %+v", u)
						}
						return expectLedgerEventSet(ledger, []string{
							"identity.declared:etl", "identity.declared:report",
							"credential.issued:app/" + etlID, "credential.issued:app/" + reportID,
						})
					}),
					statecheck.ExpectKnownValue(etl, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^app/[0-9a-f-]{36}$`))),
				},
			},
			{
				// Evaluated three days ahead, etl's end date has passed: the
				// plan destroys its user and identity, nothing else.
				Config: gatedSCIMConfig(provider, ids, asOf, onDestroy),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(etl, plancheck.ResourceActionDestroy),
						plancheck.ExpectResourceAction(`sunset_identity.staff["etl"]`, plancheck.ResourceActionDestroy),
						plancheck.ExpectResourceAction(report, plancheck.ResourceActionNoop),
						planHasNoSecrets{scimTestToken},
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					ledgerCheck(func() error {
						u, ok := app.User(etlID)
						if !ok || u.Active {
							return fmt.Errorf("etl after revocation: %+v (present %v), want present with active=false", u, ok)
						}
						if r, _ := app.User(reportID); !r.Active {
							return errors.New("report's user was touched")
						}
						if err := expectLedgerEventSet(ledger, []string{
							"identity.declared:etl", "identity.declared:report",
							"credential.issued:app/" + etlID, "credential.issued:app/" + reportID,
							"credential.revoked:app/" + etlID + ":removed_from_configuration",
							"identity.offboarded:etl:removed_from_configuration",
						}); err != nil {
							return err
						}
						rev, err := ledgerRecord(ledger, evidence.EventCredentialRevoked, etlID)
						if err != nil {
							return err
						}
						switch {
						case rev.RemovedAt == nil || rev.VerifiedAt == nil || rev.RequestedAt == nil:
							return fmt.Errorf("revoked record lacks times: %+v", rev)
						case !rev.RemovedAt.Equal(u.LastModified.UTC().Truncate(time.Second)) && !rev.RemovedAt.Equal(u.LastModified.UTC()):
							return fmt.Errorf("removed_at %s, want the server's meta.lastModified %s", rev.RemovedAt, u.LastModified)
						case rev.RemovedAt.Before(rev.RequestedAt.Add(-2*time.Second)) || rev.RemovedAt.After(rev.VerifiedAt.Add(time.Second)):
							return fmt.Errorf("revoked record times out of order: requested %s removed %s verified %s", rev.RequestedAt, rev.RemovedAt, rev.VerifiedAt)
						case rev.Verification != "active=false (GET /Users/"+etlID+")":
							return fmt.Errorf("verification %q", rev.Verification)
						case rev.System != "scim" || rev.Action != "deactivate" || rev.Actor != "acceptance-test" || rev.Target != "app":
							return fmt.Errorf("revoked record %+v", rev)
						case rev.Details["user_name"] != "etl@example.com":
							return fmt.Errorf("details %v", rev.Details)
						case rev.Identity == nil || rev.Identity.ID != "etl" || rev.Identity.EndDate != day(1):
							return fmt.Errorf("revoked record identity %+v", rev.Identity)
						}
						return nil
					}),
				},
			},
			{
				// Forty days later (the provider's and the server's clocks
				// move; no as_of), report's end date has really passed: the
				// revocation's trigger says so. Its user is deleted and
				// verified absent. Nothing is left in the for_each sets.
				PreConfig: func() { clock.Advance(40 * 24 * time.Hour) },
				Config:    gatedSCIMConfig(provider, ids, "", onDestroy),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(report, plancheck.ResourceActionDestroy),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("active"), knownvalue.MapSizeExact(0)),
					ledgerCheck(func() error {
						if _, ok := app.User(reportID); ok {
							return errors.New("report's user still exists after on_destroy = delete")
						}
						rev, err := ledgerRecord(ledger, evidence.EventCredentialRevoked, reportID)
						if err != nil {
							return err
						}
						switch {
						case rev.Trigger != evidence.TriggerEndDateReached:
							return fmt.Errorf("trigger %q, want end_date_reached", rev.Trigger)
						case rev.Action != "delete" || rev.Verification != "404 on GET /Users/"+reportID:
							return fmt.Errorf("revoked record %+v", rev)
						case rev.RemovedAt == nil || rev.VerifiedAt == nil || !rev.RemovedAt.Equal(*rev.VerifiedAt):
							return fmt.Errorf("a deleted user has no lastModified: removed_at must be the verification time, got %+v", rev)
						}
						if err := expectLedgerEventSet(ledger, []string{
							"identity.declared:etl", "identity.declared:report",
							"credential.issued:app/" + etlID, "credential.issued:app/" + reportID,
							"credential.revoked:app/" + etlID + ":removed_from_configuration",
							"identity.offboarded:etl:removed_from_configuration",
							"credential.revoked:app/" + reportID + ":end_date_reached",
							"identity.offboarded:report:end_date_reached",
						}); err != nil {
							return err
						}
						failed, err := ledgerRecords(ledger, evidence.EventRevokeFailed)
						if err != nil || len(failed) != 0 {
							return fmt.Errorf("revoke_failed records: %v %v", failed, err)
						}
						return noSecretsIn("ledger", readText(ledger), scimTestToken)
					}),
				},
			},
		},
	})
}

// scimClock is a provider clock that tests move forward, so that an end
// date really passes without waiting for it.
type scimClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *scimClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *scimClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// factories serves a provider that reads this clock.
func (c *scimClock) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"sunset": providerserver.NewProtocol6WithError(&sunsetProvider{version: "test", now: c.Now, getenv: os.Getenv}),
	}
}

// --- Role change: a group membership ends, the user stays ---------------------

func roleIdentity(name, role string) string {
	return fmt.Sprintf(`    %q = { kind = "workload", owner = "ops@example.com", end_date = %q, labels = { role = %q } }`+"\n", name, day(30), role)
}

func membershipConfig(provider, groupID, identities, extraRoster string) string {
	return gatedSCIMConfig(provider, identities, extraRoster, "") + fmt.Sprintf(`
resource "sunset_scim_group_membership" "admins" {
  for_each    = { for k, v in sunset_identity.staff : k => v if try(data.sunset_roster.staff.active[k].labels.role, "") == "admin" }
  target      = "app"
  group_id    = %q
  user_id     = sunset_scim_user.staff[each.key].scim_id
  identity_id = each.value.id
}
`, groupID)
}

func TestAccSCIMGroupMembershipRoleChange(t *testing.T) {
	app := scimTestServer(t, testenv.SCIMOptions{})
	groupID, err := app.AddGroup("admins")
	if err != nil {
		t.Fatal(err)
	}
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	provider := scimProvider(ledger, scimTargetHCL("app", app.URL, ""))
	before := roleIdentity("alice", "admin") + roleIdentity("bob", "admin")
	after := roleIdentity("alice", "admin") + roleIdentity("bob", "viewer")
	aliceM, bobM := `sunset_scim_group_membership.admins["alice"]`, `sunset_scim_group_membership.admins["bob"]`
	var aliceID, bobID string
	members := func(want ...*string) error {
		got, ok := app.GroupMembers(groupID)
		if !ok {
			return errors.New("the group is gone")
		}
		var w []string
		for _, p := range want {
			w = append(w, *p)
		}
		slices.Sort(w)
		if !slices.Equal(got, w) {
			return fmt.Errorf("group members %v, want %v", got, w)
		}
		return nil
	}

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config: membershipConfig(provider, groupID, before, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(aliceM, tfjsonpath.New("group_name"), knownvalue.StringExact("admins")),
					statecheck.ExpectKnownValue(aliceM, tfjsonpath.New("identity_end_date"), knownvalue.StringExact(day(30))),
					ledgerCheck(func() error {
						var err error
						if aliceID, err = scimUserID(app, "alice@example.com"); err != nil {
							return err
						}
						if bobID, err = scimUserID(app, "bob@example.com"); err != nil {
							return err
						}
						if err := members(&aliceID, &bobID); err != nil {
							return err
						}
						rec, err := ledgerRecord(ledger, evidence.EventCredentialIssued, groupID+"/"+bobID)
						if err != nil {
							return err
						}
						if rec.Action != "add_member" || rec.Details["group_name"] != "admins" || rec.Identity == nil || rec.Identity.ID != "bob" {
							return fmt.Errorf("issued record %+v", rec)
						}
						return nil
					}),
				},
			},
			{
				// The id is TARGET/GROUP_ID/USER_ID.
				Config: membershipConfig(provider, groupID, before, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(bobM, tfjsonpath.New("id"), knownvalue.StringFunc(func(v string) error {
						if want := "app/" + groupID + "/" + bobID; v != want {
							return fmt.Errorf("id %q, want %q", v, want)
						}
						return nil
					})),
				},
			},
			{
				// bob's role changes: his admin membership ends, his user
				// and identity stay.
				Config: membershipConfig(provider, groupID, after, ""),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(bobM, plancheck.ResourceActionDestroy),
						plancheck.ExpectResourceAction(aliceM, plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction(`sunset_scim_user.staff["bob"]`, plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction(`sunset_identity.staff["bob"]`, plancheck.ResourceActionNoop),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					ledgerCheck(func() error {
						if err := members(&aliceID); err != nil {
							return err
						}
						if u, ok := app.User(bobID); !ok || !u.Active {
							return fmt.Errorf("bob's user was touched: %+v", u)
						}
						account := groupID + "/" + bobID
						rev, err := ledgerRecord(ledger, evidence.EventCredentialRevoked, account)
						if err != nil {
							return err
						}
						switch {
						case rev.Action != "remove_member" || rev.Trigger != evidence.TriggerRemovedFromConfiguration:
							return fmt.Errorf("revoked record %+v", rev)
						case rev.Verification != fmt.Sprintf("user %s not in members (GET /Groups/%s)", bobID, groupID):
							return fmt.Errorf("verification %q", rev.Verification)
						case rev.RemovedAt == nil || rev.VerifiedAt == nil || rev.Identity == nil || rev.Identity.ID != "bob":
							return fmt.Errorf("revoked record %+v", rev)
						}
						return nil
					}),
				},
			},
			{
				// alice's membership is removed outside Terraform: the
				// refresh drops it from state and the plan adds it again.
				PreConfig: func() {
					c, err := scim.New(scim.Config{URL: app.URL, Token: app.Token})
					if err == nil {
						err = c.RemoveGroupMember(context.Background(), groupID, aliceID)
					}
					if err != nil {
						t.Fatalf("remove alice out of band: %v", err)
					}
				},
				Config: membershipConfig(provider, groupID, after, ""),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(aliceM, plancheck.ResourceActionCreate),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					ledgerCheck(func() error {
						if err := members(&aliceID); err != nil {
							return err
						}
						issued, err := ledgerRecords(ledger, evidence.EventCredentialIssued)
						if err != nil {
							return err
						}
						n := 0
						for _, r := range issued {
							if r.Account == groupID+"/"+aliceID {
								n++
							}
						}
						if n != 2 {
							return fmt.Errorf("%d credential.issued records for alice's membership, want 2", n)
						}
						return nil
					}),
				},
			},
			{
				// Everyone ends: memberships, users and identities go.
				Config: membershipConfig(provider, groupID, after, allEnded),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("active"), knownvalue.MapSizeExact(0)),
					ledgerCheck(func() error {
						if err := members(); err != nil {
							return err
						}
						failed, err := ledgerRecords(ledger, evidence.EventRevokeFailed)
						if err != nil || len(failed) != 0 {
							return fmt.Errorf("revoke_failed records: %v %v", failed, err)
						}
						return nil
					}),
				},
			},
		},
	})
}

// Providers that leave members out of GET /Groups/ID (AWS IAM Identity
// Center answers member filters instead): a refresh keeps live memberships,
// a destroy is verified by the filter check, and on a server that shows
// membership no way at all the destroy fails and stays in state instead of
// taking a group without members for a removal.
func TestAccSCIMGroupMembershipMembersNotReturned(t *testing.T) {
	app := scimTestServer(t, testenv.SCIMOptions{GroupMembers: testenv.SCIMMembersFilterOnly})
	groupID, err := app.AddGroup("admins")
	if err != nil {
		t.Fatal(err)
	}
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	provider := scimProvider(ledger, scimTargetHCL("app", app.URL, ""))
	before := roleIdentity("alice", "admin") + roleIdentity("bob", "admin")
	after := roleIdentity("alice", "admin") + roleIdentity("bob", "viewer")
	aliceM, bobM := `sunset_scim_group_membership.admins["alice"]`, `sunset_scim_group_membership.admins["bob"]`
	var aliceID, bobID string
	members := func(want ...*string) error {
		got, _ := app.GroupMembers(groupID)
		var w []string
		for _, p := range want {
			w = append(w, *p)
		}
		slices.Sort(w)
		if !slices.Equal(got, w) {
			return fmt.Errorf("group members %v, want %v", got, w)
		}
		return nil
	}

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				// The add is confirmed by the member filter, and the
				// refresh after apply keeps both memberships (the test
				// framework fails a step whose next plan is not empty).
				Config: membershipConfig(provider, groupID, before, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(aliceM, tfjsonpath.New("group_name"), knownvalue.StringExact("admins")),
					ledgerCheck(func() error {
						var err error
						if aliceID, err = scimUserID(app, "alice@example.com"); err != nil {
							return err
						}
						if bobID, err = scimUserID(app, "bob@example.com"); err != nil {
							return err
						}
						return members(&aliceID, &bobID)
					}),
				},
			},
			{
				Config: membershipConfig(provider, groupID, after, ""),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(bobM, plancheck.ResourceActionDestroy),
						plancheck.ExpectResourceAction(aliceM, plancheck.ResourceActionNoop),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					ledgerCheck(func() error {
						if err := members(&aliceID); err != nil {
							return err
						}
						rev, err := ledgerRecord(ledger, evidence.EventCredentialRevoked, groupID+"/"+bobID)
						if err != nil {
							return err
						}
						want := fmt.Sprintf(`members not returned; GET /Groups?filter=id eq %q and members[value eq %q] → 0 results (control: id eq %q → 1)`, groupID, bobID, groupID)
						if rev.Verification != want {
							return fmt.Errorf("verification %q, want %q", rev.Verification, want)
						}
						return nil
					}),
				},
			},
			{
				// Now the server shows membership no way at all: the
				// refresh cannot tell, so alice's membership stays.
				PreConfig: func() { app.SetGroupMembers(testenv.SCIMMembersHidden) },
				Config:    membershipConfig(provider, groupID, after, ""),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(aliceM, plancheck.ResourceActionNoop),
					},
				},
			},
			{
				// ... and its removal cannot be verified: the destroy fails
				// (revoke_failed recorded) and the membership stays in state.
				Config:      membershipConfig(provider, groupID, after, allEnded),
				ExpectError: wrapped(`cannot be verified on this server`, `invalidFilter`),
			},
			{
				// The next apply retries the destroy, which fails the same
				// way: it was not forgotten.
				Config: membershipConfig(provider, groupID, after, allEnded),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(aliceM, plancheck.ResourceActionDestroy),
					},
				},
				ExpectError: wrapped(`cannot be verified on this server`),
			},
			{
				// Once the server answers member filters again, the
				// membership whose revocation failed is not forgotten by the
				// refresh: its destroy verifies that the removal did land and
				// records it, and the rest is destroyed.
				PreConfig: func() { app.SetGroupMembers(testenv.SCIMMembersFilterOnly) },
				Config:    membershipConfig(provider, groupID, after, allEnded),
				ConfigStateChecks: []statecheck.StateCheck{
					ledgerCheck(func() error {
						if err := members(); err != nil {
							return err
						}
						failed, err := ledgerRecords(ledger, evidence.EventRevokeFailed)
						if err != nil || len(failed) != 2 || failed[0].Account != groupID+"/"+aliceID || failed[1].Account != groupID+"/"+aliceID {
							return fmt.Errorf("revoke_failed records: %+v %v", failed, err)
						}
						rev, err := ledgerRecord(ledger, evidence.EventCredentialRevoked, groupID+"/"+aliceID)
						if err != nil {
							return fmt.Errorf("the removal that failed to verify was never recorded once verified: %v", err)
						}
						if !strings.Contains(rev.Verification, "members not returned") || rev.Seq < failed[1].Seq {
							return fmt.Errorf("credential.revoked seq %d after revoke_failed seq %d, verification %q", rev.Seq, failed[1].Seq, rev.Verification)
						}
						return nil
					}),
				},
			},
		},
	})
}

// On a server that shows membership no way at all, an add the server
// accepted is still recorded and kept in state (flagged unconfirmed): a
// grant that exists but is neither recorded nor tracked is the worst outcome.
func TestAccSCIMGroupMembershipUnconfirmedAddIsRecorded(t *testing.T) {
	app := scimTestServer(t, testenv.SCIMOptions{GroupMembers: testenv.SCIMMembersHidden})
	groupID, err := app.AddGroup("admins")
	if err != nil {
		t.Fatal(err)
	}
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	provider := scimProvider(ledger, scimTargetHCL("app", app.URL, ""))
	aliceM := `sunset_scim_group_membership.admins["alice"]`
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config: membershipConfig(provider, groupID, roleIdentity("alice", "admin"), ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(aliceM, tfjsonpath.New("group_id"), knownvalue.StringExact(groupID)),
					ledgerCheck(func() error {
						got, _ := app.GroupMembers(groupID)
						if len(got) != 1 {
							return fmt.Errorf("group members %v: the add did not land", got)
						}
						rec, err := ledgerRecord(ledger, evidence.EventCredentialIssued, groupID+"/"+got[0])
						if err != nil {
							return fmt.Errorf("the accepted add was not recorded: %v", err)
						}
						if !strings.HasPrefix(rec.Details["confirmed"], "no: ") {
							return fmt.Errorf("issued record details %v: want it flagged unconfirmed", rec.Details)
						}
						return nil
					}),
				},
			},
			{
				// Its removal cannot be verified here either: the destroy
				// fails and keeps it in state rather than guess.
				Config:      membershipConfig(provider, groupID, roleIdentity("alice", "admin"), allEnded),
				ExpectError: wrapped(`cannot be verified on this server`),
			},
			{
				PreConfig: func() { app.SetGroupMembers(testenv.SCIMMembersFilterOnly) },
				Config:    membershipConfig(provider, groupID, roleIdentity("alice", "admin"), allEnded),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.sunset_roster.staff", tfjsonpath.New("active"), knownvalue.MapSizeExact(0)),
				},
			},
		},
	})
}

// --- Transient and permanent failures -----------------------------------------

func TestAccSCIMTransientFaults(t *testing.T) {
	// Slow answers take longer than the 1s per-attempt timeout; 429s carry
	// Retry-After: 1; 503s and dropped connections (before and after the
	// server did the work) make up the rest.
	app := scimTestServer(t, testenv.SCIMOptions{FaultSeed: 7, SlowDelay: 1500 * time.Millisecond})
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	// The default max_attempts (10): the chance that one request fails ten
	// times in a row at a 30% fault rate is 6e-6. The timings are shortened
	// only so that the test is quick.
	provider := scimProvider(ledger, fmt.Sprintf(`app = { scim = { url = %q, token_env = %q, timeout = "1s", retry_wait_max = "100ms" } }`, app.URL, scimTokenEnv))
	t.Cleanup(func() { t.Logf("SCIM server saw %+v", app.Stats()) })
	names := []string{"f1", "f2", "f3", "f4", "f5"}
	var ids string
	for _, n := range names {
		ids += workload(n, day(30))
	}
	var faultsBefore int64
	faultsSince := func() error {
		if n := app.Stats().Faults - faultsBefore; n == 0 {
			return errors.New("no fault was injected during the step: the test proves nothing")
		}
		return nil
	}

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				PreConfig: func() { app.SetFaultRate(0.3) },
				Config:    gatedSCIMConfig(provider, ids, "", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					ledgerCheck(func() error {
						if err := faultsSince(); err != nil {
							return err
						}
						issued, err := ledgerRecords(ledger, evidence.EventCredentialIssued)
						if err != nil {
							return err
						}
						if len(issued) != len(names) {
							return fmt.Errorf("%d credential.issued records, want %d", len(issued), len(names))
						}
						for _, n := range names {
							u, err := scimUserState(app, n+"@example.com")
							if err != nil || !u.Active {
								return fmt.Errorf("user %s: %+v %v", n, u, err)
							}
						}
						// A create whose answer was lost and retried must not
						// have made a second user.
						if c := app.UserCount(); c != len(names) {
							return fmt.Errorf("%d users on the server, want %d", c, len(names))
						}
						return nil
					}),
				},
			},
			{
				PreConfig: func() { faultsBefore = app.Stats().Faults },
				Config:    gatedSCIMConfig(provider, ids, allEnded, ""),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(`sunset_scim_user.staff["f1"]`, plancheck.ResourceActionDestroy),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					ledgerCheck(func() error {
						if err := faultsSince(); err != nil {
							return err
						}
						revoked, err := ledgerRecords(ledger, evidence.EventCredentialRevoked)
						if err != nil {
							return err
						}
						failed, err := ledgerRecords(ledger, evidence.EventRevokeFailed)
						if err != nil {
							return err
						}
						if len(revoked) != len(names) || len(failed) != 0 {
							return fmt.Errorf("%d credential.revoked and %d credential.revoke_failed records, want %d and 0", len(revoked), len(failed), len(names))
						}
						for _, r := range revoked {
							if r.VerifiedAt == nil || !strings.HasPrefix(r.Verification, "active=false (GET /Users/") {
								return fmt.Errorf("unverified revocation: %+v", r)
							}
						}
						for _, n := range names {
							u, err := scimUserState(app, n+"@example.com")
							if err != nil || u.Active {
								return fmt.Errorf("user %s after revocation: %+v %v", n, u, err)
							}
						}
						return nil
					}),
				},
			},
		},
	})
}

func singleUserConfig(provider, extra string) string {
	return provider + fmt.Sprintf(`
resource "sunset_scim_user" "u" {
  target      = "app"
  identity_id = "svc-single"
  user_name   = "single@example.com"
  external_id = "svc-single"
  %s
}
`, extra)
}

func TestAccSCIMPermanentFailure(t *testing.T) {
	app := scimTestServer(t, testenv.SCIMOptions{})
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	provider := scimProvider(ledger, fmt.Sprintf(`app = { scim = { url = %q, token_env = %q, timeout = "1s", max_attempts = 3, retry_wait_max = "100ms" } }`, app.URL, scimTokenEnv))
	var id string

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config: singleUserConfig(provider, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					ledgerCheck(func() error {
						var err error
						id, err = scimUserID(app, "single@example.com")
						return err
					}),
				},
			},
			{
				// The service fails every request: the destroy fails, and
				// says the user stays in state for the next apply.
				PreConfig:   func() { app.SetPermanentFailure(true) },
				Config:      provider,
				ExpectError: wrapped(`Revocation failed`, `HTTP 503`, `The resource stays in state; the next apply retries the revocation`),
			},
			{
				PreConfig: func() {
					app.SetPermanentFailure(false)
					// What the failed step left: a recorded failure, a live user.
					failed, err := ledgerRecord(ledger, evidence.EventRevokeFailed, id)
					if err != nil {
						t.Fatal(err)
					}
					if failed.Action != "deactivate" || !strings.Contains(failed.Error, "503") || failed.RequestedAt == nil {
						t.Fatalf("revoke_failed record %+v", failed)
					}
					if u, ok := app.User(id); !ok || !u.Active {
						t.Fatalf("user after the failed destroy: %+v", u)
					}
				},
				Config: provider,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					// Still in state: the destroy is planned again.
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("sunset_scim_user.u", plancheck.ResourceActionDestroy)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					ledgerCheck(func() error {
						if u, ok := app.User(id); !ok || u.Active {
							return fmt.Errorf("user after the retried destroy: %+v", u)
						}
						return expectLedgerEvents(ledger, []string{
							"credential.issued:app/" + id,
							"credential.revoke_failed:app/" + id + ":removed_from_configuration",
							"credential.revoked:app/" + id + ":removed_from_configuration",
						})
					}),
				},
			},
		},
	})
}

// --- Drift, import, unknown target ---------------------------------------------

func TestAccSCIMUserDrift(t *testing.T) {
	app := scimTestServer(t, testenv.SCIMOptions{})
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	provider := scimProvider(ledger, scimTargetHCL("app", app.URL, ""))
	var id, newID string
	activeUserConfig := singleUserConfig(provider, `display_name = "Single User"
  emails = [{ value = "single@example.com" }, { value = "s@example.org", type = "home", primary = true }]`)

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				// Declared inactive: the account exists, access does not.
				Config: singleUserConfig(provider, `active = false`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("sunset_scim_user.u", tfjsonpath.New("active"), knownvalue.Bool(false)),
					ledgerCheck(func() error {
						u, err := scimUserState(app, "single@example.com")
						if err != nil || u.Active {
							return fmt.Errorf("user after create: %+v %v", u, err)
						}
						id = u.ID
						return nil
					}),
				},
			},
			{
				// Reactivated outside Terraform: the plan shows the diff and
				// the apply deactivates it again, recorded.
				PreConfig: func() {
					if err := app.SetUserActive(id, true); err != nil {
						t.Fatal(err)
					}
				},
				Config: singleUserConfig(provider, `active = false`),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("sunset_scim_user.u", plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue("sunset_scim_user.u", tfjsonpath.New("active"), knownvalue.Bool(false)),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					ledgerCheck(func() error {
						if u, _ := app.User(id); u.Active {
							return errors.New("the user is still active after the apply")
						}
						rec, err := ledgerRecord(ledger, evidence.EventCredentialChanged, id)
						if err != nil {
							return err
						}
						if c := rec.Changes["active"]; c.Old != "true" || c.New != "false" || rec.Action != "update" {
							return fmt.Errorf("changed record %+v", rec)
						}
						return nil
					}),
				},
			},
			{
				// Deleted outside Terraform: it leaves state without an
				// error and, still declared, is created again.
				PreConfig: func() {
					if err := app.DeleteUser(id); err != nil {
						t.Fatal(err)
					}
				},
				Config: singleUserConfig(provider, `active = false`),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("sunset_scim_user.u", plancheck.ResourceActionCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					ledgerCheck(func() error {
						var err error
						if newID, err = scimUserID(app, "single@example.com"); err != nil {
							return err
						}
						if newID == id {
							return errors.New("same id after a delete and create")
						}
						return expectLedgerEvents(ledger, []string{
							"credential.issued:app/" + id, "credential.changed:app/" + id, "credential.issued:app/" + newID,
						})
					}),
				},
			},
			{
				// Changed in configuration: PATCHed in place with If-Match,
				// and recorded with the old and new values.
				Config: singleUserConfig(provider, `display_name = "Single User"
  emails = [{ value = "single@example.com" }, { value = "s@example.org", type = "home", primary = true }]`),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("sunset_scim_user.u", plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("sunset_scim_user.u", tfjsonpath.New("id"), knownvalue.StringFunc(func(v string) error {
						if v != "app/"+newID {
							return fmt.Errorf("id %q changed on update", v)
						}
						return nil
					})),
					ledgerCheck(func() error {
						u, _ := app.User(newID)
						if !u.Active || u.Attributes["displayName"] != "Single User" {
							return fmt.Errorf("user after update: %+v", u)
						}
						rec, err := ledgerRecord(ledger, evidence.EventCredentialChanged, newID)
						if err != nil {
							return err
						}
						if rec.Changes["active"].New != "true" || rec.Changes["display_name"].New != "Single User" ||
							rec.Changes["emails"].New != "[single@example.com, s@example.org (home) primary]" {
							return fmt.Errorf("changed record %+v", rec.Changes)
						}
						return nil
					}),
				},
			},
			{
				// Deactivated outside Terraform while declared active: the
				// plan shows it, and warns that the apply will not turn
				// the access back on.
				PreConfig: func() {
					if err := app.SetUserActive(newID, false); err != nil {
						t.Fatal(err)
					}
				},
				Config:             activeUserConfig,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// The apply refuses to reactivate it, naming the attribute.
				Config:      activeUserConfig,
				ExpectError: regexp.MustCompile(`(?s)Refusing to reactivate a SCIM user deactivated outside sunset.*with sunset_scim_user\.u`),
			},
			{
				// Still inactive. Reactivated in the application itself (the
				// deliberate path): the next refresh sees it and the plan is
				// empty.
				PreConfig: func() {
					if u, _ := app.User(newID); u.Active {
						t.Fatal("the refused apply reactivated the user")
					}
					if err := app.SetUserActive(newID, true); err != nil {
						t.Fatal(err)
					}
				},
				Config: activeUserConfig,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

func TestAccSCIMImport(t *testing.T) {
	app := scimTestServer(t, testenv.SCIMOptions{})
	groupID, err := app.AddGroup("auditors")
	if err != nil {
		t.Fatal(err)
	}
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	provider := scimProvider(ledger, scimTargetHCL("app", app.URL, ""))
	cfg := singleUserConfig(provider, `display_name = "Imported"
  emails = [{ value = "single@example.com", type = "work", primary = true }]
  on_destroy = "delete"`) + fmt.Sprintf(`
resource "sunset_scim_group_membership" "m" {
  target      = "app"
  group_id    = %q
  user_id     = sunset_scim_user.u.scim_id
  identity_id = "svc-single"
}
`, groupID)
	userID := func(*terraform.State) (string, error) {
		id, err := scimUserID(app, "single@example.com")
		return "app/" + id, err
	}
	membershipID := func(*terraform.State) (string, error) {
		id, err := scimUserID(app, "single@example.com")
		return "app/" + groupID + "/" + id, err
	}
	outsider, err := app.AddUser(testenv.SCIMUser{UserName: "outsider@example.com"})
	if err != nil {
		t.Fatal(err)
	}

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{Config: cfg},
			{
				ResourceName:            "sunset_scim_user.u",
				ImportState:             true,
				ImportStateIdFunc:       userID,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"identity_id", "identity_end_date", "on_destroy"},
			},
			{
				ResourceName:            "sunset_scim_group_membership.m",
				ImportState:             true,
				ImportStateIdFunc:       membershipID,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"identity_id", "identity_end_date"},
			},
			{
				ResourceName:  "sunset_scim_user.u",
				ImportState:   true,
				ImportStateId: "nowhere/123",
				ExpectError:   wrapped(`target "nowhere" is not defined in the provider's targets (defined: app)`),
			},
			{
				ResourceName:  "sunset_scim_user.u",
				ImportState:   true,
				ImportStateId: "app/no-such-user",
				ExpectError:   wrapped(`Cannot import SCIM user`, `no-such-user`, `HTTP 404`),
			},
			{
				ResourceName:  "sunset_scim_user.u",
				ImportState:   true,
				ImportStateId: "no-slash",
				ExpectError:   wrapped(`Invalid import id`, `is not of the form TARGET/ACCOUNT`),
			},
			{
				ResourceName:  "sunset_scim_group_membership.m",
				ImportState:   true,
				ImportStateId: "app/" + groupID,
				ExpectError:   wrapped(`Invalid import id`, `is not GROUP_ID/USER_ID`),
			},
			{
				ResourceName:  "sunset_scim_group_membership.m",
				ImportState:   true,
				ImportStateId: "app/" + groupID + "/" + outsider,
				ExpectError:   wrapped(`Cannot import SCIM group membership`, `is not a member of group`),
			},
		},
	})
}

func TestAccSCIMUnknownTarget(t *testing.T) {
	app := scimTestServer(t, testenv.SCIMOptions{})
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	provider := scimProvider(ledger, scimTargetHCL("app", app.URL, ""))
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config:      strings.Replace(singleUserConfig(provider, ""), `target      = "app"`, `target      = "ap"`, 1),
				ExpectError: wrapped(`Invalid target`, `target "ap" is not defined in the provider's targets (defined: app)`),
			},
			{
				Config: provider + `
resource "sunset_scim_group_membership" "m" {
  target      = "nowhere"
  group_id    = "g"
  user_id     = "u"
  identity_id = "i"
}
`,
				ExpectError: wrapped(`Invalid target`, `target "nowhere" is not defined`),
			},
		},
	})
}

// --- Secrets, TLS, configuration errors, the ledger ------------------------------

// TestAccSCIMTokenNeverInErrors makes requests fail in ways whose errors
// could quote the token, and checks that terraform's output and the ledger
// do not hold it.
func TestAccSCIMTokenNeverInErrors(t *testing.T) {
	app := scimTestServer(t, testenv.SCIMOptions{})
	const wrong = "Wrong-Scim-Token-Leak-7Ytw"
	cases := map[string]struct{ target, want string }{
		// The service refuses the token.
		"refused token": {fmt.Sprintf(`app = { scim = { url = %q, token = %q, timeout = "2s" } }`, app.URL, wrong), `HTTP 401`},
		// The token is (wrongly) part of the URL, and nothing listens there.
		"token in the url": {fmt.Sprintf(`app = { scim = { url = "http://127.0.0.1:1/scim/%s", token = %q, timeout = "2s", max_attempts = 1 } }`, wrong, wrong), `connection refused`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
			sawError := false
			tfresource.Test(t, tfresource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				// ExpectError can only say what an error holds, not what it
				// lacks: ErrorCheck sees the whole text.
				ErrorCheck: func(err error) error {
					sawError = true
					if !wrapped(c.want).MatchString(err.Error()) {
						return err
					}
					if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), scimTestToken) {
						return fmt.Errorf("the error output holds a token:\n%s", err)
					}
					return nil
				},
				Steps: []tfresource.TestStep{{Config: scimProvider(ledger, c.target) + `
data "sunset_roster" "staff" {
  scim = { target = "app", default_owner = "o" }
}
`}},
			})
			if !sawError {
				t.Fatal("the plan succeeded; want an error")
			}
			if strings.Contains(readText(ledger), wrong) {
				t.Fatal("the ledger holds the token")
			}
		})
	}
	t.Run("revocation failure record", func(t *testing.T) {
		// The token goes wrong between create and destroy: the
		// revoke_failed record and the error must not hold it.
		ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
		good := scimProvider(ledger, fmt.Sprintf(`app = { scim = { url = %q, token = %q, timeout = "2s" } }`, app.URL, scimTestToken))
		bad := scimProvider(ledger, fmt.Sprintf(`app = { scim = { url = %q, token = %q, timeout = "2s" } }`, app.URL, wrong))
		tfresource.Test(t, tfresource.TestCase{
			ProtoV6ProviderFactories: protoV6ProviderFactories,
			Steps: []tfresource.TestStep{
				{Config: singleUserConfig(good, "")},
				{Config: bad, ExpectError: wrapped(`Revocation failed`, `HTTP 401`)},
				{
					PreConfig: func() {
						text := readText(ledger)
						if !strings.Contains(text, `"credential.revoke_failed"`) {
							t.Fatal("no revoke_failed record")
						}
						if strings.Contains(text, wrong) || strings.Contains(text, scimTestToken) {
							t.Fatal("the ledger holds a token")
						}
					},
					Config: good,
				},
			},
		})
	})
}

func TestAccSCIMOverTLSWithCAFile(t *testing.T) {
	app := scimTestServer(t, testenv.SCIMOptions{TLS: true})
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	writeFile(t, ca, string(app.CACertPEM))
	ledger := filepath.Join(dir, "evidence.jsonl")
	trusted := scimProvider(ledger, scimTargetHCL("app", app.URL, fmt.Sprintf(`, ca_file = %q`, ca)))
	untrusted := scimProvider(ledger, scimTargetHCL("app", app.URL, ""))
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config:      singleUserConfig(untrusted, ""),
				ExpectError: wrapped(`Cannot create SCIM user`, `certificate`),
			},
			{
				Config: singleUserConfig(trusted, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("sunset_scim_user.u", tfjsonpath.New("active"), knownvalue.Bool(true)),
				},
			},
			{Config: trusted},
		},
	})
}

func TestAccSCIMInvalidConfig(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	t.Setenv(scimTokenEnv, scimTestToken)
	target := func(extra string) string {
		return scimProvider(ledger, fmt.Sprintf(`app = { scim = { url = "http://127.0.0.1:9/scim/v2", token_env = %q %s } }`, scimTokenEnv, extra))
	}
	ok := target("")
	cases := []struct {
		name, config string
		want         wantAttrError
	}{
		{"timeout", singleUserConfig(target(`, timeout = "soon"`), ""), onNested(`Invalid timeout`, `targets["app"].scim.timeout`, `"soon"`)},
		{"max_attempts", singleUserConfig(target(`, max_attempts = 0`), ""), onNested(`Invalid max_attempts`, `targets["app"].scim.max_attempts`, `between 1 and 20`)},
		{"deprovision", singleUserConfig(target(`, deprovision = "erase"`), ""), onNested(`Invalid deprovision mode`, `targets["app"].scim.deprovision`)},
		{"plain http to a remote host", singleUserConfig(scimProvider(ledger, fmt.Sprintf(`app = { scim = { url = "http://scim.example.com/v2", token_env = %q } }`, scimTokenEnv)), ""),
			onAttr(`Invalid SCIM target`, "target", `plain http to a non-loopback host`)},
		{"no token", singleUserConfig(scimProvider(ledger, `app = { scim = { url = "http://127.0.0.1:9/scim/v2", token_env = "SUNSET_TEST_UNSET_TOKEN" } }`), ""),
			onAttr(`Invalid SCIM target`, "target", `target "app" has no token`)},
		{"missing ca_file", singleUserConfig(target(`, ca_file = "/nonexistent/ca.pem"`), ""), onAttr(`Invalid SCIM target`, "target", `scim.ca_file`, `no such file`)},
		{"on_destroy", singleUserConfig(ok, `on_destroy = "erase"`), onAttr(`Invalid Attribute Value Match`, "on_destroy", `on_destroy`)},
		{"two primary emails", singleUserConfig(ok, `emails = [{ value = "a@example.com", primary = true }, { value = "b@example.com", primary = true }]`),
			onAttr(`More than one primary email`, "emails")},
		{"empty user_name", strings.Replace(singleUserConfig(ok, ""), `"single@example.com"`, `""`, 1), onAttr(`Empty user_name`, "user_name")},
		{"not a scim target", singleUserConfig(providerConfig(ledger, `targets = { app = { postgres = { dsn = "postgres://u:p@127.0.0.1:9/db" } } }`), ""),
			onAttr(`Invalid target`, "target", `target "app" is a postgres target; this resource needs a scim target`)},
		{"group id with a slash", ok + `
resource "sunset_scim_group_membership" "m" {
  target      = "app"
  group_id    = "a/b"
  user_id     = "u"
  identity_id = "i"
}
`, onAttr(`Invalid group_id`, "group_id", `contains "/"`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testAttrError(t, tfresource.TestStep{Config: c.config}, c.want)
		})
	}
}

func TestAccSCIMLedgerFailureLeavesNoUnrecordedUser(t *testing.T) {
	app := scimTestServer(t, testenv.SCIMOptions{})
	provider := func(ledger string) string { return scimProvider(ledger, scimTargetHCL("app", app.URL, "")) }

	t.Run("ledger cannot be opened: nothing is created", func(t *testing.T) {
		ledger := filepath.Join(t.TempDir(), "no-such-dir", "evidence.jsonl")
		tfresource.Test(t, tfresource.TestCase{
			ProtoV6ProviderFactories: protoV6ProviderFactories,
			Steps: []tfresource.TestStep{{
				Config:      singleUserConfig(provider(ledger), ""),
				ExpectError: wrapped(`Cannot open the evidence ledger`, `No user was created`),
			}},
		})
		if _, ok := app.UserIDByUserName("single@example.com"); ok {
			t.Fatal("a user exists without evidence")
		}
	})

	t.Run("append fails after the user exists: it is deleted again", func(t *testing.T) {
		// A dangling symlink opens (the directory exists) but cannot be
		// appended to: the failure comes after the POST.
		dir := t.TempDir()
		ledger := filepath.Join(dir, "evidence.jsonl")
		if err := os.Symlink(filepath.Join(dir, "gone", "evidence.jsonl"), ledger); err != nil {
			t.Fatal(err)
		}
		tfresource.Test(t, tfresource.TestCase{
			ProtoV6ProviderFactories: protoV6ProviderFactories,
			Steps: []tfresource.TestStep{{
				Config:      singleUserConfig(provider(ledger), ""),
				ExpectError: wrapped(`Cannot record the new credential`, `so it was deleted again`),
			}},
		})
		if id, ok := app.UserIDByUserName("single@example.com"); ok {
			t.Fatalf("an unrecorded user is live: %s", id)
		}
	})
}
