package testenv

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	code := m.Run()
	StopSharedPostgres()
	os.Exit(code)
}

func connect(t *testing.T, dsn string) (*pgx.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return pgx.Connect(ctx, dsn)
}

func TestPostgresPasswordAuthOverTCP(t *testing.T) {
	pg := PostgresForTest(t)
	t.Logf("startup: %s", pg.StartupTime)

	conn, err := connect(t, pg.SuperDSN())
	if err != nil {
		t.Fatalf("superuser login: %v", err)
	}
	defer conn.Close(context.Background())
	var version, hba string
	if err := conn.QueryRow(context.Background(), "select current_setting('server_version_num'), current_setting('fsync')").Scan(&version, &hba); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(version, "15") {
		t.Errorf("server_version_num = %s, want PostgreSQL 15", version)
	}
	if hba != "off" {
		t.Errorf("fsync = %s, want off for tests", hba)
	}

	// A wrong password must fail: the cluster is not trust over TCP.
	if c, err := connect(t, pg.DSN(pg.SuperUser, "wrong-password", "")); err == nil {
		c.Close(context.Background())
		t.Fatal("login with a wrong password succeeded: pg_hba is not enforcing scram-sha-256 over TCP")
	} else if !strings.Contains(err.Error(), "password authentication failed") {
		t.Errorf("wrong password: got %v, want a password authentication failure", err)
	}
}

func TestPostgresRunsUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only meaningful when the tests run as root")
	}
	pg := PostgresForTest(t)
	pg.mu.Lock()
	pid := pg.cmd.Process.Pid
	pg.mu.Unlock()
	out, err := exec.Command("ps", "-o", "user=", "-p", strconv.Itoa(pid)).Output()
	if err != nil {
		t.Fatalf("ps: %v", err)
	}
	if u := strings.TrimSpace(string(out)); u == "root" || u == "" {
		t.Fatalf("postmaster runs as %q, want an unprivileged user", u)
	}
}

func TestPostgresKillAndRestartKeepsData(t *testing.T) {
	pg := NewPostgresForTest(t, PostgresOptions{})
	ctx := context.Background()
	conn, err := connect(t, pg.SuperDSN())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "create table survives(x int); insert into survives values (42)"); err != nil {
		t.Fatal(err)
	}

	if err := pg.Kill(); err != nil {
		t.Fatal(err)
	}
	if pg.Running() {
		t.Fatal("Running() after Kill")
	}
	if err := conn.Ping(ctx); err == nil {
		t.Fatal("a session survived Kill")
	}
	if c, err := connect(t, pg.SuperDSN()); err == nil {
		c.Close(ctx)
		t.Fatal("connected to a killed server")
	}

	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	conn2, err := connect(t, pg.SuperDSN())
	if err != nil {
		t.Fatalf("after Restart: %v\n%s", err, pg.LogTail(20))
	}
	defer conn2.Close(ctx)
	var x int
	if err := conn2.QueryRow(ctx, "select x from survives").Scan(&x); err != nil || x != 42 {
		t.Fatalf("data after restart: x=%d err=%v", x, err)
	}
}

func TestPostgresStopRemovesEverything(t *testing.T) {
	pg, err := StartPostgres(PostgresOptions{})
	if err != nil {
		failOrSkip(t, err)
	}
	dir := pg.dir
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("temp dir %s still there after Stop (err=%v)", dir, err)
	}
	if err := pg.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := pg.Restart(); err == nil {
		t.Fatal("Restart after Stop succeeded")
	}
}

func TestPsqlHelper(t *testing.T) {
	pg := PostgresForTest(t)
	out, err := pg.Psql(nil, "-At", "-c", "select 1+1")
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) != "2" {
		t.Fatalf("psql output %q", out)
	}
}

func TestSweepStaleRemovesOnlyDeadOwnersDirs(t *testing.T) {
	base := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, owner string) string {
		d := base + "/" + name
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(d+"/owner.pid", []byte(owner), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	stale := mk("sunset-pg-stale", strconv.Itoa(dead.Process.Pid))
	live := mk("sunset-pg-live", strconv.Itoa(os.Getppid()))
	creating := mk("sunset-pg-creating", "")
	other := mk("not-ours", strconv.Itoa(dead.Process.Pid))
	sweepStale(base)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale dir of a dead process kept (%v)", err)
	}
	for _, d := range []string{live, creating, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s removed: %v", d, err)
		}
	}
}

// Missing binaries: a failure under CI=true, a skip (with the reason)
// otherwise. Checked in a child process so the outcome can be observed.
func TestMissingBinariesFailInCIAndSkipElsewhere(t *testing.T) {
	if os.Getenv("SUNSET_TESTENV_CHILD") == "1" {
		PostgresForTest(t)
		t.Log("UNREACHABLE: got a server without binaries")
		return
	}
	for _, env := range []struct {
		ci, require string
		fail        bool
	}{
		{"true", "", true}, // CI
		{"", "1", true},    // make test
		{"", "", false},    // a bare go test on a laptop
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingBinariesFailInCIAndSkipElsewhere$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "SUNSET_TESTENV_CHILD=1", "SUNSET_PG_BINDIR="+t.TempDir(), "CI="+env.ci, "SUNSET_REQUIRE_SERVERS="+env.require)
		out, err := cmd.CombinedOutput()
		text := string(out)
		if strings.Contains(text, "UNREACHABLE") || !strings.Contains(text, "PostgreSQL server binaries (initdb, postgres) not found") {
			t.Fatalf("%+v: child output lacks the clear message:\n%s", env, text)
		}
		if env.fail && (err == nil || !strings.Contains(text, "--- FAIL")) {
			t.Errorf("%+v: want a failure, got err=%v:\n%s", env, err, text)
		}
		if !env.fail && (err != nil || !strings.Contains(text, "--- SKIP")) {
			t.Errorf("%+v: want a skip, got err=%v:\n%s", env, err, text)
		}
	}
}
