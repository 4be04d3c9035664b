package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

func TestRevokeDisableEndsLoginSessionsAndMemberships(t *testing.T) {
	c, pg := newClient(t)
	ctx := ctxT(t)
	g, name := roleName("grp"), roleName("disable")
	super(t, pg, "create role "+ident(g))
	if _, err := c.Create(ctx, RoleSpec{Name: name, ConnectionLimit: -1, MemberOf: []string{g}, Password: ptr("pw-disable")}); err != nil {
		t.Fatal(err)
	}
	// Two sessions opened BEFORE the revoke: NOLOGIN alone would not end them.
	s1 := mustLogin(t, pg, name, "pw-disable")
	s2 := mustLogin(t, pg, name, "pw-disable")

	v, err := c.Verify(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if v.Gone || v.Checked != "rolcanlogin=true, 1 membership, 2 sessions" {
		t.Fatalf("before revoke: %+v", v)
	}

	before := serverNow(t, c)
	res, err := c.Revoke(ctx, name, RevokeOptions{Mode: RevokeDisable})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Existed || res.Dropped || res.SessionsTerminated != 2 || !slices.Equal(res.MembershipsRevoked, []string{g}) {
		t.Fatalf("result = %+v", res)
	}
	if res.RemovedAt.Before(before) || res.RemovedAt.After(serverNow(t, c)) {
		t.Fatalf("RemovedAt %v is not the server's clock during the revoke (started %v)", res.RemovedAt, before)
	}

	for i, s := range []interface{ Ping(context.Context) error }{s1, s2} {
		if err := s.Ping(ctx); err == nil {
			t.Fatalf("session %d opened before the revoke is still alive", i+1)
		}
	}
	mustNotLogin(t, pg, name, "pw-disable")

	v, err = c.Verify(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Gone || v.Absent || v.Checked != "rolcanlogin=false, 0 memberships, 0 sessions" {
		t.Fatalf("after revoke: %+v", v)
	}
	if v.CheckedAt.Before(res.RemovedAt) {
		t.Fatalf("CheckedAt %v before RemovedAt %v", v.CheckedAt, res.RemovedAt)
	}
	r, err := c.Get(ctx, name)
	if err != nil || r.CanLogin || len(r.MemberOf) != 0 {
		t.Fatalf("disable must keep the role, without login or memberships: %+v, %v", r, err)
	}

	// Idempotent: again, nothing to do, still fine.
	res, err = c.Revoke(ctx, name, RevokeOptions{})
	if err != nil || !res.Existed || res.SessionsTerminated != 0 || len(res.MembershipsRevoked) != 0 {
		t.Fatalf("second revoke: %+v, %v", res, err)
	}
}

func TestRevokeDropReassignsAndDrops(t *testing.T) {
	c, pg := newClient(t)
	ctx := ctxT(t)
	g, heir, name := roleName("grp"), roleName("heir"), roleName("drop")
	super(t, pg, "create role "+ident(g)+"; create role "+ident(heir))
	if _, err := c.Create(ctx, RoleSpec{Name: name, ConnectionLimit: -1, MemberOf: []string{g}, Password: ptr("pw-drop")}); err != nil {
		t.Fatal(err)
	}
	table := roleName("owned_table")
	super(t, pg, "create table "+ident(table)+" (x int); alter table "+ident(table)+" owner to "+ident(name)+"; grant select on pg_class to "+ident(name))
	sess := mustLogin(t, pg, name, "pw-drop")

	res, err := c.Revoke(ctx, name, RevokeOptions{Mode: RevokeDrop, ReassignTo: heir})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Existed || !res.Dropped || res.SessionsTerminated != 1 || res.RemovedAt.IsZero() {
		t.Fatalf("result = %+v", res)
	}
	if err := sess.Ping(ctx); err == nil {
		t.Fatal("session survived the drop")
	}
	if _, err := c.Get(ctx, name); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("Get after drop: %v, want ErrNotFound", err)
	}
	out, err := pg.Psql(nil, "-At", "-c", "select tableowner from pg_tables where tablename = '"+table+"'")
	if err != nil || strings.TrimSpace(string(out)) != heir {
		t.Fatalf("table owner after drop = %q (%v), want %s", out, err, heir)
	}
	v, err := c.Verify(ctx, name)
	if err != nil || !v.Gone || !v.Absent || v.Checked != "role absent" {
		t.Fatalf("verify after drop: %+v, %v", v, err)
	}

	// Idempotent: the role is gone, revoking again succeeds, in both modes.
	for _, mode := range []RevokeMode{RevokeDrop, RevokeDisable} {
		res, err := c.Revoke(ctx, name, RevokeOptions{Mode: mode, ReassignTo: heir})
		if err != nil || res.Existed || !res.RemovedAt.IsZero() {
			t.Fatalf("%s of an absent role: %+v, %v", mode, res, err)
		}
	}
}

func TestRevokeDropBlockedByAnotherDatabaseLeavesRoleDisabled(t *testing.T) {
	c, pg := newClient(t)
	ctx := ctxT(t)
	heir, name, db := roleName("heir"), roleName("dropx"), roleName("otherdb")
	super(t, pg, "create role "+ident(heir))
	if _, err := c.Create(ctx, RoleSpec{Name: name, ConnectionLimit: -1, Password: ptr("pw-dropx")}); err != nil {
		t.Fatal(err)
	}
	// A database it owns is a shared object (REASSIGN OWNED handles it); a
	// table it owns in another database is not.
	super(t, pg, "create database "+ident(db)+" owner "+ident(name))
	superIn(t, pg, db, "create table elsewhere (x int); alter table elsewhere owner to "+ident(name))
	t.Cleanup(func() { super(t, pg, "drop database if exists "+ident(db)+" with (force)") })

	_, err := c.Revoke(ctx, name, RevokeOptions{Mode: RevokeDrop, ReassignTo: heir})
	if err == nil {
		t.Fatal("drop succeeded although the role owns a database")
	}
	if !strings.Contains(err.Error(), "connected database") || !strings.Contains(err.Error(), "in database "+db) {
		t.Fatalf("error does not explain the per-database limit: %v", err)
	}
	mustNotLogin(t, pg, name, "pw-dropx")
	v, verr := c.Verify(ctx, name)
	if verr != nil || !v.Gone || v.Absent {
		t.Fatalf("after a failed drop the access must still be gone (role disabled): %+v, %v", v, verr)
	}
}

func TestRevokeRefusals(t *testing.T) {
	c, pg := newClient(t)
	ctx := ctxT(t)
	for _, tc := range []struct {
		name string
		opts RevokeOptions
		want error
	}{
		{"postgres", RevokeOptions{}, ErrProtectedRole},
		{"pg_monitor", RevokeOptions{}, ErrProtectedRole},
		{"pg_signal_backend", RevokeOptions{Mode: RevokeDrop, ReassignTo: "postgres"}, ErrProtectedRole},
		{"someone", RevokeOptions{Mode: RevokeDrop}, ErrInvalidSpec},
		{"someone", RevokeOptions{Mode: RevokeDrop, ReassignTo: "someone"}, ErrInvalidSpec},
		{"someone", RevokeOptions{Mode: "delete"}, ErrInvalidSpec},
		{"", RevokeOptions{}, ErrInvalidName},
	} {
		if _, err := c.Revoke(ctx, tc.name, tc.opts); !errors.Is(err, tc.want) {
			t.Errorf("Revoke(%q, %+v) = %v, want %v", tc.name, tc.opts, err, tc.want)
		}
	}
	// The built-in superuser is untouched.
	mustLogin(t, pg, pg.SuperUser, pg.SuperPassword)

	// The connector's own role: an admin with CREATEROLE must not lock itself out.
	admin := roleName("admin")
	super(t, pg, "create role "+ident(admin)+" login createrole password 'pw-admin'")
	ac, err := New(ctx, Config{DSN: pg.DSN(admin, "pw-admin", "")})
	if err != nil {
		t.Fatal(err)
	}
	defer ac.Close()
	if _, err := ac.Revoke(ctx, admin, RevokeOptions{}); !errors.Is(err, ErrProtectedRole) {
		t.Fatalf("self revoke: %v, want ErrProtectedRole", err)
	}
	mustLogin(t, pg, admin, "pw-admin")
	// The refusal rolled back cleanly: the pooled session still works.
	if _, err := ac.Get(ctx, admin); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyIsNotGoneWhileAnyAccessRemains(t *testing.T) {
	c, pg := newClient(t)
	ctx := ctxT(t)
	g, name := roleName("grp"), roleName("remains")
	super(t, pg, "create role "+ident(g))
	if _, err := c.Create(ctx, RoleSpec{Name: name, ConnectionLimit: -1, MemberOf: []string{g}, Password: ptr("pw-remains")}); err != nil {
		t.Fatal(err)
	}
	sess := mustLogin(t, pg, name, "pw-remains")

	check := func(want string) {
		t.Helper()
		v, err := c.Verify(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if v.Gone || v.Checked != want {
			t.Fatalf("Verify = %+v, want not gone with %q", v, want)
		}
	}
	// An out-of-band NOLOGIN (what a naive revocation does) is not enough.
	super(t, pg, "alter role "+ident(name)+" nologin")
	check("rolcanlogin=false, 1 membership, 1 session")
	super(t, pg, "revoke "+ident(g)+" from "+ident(name))
	check("rolcanlogin=false, 0 memberships, 1 session")
	// An expired VALID UNTIL is not gone either.
	super(t, pg, "alter role "+ident(name)+" login valid until '2000-01-01'")
	sess.Close(ctx)
	waitForNoSession(t, c, name)
	check("rolcanlogin=true, 0 memberships, 0 sessions")
}

func waitForNoSession(t *testing.T, c *Client, name string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		r, err := c.Get(ctxT(t), name)
		if err != nil {
			t.Fatal(err)
		}
		if r.Sessions == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("closed session still in pg_stat_activity after 2s")
}

// "Server down during destroy": Revoke and Verify fail (never "gone"), and
// succeed once the server is back, through the same Client.
func TestServerDownIsAnErrorNeverGone(t *testing.T) {
	pg := testenv.NewPostgresForTest(t, testenv.PostgresOptions{})
	ctx := ctxT(t)
	c, err := New(ctx, Config{DSN: pg.SuperDSN() + "&connect_timeout=2"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	name := roleName("down")
	if _, err := c.Create(ctx, RoleSpec{Name: name, ConnectionLimit: -1, Password: ptr("pw-down")}); err != nil {
		t.Fatal(err)
	}
	if err := pg.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Revoke(ctx, name, RevokeOptions{}); err == nil {
		t.Fatal("Revoke succeeded against a dead server")
	}
	v, err := c.Verify(ctx, name)
	if err == nil || v.Gone {
		t.Fatalf("Verify against a dead server = %+v, %v; want an error and not gone", v, err)
	}
	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Revoke(ctx, name, RevokeOptions{}); err != nil {
		t.Fatalf("Revoke after restart: %v", err)
	}
	if v, err := c.Verify(ctx, name); err != nil || !v.Gone {
		t.Fatalf("Verify after restart: %+v, %v", v, err)
	}
}
