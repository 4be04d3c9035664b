//go:build bench

// Inventory through the connector next to psql running the same query, and
// next to the raw listing of pg_roles the scan benchmark compares against,
// on one server with N login roles, round by round. Not part of plain
// `go test`; run scripts/bench-postgres-inventory.sh.

package postgres

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

func TestBenchInventoryVsPsql(t *testing.T) {
	n := 100000
	if s := os.Getenv("SUNSET_BENCH_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("SUNSET_BENCH_N=%q", s)
		}
	}
	pg := testenv.NewPostgresForTest(t, testenv.PostgresOptions{})
	setup := fmt.Sprintf(`DO $$ BEGIN
  FOR i IN 1..%d LOOP
    EXECUTE format('CREATE ROLE %%I LOGIN VALID UNTIL %%L', 'bench_' || lpad(i::text, 6, '0'), '2030-01-01 00:00:00+00');
  END LOOP;
END $$;`, n)
	if out, err := pg.Psql([]byte(setup)); err != nil {
		t.Fatalf("setup: %v\n%s", err, out)
	}
	ctx := context.Background()
	copyOf := func(sql string) []byte {
		return []byte(`\copy (` + strings.Join(strings.Fields(sql), " ") + `) TO '/dev/null'` + "\n")
	}
	rawListing := copyOf(`SELECT r.rolname, r.rolcanlogin, r.rolvaliduntil, ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid) FROM pg_roles r WHERE r.rolcanlogin`)
	streamQuery := copyOf(strings.ReplaceAll(inventoryStreamSQL, "$1", "false"))
	psql := func(script []byte) func() int {
		return func() int {
			if out, err := pg.Psql(script); err != nil {
				t.Fatalf("psql: %v\n%s", err, out)
			}
			return n
		}
	}
	// The connector is timed from New (connect, authenticate) to Close, as
	// psql is timed from its start to its exit.
	viaConnector := func(pageSize int) func() int {
		return func() int {
			c, err := New(ctx, Config{DSN: pg.SuperDSN(), InventoryPageSize: pageSize})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got := 0
			if err := c.Inventory(ctx, func(connector.Account) error { got++; return nil }); err != nil {
				t.Fatal(err)
			}
			return got
		}
	}
	runs := []struct {
		name string
		fn   func() int
	}{
		{"psql \\copy, raw pg_roles listing (bench-scan's peer)", psql(rawListing)},
		{"psql \\copy, the connector's query", psql(streamQuery)},
		{"connector Inventory, one streamed query", viaConnector(0)},
		{"connector Inventory, keyset pages of 500", viaConnector(500)},
	}
	times := make([][]float64, len(runs))
	for round := 0; round < 6; round++ {
		for i, r := range runs {
			began := time.Now()
			if got := r.fn(); got != n {
				t.Fatalf("%s listed %d of %d roles", r.name, got, n)
			}
			if round > 0 { // the first round warms the server's caches
				times[i] = append(times[i], time.Since(began).Seconds())
			}
		}
	}
	t.Logf("RESULT %d login roles, 5 rounds, load average %s", n, loadAverage())
	for i, r := range runs {
		t.Logf("RESULT %-55s best %.3fs (%.3f-%.3f)  %.2fx the raw listing", r.name, slices.Min(times[i]), slices.Min(times[i]), slices.Max(times[i]), slices.Min(times[i])/slices.Min(times[0]))
	}
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}
