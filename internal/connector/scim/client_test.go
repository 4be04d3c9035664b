package scim_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/scim"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// newClient points a client at a test server with short waits, so retry
// tests take milliseconds rather than seconds.
func newClient(t *testing.T, srv *testenv.SCIMServer, mutate ...func(*scim.Config)) *scim.Client {
	t.Helper()
	cfg := scim.Config{
		URL: srv.URL, Token: srv.Token,
		Timeout: 2 * time.Second, RetryWaitMin: 2 * time.Millisecond, RetryWaitMax: 20 * time.Millisecond,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := scim.New(cfg)
	if err != nil {
		t.Fatalf("scim.New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// testClock is the test server's clock: tests move it instead of sleeping
// past meta.lastModified's one-second resolution.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func alice() scim.User {
	return scim.User{
		UserName: "alice@example.com", DisplayName: "Alice Liddell", GivenName: "Alice", FamilyName: "Liddell",
		ExternalID: "hr-1001", Active: true,
		Emails:     []scim.Email{{Value: "alice@example.com", Type: "work", Primary: true}},
		Enterprise: &scim.EnterpriseUser{EmployeeNumber: "1001", Department: "Research", ManagerID: "mgr-7"},
		Attributes: map[string]any{testenv.SCIMHRSchema: map[string]any{"endDate": "2027-03-31"}},
	}
}

func TestSCIMCRUD(t *testing.T) {
	clk := newTestClock()
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{Now: clk.Now})
	c := newClient(t, srv)
	ctx := ctxT(t)

	created, err := c.CreateUser(ctx, alice())
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.ID == "" || created.UserName != "alice@example.com" || !created.Active {
		t.Fatalf("created = %+v", created)
	}
	if created.Meta.Version == "" || created.Meta.Created == nil || created.Meta.LastModified == nil {
		t.Fatalf("meta not read: %+v", created.Meta)
	}

	got, err := c.GetUser(ctx, created.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.GivenName != "Alice" || got.FamilyName != "Liddell" || got.DisplayName != "Alice Liddell" || got.ExternalID != "hr-1001" {
		t.Errorf("core attributes = %+v", got)
	}
	if len(got.Emails) != 1 || got.Emails[0] != (scim.Email{Value: "alice@example.com", Type: "work", Primary: true}) {
		t.Errorf("emails = %+v", got.Emails)
	}
	if got.Enterprise == nil || got.Enterprise.EmployeeNumber != "1001" || got.Enterprise.Department != "Research" || got.Enterprise.ManagerID != "mgr-7" {
		t.Errorf("enterprise = %+v", got.Enterprise)
	}
	if end, ok := got.AttributeString(testenv.SCIMHRSchema + ":endDate"); !ok || end != "2027-03-31" {
		t.Errorf("custom extension endDate = %q, %v", end, ok)
	}

	// PUT with the version we read: accepted, version moves on.
	got.DisplayName = "Alice L."
	replaced, err := c.ReplaceUser(ctx, got)
	if err != nil {
		t.Fatalf("replace: %v", err)
	}
	if replaced.DisplayName != "Alice L." || replaced.Meta.Version == got.Meta.Version {
		t.Errorf("replace: displayName %q version %q -> %q", replaced.DisplayName, got.Meta.Version, replaced.Meta.Version)
	}
	if replaced.GivenName != "Alice" || replaced.Enterprise == nil || replaced.Enterprise.Department != "Research" {
		t.Errorf("replace lost attributes it should have kept: %+v", replaced)
	}
	if end, _ := replaced.AttributeString(testenv.SCIMHRSchema + ":endDate"); end != "2027-03-31" {
		t.Errorf("replace lost the custom extension: %q", end)
	}
	// PUT with the stale version: refused, nothing overwritten.
	got.DisplayName = "stale writer"
	if _, err := c.ReplaceUser(ctx, got); !errors.Is(err, scim.ErrPreconditionFailed) {
		t.Fatalf("stale If-Match: err = %v, want ErrPreconditionFailed", err)
	}
	if st, _ := srv.User(created.ID); st.Attributes["displayName"] != "Alice L." {
		t.Errorf("stale PUT overwrote displayName: %v", st.Attributes["displayName"])
	}

	patched, err := c.PatchUser(ctx, created.ID, []scim.PatchOp{{Op: "replace", Path: "displayName", Value: "A. Liddell"}}, replaced.Meta.Version)
	if err != nil || patched.DisplayName != "A. Liddell" {
		t.Fatalf("patch: %v, %q", err, patched.DisplayName)
	}
	if _, err := c.PatchUser(ctx, created.ID, []scim.PatchOp{{Op: "replace", Path: "displayName", Value: "x"}}, replaced.Meta.Version); !errors.Is(err, scim.ErrPreconditionFailed) {
		t.Errorf("patch with stale version: %v", err)
	}

	// A clean 409 (nothing was retried) is an error, not an adoption.
	dup := alice()
	dup.ExternalID = "someone-else"
	if _, err := c.CreateUser(ctx, dup); !errors.Is(err, scim.ErrConflict) {
		t.Fatalf("duplicate create: err = %v, want ErrConflict", err)
	}

	before, _ := srv.User(created.ID)
	clk.Advance(90 * time.Minute)
	deact, err := c.DeactivateUser(ctx, created.ID)
	if err != nil || deact.Active {
		t.Fatalf("deactivate: %v active=%v", err, deact.Active)
	}
	v, err := c.Verify(ctx, created.ID)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !v.Gone || v.Absent || v.Checked != "active=false (GET /Users/"+created.ID+")" {
		t.Errorf("verify after deactivate = %+v", v)
	}
	after, _ := srv.User(created.ID)
	if !after.LastModified.After(before.LastModified) {
		t.Errorf("server lastModified did not move: %v -> %v", before.LastModified, after.LastModified)
	}
	if want := clk.Now().Truncate(time.Second); !after.LastModified.Truncate(time.Second).Equal(want) || !v.RemovedAt.Equal(want) {
		t.Errorf("RemovedAt = %v, want the server's meta.lastModified %v", v.RemovedAt, after.LastModified)
	}
	if v.CheckedAt.IsZero() || time.Since(v.CheckedAt) > time.Minute {
		t.Errorf("CheckedAt = %v", v.CheckedAt)
	}

	if err := c.DeleteUser(ctx, created.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.GetUser(ctx, created.ID); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("get after delete: %v, want ErrNotFound", err)
	}
	if err := c.DeleteUser(ctx, created.ID); !errors.Is(err, scim.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	v, err = c.Verify(ctx, created.ID)
	if err != nil || !v.Gone || !v.Absent || v.Checked != "404 on GET /Users/"+created.ID || !v.RemovedAt.IsZero() {
		t.Errorf("verify after delete = %+v, %v", v, err)
	}
}

func TestSCIMVerifyActiveUserIsNotGone(t *testing.T) {
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{})
	c := newClient(t, srv)
	id, _ := srv.AddUser(testenv.SCIMUser{UserName: "bob"})
	v, err := c.Verify(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if v.Gone || v.Absent || !strings.HasPrefix(v.Checked, "active=true") {
		t.Errorf("active user verified as %+v", v)
	}
}

func TestSCIMRevokeModes(t *testing.T) {
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{})
	ctx := ctxT(t)
	for _, tc := range []struct {
		mode        string
		wantPresent bool
	}{
		{scim.DeprovisionDeactivate, true},
		{scim.DeprovisionDelete, false},
		{scim.DeprovisionDeactivateThenDelete, false},
		{"", true}, // Config.Deprovision, default deactivate
	} {
		t.Run("mode="+tc.mode, func(t *testing.T) {
			c := newClient(t, srv)
			id, err := srv.AddUser(testenv.SCIMUser{UserName: "revoke-" + tc.mode})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Revoke(ctx, id, tc.mode); err != nil {
				t.Fatalf("revoke: %v", err)
			}
			st, present := srv.User(id)
			if present != tc.wantPresent || (present && st.Active) {
				t.Fatalf("after revoke: present=%v active=%v", present, st.Active)
			}
			v, err := c.Verify(ctx, id)
			if err != nil || !v.Gone || v.Absent == tc.wantPresent {
				t.Fatalf("verify: %+v %v", v, err)
			}
			// Idempotent: revoking again, whatever the mode, succeeds.
			for _, again := range []string{scim.DeprovisionDeactivate, scim.DeprovisionDelete, scim.DeprovisionDeactivateThenDelete} {
				if err := c.Revoke(ctx, id, again); err != nil {
					t.Errorf("revoke again (%s): %v", again, err)
				}
			}
		})
	}
	c := newClient(t, srv)
	if err := c.Revoke(ctx, "x", "disable"); err == nil {
		t.Error("unknown mode accepted")
	}
}

func TestSCIMRevokeKeepsFirstRemovalTime(t *testing.T) {
	clk := newTestClock()
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{Now: clk.Now})
	c := newClient(t, srv)
	ctx := ctxT(t)
	id, _ := srv.AddUser(testenv.SCIMUser{UserName: "carol"})
	if err := c.Revoke(ctx, id, scim.DeprovisionDeactivate); err != nil {
		t.Fatal(err)
	}
	first, _ := c.Verify(ctx, id)
	clk.Advance(time.Hour)
	if err := c.Revoke(ctx, id, scim.DeprovisionDeactivate); err != nil {
		t.Fatal(err)
	}
	second, _ := c.Verify(ctx, id)
	if first.RemovedAt.IsZero() || !first.RemovedAt.Equal(second.RemovedAt) {
		t.Errorf("a repeated deactivation moved RemovedAt: %v -> %v", first.RemovedAt, second.RemovedAt)
	}
}

func collect(t *testing.T, c *scim.Client, filter string, pageSize int) []scim.User {
	t.Helper()
	var out []scim.User
	if err := c.ListUsers(ctxT(t), filter, pageSize, func(u scim.User) error {
		out = append(out, u)
		return nil
	}); err != nil {
		t.Fatalf("list (page %d): %v", pageSize, err)
	}
	return out
}

func assertExactly(t *testing.T, got []scim.User, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("listed %d users, want %d", len(got), len(want))
	}
	seen := map[string]int{}
	for i, u := range got {
		seen[u.ID]++
		if u.ID != want[i] {
			t.Fatalf("user %d is %s, want %s (order or a skipped user)", i, u.ID, want[i])
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("user %s listed %d times", id, n)
		}
	}
}

func TestSCIMListPaging(t *testing.T) {
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{MaxResults: 500})
	ids, err := srv.SeedUsers(2345)
	if err != nil {
		t.Fatal(err)
	}
	// The request count below is about paging, not timeouts: a generous
	// timeout keeps a slow page on a loaded machine from being retried and
	// counted twice.
	c := newClient(t, srv, func(cfg *scim.Config) { cfg.Timeout = 60 * time.Second })
	// 500 is the server's cap, so 1000 and 5000 come back short with
	// totalResults present: pages must advance by what was received.
	for _, size := range []int{7, 333, 500, 1000, 5000} {
		before := srv.Stats().Requests
		assertExactly(t, collect(t, c, "", size), ids)
		per := min(size, 500)
		if got, want := srv.Stats().Requests-before, int64((2345+per-1)/per); got != want {
			t.Errorf("page %d: %d requests, want %d (stop exactly at totalResults)", size, got, want)
		}
	}
	f, _ := scim.EqFilter("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "dept-3")
	got := collect(t, c, f, 50)
	if len(got) != 235 {
		t.Errorf("filter on an extension attribute matched %d users, want 235", len(got))
	}
	for _, u := range got {
		if u.Enterprise == nil || u.Enterprise.Department != "dept-3" {
			t.Fatalf("filter returned %+v", u.Enterprise)
		}
	}
}

func TestSCIMQuirksMode(t *testing.T) {
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{Quirks: true})
	ids, err := srv.SeedUsers(1003)
	if err != nil {
		t.Fatal(err)
	}
	inactive := map[string]bool{ids[0]: true, ids[500]: true, ids[1002]: true}
	for id := range inactive {
		if err := srv.SetUserActive(id, false); err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t, srv)
	ctx := ctxT(t)

	// The server really is quirky: a raw page is short and has no
	// totalResults. Otherwise this test would prove nothing.
	raw := rawGet(t, srv, "/Users?startIndex=1&count=100")
	if strings.Contains(raw, "totalResults") || strings.Count(raw, `"userName"`) >= 100 || !strings.Contains(raw, `"active":"False"`) {
		t.Fatalf("quirks mode is not quirky: %.300s", raw)
	}

	for _, size := range []int{100, 250, 1000} {
		got := collect(t, c, "", size)
		assertExactly(t, got, ids)
		for _, u := range got {
			if u.Active == inactive[u.ID] {
				t.Fatalf("user %s: active=%v from a string \"True\"/\"False\"", u.ID, u.Active)
			}
		}
	}

	// PATCH answered 204: the client reads the user back.
	u, err := c.DeactivateUser(ctx, ids[1])
	if err != nil || u.ID != ids[1] || u.Active {
		t.Fatalf("deactivate under 204: %+v %v", u, err)
	}
	v, err := c.Verify(ctx, ids[1])
	if err != nil || !v.Gone || v.Checked != "active=false (GET /Users/"+ids[1]+")" {
		t.Fatalf("verify with string active: %+v %v", v, err)
	}
	// Error bodies with a numeric status are still SCIM errors.
	if _, err := c.GetUser(ctx, "no-such-user"); !errors.Is(err, scim.ErrNotFound) {
		t.Fatalf("404 with numeric status: %v", err)
	}
	if err := c.Revoke(ctx, "no-such-user", scim.DeprovisionDeactivate); err != nil {
		t.Fatalf("revoke of a missing user under quirks: %v", err)
	}
	n := 0
	inactive[ids[1]] = true
	if err := c.Inventory(ctx, func(a connector.Account) error {
		n++
		if a.Usable == inactive[a.Key] {
			t.Errorf("inventory: %s usable=%v from a string active", a.Key, a.Usable)
		}
		return nil
	}); err != nil || n != 1003 {
		t.Fatalf("inventory under quirks: %d accounts, %v", n, err)
	}
}

func TestSCIMInventory(t *testing.T) {
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{})
	c := newClient(t, srv, func(cfg *scim.Config) { cfg.PageSize = 4 })
	ctx := ctxT(t)

	err := c.Inventory(ctx, func(connector.Account) error { t.Fatal("fn called on an empty directory"); return nil })
	if !errors.Is(err, connector.ErrSuspectEmpty) {
		t.Fatalf("empty directory: %v, want ErrSuspectEmpty", err)
	}

	ids, _ := srv.SeedUsers(10)
	_ = srv.SetUserActive(ids[3], false)
	gid, err := srv.AddGroup("admins", ids[0], ids[3])
	if err != nil {
		t.Fatal(err)
	}
	var accts []connector.Account
	if err := c.Inventory(ctx, func(a connector.Account) error { accts = append(accts, a); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(accts) != 10 {
		t.Fatalf("%d accounts", len(accts))
	}
	for i, a := range accts {
		if a.Key != ids[i] || a.Name != fmt.Sprintf("seed-%07d", i+1) {
			t.Errorf("account %d = %+v", i, a)
		}
		if a.Usable == (i == 3) || a.State != map[bool]string{true: "active=true", false: "active=false"}[a.Usable] {
			t.Errorf("account %d usable=%v state=%q", i, a.Usable, a.State)
		}
		wantGroups := i == 0 || i == 3
		if wantGroups != (len(a.Groups) == 1 && a.Groups[0] == gid) {
			t.Errorf("account %d groups = %v", i, a.Groups)
		}
	}

	stop := errors.New("stop")
	n := 0
	if err := c.Inventory(ctx, func(connector.Account) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn error did not stop the listing: %v after %d", err, n)
	}

	d := c.Describe()
	if d.System != "scim" || d.Endpoint != srv.URL {
		t.Errorf("describe = %+v", d)
	}
}

func TestSCIMGroupMembership(t *testing.T) {
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{})
	c := newClient(t, srv)
	ctx := ctxT(t)
	ids, _ := srv.SeedUsers(2)
	g, err := c.CreateGroup(ctx, "finance", ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddGroupMember(ctx, g.ID, ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := c.AddGroupMember(ctx, g.ID, ids[1]); err != nil {
		t.Fatalf("adding twice: %v", err)
	}
	got, err := c.GetGroup(ctx, g.ID)
	if err != nil || !got.HasMember(ids[0]) || !got.HasMember(ids[1]) || len(got.Members) != 2 {
		t.Fatalf("group = %+v, %v", got, err)
	}
	u, _ := c.GetUser(ctx, ids[1])
	if len(u.Groups) != 1 || u.Groups[0] != g.ID {
		t.Errorf("user groups = %v", u.Groups)
	}
	v, err := c.VerifyGroupMembership(ctx, g.ID, ids[1])
	if err != nil || v.Gone {
		t.Fatalf("member verified as gone: %+v %v", v, err)
	}

	if err := c.RemoveGroupMember(ctx, g.ID, ids[1]); err != nil {
		t.Fatal(err)
	}
	if m, _ := srv.GroupMembers(g.ID); len(m) != 1 || m[0] != ids[0] {
		t.Fatalf("members after remove = %v", m)
	}
	v, err = c.VerifyGroupMembership(ctx, g.ID, ids[1])
	if err != nil || !v.Gone || v.Absent || v.RemovedAt.IsZero() || !strings.Contains(v.Checked, "not in members") {
		t.Fatalf("verify after remove = %+v %v", v, err)
	}
	if err := c.RemoveGroupMember(ctx, g.ID, ids[1]); err != nil {
		t.Errorf("removing again: %v", err)
	}
	if err := c.AddGroupMember(ctx, g.ID, "no-such-user"); err == nil {
		t.Error("adding a user that does not exist succeeded")
	}
	if err := c.DeleteGroup(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveGroupMember(ctx, g.ID, ids[0]); err != nil {
		t.Errorf("remove from a deleted group: %v", err)
	}
	v, err = c.VerifyGroupMembership(ctx, g.ID, ids[0])
	if err != nil || !v.Gone || !v.Absent {
		t.Errorf("verify on a deleted group = %+v %v", v, err)
	}
}

func TestSCIMFilterInjection(t *testing.T) {
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{})
	c := newClient(t, srv)
	ctx := ctxT(t)
	aliceID, _ := srv.AddUser(testenv.SCIMUser{UserName: "alice"})
	_, _ = srv.AddUser(testenv.SCIMUser{UserName: "bob"})
	weird := []string{`quote"in`, `back\slash`, `both\"`, "tab\there", `x" or userName pr or userName eq "y`}
	weirdIDs := map[string]string{}
	for _, n := range weird {
		id, err := srv.AddUser(testenv.SCIMUser{UserName: n})
		if err != nil {
			t.Fatal(err)
		}
		weirdIDs[n] = id
	}

	attack := `nobody" or userName pr or userName eq "x`
	// Control: built naively, the same value widens the filter to every
	// user. This is what the escaping must prevent.
	naive := collect(t, c, `userName eq "`+attack+`"`, 100)
	if len(naive) < 7 {
		t.Fatalf("control failed: the naive filter matched %d users; the server does not evaluate the injected clause", len(naive))
	}

	if _, err := c.FindUserByUserName(ctx, attack); !errors.Is(err, scim.ErrNotFound) {
		t.Fatalf("injection: err = %v, want ErrNotFound", err)
	}
	f, _ := scim.EqFilter("userName", attack)
	if got := collect(t, c, f, 100); len(got) != 0 {
		t.Fatalf("escaped injection matched %d users", len(got))
	}
	for _, n := range weird {
		u, err := c.FindUserByUserName(ctx, n)
		if err != nil || u.ID != weirdIDs[n] {
			t.Errorf("FindUserByUserName(%q) = %s, %v; want %s", n, u.ID, err, weirdIDs[n])
		}
	}
	u, err := c.FindUserByUserName(ctx, "ALICE")
	if err != nil || u.ID != aliceID {
		t.Errorf("userName is case-insensitive: %v %v", u.ID, err)
	}

	for _, bad := range []string{"", "userName eq \"x\" or id", "name..givenName", "user name", `urn:x:`, "1abc"} {
		if _, err := scim.EqFilter(bad, "v"); err == nil {
			t.Errorf("EqFilter accepted attribute %q", bad)
		}
	}
	if _, err := scim.EqFilter("userName", "bad\xffutf8"); err == nil {
		t.Error("EqFilter accepted invalid UTF-8")
	}
	got, _ := scim.EqFilter("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "a\"b\\c\x01")
	if want := `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "a\"b\\c\u0001"`; got != want {
		t.Errorf("EqFilter = %s, want %s", got, want)
	}
}

func TestSCIMUserAttributePaths(t *testing.T) {
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{})
	c := newClient(t, srv)
	u, err := c.CreateUser(ctxT(t), alice())
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"userName":                    "alice@example.com",
		"USERNAME":                    "alice@example.com",
		"name.givenName":              "Alice",
		"active":                      "true",
		scim.SchemaUser + ":userName": "alice@example.com",
		scim.SchemaEnterpriseUser + ":department":          "Research",
		scim.SchemaEnterpriseUser + ":manager.value":       "mgr-7",
		strings.ToUpper(testenv.SCIMHRSchema) + ":ENDDATE": "2027-03-31",
	} {
		if got, ok := u.AttributeString(path); !ok || got != want {
			t.Errorf("AttributeString(%s) = %q, %v; want %q", path, got, ok, want)
		}
	}
	for _, path := range []string{"nickName", "name.middleName", scim.SchemaEnterpriseUser + ":costCenter", "urn:nope:User:endDate", "emails", ""} {
		if got, ok := u.AttributeString(path); ok {
			t.Errorf("AttributeString(%s) = %q, want absent", path, got)
		}
	}
	flat := scim.User{Attributes: map[string]any{testenv.SCIMHRSchema + ":endDate": "2026-12-31"}}
	if got, ok := flat.AttributeString(testenv.SCIMHRSchema + ":endDate"); !ok || got != "2026-12-31" {
		t.Errorf("flattened extension key: %q %v", got, ok)
	}
}
