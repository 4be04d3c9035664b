package postgres

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// collect lists the accounts whose key starts with prefix.
func collect(t *testing.T, c *Client, prefix string) map[string]connector.Account {
	t.Helper()
	got := map[string]connector.Account{}
	err := c.Inventory(ctxT(t), func(a connector.Account) error {
		if strings.HasPrefix(a.Key, prefix) {
			if _, dup := got[a.Key]; dup {
				t.Errorf("account %q listed twice", a.Key)
			}
			got[a.Key] = a
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestInventoryListsAccountsWithState(t *testing.T) {
	// The one streamed query (the default), and keyset pages: a tiny page
	// size makes every listing cross several pages.
	for _, size := range []int{0, 2} {
		t.Run(fmt.Sprintf("page size %d", size), func(t *testing.T) {
			c, pg := newClient(t, func(cfg *Config) { cfg.InventoryPageSize = size })
			testInventoryListsAccountsWithState(t, c, pg)
		})
	}
}

func testInventoryListsAccountsWithState(t *testing.T, c *Client, pg *testenv.Postgres) {
	ctx := ctxT(t)
	p := roleName("inv") + "_"
	g := p + "group" // NOLOGIN, no session: a group, not an account
	g0 := p + "agroup"
	super(t, pg, "create role "+ident(g))
	super(t, pg, "create role "+ident(g0))
	future := serverNow(t, c).Add(48 * time.Hour)
	past := serverNow(t, c).Add(-time.Hour)
	mk := func(name string, spec RoleSpec) {
		spec.Name = name
		if _, err := c.Create(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	mk(p+"active", RoleSpec{ConnectionLimit: -1, ValidUntil: &future, MemberOf: []string{g, g0}})
	mk(p+"noexpiry", RoleSpec{ConnectionLimit: -1})
	mk(p+"expired", RoleSpec{ConnectionLimit: -1, ValidUntil: &past})
	mk(p+"revoked", RoleSpec{ConnectionLimit: -1})
	mk(p+"lingering", RoleSpec{ConnectionLimit: -1, Password: ptr("pw-linger")})
	for i := 0; i < 5; i++ {
		mk(roleName(p+"bulk"), RoleSpec{ConnectionLimit: -1})
	}
	if _, err := c.Revoke(ctx, p+"revoked", RevokeOptions{}); err != nil {
		t.Fatal(err)
	}
	// NOLOGIN set out of band while a session is open: still access.
	mustLogin(t, pg, p+"lingering", "pw-linger")
	super(t, pg, "alter role "+ident(p+"lingering")+" nologin")

	got := collect(t, c, p)
	if len(got) != 9 {
		keys := []string{}
		for k := range got {
			keys = append(keys, k)
		}
		t.Fatalf("listed %d accounts %v, want 9 (5 bulk, active, noexpiry, expired, lingering)", len(got), keys)
	}
	for _, absent := range []string{g, g0, p + "revoked"} {
		if _, ok := got[absent]; ok {
			t.Errorf("%q listed: group roles and revoked (NOLOGIN, no session) roles are not accounts", absent)
		}
	}
	a := got[p+"active"]
	if !a.Usable || a.ExpiresAt == nil || !a.ExpiresAt.Equal(future.Truncate(time.Microsecond)) || len(a.Groups) != 2 || a.Groups[0] != g0 || a.Groups[1] != g || a.Name != a.Key {
		t.Errorf("active = %+v", a)
	}
	if want := "rolcanlogin=true, rolvaliduntil=" + future.UTC().Truncate(time.Second).Format(time.RFC3339) + ", 0 sessions"; a.State != want {
		t.Errorf("active: State %q, want %q", a.State, want)
	}
	if a := got[p+"noexpiry"]; !a.Usable || a.ExpiresAt != nil || a.State != "rolcanlogin=true, 0 sessions" || a.Groups == nil || len(a.Groups) != 0 {
		t.Errorf("noexpiry = %+v", a)
	}
	if a := got[p+"expired"]; a.Usable || a.ExpiresAt == nil || !strings.Contains(a.State, "expired") {
		t.Errorf("expired = %+v", a)
	}
	if a := got[p+"lingering"]; !a.Usable || a.Sessions != 1 || a.State != "rolcanlogin=false, 1 session" {
		t.Errorf("lingering (NOLOGIN with a live session) = %+v", a)
	}
}

func TestInventoryLeavesOutBuiltinRolesUnlessAsked(t *testing.T) {
	c, _ := newClient(t)
	builtin := func(c *Client) (n int) {
		err := c.Inventory(ctxT(t), func(a connector.Account) error {
			if a.Key == "postgres" || strings.HasPrefix(a.Key, "pg_") {
				n++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := builtin(c); n != 0 {
		t.Fatalf("%d built-in roles listed by default", n)
	}
	all, _ := newClient(t, func(cfg *Config) { cfg.IncludeBuiltin = true })
	if n := builtin(all); n != 1 { // postgres; the pg_* roles cannot log in
		t.Fatalf("IncludeBuiltin listed %d built-in login roles, want 1 (postgres)", n)
	}
}

func TestInventoryMarksTheConnectingRole(t *testing.T) {
	_, pg := newClient(t)
	admin := roleName("invadmin")
	super(t, pg, "create role "+ident(admin)+" login createrole password 'pw-invadmin'")
	c, err := New(ctxT(t), Config{DSN: pg.DSN(admin, "pw-invadmin", "")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := collect(t, c, admin)
	if a, ok := got[admin]; !ok || !strings.HasSuffix(a.State, "connecting role") || a.Sessions < 1 {
		t.Fatalf("connecting role = %+v (listed: %t)", a, ok)
	}
}

func TestInventoryReleasesTheConnectionBetweenPagesAndStopsOnError(t *testing.T) {
	// One connection in the pool: fn calling the client would deadlock if
	// Inventory held a connection while fn runs.
	c, _ := newClient(t, func(cfg *Config) { cfg.MaxConns = 1; cfg.InventoryPageSize = 3 })
	ctx := ctxT(t)
	p := roleName("page") + "_"
	for i := 0; i < 7; i++ {
		if _, err := c.Create(ctx, RoleSpec{Name: roleName(p), ConnectionLimit: -1}); err != nil {
			t.Fatal(err)
		}
	}
	seen := 0
	err := c.Inventory(ctx, func(a connector.Account) error {
		if !strings.HasPrefix(a.Key, p) {
			return nil
		}
		if _, err := c.Verify(ctx, a.Key); err != nil {
			return err
		}
		seen++
		return nil
	})
	if err != nil || seen != 7 {
		t.Fatalf("seen %d, err %v; want 7", seen, err)
	}

	stop := errors.New("stop here")
	calls := 0
	err = c.Inventory(ctx, func(connector.Account) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("fn error: got %v after %d calls, want it returned after 1", err, calls)
	}
}

func TestInventoryStreamStopsOnErrorAndTheClientGoesOn(t *testing.T) {
	c, _ := newClient(t)
	ctx := ctxT(t)
	p := roleName("stream") + "_"
	for i := 0; i < 3; i++ {
		if _, err := c.Create(ctx, RoleSpec{Name: roleName(p), ConnectionLimit: -1}); err != nil {
			t.Fatal(err)
		}
	}
	stop := errors.New("stop here")
	calls := 0
	err := c.Inventory(ctx, func(connector.Account) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("fn error: got %v after %d calls, want it returned after 1", err, calls)
	}
	// The listing that was stopped leaves the pool usable.
	if got := collect(t, c, p); len(got) != 3 {
		t.Fatalf("after a stopped listing, listed %d of 3 accounts", len(got))
	}
	// fn may call the Client while the stream holds a connection: the
	// default pool has others.
	seen := 0
	err = c.Inventory(ctx, func(a connector.Account) error {
		if !strings.HasPrefix(a.Key, p) {
			return nil
		}
		seen++
		_, err := c.Verify(ctx, a.Key)
		return err
	})
	if err != nil || seen != 3 {
		t.Fatalf("verify from fn: seen %d, err %v", seen, err)
	}
}
