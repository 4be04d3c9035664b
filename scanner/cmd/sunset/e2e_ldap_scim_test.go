package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/scim"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/report/sariftest"
)

// Issue 6's end-to-end scenario with the LDAP and SCIM targets, as a user
// runs it: a real `terraform apply` with the provider built from this tree
// against a real slapd / SCIM server, an offboarding applied, out-of-band
// changes, and `sunset scan` on the pulled state. No --as-of: end dates are
// relative to today, and "an identity ends without an apply" is HR moving
// end dates into the past in the export that nobody applied yet, which the
// target-side expiry (pwdEndTime, set at the old date) does not cover.

// e2eDay is today plus n days, as a calendar end date.
func e2eDay(n int) string { return time.Now().UTC().AddDate(0, 0, n).Format(time.DateOnly) }

// e2eRoster is the HR export: one line per identity, name → end_date,status.
func e2eRoster(rows ...string) string {
	return "name,kind,owner,end_date,status\n" + strings.Join(rows, "\n") + "\n"
}

// e2eRow is one line of the HR export.
func e2eRow(name, kind, end, status string) string {
	return name + "," + kind + ",hr@example.com," + end + "," + status
}

// e2eIdentities is what every e2e configuration shares: the roster read
// from the HR export, and an identity for each of its active entries.
const e2eIdentities = `
data "sunset_roster" "staff" {
  file = "${path.module}/../hr/roster.csv"
}

resource "sunset_identity" "staff" {
  for_each = data.sunset_roster.staff.active
  name     = each.key
  kind     = each.value.kind
  owner    = each.value.owner
  end_date = each.value.end_date
}
`

const e2eTerraform = `terraform {
  required_providers {
    sunset = { source = "sunset-iam/sunset" }
  }
}
`

// lineOf is the 1-based line of the first line of content holding needle.
func lineOf(t *testing.T, content, needle string) int {
	t.Helper()
	for i, l := range strings.Split(content, "\n") {
		if strings.Contains(l, needle) {
			return i + 1
		}
	}
	t.Fatalf("no %q in:\n%s", needle, content)
	return 0
}

// scan pulls the state as a user would and runs sunset scan from h.dir.
func (h *tfHarness) scan(env []string, extra ...string) result {
	h.t.Helper()
	cmd := exec.Command("terraform", "state", "pull")
	cmd.Dir, cmd.Env = filepath.Join(h.dir, "infra"), h.env
	out, err := cmd.Output()
	if err != nil {
		h.t.Fatalf("terraform state pull: %v", err)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "state.json"), out, 0o600); err != nil {
		h.t.Fatal(err)
	}
	args := append([]string{"scan", "--config", "sunset.yaml", "--state", "state.json", "--roster", "hr/roster.csv",
		"--ledger", "evidence/sunset.jsonl", "--source-dir", "infra", "--format", "json", "--fail-on", "low"}, extra...)
	return sunset(h.t, h.dir, env, args...)
}

// editLedgerLine changes one field on the ledger's second line, without
// re-chaining: what an edit by hand looks like.
func (h *tfHarness) editLedgerLine() {
	h.t.Helper()
	ledger := filepath.Join(h.dir, "evidence", "sunset.jsonl")
	data, err := os.ReadFile(ledger)
	if err != nil {
		h.t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	lines[1] = strings.Replace(lines[1], `"actor":"e2e@test"`, `"actor":"someone-else"`, 1)
	if strings.Join(lines, "") == string(data) {
		h.t.Fatalf("the ledger's second line has no actor to edit:\n%s", lines[1])
	}
	if err := os.WriteFile(ledger, []byte(strings.Join(lines, "")), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// checkScan asserts exit 1 with exactly the findings want (sorted as
// findingsOf sorts), a SARIF report that validates, and no secret in the
// output.
func checkScan(t *testing.T, h *tfHarness, env []string, want []string, secrets ...string) {
	t.Helper()
	r := h.scan(env)
	sort.Strings(want)
	if got := strings.Join(findingsOf(t, r.stdout), "\n"); r.code != 1 || got != strings.Join(want, "\n") {
		t.Fatalf("findings:\n%s\nwant exactly, with exit 1:\n%s\n%s", got, strings.Join(want, "\n"), r)
	}
	for _, s := range secrets {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Fatalf("a secret leaked into the scan's output: %s", r)
		}
	}
	r = h.scan(env, "--format", "sarif", "--output", "sunset.sarif")
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("sarif: %s", r)
	}
	sarif, err := os.ReadFile(filepath.Join(h.dir, "sunset.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	sariftest.Validate(t, sarif)
}

// ------------------------------------------------------------------ LDAP

// e2eLDAPMain spells base_dn OU=People,DC=example,DC=org, as directory
// teams often write it: the provider's ids keep that spelling, the
// directory lists the entries in its own (ou=people,dc=example,dc=org),
// and the scan must join the two.
func e2eLDAPMain(s *testenv.Slapd, vpn string) string {
	return e2eTerraform + fmt.Sprintf(`
provider "sunset" {
  evidence = { file = "${path.module}/../evidence/sunset.jsonl" }
  targets = {
    corp = { ldap = {
      url                = %q
      bind_dn            = %q
      bind_password_env  = "LDAP_PW"
      base_dn            = %q
      ca_file            = %q
      empty_group_member = "cn=nobody,%s"
    } }
  }
}
`, s.LDAPSURL, s.BindDN, e2eShoutedPeopleDN, s.CAFile, s.BaseDN) + e2eIdentities + fmt.Sprintf(`
resource "sunset_ldap_account" "staff" {
  for_each            = sunset_identity.staff
  target              = "corp"
  identity_id         = each.value.id
  uid                 = each.key
  expires_at          = each.value.end_date
  groups              = [%q]
  attributes          = { mail = ["${each.key}@example.org"] }
  password_wo         = "pw-${each.key}-E2e!"
  password_wo_version = 1
}
`, vpn)
}

const e2eShoutedPeopleDN = "OU=People,DC=example,DC=org"

// e2eLDAPAdmin runs f bound as the directory's administrator.
func e2eLDAPAdmin(t *testing.T, s *testenv.Slapd, f func(*goldap.Conn) error) {
	t.Helper()
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	conn, err := goldap.DialURL(s.LDAPSURL, goldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetTimeout(10 * time.Second)
	if err := conn.Bind(s.BindDN, s.BindPassword); err != nil {
		t.Fatal(err)
	}
	if err := f(conn); err != nil {
		t.Fatal(err)
	}
}

func e2eLDAPLocked(t *testing.T, s *testenv.Slapd, dn string) string {
	var v string
	e2eLDAPAdmin(t, s, func(c *goldap.Conn) error {
		res, err := c.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 10, false,
			"(objectClass=*)", []string{"pwdAccountLockedTime"}, nil))
		if err != nil {
			return err
		}
		v = res.Entries[0].GetAttributeValue("pwdAccountLockedTime")
		return nil
	})
	return v
}

func TestEndToEndLDAP(t *testing.T) {
	s := testenv.SlapdForTest(t)
	h := newTF(t, "LDAP_PW="+s.BindPassword)
	env := []string{"LDAP_PW=" + s.BindPassword}
	vpn := "cn=vpn," + s.GroupsDN
	e2eLDAPAdmin(t, s, func(c *goldap.Conn) error {
		add := goldap.NewAddRequest(vpn, nil)
		add.Attribute("objectClass", []string{"groupOfNames"})
		add.Attribute("cn", []string{"vpn"})
		add.Attribute("member", []string{"cn=nobody," + s.BaseDN})
		return c.Add(add)
	})
	mainTF := e2eLDAPMain(s, vpn)
	h.write("infra/main.tf", mainTF)
	accountLine := lineOf(t, mainTF, `resource "sunset_ldap_account" "staff"`)
	alice, bob, carol, dave := e2eDay(60), e2eDay(90), e2eDay(120), e2eDay(150)
	row := func(name, end, status string) string { return e2eRow(name, "contractor", end, status) }
	h.write("hr/roster.csv", e2eRoster(row("alice", alice, "active"), row("bob", bob, "active"), row("carol", carol, "active"), row("dave", dave, "active")))
	os.MkdirAll(filepath.Join(h.dir, "evidence"), 0o755)
	h.write("sunset.yaml", fmt.Sprintf("targets:\n  corp:\n    ldap:\n      url: %s\n      bind_dn: %s\n      bind_password_env: LDAP_PW\n      base_dn: %s\n      ca_file: %s\npolicy:\n  sla: 1d\n",
		s.LDAPSURL, s.BindDN, s.PeopleDN, s.CAFile))
	h.run("apply", "-auto-approve")

	// Clean: everyone declared, pwdEndTime at each end date, although
	// state and directory spell the DNs differently.
	if r := h.scan(env); r.code != 0 || len(findingsOf(t, r.stdout)) != 0 {
		t.Fatalf("a clean setup must exit 0 with no findings: %s", r)
	}
	if st, _ := os.ReadFile(filepath.Join(h.dir, "state.json")); !strings.Contains(string(st), `"corp/uid=alice,`+e2eShoutedPeopleDN+`"`) {
		t.Fatalf("the state no longer keeps the configuration's spelling of the DN; this test joins the two spellings:\n%s", st)
	}
	head := sunset(t, h.dir, nil, "evidence", "head", "evidence/sunset.jsonl")
	if head.code != 0 || !strings.HasPrefix(head.stdout, "8:") {
		t.Fatalf("head after 4 identities and 4 accounts: %s", head)
	}

	// HR terminates bob: apply locks his account and records it.
	h.write("hr/roster.csv", e2eRoster(row("alice", alice, "active"), row("bob", bob, "terminated"), row("carol", carol, "active"), row("dave", dave, "active")))
	h.run("apply", "-auto-approve")
	dn := func(uid string) string { return "uid=" + uid + "," + s.PeopleDN }
	if got := e2eLDAPLocked(t, s, dn("bob")); got != "000001010000Z" {
		t.Fatalf("bob's account after the offboarding apply: pwdAccountLockedTime %q", got)
	}
	if r := sunset(t, h.dir, nil, "evidence", "verify", "evidence/sunset.jsonl", "--head", strings.TrimSpace(head.stdout)); r.code != 0 {
		t.Fatalf("the ledger only grew since the first head: %s", r)
	}

	// HR moves carol's end date three days back and dave's two hours back;
	// nobody applies. Their pwdEndTime stays at the old dates.
	h.write("hr/roster.csv", e2eRoster(row("alice", alice, "active"), row("bob", bob, "terminated"),
		row("carol", e2eDay(-3), "active"), row("dave", time.Now().UTC().Add(-2*time.Hour).Format(time.RFC3339), "active")))
	// Out of band: an administrator unlocks bob, someone adds mallory, and
	// one ledger line is edited.
	e2eLDAPAdmin(t, s, func(c *goldap.Conn) error {
		m := goldap.NewModifyRequest(dn("bob"), nil)
		m.Delete("pwdAccountLockedTime", nil)
		if err := c.Modify(m); err != nil {
			return err
		}
		add := goldap.NewAddRequest(dn("mallory"), nil)
		add.Attribute("objectClass", []string{"inetOrgPerson"})
		add.Attribute("uid", []string{"mallory"})
		add.Attribute("cn", []string{"mallory"})
		add.Attribute("sn", []string{"mallory"})
		return c.Add(add)
	})
	h.editLedgerLine()

	tf := fmt.Sprintf("@infra/main.tf:%d", accountLine)
	checkScan(t, h, env, []string{
		"ledger-tampered evidence/sunset.jsonl @evidence/sunset.jsonl:2",
		"revocation-not-propagated " + dn("bob") + " @sunset.yaml:2",
		"unmanaged-account " + dn("mallory") + " @sunset.yaml:2",
		"stale-access " + dn("carol") + " " + tf,
		"pending-revocation " + dn("dave") + " " + tf,
	}, s.BindPassword, "pw-bob-E2e!", "pw-carol-E2e!")
	// A longer SLA: carol is within it too.
	if r := h.scan(env, "--sla", "7d"); r.code != 1 || !strings.Contains(strings.Join(findingsOf(t, r.stdout), "\n"), "pending-revocation "+dn("carol")+" "+tf) {
		t.Fatalf("--sla 7d: %s", r)
	}
	// The saved head is no longer provably held: the chain breaks before it.
	if r := sunset(t, h.dir, nil, "evidence", "verify", "evidence/sunset.jsonl", "--head", strings.TrimSpace(head.stdout)); r.code != 1 || !strings.Contains(r.stderr, "TAMPERED: line 2:") {
		t.Fatalf("verify --head after the edit: %s", r)
	}

	// The directory goes down: exit 2, the target named, the ledger's
	// finding still reported.
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	r := h.scan(env)
	if r.code != 2 || !strings.Contains(r.stderr, "target corp could not be read") ||
		strings.Join(findingsOf(t, r.stdout), "\n") != "ledger-tampered evidence/sunset.jsonl @evidence/sunset.jsonl:2" {
		t.Fatalf("unreachable directory: %s", r)
	}
}

// ------------------------------------------------------------------ SCIM

func e2eSCIMMain(url, admins string) string {
	return e2eTerraform + fmt.Sprintf(`
provider "sunset" {
  evidence = { file = "${path.module}/../evidence/sunset.jsonl" }
  targets = {
    app = { scim = { url = %q, token_env = "APP_TOKEN" } }
  }
}
`, url) + e2eIdentities + fmt.Sprintf(`
resource "sunset_scim_user" "staff" {
  for_each    = sunset_identity.staff
  target      = "app"
  identity_id = each.value.id
  user_name   = "${each.key}@example.com"
  external_id = each.key
}

resource "sunset_scim_group_membership" "admins" {
  for_each    = { for k, v in sunset_identity.staff : k => v if contains(["alice", "bob", "carol"], k) }
  target      = "app"
  group_id    = %q
  user_id     = sunset_scim_user.staff[each.key].scim_id
  identity_id = each.value.id
}
`, admins)
}

func TestEndToEndSCIM(t *testing.T) {
	app := testenv.SCIMForTest(t, testenv.SCIMOptions{})
	admins, err := app.AddGroup("admins")
	if err != nil {
		t.Fatal(err)
	}
	h := newTF(t, "APP_TOKEN="+app.Token)
	env := []string{"APP_TOKEN=" + app.Token}
	mainTF := e2eSCIMMain(app.URL, admins)
	h.write("infra/main.tf", mainTF)
	userLine := lineOf(t, mainTF, `resource "sunset_scim_user" "staff"`)
	memberLine := lineOf(t, mainTF, `resource "sunset_scim_group_membership" "admins"`)
	alice, bob, carol, dave := e2eDay(60), e2eDay(90), e2eDay(120), e2eDay(150)
	row := func(name, end, status string) string { return e2eRow(name, "human", end, status) }
	h.write("hr/roster.csv", e2eRoster(row("alice", alice, "active"), row("bob", bob, "active"), row("carol", carol, "active"), row("dave", dave, "active")))
	os.MkdirAll(filepath.Join(h.dir, "evidence"), 0o755)
	h.write("sunset.yaml", "targets:\n  app:\n    scim:\n      url: "+app.URL+"\n      token_env: APP_TOKEN\n      timeout: 3s\n      max_attempts: 2\n      retry_wait_max: 200ms\npolicy:\n  sla: 1d\n")
	h.run("apply", "-auto-approve")

	// Clean: every user and admin membership declared.
	if r := h.scan(env); r.code != 0 || len(findingsOf(t, r.stdout)) != 0 {
		t.Fatalf("a clean setup must exit 0 with no findings: %s", r)
	}
	id := func(name string) string {
		t.Helper()
		v, ok := app.UserIDByUserName(name + "@example.com")
		if !ok {
			t.Fatalf("no SCIM user for %s", name)
		}
		return v
	}
	if m, _ := app.GroupMembers(admins); len(m) != 3 {
		t.Fatalf("admins after the first apply: %v", m)
	}

	// HR terminates bob: apply removes him from admins and deactivates him.
	h.write("hr/roster.csv", e2eRoster(row("alice", alice, "active"), row("bob", bob, "terminated"), row("carol", carol, "active"), row("dave", dave, "active")))
	h.run("apply", "-auto-approve")
	if u, ok := app.User(id("bob")); !ok || u.Active || len(u.Groups) != 0 {
		t.Fatalf("bob after the offboarding apply: %+v", u)
	}

	// HR moves carol's end date three days back and dave's two hours back;
	// nobody applies.
	h.write("hr/roster.csv", e2eRoster(row("alice", alice, "active"), row("bob", bob, "terminated"),
		row("carol", e2eDay(-3), "active"), row("dave", time.Now().UTC().Add(-2*time.Hour).Format(time.RFC3339), "active")))
	// Out of band: an admin console reactivates bob and puts him back in
	// admins, someone adds mallory, and one ledger line is edited.
	if err := app.SetUserActive(id("bob"), true); err != nil {
		t.Fatal(err)
	}
	c, err := scim.New(scim.Config{URL: app.URL, Token: app.Token})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddGroupMember(context.Background(), admins, id("bob")); err != nil {
		t.Fatal(err)
	}
	mallory, err := app.AddUser(testenv.SCIMUser{UserName: "mallory@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	h.editLedgerLine()

	user := fmt.Sprintf(" @infra/main.tf:%d", userLine)
	member := fmt.Sprintf(" @infra/main.tf:%d", memberLine)
	checkScan(t, h, env, []string{
		"ledger-tampered evidence/sunset.jsonl @evidence/sunset.jsonl:2",
		"revocation-not-propagated " + id("bob") + " @sunset.yaml:2",
		"revocation-not-propagated " + admins + "/" + id("bob") + " @sunset.yaml:2",
		"unmanaged-account " + mallory + " @sunset.yaml:2",
		"stale-access " + id("carol") + user,
		"stale-access " + admins + "/" + id("carol") + member,
		"pending-revocation " + id("dave") + user,
	}, app.Token)

	// The service goes down: exit 2, the target named, the ledger's
	// finding still reported.
	app.Close()
	r := h.scan(env)
	if r.code != 2 || !strings.Contains(r.stderr, "target app could not be read") ||
		strings.Join(findingsOf(t, r.stdout), "\n") != "ledger-tampered evidence/sunset.jsonl @evidence/sunset.jsonl:2" {
		t.Fatalf("unreachable SCIM service: %s", r)
	}
}
