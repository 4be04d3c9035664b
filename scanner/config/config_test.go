package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

const good = `# scan configuration
targets:
  warehouse:
    postgres:
      dsn: ${env:WAREHOUSE_DSN}
  slack:
    scim:
      url: https://api.example.com/scim/v2
      token_env: SLACK_TOKEN
      deprovision: delete
      timeout: 45s
      max_attempts: 5
      retry_wait_max: 2s
  corp:
    ldap:
      url: ldap://ldap.corp.example
      start_tls: true
      bind_dn: cn=sunset,dc=corp
      bind_password: ${env:LDAP_PW}
      base_dn: ou=people,dc=corp
      flavor: openldap
      group_base_dn: ou=groups,dc=corp
policy:
  sla: 3d
  timezone: Europe/Berlin
  max_grant: 365d
  allow:
    - target: warehouse
      account: "svc_*"
      reason: vendor appliance
      approved_by: ciso@example.com
      expires: 2027-01-31
  exclude:
    warehouse: [postgres, "replicator*"]
`

func TestParseGood(t *testing.T) {
	cfg, err := Parse([]byte(good), "sunset.yaml", env(map[string]string{
		"WAREHOUSE_DSN": "postgres://u:hunter2@db/x", "SLACK_TOKEN": "tok-123", "LDAP_PW": "pw-456",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Targets) != 3 {
		t.Fatalf("targets = %d", len(cfg.Targets))
	}
	wh, sl, corp := cfg.Targets[0], cfg.Targets[1], cfg.Targets[2]
	if wh.Name != "warehouse" || wh.Line != 3 || wh.Kind() != "postgres" || wh.Postgres.DSN != "postgres://u:hunter2@db/x" || wh.Err != nil {
		t.Errorf("warehouse = %+v line %d", wh.Config, wh.Line)
	}
	if sl.Line != 6 || sl.SCIM.Token != "tok-123" || sl.SCIM.Deprovision != "delete" || sl.SCIM.Timeout != 45*time.Second || sl.SCIM.MaxAttempts != 5 || sl.SCIM.UserAgent != "sunset-scan" {
		t.Errorf("slack = line %d %v", sl.Line, sl.SCIM)
	}
	if corp.LDAP.BindPassword != "pw-456" || !corp.LDAP.StartTLS || corp.LDAP.GroupBaseDN != "ou=groups,dc=corp" {
		t.Errorf("corp = %v", corp.LDAP)
	}
	if cfg.Policy.SLA != 72*time.Hour || !cfg.Policy.SLASet || cfg.Policy.Location.String() != "Europe/Berlin" || cfg.Policy.MaxGrant != 365*24*time.Hour {
		t.Errorf("policy = %+v", cfg.Policy)
	}
	a := cfg.Policy.Allow[0]
	if a.Line != 28 || a.Reason != "vendor appliance" || a.Account.Text != "svc_*" {
		t.Errorf("allow = %+v", a)
	}
	before := time.Date(2027, 1, 31, 22, 0, 0, 0, time.UTC) // 23:00 Berlin: still the last day
	after := time.Date(2027, 1, 31, 23, 0, 0, 0, time.UTC)  // midnight Berlin
	if ok, exp := cfg.Policy.Allowed("warehouse", "svc_backup", before); ok == nil || len(exp) != 0 {
		t.Errorf("allowed before expiry: %v %v", ok, exp)
	}
	if ok, exp := cfg.Policy.Allowed("warehouse", "svc_backup", after); ok != nil || len(exp) != 1 {
		t.Errorf("an expired entry must stop allowing: %v %v", ok, exp)
	}
	if ok, _ := cfg.Policy.Allowed("slack", "svc_backup", before); ok != nil {
		t.Errorf("an entry allows only in its own target")
	}
	if !cfg.Policy.Excluded("warehouse", "replicator_2") || !cfg.Policy.Excluded("warehouse", "postgres") || cfg.Policy.Excluded("warehouse", "postgres2") || cfg.Policy.Excluded("slack", "postgres") {
		t.Errorf("exclude patterns misapplied")
	}
	if cfg.TargetLine("corp") != 14 {
		t.Errorf("corp line = %d", cfg.TargetLine("corp"))
	}
}

func TestMissingEnvMakesTheTargetFailNotTheFile(t *testing.T) {
	cfg, err := Parse([]byte(good), "sunset.yaml", env(map[string]string{"SLACK_TOKEN": "t", "LDAP_PW": "p"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Targets[0].Err == nil || !strings.Contains(cfg.Targets[0].Err.Error(), "WAREHOUSE_DSN") {
		t.Fatalf("want an error naming WAREHOUSE_DSN, got %v", cfg.Targets[0].Err)
	}
	if cfg.Targets[1].Err != nil || cfg.Targets[2].Err != nil {
		t.Fatalf("other targets must stay usable: %v %v", cfg.Targets[1].Err, cfg.Targets[2].Err)
	}
}

func TestParseRejects(t *testing.T) {
	secret := "Sup3rS3cretLiteral"
	cases := []struct{ name, yaml, want string }{
		{"literal dsn", "targets:\n  w:\n    postgres:\n      dsn: postgres://u:" + secret + "@h/db\n", "sunset.yaml:4: targets.w.postgres.dsn holds a literal secret"},
		{"literal token", "targets:\n  s:\n    scim:\n      url: https://x\n      token: " + secret + "\n", "sunset.yaml:5: targets.s.scim.token holds a literal secret"},
		{"literal bind password", "targets:\n  c:\n    ldap:\n      url: ldaps://x\n      bind_dn: cn=a\n      base_dn: dc=x\n      bind_password: " + secret + "\n", "sunset.yaml:7: targets.c.ldap.bind_password holds a literal secret"},
		{"partial env reference", "targets:\n  s:\n    scim:\n      url: https://${env:HOST}/scim\n      token_env: T\n", "write a reference as the whole value"},
		{"two blocks", "targets:\n  w:\n    postgres:\n      dsn_env: A\n    scim:\n      url: https://x\n      token_env: B\n", "holds 2 connector blocks"},
		{"no block", "targets:\n  w: {}\n", "holds 0 connector blocks"},
		{"bad name", "targets:\n  1w:\n    postgres: {dsn_env: A}\n", "target name \"1w\""},
		{"unknown field", "targets:\n  w:\n    postgres:\n      dsn_env: A\n      password: x\n", "sunset.yaml:5: targets.w.postgres: unknown field \"password\""},
		{"unknown top level", "target: {}\n", "unknown field \"target\""},
		{"bad sla", "policy:\n  sla: soon\n", "sunset.yaml:2: policy.sla"},
		{"allow without approver", "targets:\n  w:\n    postgres: {dsn_env: A}\npolicy:\n  allow:\n    - {target: w, account: x, reason: r, expires: 2027-01-01}\n", "sunset.yaml:6: policy.allow[0] needs approved_by"},
		{"allow bad expiry", "targets:\n  w:\n    postgres: {dsn_env: A}\npolicy:\n  allow:\n    - {target: w, account: x, reason: r, approved_by: a, expires: soon}\n", "policy.allow[0].expires"},
		{"allow unknown target", "policy:\n  allow:\n    - {target: w, account: x, reason: r, approved_by: a, expires: 2027-01-01}\n", "target \"w\" is not defined"},
		{"exclude unknown target", "policy:\n  exclude:\n    w: [x]\n", "sunset.yaml:3: policy.exclude: target \"w\""},
		{"bad pattern", "targets:\n  w:\n    postgres: {dsn_env: A}\npolicy:\n  exclude:\n    w: [\"[\"]\n", "malformed"},
		{"bad max_attempts", "targets:\n  s:\n    scim: {url: https://x, token_env: T, max_attempts: 50}\n", "max_attempts 50 must be between 1 and 20"},
		{"max_attempts not a number", "targets:\n  s:\n    scim: {url: https://x, token_env: T, max_attempts: many}\n", "must be a whole number"},
		{"bad timeout", "targets:\n  s:\n    scim: {url: https://x, token_env: T, timeout: soon}\n", "scim.timeout"},
		{"bad flavor", "targets:\n  c:\n    ldap: {url: ldaps://x, bind_dn: cn=a, base_dn: dc=x, bind_password_env: P, flavor: novell}\n", "flavor \"novell\""},
		{"bad deprovision", "targets:\n  s:\n    scim: {url: https://x, token_env: T, deprovision: shred}\n", "deprovision \"shred\""},
		{"insecure not bool", "targets:\n  c:\n    ldap: {url: ldap://x, bind_dn: cn=a, base_dn: dc=x, bind_password_env: P, insecure: maybe}\n", "insecure must be true or false"},
		{"not yaml", "targets: [\n", "not YAML"},
		{"empty", "", "empty"},
		{"second document", "targets:\n  w:\n    postgres: {dsn_env: A}\n---\npolicy:\n  sla: 1d\n", "sunset.yaml:4: a second YAML document starts here"},
		{"empty second document", "targets:\n  w:\n    postgres: {dsn_env: A}\n\n---\n", "sunset.yaml:5: a second YAML document"},
		{"second document after an end marker", "policy: {sla: 1d}\n...\n---\ntargets: {}\n", "sunset.yaml:3: a second YAML document"},
		{"second document not YAML", "policy: {sla: 1d}\n---\ntargets: [\n", "not YAML"},
		{"second document holds a secret", "policy: {sla: 1d}\n---\ntoken: " + secret + "\n", "sunset.yaml:2: a second YAML document"},
		{"duplicate target", "targets:\n  w:\n    postgres: {dsn_env: A}\n  w:\n    postgres: {dsn_env: B}\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml), "sunset.yaml", env(map[string]string{"A": "postgres://a@h/d", "B": "x", "T": "t", "P": "p"}))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error quotes the secret: %q", err)
			}
		})
	}
}

// A ca_file that never ends (/dev/zero) is an error at its line, not a
// parse that hangs; the bound is internal/targets' MaxCAFileBytes.
func TestParseCAFileBounded(t *testing.T) {
	done := make(chan error, 1)
	go func() {
		_, err := Parse([]byte("targets:\n  s:\n    scim:\n      url: https://x\n      token_env: T\n      ca_file: /dev/zero\n"), "sunset.yaml", env(map[string]string{"T": "t"}))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "sunset.yaml:4: targets.s: scim.ca_file: /dev/zero is larger than 1 MiB") {
			t.Fatalf("ca_file /dev/zero: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("parsing a configuration with ca_file /dev/zero did not stop")
	}
}

// A leading "---" starts the one document; it is not a second one.
func TestParseLeadingDocumentMarker(t *testing.T) {
	cfg, err := Parse([]byte("---\n"+good+"...\n"), "sunset.yaml", env(map[string]string{"WAREHOUSE_DSN": "postgres://u@h/d", "SLACK_TOKEN": "t", "LDAP_PW": "p"}))
	if err != nil || len(cfg.Targets) != 3 {
		t.Fatalf("%v %v", cfg, err)
	}
}

func TestLoadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sunset.yaml")
	if err := os.WriteFile(p, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(p, env(map[string]string{"WAREHOUSE_DSN": "postgres://u@h/d", "SLACK_TOKEN": "t", "LDAP_PW": "p"}))
	if err != nil || cfg.File != p {
		t.Fatalf("%v %v", cfg, err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil); err == nil {
		t.Fatal("missing file accepted")
	}
}

// The example the CI workflows use must stay valid.
func TestExampleConfig(t *testing.T) {
	cfg, err := Load("../../examples/ci/sunset.yaml", env(map[string]string{"WAREHOUSE_DSN": "postgres://u@h/d", "SLACK_SCIM_TOKEN": "t", "LDAP_BIND_PASSWORD": "p"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Targets) != 3 || cfg.Policy.MaxGrant != 365*24*time.Hour || len(cfg.Policy.Allow) != 1 || !cfg.Policy.Excluded("warehouse", "rdsadmin") {
		t.Fatalf("%+v", cfg.Policy)
	}
	for _, tg := range cfg.Targets {
		if tg.Err != nil {
			t.Errorf("%s: %v", tg.Name, tg.Err)
		}
	}
}
