package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/report/sariftest"
)

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func psql(t *testing.T, pg *testenv.Postgres, sql string) {
	t.Helper()
	if out, err := pg.Psql([]byte(sql)); err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
}

// stateJSON is a raw v4 state (as `terraform state pull` writes it) with
// sunset_identity and sunset_postgres_role instances.
func stateJSON(ids map[string]string, roles map[string]string) string {
	var idInst, roleInst []any
	for name, end := range ids {
		idInst = append(idInst, map[string]any{"index_key": name, "schema_version": 0, "attributes": map[string]any{
			"id": name, "name": name, "kind": "service_account", "owner": "data@example.com", "end_date": end, "status": "active"},
			"sensitive_attributes": []any{}})
	}
	for role, ident := range roles {
		roleInst = append(roleInst, map[string]any{"index_key": ident, "schema_version": 0, "attributes": map[string]any{
			"id": "warehouse/" + role, "target": "warehouse", "name": role, "identity_id": ident, "expires_at": ids[ident]},
			"sensitive_attributes": []any{}})
	}
	st := map[string]any{"version": 4, "terraform_version": "1.11.4", "serial": 3, "lineage": "cli-test", "outputs": map[string]any{},
		"resources": []any{
			map[string]any{"mode": "managed", "type": "sunset_identity", "name": "svc", "provider": `provider["registry.terraform.io/sunset-iam/sunset"]`, "instances": idInst},
			map[string]any{"mode": "managed", "type": "sunset_postgres_role", "name": "svc", "provider": `provider["registry.terraform.io/sunset-iam/sunset"]`, "instances": roleInst},
		}}
	b, _ := json.MarshalIndent(st, "", "  ")
	return string(b)
}

func findingsOf(t *testing.T, out string) []string {
	t.Helper()
	var rep struct {
		Findings []struct{ Rule, Account, Location, Checked string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.Rule+" "+f.Account+" @"+f.Location)
	}
	sort.Strings(got)
	return got
}

// A real scan of a real PostgreSQL, one target of which is down.
func TestScanRealPostgres(t *testing.T) {
	pg := testenv.PostgresForTest(t)
	psql(t, pg, `
CREATE ROLE cli_alice LOGIN VALID UNTIL '2030-04-01 00:00:00+00';
CREATE ROLE cli_bob LOGIN;
CREATE ROLE cli_mallory LOGIN;
CREATE ROLE cli_eve LOGIN;`)

	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("state.json", stateJSON(map[string]string{"alice": "2030-03-31", "bob": "2027-01-01"}, map[string]string{"cli_alice": "alice", "cli_bob": "bob"}))
	write("infra/roles.tf", "# service accounts\n\nresource \"sunset_postgres_role\" \"svc\" {\n  for_each = sunset_identity.svc\n}\n")
	write("sunset.yaml", `targets:
  warehouse:
    postgres:
      dsn: ${env:WAREHOUSE_DSN}
  down:
    postgres:
      dsn_env: DOWN_DSN
policy:
  sla: 1d
`)
	l, err := evidence.Open(filepath.Join(dir, "sunset.jsonl"), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []evidence.Event{evidence.EventCredentialIssued, evidence.EventCredentialRevoked} {
		if _, err := l.Append(context.Background(), evidence.Record{Event: ev, Target: "warehouse", System: "postgresql", Account: "cli_eve",
			Identity: &evidence.IdentityRef{Name: "eve", Owner: "hr@example.com", EndDate: "2027-02-01"}}); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"WAREHOUSE_DSN=" + pg.SuperDSN(), "DOWN_DSN=postgres://sunset:pw@" + closedPort(t) + "/x?connect_timeout=3"}
	args := []string{"scan", "--config", "sunset.yaml", "--state", "state.json", "--ledger", "sunset.jsonl", "--source-dir", "infra", "--as-of", "2027-06-15T12:00:00Z"}

	r := sunset(t, dir, env, append(args, "--format", "json")...)
	if r.code != 2 {
		t.Fatalf("an unreachable target must make the scan incomplete (exit 2): %s", r)
	}
	if !strings.Contains(r.stderr, "INCOMPLETE: target down could not be read") || !strings.Contains(r.stderr, "connect to 127.0.0.1:") {
		t.Errorf("stderr does not say clearly which target failed and why:\n%s", r.stderr)
	}
	want := []string{
		"revocation-not-propagated cli_eve @sunset.yaml:2",
		"stale-access cli_bob @infra/roles.tf:3",
		"unmanaged-account cli_mallory @sunset.yaml:2",
	}
	if got := findingsOf(t, r.stdout); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings reported despite the failed target:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(r.stdout+r.stderr, pg.SuperPassword) {
		t.Error("the DSN password leaked into the output")
	}
	if !strings.Contains(r.stdout, `"checked": "rolcanlogin=true, 0 memberships, 0 sessions"`) {
		t.Errorf("revocation-not-propagated must carry the connector's Verify evidence:\n%s", r.stdout)
	}

	// Without the dead target: findings, exit 1, SARIF that validates.
	write("sunset.yaml", "targets:\n  warehouse:\n    postgres:\n      dsn: ${env:WAREHOUSE_DSN}\n")
	r = sunset(t, dir, env, append(args, "--output", "out.sarif")...)
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("findings must exit 1 and the report go to --output: %s", r)
	}
	sarif, err := os.ReadFile(filepath.Join(dir, "out.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	sariftest.Validate(t, sarif)
	if !strings.Contains(string(sarif), `"uri": "infra/roles.tf"`) || !strings.Contains(string(sarif), `"executionSuccessful": true`) {
		t.Errorf("sarif locations:\n%s", sarif)
	}

	// --fail-on critical still fails on stale-access; a baseline accepting
	// the critical ones lets it pass, and says nothing of the high one.
	r = sunset(t, dir, env, append(args, "--format", "json", "--fail-on", "critical")...)
	if r.code != 1 {
		t.Fatalf("--fail-on critical: %s", r)
	}
	var rep struct {
		Findings []struct{ Rule, Fingerprint string }
	}
	json.Unmarshal([]byte(r.stdout), &rep)
	var bl strings.Builder
	bl.WriteString("accepted:\n")
	for _, f := range rep.Findings {
		if f.Rule != "unmanaged-account" {
			bl.WriteString("  - fingerprint: " + f.Fingerprint + "\n    reason: tracked in INC-7\n    approved_by: ciso@example.com\n    expires: 2027-07-01\n")
		}
	}
	write("baseline.yaml", bl.String())
	r = sunset(t, dir, env, append(args, "--format", "json", "--fail-on", "critical", "--baseline", "baseline.yaml")...)
	if r.code != 0 || len(findingsOf(t, r.stdout)) != 1 {
		t.Fatalf("baseline: %s", r)
	}
	// The same baseline, a month later, has expired: it stops suppressing and says so.
	late := append(append([]string{}, args[:len(args)-1]...), "2027-07-15T00:00:00Z", "--format", "json", "--fail-on", "critical", "--baseline", "baseline.yaml")
	r = sunset(t, dir, env, late...)
	if r.code != 1 || !strings.Contains(r.stderr, "expired on 2027-07-01; the finding is reported again") {
		t.Fatalf("expired baseline: %s", r)
	}

	// A clean setup exits 0: only alice is declared, with VALID UNTIL at her end date.
	write("sunset.yaml", "targets:\n  warehouse:\n    postgres:\n      dsn: ${env:WAREHOUSE_DSN}\npolicy:\n  exclude:\n    warehouse: [cli_bob, cli_mallory, cli_eve]\n")
	write("clean.json", stateJSON(map[string]string{"alice": "2030-03-31"}, map[string]string{"cli_alice": "alice"}))
	r = sunset(t, dir, env, "scan", "--config", "sunset.yaml", "--state", "clean.json", "--fail-on", "low", "--format", "table", "--as-of", "2027-06-15T12:00:00Z")
	if r.code != 0 || !strings.Contains(r.stdout, "0 findings at 2027-06-15T12:00:00Z") || r.stderr != "" {
		t.Fatalf("clean scan: %s", r)
	}

	// A literal secret in the configuration is refused, without echoing it.
	write("bad.yaml", "targets:\n  warehouse:\n    postgres:\n      dsn: "+pg.SuperDSN()+"\n")
	r = sunset(t, dir, env, "scan", "--config", "bad.yaml", "--state", "clean.json")
	if r.code != 2 || !strings.Contains(r.stderr, "bad.yaml:4: targets.warehouse.postgres.dsn holds a literal secret") || strings.Contains(r.stderr, pg.SuperPassword) {
		t.Fatalf("literal secret: %s", r)
	}
}

// An inventory that comes back empty while state declares accounts there is
// suspect: exit 2, never "all revoked".
func TestScanEmptyInventoryIsSuspect(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "state.json"), []byte(stateJSON(map[string]string{"zed": "2027-01-01"}, map[string]string{"cli_zed": "zed"})), 0o600)
	// A fresh cluster has no roles but the built-in ones, which the
	// connector leaves out: its inventory is empty.
	fresh := testenv.NewPostgresForTest(t, testenv.PostgresOptions{})
	os.WriteFile(filepath.Join(dir, "sunset.yaml"), []byte("targets:\n  warehouse:\n    postgres:\n      dsn_env: DSN\n"), 0o600)
	r := sunset(t, dir, []string{"DSN=" + fresh.SuperDSN()}, "scan", "--config", "sunset.yaml", "--state", "state.json", "--format", "json", "--as-of", "2027-06-15T12:00:00Z")
	if r.code != 2 || !strings.Contains(r.stderr, "inventory returned no accounts while state declares 1") {
		t.Fatalf("empty inventory: %s", r)
	}
	if len(findingsOf(t, r.stdout)) != 0 {
		t.Fatalf("an empty inventory must not produce findings as if it were the truth: %s", r.stdout)
	}
}
