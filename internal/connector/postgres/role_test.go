package postgres

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

func TestCreateWithExpiryLimitAndMemberships(t *testing.T) {
	c, pg := newClient(t)
	ctx := ctxT(t)
	g1, g2, name := roleName("grp"), roleName("grp"), roleName("create")
	super(t, pg, "create role "+ident(g1)+"; create role "+ident(g2))

	until := time.Now().Add(90 * time.Minute).Add(123456789 * time.Nanosecond)
	r, err := c.Create(ctx, RoleSpec{Name: name, ValidUntil: &until, ConnectionLimit: 3, MemberOf: []string{g2, g1, g2}, Password: ptr("pw-create-1")})
	if err != nil {
		t.Fatal(err)
	}
	if !r.CanLogin || r.ConnectionLimit != 3 || !slices.Equal(r.MemberOf, []string{g1, g2}) || r.Name != name {
		t.Fatalf("created role = %+v", r)
	}
	// Truncated to microseconds, never rounded up past the end date.
	if r.ValidUntil == nil || !r.ValidUntil.Equal(until.Truncate(time.Microsecond)) {
		t.Fatalf("ValidUntil = %v, want %v", r.ValidUntil, until.Truncate(time.Microsecond))
	}
	mustLogin(t, pg, name, "pw-create-1")
	mustNotLogin(t, pg, name, "not-the-password")

	if _, err := c.Create(ctx, RoleSpec{Name: name, ConnectionLimit: -1}); !errors.Is(err, ErrRoleExists) {
		t.Fatalf("second Create: %v, want ErrRoleExists", err)
	}

	// No expiry: rolvaliduntil stays NULL and reads back as nil.
	open := roleName("noexpiry")
	r, err = c.Create(ctx, RoleSpec{Name: open, ConnectionLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	if r.ValidUntil != nil || r.ConnectionLimit != -1 || len(r.MemberOf) != 0 || r.MemberOf == nil {
		t.Fatalf("role without expiry = %+v", r)
	}

	// A membership in a missing group fails the whole create: no half role.
	half := roleName("half")
	if _, err := c.Create(ctx, RoleSpec{Name: half, ConnectionLimit: -1, MemberOf: []string{"no_such_group_xyz"}}); err == nil {
		t.Fatal("Create with a missing group succeeded")
	}
	if _, err := c.Get(ctx, half); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("role left behind by a failed Create: %v", err)
	}
}

func TestExpiryIsEnforcedByTheServer(t *testing.T) {
	c, pg := newClient(t)
	ctx := ctxT(t)
	name := roleName("expiry")
	future := serverNow(t, c).Add(time.Hour)
	if _, err := c.Create(ctx, RoleSpec{Name: name, ValidUntil: &future, ConnectionLimit: -1, Password: ptr("pw-expiry")}); err != nil {
		t.Fatal(err)
	}
	mustLogin(t, pg, name, "pw-expiry")

	past := serverNow(t, c).Add(-time.Second)
	if _, err := c.Update(ctx, name, RoleSpec{ValidUntil: &past, ConnectionLimit: -1}); err != nil {
		t.Fatal(err)
	}
	mustNotLogin(t, pg, name, "pw-expiry")
}

func TestUpdateDiffsMembershipsAndAttributes(t *testing.T) {
	c, pg := newClient(t)
	ctx := ctxT(t)
	g1, g2, g3, name := roleName("grp"), roleName("grp"), roleName("grp"), roleName("update")
	super(t, pg, "create role "+ident(g1)+"; create role "+ident(g2)+"; create role "+ident(g3))
	until := time.Date(2027, 3, 31, 23, 59, 59, 0, time.UTC)
	if _, err := c.Create(ctx, RoleSpec{Name: name, ValidUntil: &until, ConnectionLimit: 2, MemberOf: []string{g1, g2}, Password: ptr("pw-old")}); err != nil {
		t.Fatal(err)
	}

	later := until.AddDate(0, 6, 0)
	r, err := c.Update(ctx, name, RoleSpec{ValidUntil: &later, ConnectionLimit: 5, MemberOf: []string{g3, g2}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.MemberOf, []string{g2, g3}) || r.ConnectionLimit != 5 || r.ValidUntil == nil || !r.ValidUntil.Equal(later) {
		t.Fatalf("after update: %+v", r)
	}
	// Password untouched when nil.
	mustLogin(t, pg, name, "pw-old")

	// Password changed when given; expiry removed means 'infinity', read as nil.
	r, err = c.Update(ctx, name, RoleSpec{Name: name, ConnectionLimit: -1, MemberOf: nil, Password: ptr("pw-new")})
	if err != nil {
		t.Fatal(err)
	}
	if r.ValidUntil != nil || len(r.MemberOf) != 0 || r.ConnectionLimit != -1 {
		t.Fatalf("after second update: %+v", r)
	}
	mustNotLogin(t, pg, name, "pw-old")
	mustLogin(t, pg, name, "pw-new")

	if _, err := c.Update(ctx, roleName("absent"), RoleSpec{ConnectionLimit: -1}); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("Update of an absent role: %v, want ErrNotFound", err)
	}
	if _, err := c.Update(ctx, name, RoleSpec{Name: "other", ConnectionLimit: -1}); !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("rename: %v, want ErrInvalidSpec", err)
	}
	if _, err := c.Update(ctx, name, RoleSpec{ConnectionLimit: -2}); !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("connection limit -2: %v, want ErrInvalidSpec", err)
	}
	if _, err := c.Update(ctx, name, RoleSpec{ConnectionLimit: -1, Password: ptr("")}); !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("empty password: %v, want ErrInvalidSpec", err)
	}
}

func TestUpdateNeverReenablesLogin(t *testing.T) {
	c, _ := newClient(t)
	ctx := ctxT(t)
	name := roleName("reenable")
	if _, err := c.Create(ctx, RoleSpec{Name: name, ConnectionLimit: -1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Revoke(ctx, name, RevokeOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := c.Update(ctx, name, RoleSpec{ConnectionLimit: 4})
	if err != nil {
		t.Fatal(err)
	}
	if r.CanLogin {
		t.Fatal("Update turned LOGIN back on for a revoked role")
	}
}

func TestNonASCIIPasswordGoesThroughServerSideHashing(t *testing.T) {
	c, pg := newClient(t)
	name := roleName("utf8pw")
	pw := `Pässwörd 'quoted' \back "dq" ; --`
	if _, err := c.Create(ctxT(t), RoleSpec{Name: name, ConnectionLimit: -1, Password: &pw}); err != nil {
		t.Fatal(err)
	}
	mustLogin(t, pg, name, pw)
	ascii := `o'neil\"; drop role postgres; --`
	if _, err := c.Update(ctxT(t), name, RoleSpec{ConnectionLimit: -1, Password: &ascii}); err != nil {
		t.Fatal(err)
	}
	mustLogin(t, pg, name, ascii)
	mustNotLogin(t, pg, name, pw)
}

func TestPlaintextPasswordNeverReachesTheServerLog(t *testing.T) {
	// A private server logging every statement: what a DBA with
	// log_statement=ddl (or pg_stat_statements) would keep.
	pg := testenv.NewPostgresForTest(t, testenv.PostgresOptions{Settings: map[string]string{"log_statement": "all", "log_min_messages": "info"}})
	c, err := New(ctxT(t), Config{DSN: pg.SuperDSN()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	name := roleName("scram")
	const canary = "plain-text-canary-91c3"
	if _, err := c.Create(ctxT(t), RoleSpec{Name: name, ConnectionLimit: -1, Password: ptr(canary)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Update(ctxT(t), name, RoleSpec{ConnectionLimit: -1, Password: ptr(canary + "-2")}); err != nil {
		t.Fatal(err)
	}
	mustLogin(t, pg, name, canary+"-2")
	log := pg.LogTail(10000)
	if !strings.Contains(log, "CREATE ROLE") || !strings.Contains(log, "SCRAM-SHA-256$4096:") {
		t.Fatalf("the server log does not show the statements; the test proves nothing:\n%s", log)
	}
	if strings.Contains(log, canary) {
		t.Fatalf("the plaintext password reached the server log:\n%s", log)
	}
	out, err := pg.Psql(nil, "-At", "-c", "select left(rolpassword, 14) from pg_authid where rolname = '"+name+"'")
	if err != nil || strings.TrimSpace(string(out)) != "SCRAM-SHA-256$" {
		t.Fatalf("rolpassword prefix = %q (%v), want a SCRAM-SHA-256 verifier", out, err)
	}
}
