package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// A scan of a real slapd and a real SCIM server, through the same config
// fields the provider's ldap and scim target blocks take.
func TestScanRealLDAPAndSCIM(t *testing.T) {
	s := testenv.SlapdForTest(t)
	dir := t.TempDir()
	ldif := filepath.Join(dir, "people.ldif")
	f, err := os.Create(ldif)
	if err != nil {
		t.Fatal(err)
	}
	// uid=user0000000 is locked; the others can bind.
	if err := testenv.SlapdWriteBulkLDIF(f, testenv.SlapdBulkSpec{Accounts: 4, Groups: 1, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := s.BulkLoad(ldif); err != nil {
		t.Fatal(err)
	}

	scim := testenv.SCIMForTest(t, testenv.SCIMOptions{})
	alice, err := scim.AddUser(testenv.SCIMUser{UserName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scim.AddUser(testenv.SCIMUser{UserName: "zed", Inactive: true}); err != nil {
		t.Fatal(err)
	}
	mallory, _ := scim.AddUser(testenv.SCIMUser{UserName: "mallory"})

	user := func(i string) string { return "uid=user000000" + i + "," + testenv.SlapdPeopleDN }
	st := map[string]any{"version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": "l", "outputs": map[string]any{}, "resources": []any{
		map[string]any{"mode": "managed", "type": "sunset_identity", "name": "p", "provider": "p", "instances": []any{
			map[string]any{"index_key": "bob", "attributes": map[string]any{"id": "bob", "name": "bob", "kind": "contractor", "owner": "hr@example.com", "end_date": "2027-01-31"}},
			map[string]any{"index_key": "alice", "attributes": map[string]any{"id": "alice", "name": "alice", "kind": "human", "owner": "hr@example.com", "end_date": "2030-01-31"}},
		}},
		map[string]any{"mode": "managed", "type": "sunset_ldap_account", "name": "p", "provider": "p", "instances": []any{
			map[string]any{"index_key": "bob", "attributes": map[string]any{"id": "corp/" + user("1"), "target": "corp", "identity_id": "bob", "expires_at": "2027-01-31"}},
			map[string]any{"index_key": "alice", "attributes": map[string]any{"id": "corp/" + user("2"), "target": "corp", "identity_id": "alice", "expires_at": "2030-01-31"}},
		}},
		map[string]any{"mode": "managed", "type": "sunset_scim_user", "name": "p", "provider": "p", "instances": []any{
			map[string]any{"index_key": "alice", "attributes": map[string]any{"id": "crm/" + alice, "target": "crm", "identity_id": "alice"}},
		}},
	}}
	b, _ := json.Marshal(st)
	os.WriteFile(filepath.Join(dir, "state.json"), b, 0o600)
	os.WriteFile(filepath.Join(dir, "sunset.yaml"), []byte(`targets:
  corp:
    ldap:
      url: `+s.LDAPSURL+`
      bind_dn: `+s.BindDN+`
      bind_password: ${env:LDAP_PW}
      base_dn: `+testenv.SlapdPeopleDN+`
      ca_file: `+s.CAFile+`
  crm:
    scim:
      url: `+scim.URL+`
      token_env: CRM_TOKEN
`), 0o600)

	r := sunset(t, dir, []string{"LDAP_PW=" + s.BindPassword, "CRM_TOKEN=" + scim.Token},
		"scan", "--config", "sunset.yaml", "--state", "state.json", "--format", "json", "--as-of", "2027-06-15T12:00:00Z")
	if r.code != 1 {
		t.Fatalf("%s", r)
	}
	got := strings.Join(findingsOf(t, r.stdout), "\n")
	want := strings.Join([]string{
		// alice's pwdEndTime is unset in the directory: no target-side expiry.
		"outlives-lifecycle " + user("2") + " @sunset.yaml:2",
		"stale-access " + user("1") + " @sunset.yaml:2",
		"unmanaged-account " + mallory + " @sunset.yaml:9",
		"unmanaged-account " + user("3") + " @sunset.yaml:2",
	}, "\n")
	if got != want {
		t.Fatalf("findings:\n%s\nwant:\n%s\n%s", got, want, r)
	}
	if strings.Contains(r.stdout+r.stderr, s.BindPassword) || strings.Contains(r.stdout+r.stderr, scim.Token) {
		t.Fatal("a secret leaked into the output")
	}
}
