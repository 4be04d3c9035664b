package scanner

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
)

// writeLDAPState writes a raw v4 state with identities and
// sunset_ldap_account instances (id → identity).
func writeLDAPState(t *testing.T, ids []ident, accounts map[string]string) string {
	t.Helper()
	var idInst, accInst []map[string]any
	for _, i := range ids {
		idInst = append(idInst, map[string]any{"index_key": i.name, "attributes": map[string]any{
			"id": i.name, "name": i.name, "kind": i.kind, "owner": i.owner, "end_date": i.end}})
	}
	for id, who := range accounts {
		target, dn, _ := connector.ParseID(id)
		accInst = append(accInst, map[string]any{"index_key": who + dn, "attributes": map[string]any{
			"id": id, "target": target, "dn": dn, "identity_id": who, "expires_at": "2030-01-31"}})
	}
	b, _ := json.Marshal(map[string]any{"version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": "l", "outputs": map[string]any{},
		"resources": []any{
			map[string]any{"mode": "managed", "type": "sunset_identity", "name": "staff", "provider": "p", "instances": idInst},
			map[string]any{"mode": "managed", "type": "sunset_ldap_account", "name": "staff", "provider": "p", "instances": accInst},
		}})
	p := filepath.Join(t.TempDir(), "terraform.tfstate")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The configuration spells the DNs one way (OU=People,DC=example), the
// directory lists them another (ou=people,dc=example): the join is on the
// entry, not on its spelling.
func TestLDAPKeysJoinWhateverTheirSpelling(t *testing.T) {
	const cfg, dir = ",OU=People,DC=example,DC=org", ",ou=people,dc=example,dc=org"
	st := writeLDAPState(t, []ident{
		{"alice", "human", "hr@example.com", "2030-01-31"},
		{"carol", "contractor", "hr@example.com", "2027-06-01"}, // ended two weeks ago
	}, map[string]string{
		"corp/uid=alice" + cfg: "alice",
		"corp/UID=Carol" + cfg: "carol",
		"corp/uid=zed" + cfg:   "zed", // an identity nobody declares
	})
	rec := func(ev evidence.Event, account, who string) evidence.Record {
		return evidence.Record{Event: ev, Target: "corp", System: "ldap", Account: account, Identity: &evidence.IdentityRef{Name: who, Owner: "hr@example.com", EndDate: "2027-01-31"}}
	}
	ledger := writeLedger(t,
		rec(evidence.EventCredentialIssued, "uid=bob"+cfg, "bob"),
		rec(evidence.EventCredentialRevoked, "uid=bob"+cfg, "bob"),
		rec(evidence.EventCredentialIssued, "uid=lost"+cfg, "lost"),
	)
	corp := &fakeTarget{system: "ldap", accounts: []connector.Account{
		{Key: "uid=alice" + dir, Usable: true, ExpiresAt: ts("2030-02-01T00:00:00Z"), State: "pwdAccountLockedTime absent"},
		{Key: "uid=carol" + dir, Usable: true, ExpiresAt: ts("2030-02-01T00:00:00Z"), State: "pwdAccountLockedTime absent"},
		{Key: "uid=bob" + dir, Usable: true, State: "pwdAccountLockedTime absent"}, // unlocked after its revocation
		{Key: "uid=zed" + dir, Usable: false, State: "pwdAccountLockedTime=000001010000Z"},
		{Key: "uid=mallory" + dir, Usable: true, State: "pwdAccountLockedTime absent"},
	}, verify: map[string]connector.Verification{
		"uid=bob" + dir: {Gone: false, Checked: "pwdAccountLockedTime absent, 0 groups"},
	}}
	res, err := Scan(context.Background(), Input{
		Now: now, SLA: 24 * time.Hour, ConfigFile: "sunset.yaml",
		Targets: []TargetSpec{spec("corp", 2, corp)}, States: []string{st}, Ledger: ledger,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"missing-evidence corp/uid=lost" + cfg + " lost",
		"orphaned-owner corp/uid=zed" + cfg + " zed",
		"revocation-not-propagated corp/uid=bob" + dir + " bob",
		"stale-access corp/uid=carol" + dir + " carol",
		"unmanaged-account corp/uid=mallory" + dir + " ",
	}, "\n")
	if got := rules(res); got != want {
		t.Fatalf("findings:\n%s\nwant:\n%s", got, want)
	}
	if len(corp.verified) != 1 || corp.verified[0] != "uid=bob"+dir {
		t.Errorf("Verify calls %v: the revoked account is verified once, by the directory's DN", corp.verified)
	}

	// One entry declared twice, in two spellings, is one key declared twice.
	dup := writeLDAPState(t, []ident{{"alice", "human", "hr@example.com", "2030-01-31"}}, map[string]string{
		"corp/uid=alice" + cfg: "alice",
		"corp/uid=alice" + dir: "alice",
	})
	if _, err := Scan(context.Background(), Input{Now: now, States: []string{dup}}); err == nil || !strings.Contains(err.Error(), "both declare credential") {
		t.Fatalf("one DN in two spellings: %v", err)
	}
}
