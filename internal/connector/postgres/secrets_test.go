package postgres

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

const canary = "Canary-S3cret-7f1e9" // recognisable; must never be printed

// deepText prints an error every way a caller might: its text, %+v, %#v,
// and every error reachable through Unwrap.
func deepText(err error) string {
	var b strings.Builder
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		fmt.Fprintf(&b, "%v\n%+v\n%#v\n", e, e, e)
		var pgErr *pgconn.PgError
		if errors.As(e, &pgErr) {
			fmt.Fprintf(&b, "%#v\n", *pgErr)
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return b.String()
}

func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestDSNPasswordNeverInErrorsOrDescriptions(t *testing.T) {
	_, pg := newClient(t)
	port := strconv.Itoa(pg.Port)
	dead := strconv.Itoa(closedPort(t))
	for _, dsn := range []string{
		// Nothing listening.
		"postgres://sunset:" + canary + "@127.0.0.1:" + dead + "/postgres?sslmode=disable&connect_timeout=2",
		"host=127.0.0.1 port=" + dead + " user=sunset password=" + canary + " dbname=postgres sslmode=disable connect_timeout=2",
		"host=127.0.0.1 port=" + dead + " user=sunset password='" + canary + " with space' sslmode=disable connect_timeout=2",
		// Unresolvable host.
		"postgres://sunset:" + canary + "@no-such-host.invalid:5432/postgres?sslmode=disable&connect_timeout=2",
		// Real server, wrong password: the server answers.
		"postgres://" + pg.SuperUser + ":" + canary + "@127.0.0.1:" + port + "/postgres?sslmode=disable",
		// TLS demanded, server has none.
		"postgres://" + pg.SuperUser + ":" + canary + "@127.0.0.1:" + port + "/postgres?sslmode=require",
		// Unparsable DSNs.
		"postgres://sunset:" + canary + "@127.0.0.1:notaport/postgres",
		"postgres://sunset:" + canary + "@[::1/postgres",
		"postgres://sunset:" + canary + "@127.0.0.1:5432/postgres?sslmode=bogus",
		"host=127.0.0.1 port=x" + canary + " password=" + canary,
		"password='" + canary,
		"postgres://sunset:" + canary + "@127.0.0.1:5432/postgres?connect_timeout=" + canary,
	} {
		cfg := Config{DSN: dsn}
		for _, s := range []string{cfg.String(), cfg.Redacted(), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg)} {
			if strings.Contains(s, canary) {
				t.Errorf("Config printed the password: %s", s)
			}
		}
		c, err := New(ctxT(t), cfg)
		if err == nil {
			c.Close()
			t.Errorf("New(%s) succeeded", cfg)
			continue
		}
		if text := deepText(err); strings.Contains(text, canary) {
			t.Errorf("the password leaked through the error of New(%s):\n%s", cfg, text)
		}
		if !strings.HasPrefix(err.Error(), "postgres: ") {
			t.Errorf("error is not this package's: %v", err)
		}
	}
}

func TestDescribeHasNoCredentials(t *testing.T) {
	pg := mustShared(t)
	// A dedicated login with a recognisable password.
	user := roleName("describer")
	super(t, pg, "create role "+ident(user)+" login password '"+canary+"'")
	c, err := New(ctxT(t), Config{DSN: pg.DSN(user, canary, "")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d := c.Describe()
	want := "127.0.0.1:" + strconv.Itoa(pg.Port) + "/postgres"
	if d.System != "postgresql" || d.Endpoint != want {
		t.Fatalf("Describe = %+v, want postgresql %s", d, want)
	}
	if s := fmt.Sprintf("%+v %#v", c, c); strings.Contains(s, canary) {
		// Client has no String method: its fields must not carry the DSN either.
		t.Fatalf("printing the Client shows the password: %s", s)
	}
	// Errors from a live client (a server error about our statement).
	_, err = c.Create(ctxT(t), RoleSpec{Name: roleName("nope"), ConnectionLimit: -1})
	if err == nil {
		t.Fatal("a role without CREATEROLE created a role")
	}
	if strings.Contains(deepText(err), canary) {
		t.Fatalf("password in error: %s", deepText(err))
	}
}

func TestRolePasswordNeverInErrors(t *testing.T) {
	c, pg := newClient(t)
	name := roleName("pwerr")
	super(t, pg, "create role "+ident(name))
	// Duplicate role: the statement carrying the password fails.
	_, err := c.Create(ctxT(t), RoleSpec{Name: name, ConnectionLimit: -1, Password: ptr(canary)})
	if !errors.Is(err, ErrRoleExists) {
		t.Fatalf("want ErrRoleExists, got %v", err)
	}
	// Non-ASCII passwords travel as plaintext: make the statement fail too.
	_, err2 := c.Update(ctxT(t), name, RoleSpec{ConnectionLimit: -1, MemberOf: []string{"no_such_group_pw"}, Password: ptr(canary + "é")})
	if err2 == nil {
		t.Fatal("Update with a missing group succeeded")
	}
	for _, e := range []error{err, err2} {
		if text := deepText(e); strings.Contains(text, canary) || strings.Contains(text, "SCRAM-SHA-256$") {
			t.Fatalf("role password or its verifier in an error:\n%s", text)
		}
	}
}

func mustShared(t *testing.T) *testenv.Postgres {
	_, pg := newClient(t)
	return pg
}
