package postgres

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// One real server for the package; tests keep apart by role-name prefix.
func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopSharedPostgres()
	os.Exit(code)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newClient connects as the superuser to the shared server.
func newClient(t testing.TB, mod ...func(*Config)) (*Client, *testenv.Postgres) {
	t.Helper()
	pg := testenv.PostgresForTest(t)
	cfg := Config{DSN: pg.SuperDSN()}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(ctxT(t), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, pg
}

var nameSeq atomic.Int64

// roleName returns a name unique in this run, starting with prefix.
func roleName(prefix string) string {
	return fmt.Sprintf("%s_%d", prefix, nameSeq.Add(1))
}

// super runs SQL as the superuser, outside the code under test.
func super(t testing.TB, pg *testenv.Postgres, sql string, args ...any) {
	t.Helper()
	superIn(t, pg, "", sql, args...)
}

// superIn runs SQL as the superuser in database db.
func superIn(t testing.TB, pg *testenv.Postgres, db, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(ctxT(t), pg.DSN(pg.SuperUser, pg.SuperPassword, db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctxT(t), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// login opens a session as role with password over TCP (scram-sha-256).
func login(t testing.TB, pg *testenv.Postgres, role, password string) (*pgx.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(pg.DSN("placeholder", "placeholder", ""))
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Password = role, password // hostile names do not survive URL building intact everywhere
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		t.Cleanup(func() { conn.Close(context.Background()) })
	}
	return conn, err
}

func mustLogin(t testing.TB, pg *testenv.Postgres, role, password string) *pgx.Conn {
	t.Helper()
	conn, err := login(t, pg, role, password)
	if err != nil {
		t.Fatalf("login as %q: %v", role, err)
	}
	return conn
}

func mustNotLogin(t testing.TB, pg *testenv.Postgres, role, password string) {
	t.Helper()
	conn, err := login(t, pg, role, password)
	if err == nil {
		conn.Close(context.Background())
		t.Fatalf("login as %q succeeded; want it refused", role)
	}
	if !strings.Contains(err.Error(), "password authentication failed") && !strings.Contains(err.Error(), "not permitted to log in") {
		t.Fatalf("login as %q failed for an unexpected reason: %v", role, err)
	}
}

func ptr[T any](v T) *T { return &v }

func serverNow(t testing.TB, c *Client) time.Time {
	t.Helper()
	var now time.Time
	if err := c.pool.QueryRow(ctxT(t), "select clock_timestamp()").Scan(&now); err != nil {
		t.Fatal(err)
	}
	return now
}
