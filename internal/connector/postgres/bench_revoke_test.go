//go:build bench

// The revocation measure of issue 3, connector side: revoke + verify N roles
// through the connector, next to ONE psql session running the same
// statements for another N roles, on the same server in the same run.
// Not part of plain `go test`; run scripts/bench-postgres-connector.sh.

package postgres

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

func TestBenchRevokeVerifyVsPsql(t *testing.T) {
	n := 1000
	if s := os.Getenv("SUNSET_BENCH_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("SUNSET_BENCH_N=%q", s)
		}
	}
	pg := testenv.NewPostgresForTest(t, testenv.PostgresOptions{})
	ctx := ctxT(t)
	c, err := New(ctx, Config{DSN: pg.SuperDSN(), MaxConns: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// Three sets of N login roles, each a member of one group: the
	// connector revokes that membership too, so psql does the same.
	setup := fmt.Sprintf(`CREATE ROLE bench_grp;
DO $$ BEGIN
  FOR i IN 1..%d LOOP
    EXECUTE format('CREATE ROLE %%I LOGIN IN ROLE bench_grp', 'seq_' || i);
    EXECUTE format('CREATE ROLE %%I LOGIN IN ROLE bench_grp', 'par_' || i);
    EXECUTE format('CREATE ROLE %%I LOGIN IN ROLE bench_grp', 'psql_' || i);
  END LOOP;
END $$;`, n)
	if out, err := pg.Psql([]byte(setup)); err != nil {
		t.Fatalf("setup: %v\n%s", err, out)
	}

	// psql: one session, per role NOLOGIN, REVOKE the membership,
	// terminate sessions, verify query.
	var script strings.Builder
	for i := 1; i <= n; i++ {
		r := fmt.Sprintf("psql_%d", i)
		fmt.Fprintf(&script, "ALTER ROLE %s NOLOGIN;\nREVOKE bench_grp FROM %s;\n", ident(r), ident(r))
		fmt.Fprintf(&script, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s;\n", literal(r))
		fmt.Fprintf(&script, "SELECT clock_timestamp(), rolcanlogin, (SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid), (SELECT count(*) FROM pg_stat_activity a WHERE a.usesysid = r.oid) FROM pg_roles r WHERE rolname = %s;\n", literal(r))
	}
	began := time.Now()
	out, err := pg.Psql([]byte(script.String()), "-At")
	psqlTime := time.Since(began)
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	if got := strings.Count(string(out), "|f|0|0\n"); got != n {
		t.Fatalf("psql verified %d of %d roles", got, n)
	}

	// Connector, sequential: Revoke then Verify, as the provider does.
	began = time.Now()
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("seq_%d", i)
		if _, err := c.Revoke(ctx, name, RevokeOptions{Mode: RevokeDisable}); err != nil {
			t.Fatal(err)
		}
		v, err := c.Verify(ctx, name)
		if err != nil || !v.Gone {
			t.Fatalf("verify %s: %+v %v", name, v, err)
		}
	}
	seqTime := time.Since(began)

	// Connector, 10 at a time (terraform -parallelism=10).
	began = time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan int)
	for w := 0; w < 10; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				name := fmt.Sprintf("par_%d", i)
				if _, err := c.Revoke(ctx, name, RevokeOptions{Mode: RevokeDisable}); err != nil {
					errs <- err
					continue
				}
				if v, err := c.Verify(ctx, name); err != nil || !v.Gone {
					errs <- fmt.Errorf("verify %s: %+v %v", name, v, err)
				}
			}
		}()
	}
	for i := 1; i <= n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	parTime := time.Since(began)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	rate := func(d time.Duration) float64 { return float64(n) / d.Seconds() }
	t.Logf("RESULT roles=%d", n)
	t.Logf("RESULT psql (1 session)              %8.3fs  %8.0f revocations/s", psqlTime.Seconds(), rate(psqlTime))
	t.Logf("RESULT connector (sequential)        %8.3fs  %8.0f revocations/s  %.2fx psql time", seqTime.Seconds(), rate(seqTime), seqTime.Seconds()/psqlTime.Seconds())
	t.Logf("RESULT connector (10 concurrent)     %8.3fs  %8.0f revocations/s  %.2fx psql time", parTime.Seconds(), rate(parTime), parTime.Seconds()/psqlTime.Seconds())
	if rate(seqTime) < 50 {
		t.Errorf("connector: %.0f revocations/s, target >= 50", rate(seqTime))
	}
	if seqTime > 3*psqlTime {
		t.Errorf("connector takes %.2fx the psql session, target <= 3x", seqTime.Seconds()/psqlTime.Seconds())
	}
}
