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
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/scim"
	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// Group memberships on a real SCIM server in each way providers show them.
// Where users are listed without their groups, the scan asks the target
// about each membership it cares about (VerifyGroupMembership, the check a
// destroy makes); where the server cannot say, the scan is incomplete,
// never clean.
func TestScanMembershipsOnProvidersThatHideThem(t *testing.T) {
	for _, mode := range []testenv.SCIMGroupMembers{
		testenv.SCIMMembersListed, testenv.SCIMMembersOnRequest, testenv.SCIMMembersFilterOnly, testenv.SCIMMembersHidden,
	} {
		t.Run(mode.String(), func(t *testing.T) {
			srv := testenv.SCIMForTest(t, testenv.SCIMOptions{GroupMembers: mode})
			ids, err := srv.SeedUsers(4)
			if err != nil {
				t.Fatal(err)
			}
			bob, amy, cy, dee := ids[0], ids[1], ids[2], ids[3]
			// bob has ended but is still an admin; amy is an admin as
			// declared; cy's membership was revoked and is back; dee's was
			// revoked and stays gone.
			admins, err := srv.AddGroup("admins", bob, amy, cy)
			if err != nil {
				t.Fatal(err)
			}
			st := map[string]any{"version": 4, "resources": []any{
				map[string]any{"mode": "managed", "type": "sunset_identity", "name": "i", "instances": []any{
					map[string]any{"index_key": "bob", "attributes": map[string]any{"name": "bob", "kind": "contractor", "owner": "o", "end_date": "2027-06-01"}},
					map[string]any{"index_key": "amy", "attributes": map[string]any{"name": "amy", "kind": "human", "owner": "o", "end_date": "2030-06-01"}},
				}},
				map[string]any{"mode": "managed", "type": "sunset_scim_group_membership", "name": "m", "instances": []any{
					map[string]any{"index_key": "bob", "attributes": map[string]any{"id": "crm/" + admins + "/" + bob, "group_id": admins, "user_id": bob, "identity_id": "bob"}},
					map[string]any{"index_key": "amy", "attributes": map[string]any{"id": "crm/" + admins + "/" + amy, "group_id": admins, "user_id": amy, "identity_id": "amy"}},
				}},
				map[string]any{"mode": "managed", "type": "sunset_scim_user", "name": "u", "instances": []any{
					map[string]any{"index_key": "bob", "attributes": map[string]any{"id": "crm/" + bob, "identity_id": "amy"}},
					map[string]any{"index_key": "amy", "attributes": map[string]any{"id": "crm/" + amy, "identity_id": "amy"}},
					map[string]any{"index_key": "cy", "attributes": map[string]any{"id": "crm/" + cy, "identity_id": "amy"}},
					map[string]any{"index_key": "dee", "attributes": map[string]any{"id": "crm/" + dee, "identity_id": "amy"}},
				}},
			}}
			b, _ := json.Marshal(st)
			statePath := filepath.Join(t.TempDir(), "s.json")
			if err := os.WriteFile(statePath, b, 0o600); err != nil {
				t.Fatal(err)
			}
			ledger := writeLedger(t,
				evidence.Record{Event: evidence.EventCredentialRevoked, Target: "crm", System: "scim", Account: admins + "/" + cy, Identity: &evidence.IdentityRef{Name: "cy"}},
				evidence.Record{Event: evidence.EventCredentialRevoked, Target: "crm", System: "scim", Account: admins + "/" + dee, Identity: &evidence.IdentityRef{Name: "dee"}},
			)
			open := func(context.Context) (connector.Target, error) {
				return scim.New(scim.Config{URL: srv.URL, Token: srv.Token, AllowInsecureHTTP: true, Timeout: 5 * time.Second})
			}
			res, err := Scan(context.Background(), Input{Now: now, SLA: time.Hour, States: []string{statePath}, Ledger: ledger,
				Targets: []TargetSpec{{Name: "crm", Line: 1, Open: open}}})
			if err != nil {
				t.Fatal(err)
			}
			if mode == testenv.SCIMMembersHidden {
				if res.Complete() || len(res.Targets) != 1 || !strings.Contains(res.Targets[0].Error, "cannot be verified on this server") {
					t.Fatalf("a server that shows no membership: complete=%v targets=%+v findings:\n%s", res.Complete(), res.Targets, rules(res))
				}
				return
			}
			want := "revocation-not-propagated crm/" + admins + "/" + cy + " cy\nstale-access crm/" + admins + "/" + bob + " bob"
			if got := rules(res); got != want || !res.Complete() {
				t.Fatalf("complete=%v %+v findings:\n%s\nwant:\n%s", res.Complete(), res.Incomplete, got, want)
			}
			f := find(t, res, RuleStaleAccess, admins+"/"+bob)
			if !strings.Contains(f.Checked, "member of "+admins) {
				t.Errorf("stale-access checked %q", f.Checked)
			}
			if mode != testenv.SCIMMembersListed && !strings.Contains(f.Checked, "members[value eq") && !strings.Contains(f.Checked, "attributes=members") {
				t.Errorf("stale-access checked %q, want the membership check's evidence", f.Checked)
			}
		})
	}
}
