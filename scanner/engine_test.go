package scanner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/config"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/locate"
)

// fakeTarget is an in-memory connector.Target: the engine's join logic is
// what is under test here, not a connector.
type fakeTarget struct {
	system   string
	accounts []connector.Account
	invErr   error
	verify   map[string]connector.Verification
	verified []string
	closed   bool
}

func (f *fakeTarget) Describe() connector.Description {
	return connector.Description{System: f.system, Endpoint: "fake"}
}
func (f *fakeTarget) Inventory(_ context.Context, fn func(connector.Account) error) error {
	for _, a := range f.accounts {
		if err := fn(a); err != nil {
			return err
		}
	}
	return f.invErr
}
func (f *fakeTarget) Verify(_ context.Context, key string) (connector.Verification, error) {
	f.verified = append(f.verified, key)
	v, ok := f.verify[key]
	if !ok {
		return connector.Verification{}, fmt.Errorf("no such account %s", key)
	}
	return v, nil
}
func (f *fakeTarget) Close() error { f.closed = true; return nil }

func spec(name string, line int, t connector.Target) TargetSpec {
	return TargetSpec{Name: name, Line: line, Open: func(context.Context) (connector.Target, error) { return t, nil }}
}

func ts(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// writeState writes a raw v4 state with the given identities and postgres
// roles (target/account → identity, expires_at).
type role struct{ id, identity, expires string }
type ident struct{ name, kind, owner, end string }

func writeState(t *testing.T, ids []ident, roles []role) string {
	t.Helper()
	var idInst, roleInst []map[string]any
	for _, i := range ids {
		idInst = append(idInst, map[string]any{"index_key": i.name, "schema_version": 0, "attributes": map[string]any{
			"id": i.name, "name": i.name, "kind": i.kind, "owner": i.owner, "end_date": nullable(i.end), "status": "active"}})
	}
	for _, r := range roles {
		target, account, _ := connector.ParseID(r.id)
		roleInst = append(roleInst, map[string]any{"index_key": account, "schema_version": 0, "attributes": map[string]any{
			"id": r.id, "target": target, "name": account, "identity_id": nullable(r.identity), "expires_at": nullable(r.expires)}})
	}
	st := map[string]any{"version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": "l", "outputs": map[string]any{},
		"resources": []any{
			map[string]any{"mode": "managed", "type": "sunset_identity", "name": "staff", "provider": "p", "instances": idInst},
			map[string]any{"mode": "managed", "type": "sunset_postgres_role", "name": "staff", "provider": "p", "instances": roleInst},
		}}
	b, _ := json.Marshal(st)
	p := filepath.Join(t.TempDir(), "terraform.tfstate")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func writeLedger(t *testing.T, recs ...evidence.Record) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sunset.jsonl")
	l, err := evidence.Open(p, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if _, err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func rules(r *Result) string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Rule+" "+f.Target+"/"+f.Account+" "+f.Identity)
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func find(t *testing.T, r *Result, rule, account string) Finding {
	t.Helper()
	for _, f := range r.Findings {
		if f.Rule == rule && f.Account == account {
			return f
		}
	}
	t.Fatalf("no %s finding for %s in:\n%s", rule, account, rules(r))
	return Finding{}
}

var now = time.Date(2027, 6, 15, 12, 0, 0, 0, time.UTC)

func TestEveryCredentialRule(t *testing.T) {
	st := writeState(t, []ident{
		{"alice", "human", "hr@example.com", "2030-01-31"},
		{"bob", "contractor", "hr@example.com", "2027-06-01"},   // ended two weeks ago
		{"carol", "contractor", "hr@example.com", "2027-06-14"}, // ended 12h ago
		{"etl", "workload", "data@example.com", "2027-12-31"},   // active, expiry missing
		{"report", "bot", "bob", "2027-12-31"},                  // owned by ended bob
		{"ghost-owned", "bot", "", "2027-12-31"},                // no owner
	}, []role{
		{"warehouse/alice", "alice", "2030-01-31"},
		{"warehouse/bob", "bob", "2027-06-01"},
		{"warehouse/carol", "carol", "2027-06-14"},
		{"warehouse/etl", "etl", ""},
		{"warehouse/report", "report", "2027-12-31"},
		{"warehouse/nobody", "", ""},
		{"warehouse/zed", "zed", ""},
	})
	ledger := writeLedger(t,
		evidence.Record{Event: evidence.EventCredentialIssued, Target: "warehouse", Account: "lost", System: "postgresql", Identity: &evidence.IdentityRef{Name: "dave", Owner: "hr@example.com", EndDate: "2027-01-01"}},
		evidence.Record{Event: evidence.EventCredentialIssued, Target: "warehouse", Account: "eve", System: "postgresql", Identity: &evidence.IdentityRef{Name: "eve"}},
		evidence.Record{Event: evidence.EventCredentialRevoked, Target: "warehouse", Account: "eve", System: "postgresql", Identity: &evidence.IdentityRef{Name: "eve"}},
		evidence.Record{Event: evidence.EventCredentialIssued, Target: "warehouse", Account: "frank", System: "postgresql", Identity: &evidence.IdentityRef{Name: "frank"}},
		evidence.Record{Event: evidence.EventCredentialRevoked, Target: "warehouse", Account: "frank", System: "postgresql", Identity: &evidence.IdentityRef{Name: "frank"}},
	)
	wh := &fakeTarget{system: "postgresql", accounts: []connector.Account{
		{Key: "alice", Usable: true, ExpiresAt: ts("2030-02-01T00:00:00Z"), State: "rolcanlogin=true"},
		{Key: "bob", Usable: true, ExpiresAt: ts("2027-06-02T00:00:00Z"), State: "rolcanlogin=true, 1 session"},
		{Key: "carol", Usable: true, ExpiresAt: ts("2027-06-15T00:00:00Z"), State: "rolcanlogin=true"},
		{Key: "etl", Usable: true, State: "rolcanlogin=true"},
		{Key: "report", Usable: true, ExpiresAt: ts("2028-06-30T00:00:00Z"), State: "rolcanlogin=true"},
		{Key: "eve", Usable: true, State: "rolcanlogin=true"},   // re-enabled after revocation
		{Key: "frank", Usable: true, State: "rolcanlogin=true"}, // inventory says usable, Verify says gone
		{Key: "mallory", Usable: true, State: "rolcanlogin=true"},
		{Key: "disabled", Usable: false, State: "rolcanlogin=false"},
		{Key: "postgres", Usable: true, State: "rolsuper=true"},
		{Key: "svc_backup", Usable: true},
		{Key: "svc_old", Usable: true},
	}, verify: map[string]connector.Verification{
		"eve":   {Gone: false, Checked: "rolcanlogin=true, 0 memberships, 1 session"},
		"frank": {Gone: true, Checked: "rolcanlogin=false, 0 memberships, 0 sessions"},
	}}
	pol := config.Policy{Exclude: map[string][]config.Pattern{"warehouse": {{Text: "postgres"}}}}
	mustAllow(t, &pol, "warehouse", "svc_backup", "2027-12-31", 30)
	mustAllow(t, &pol, "warehouse", "svc_old", "2027-06-01", 36)

	res, err := Scan(context.Background(), Input{
		Now: now, SLA: 24 * time.Hour, Policy: pol, ConfigFile: "sunset.yaml",
		Targets: []TargetSpec{spec("warehouse", 3, wh)}, States: []string{st}, Ledger: ledger,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"expired-exception warehouse/svc_old ",
		"missing-evidence warehouse/lost dave",
		"orphaned-owner / ghost-owned",
		"orphaned-owner / report",
		"orphaned-owner warehouse/nobody ",
		"orphaned-owner warehouse/zed zed",
		"outlives-lifecycle warehouse/etl etl",
		"outlives-lifecycle warehouse/report report",
		"pending-revocation warehouse/carol carol",
		"revocation-not-propagated warehouse/eve eve",
		"stale-access warehouse/bob bob",
		"unmanaged-account warehouse/mallory ",
		"unmanaged-account warehouse/svc_old ",
	}, "\n")
	if got := rules(res); got != want {
		t.Fatalf("findings:\n%s\nwant:\n%s", got, want)
	}
	if !res.Complete() {
		t.Fatalf("incomplete: %v", res.Incomplete)
	}
	if strings.Join(wh.verified, ",") != "eve,frank" {
		t.Errorf("verified %v, want eve and frank (the ledger says revoked, inventory says usable)", wh.verified)
	}
	if !wh.closed {
		t.Error("target not closed")
	}

	bob := find(t, res, RuleStaleAccess, "bob")
	if bob.Overdue != 13*24*time.Hour+12*time.Hour || bob.Severity != SeverityCritical || bob.Checked != "rolcanlogin=true, 1 session" ||
		bob.Owner != "hr@example.com" || bob.EndDate != "2027-06-01" || bob.System != "postgresql" || bob.Address != `sunset_postgres_role.staff["bob"]` {
		t.Errorf("bob = %+v", bob)
	}
	if bob.Location.String() != "sunset.yaml:3" {
		t.Errorf("without sources the location falls back to the target's configuration line: %v", bob.Location)
	}
	carol := find(t, res, RulePendingRevocation, "carol")
	if carol.Overdue != 12*time.Hour || carol.Severity != SeverityLow {
		t.Errorf("carol = %+v", carol)
	}
	if f := find(t, res, RuleUnmanagedAccount, "mallory"); f.Location.String() != "sunset.yaml:3" || f.Severity != SeverityHigh {
		t.Errorf("unmanaged location = %v", f.Location)
	}
	if f := find(t, res, RuleExpiredException, "svc_old"); f.Location.String() != "sunset.yaml:36" {
		t.Errorf("expired allow entry location = %v", f.Location)
	}
	if f := find(t, res, RuleMissingEvidence, "lost"); f.Location.String() != ledger+":1" || f.Owner != "hr@example.com" || f.EndDate != "2027-01-01" {
		t.Errorf("missing evidence = %+v", f)
	}
	if f := find(t, res, RuleRevocationNotPropagated, "eve"); f.Checked != "rolcanlogin=true, 0 memberships, 1 session" || f.Location.String() != "sunset.yaml:3" {
		t.Errorf("not propagated = %+v", f)
	}
	if f := find(t, res, RuleOutlivesLifecycle, "report"); !strings.Contains(f.Message, "2028-06-30") {
		t.Errorf("outlives message = %s", f.Message)
	}
}

func mustAllow(t *testing.T, p *config.Policy, target, account, expires string, line int) {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf("targets:\n  %s:\n    postgres: {dsn_env: X}\npolicy:\n  allow:\n    - {target: %s, account: %q, reason: r, approved_by: a, expires: %s}\n", target, target, account, expires)), "c", func(string) string { return "x" })
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Policy.Allow[0]
	a.Line = line
	p.Allow = append(p.Allow, a)
}

func TestSLABoundary(t *testing.T) {
	st := writeState(t, []ident{{"bob", "contractor", "hr@example.com", "2027-06-14T12:00:00Z"}}, []role{{"w/bob", "bob", ""}})
	for _, c := range []struct {
		sla  time.Duration
		rule string
	}{{24 * time.Hour, RulePendingRevocation}, {24*time.Hour - time.Second, RuleStaleAccess}} {
		res, err := Scan(context.Background(), Input{Now: now, SLA: c.sla, States: []string{st},
			Targets: []TargetSpec{spec("w", 1, &fakeTarget{system: "postgresql", accounts: []connector.Account{{Key: "bob", Usable: true}}})}})
		if err != nil {
			t.Fatal(err)
		}
		if f := find(t, res, c.rule, "bob"); f.Overdue != 24*time.Hour {
			t.Errorf("overdue = %s", f.Overdue)
		}
	}
}

func TestFailSafe(t *testing.T) {
	st := writeState(t, []ident{{"bob", "contractor", "hr@example.com", "2027-06-01"}}, []role{{"a/bob", "bob", ""}, {"b/bob", "bob", ""}, {"c/bob", "bob", ""}, {"d/bob", "bob", ""}, {"unconfigured/bob", "bob", ""}})
	good := &fakeTarget{system: "postgresql", accounts: []connector.Account{{Key: "bob", Usable: true}}}
	var progress []string
	res, err := Scan(context.Background(), Input{Now: now, SLA: time.Hour, States: []string{st}, ConfigFile: "sunset.yaml", Progress: func(s string) { progress = append(progress, s) }, Targets: []TargetSpec{
		{Name: "a", Line: 2, Open: func(context.Context) (connector.Target, error) {
			return nil, errors.New("dial tcp 127.0.0.1:1: connection refused")
		}},
		spec("b", 5, &fakeTarget{system: "scim", invErr: fmt.Errorf("page 3: %w", errors.New("503"))}),
		spec("c", 8, &fakeTarget{system: "postgresql"}),                                                    // empty, but state declares one
		spec("d", 11, &fakeTarget{system: "scim", invErr: fmt.Errorf("x: %w", connector.ErrSuspectEmpty)}), // empty, suspect
		spec("e", 14, &fakeTarget{system: "scim", invErr: fmt.Errorf("x: %w", connector.ErrSuspectEmpty)}), // empty, nothing declared: fine
		spec("good", 17, good),
	}})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, p := range res.Incomplete {
		msgs = append(msgs, p.Target+": "+p.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		"a: target a could not be read: dial tcp 127.0.0.1:1: connection refused",
		"b: target b could not be read: inventory: page 3: 503",
		"c: target c could not be read: inventory returned no accounts while state declares 1",
		"d: target d could not be read: inventory: x: the target returned no accounts",
		"unconfigured: state declares 1 credentials in target unconfigured, which the configuration does not define",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing problem %q in:\n%s", want, all)
		}
	}
	if len(progress) != 6 || !strings.HasPrefix(progress[0], "a (): INCOMPLETE: dial tcp") || !strings.HasPrefix(progress[5], "good (postgresql): 1 accounts, 0 declared in ") {
		t.Errorf("progress lines:\n%s", strings.Join(progress, "\n"))
	}
	if len(res.Incomplete) != 5 {
		t.Errorf("%d problems:\n%s", len(res.Incomplete), all)
	}
	// The scan went on to the readable target and reported what it found.
	if got := rules(res); got != "unmanaged-account good/bob " {
		t.Errorf("findings: %s", got)
	}
}

func TestReadableTargetStillReportedWhenAnotherFails(t *testing.T) {
	st := writeState(t, []ident{{"bob", "contractor", "hr@example.com", "2027-06-01"}}, []role{{"ok/bob", "bob", ""}})
	res, err := Scan(context.Background(), Input{Now: now, SLA: time.Hour, States: []string{st}, Targets: []TargetSpec{
		{Name: "down", Open: func(context.Context) (connector.Target, error) { return nil, errors.New("refused") }},
		spec("ok", 1, &fakeTarget{system: "postgresql", accounts: []connector.Account{{Key: "bob", Usable: true}}}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Complete() || rules(res) != "stale-access ok/bob bob" {
		t.Fatalf("complete=%v findings:\n%s", res.Complete(), rules(res))
	}
}

func TestVerifyErrorIsIncompleteNotGone(t *testing.T) {
	ledger := writeLedger(t, evidence.Record{Event: evidence.EventCredentialRevoked, Target: "w", Account: "eve"})
	res, err := Scan(context.Background(), Input{Now: now, Ledger: ledger, Targets: []TargetSpec{
		spec("w", 1, &fakeTarget{system: "postgresql", accounts: []connector.Account{{Key: "eve", Usable: true}}}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Complete() || len(res.Findings) != 0 || !strings.Contains(res.Incomplete[0].Message, "verify eve") {
		t.Fatalf("incomplete=%v findings=%s", res.Incomplete, rules(res))
	}
}

func TestLedgerTamperedAndExceptions(t *testing.T) {
	ledger := writeLedger(t,
		evidence.Record{Event: evidence.EventIdentityDeclared, Identity: &evidence.IdentityRef{Name: "a"}},
		evidence.Record{Event: evidence.EventIdentityDeclared, Identity: &evidence.IdentityRef{Name: "b"}},
		evidence.Record{Event: evidence.EventIdentityDeclared, Identity: &evidence.IdentityRef{Name: "c"}},
	)
	data, _ := os.ReadFile(ledger)
	data = []byte(strings.Replace(string(data), `"name":"b"`, `"name":"B"`, 1))
	os.WriteFile(ledger, data, 0o600)

	roster := filepath.Join(t.TempDir(), "roster.json")
	os.WriteFile(roster, []byte(`[
  {"name": "held", "kind": "bot", "owner": "o@example.com", "end_date": "2027-01-01",
   "exception": {"kind": "legal_hold", "reason": "case 7", "approved_by": "ciso@example.com", "expires": "2027-12-31"}},
  {"name": "lapsed", "kind": "bot", "owner": "o@example.com", "end_date": "2027-01-01",
   "exception": {"kind": "legal_hold", "reason": "case 8", "approved_by": "ciso@example.com", "expires": "2027-06-01"}},
  {"name": "unapproved", "kind": "bot", "owner": "o@example.com", "end_date": "2027-01-01",
   "exception": {"kind": "break_glass", "reason": "oncall", "expires": "2027-12-31"}}
]`), 0o600)
	st := writeState(t, nil, []role{{"w/held", "held", "2027-12-31"}, {"w/lapsed", "lapsed", ""}, {"w/unapproved", "unapproved", ""}})
	res, err := Scan(context.Background(), Input{Now: now, SLA: time.Hour, Ledger: ledger, Roster: roster, States: []string{st}, Targets: []TargetSpec{
		spec("w", 1, &fakeTarget{system: "postgresql", accounts: []connector.Account{
			{Key: "held", Usable: true, ExpiresAt: ts("2028-01-01T00:00:00Z")}, {Key: "lapsed", Usable: true}, {Key: "unapproved", Usable: true}}}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"expired-exception / lapsed",
		"expired-exception / unapproved",
		"ledger-tampered /" + ledger + " ",
		"stale-access w/lapsed lapsed",
		"stale-access w/unapproved unapproved",
	}, "\n")
	if got := rules(res); got != want {
		t.Fatalf("findings:\n%s\nwant:\n%s", got, want)
	}
	if f := find(t, res, RuleLedgerTampered, ledger); f.Location.Line != 2 {
		t.Errorf("tampered line = %d, want 2", f.Location.Line)
	}
	if f := find(t, res, RuleStaleAccess, "lapsed"); f.Overdue != 13*24*time.Hour+12*time.Hour {
		t.Errorf("an expired exception ends the identity at its expiry: overdue %s", f.Overdue)
	}
	for _, f := range res.Findings {
		if f.Rule == RuleExpiredException && f.Identity == "lapsed" && f.Location.String() != roster+":4" {
			t.Errorf("exception location = %v, want the roster line", f.Location)
		}
	}
}

func TestSourceLocations(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.tf"), []byte("\n\nresource \"sunset_postgres_role\" \"staff\" {\n}\n"), 0o600)
	ix, err := locate.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	st := writeState(t, []ident{{"bob", "contractor", "hr@example.com", "2027-06-01"}}, []role{{"w/bob", "bob", ""}})
	res, err := Scan(context.Background(), Input{Now: now, SLA: time.Hour, States: []string{st}, Source: ix,
		Targets: []TargetSpec{spec("w", 1, &fakeTarget{system: "postgresql", accounts: []connector.Account{{Key: "bob", Usable: true}}})}})
	if err != nil {
		t.Fatal(err)
	}
	if f := find(t, res, RuleStaleAccess, "bob"); f.Location.String() != filepath.ToSlash(filepath.Join(dir, "main.tf"))+":3" {
		t.Errorf("location = %v", f.Location)
	}
}

func TestFingerprintIsStable(t *testing.T) {
	a := Fingerprint("stale-access", "w", "bob", "bob")
	if a != Fingerprint("stale-access", "w", "bob", "bob") || len(a) != 32 {
		t.Fatal(a)
	}
	for _, other := range []string{Fingerprint("stale-access", "w", "bob", ""), Fingerprint("stale-access", "wb", "ob", "bob"), Fingerprint("pending-revocation", "w", "bob", "bob")} {
		if other == a {
			t.Fatal("collision")
		}
	}
}

func TestDuplicateCredentialAcrossStatesIsAnError(t *testing.T) {
	a := writeState(t, nil, []role{{"w/bob", "bob", ""}})
	_, err := Scan(context.Background(), Input{Now: now, States: []string{a, a}})
	if err == nil || !strings.Contains(err.Error(), "both declare credential w/bob") {
		t.Fatalf("err = %v", err)
	}
}

// A broken chain does not hide what the later lines say: a revocation
// recorded after the bad line is still judged as a revocation.
func TestRecordsAfterATamperedLineStillCount(t *testing.T) {
	ledger := writeLedger(t,
		evidence.Record{Event: evidence.EventIdentityDeclared, Identity: &evidence.IdentityRef{Name: "a"}},
		evidence.Record{Event: evidence.EventCredentialIssued, Target: "w", Account: "bob", Identity: &evidence.IdentityRef{Name: "bob"}},
		evidence.Record{Event: evidence.EventCredentialRevoked, Target: "w", Account: "bob", Identity: &evidence.IdentityRef{Name: "bob"}},
	)
	data, _ := os.ReadFile(ledger)
	os.WriteFile(ledger, []byte(strings.Replace(string(data), `"name":"a"`, `"name":"A"`, 1)), 0o600)
	st := writeState(t, nil, nil)
	res, err := Scan(context.Background(), Input{Now: now, Ledger: ledger, States: []string{st}, Targets: []TargetSpec{
		spec("w", 1, &fakeTarget{system: "postgresql", accounts: []connector.Account{{Key: "bob", Usable: true}},
			verify: map[string]connector.Verification{"bob": {Checked: "rolcanlogin=true"}}}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := rules(res); got != "ledger-tampered /"+ledger+" \nrevocation-not-propagated w/bob bob" {
		t.Fatalf("findings:\n%s", got)
	}
}

func TestGroupMemberships(t *testing.T) {
	st := map[string]any{"version": 4, "resources": []any{
		map[string]any{"mode": "managed", "type": "sunset_identity", "name": "i", "instances": []any{
			map[string]any{"index_key": "bob", "attributes": map[string]any{"name": "bob", "kind": "contractor", "owner": "o", "end_date": "2027-06-01"}},
			map[string]any{"index_key": "amy", "attributes": map[string]any{"name": "amy", "kind": "human", "owner": "o", "end_date": "2030-06-01"}},
		}},
		map[string]any{"mode": "managed", "type": "sunset_scim_group_membership", "name": "m", "instances": []any{
			map[string]any{"index_key": "bob", "attributes": map[string]any{"id": "crm/admins/u-bob", "group_id": "admins", "user_id": "u-bob", "identity_id": "bob"}},
			map[string]any{"index_key": "amy", "attributes": map[string]any{"id": "crm/admins/u-amy", "group_id": "admins", "user_id": "u-amy", "identity_id": "amy"}},
		}},
		map[string]any{"mode": "managed", "type": "sunset_scim_user", "name": "u", "instances": []any{
			map[string]any{"index_key": "bob", "attributes": map[string]any{"id": "crm/u-bob", "identity_id": "amy"}},
			map[string]any{"index_key": "amy", "attributes": map[string]any{"id": "crm/u-amy", "identity_id": "amy"}},
			map[string]any{"index_key": "cy", "attributes": map[string]any{"id": "crm/u-cy", "identity_id": "amy"}},
		}},
	}}
	b, _ := json.Marshal(st)
	p := filepath.Join(t.TempDir(), "s.json")
	os.WriteFile(p, b, 0o600)
	ledger := writeLedger(t,
		evidence.Record{Event: evidence.EventCredentialRevoked, Target: "crm", System: "scim", Account: "ops/u-cy", Identity: &evidence.IdentityRef{Name: "cy"}},
		evidence.Record{Event: evidence.EventCredentialRevoked, Target: "crm", System: "scim", Account: "auditors/u-cy", Identity: &evidence.IdentityRef{Name: "cy"}},
	)
	res, err := Scan(context.Background(), Input{Now: now, SLA: time.Hour, States: []string{p}, Ledger: ledger, Targets: []TargetSpec{
		spec("crm", 1, &fakeTarget{system: "scim", accounts: []connector.Account{
			{Key: "u-bob", Usable: true, Groups: []string{"admins", "staff"}, State: "active=true"},
			{Key: "u-amy", Usable: true, Groups: []string{"admins"}, State: "active=true"},
			{Key: "u-cy", Usable: true, Groups: []string{"ops"}, State: "active=true"},
		}}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := "revocation-not-propagated crm/ops/u-cy cy\nstale-access crm/admins/u-bob bob"
	if got := rules(res); got != want {
		t.Fatalf("findings:\n%s\nwant:\n%s", got, want)
	}
	if f := find(t, res, RuleStaleAccess, "admins/u-bob"); f.Checked != "active=true, member of admins" || f.Address != `sunset_scim_group_membership.m["bob"]` {
		t.Errorf("%+v", f)
	}
}
