package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// TestBenchScan measures `sunset scan` of N PostgreSQL login roles that a
// state file declares against a raw listing of the same inventory with psql
// \copy, in the same run, with /usr/bin/time -f '%e %M'. It runs only when
// SUNSET_BENCH_SCAN is set (to N, or 1 for 100,000): scripts/bench-scan.sh.
func TestBenchScan(t *testing.T) {
	env := os.Getenv("SUNSET_BENCH_SCAN")
	if env == "" {
		t.Skip("set SUNSET_BENCH_SCAN=N (or run scripts/bench-scan.sh) to measure")
	}
	n, err := strconv.Atoi(env)
	if err != nil || n <= 1 {
		n = 100000
	}
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		t.Fatal("/usr/bin/time (GNU time) is needed for peak RSS")
	}
	pg := testenv.NewPostgresForTest(t, testenv.PostgresOptions{})
	start := time.Now()
	psql(t, pg, fmt.Sprintf(`DO $$ BEGIN
  FOR i IN 1..%d LOOP
    EXECUTE format('CREATE ROLE %%I LOGIN VALID UNTIL %%L', 'bench_' || lpad(i::text, 6, '0'), '2030-01-01 00:00:00+00');
  END LOOP;
END $$;`, n))
	t.Logf("created %d login roles in %s", n, time.Since(start).Round(time.Millisecond))

	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.json")
	writeBenchState(t, statePath, n)
	st, _ := os.Stat(statePath)
	os.WriteFile(filepath.Join(dir, "sunset.yaml"), []byte("targets:\n  warehouse:\n    postgres:\n      dsn_env: DSN\n"), 0o600)

	bin := sunsetBin(t)
	// measure runs a command under GNU time; exit codes up to okExit are
	// the command's answer, not a failure.
	measure := func(name string, okExit int, env []string, args ...string) (secs float64, rssKiB int) {
		t.Helper()
		cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%e %M", "-o", filepath.Join(dir, "time.txt")}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer devNull.Close()
		var errOut strings.Builder
		cmd.Stdout, cmd.Stderr = devNull, &errOut // cat's 75 MiB go nowhere, as psql's do
		start := time.Now()
		err = cmd.Run()
		secs = time.Since(start).Seconds() // finer than GNU time's %e (10 ms)
		if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() > okExit) {
			t.Fatalf("%s: %v\n%s", name, err, errOut.String())
		}
		b, _ := os.ReadFile(filepath.Join(dir, "time.txt"))
		f := strings.Fields(string(b))
		rssKiB, _ = strconv.Atoi(f[len(f)-1])
		return secs, rssKiB
	}
	rawSQL := `\copy (SELECT r.rolname, r.rolcanlogin, r.rolvaliduntil, ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid) FROM pg_roles r WHERE r.rolcanlogin) TO '/dev/null'`
	pgEnv := []string{"PGPASSWORD=" + pg.SuperPassword, "PGSSLMODE=disable"}
	psqlArgs := []string{filepath.Join(pg.BinDir, "psql"), "-X", "-q", "-h", pg.Host, "-p", strconv.Itoa(pg.Port), "-U", pg.SuperUser, "-d", pg.Database, "-c", rawSQL}
	scanArgs := []string{bin, "scan", "--config", "sunset.yaml", "--state", "state.json", "--format", "json", "--output", "report.json", "--as-of", "2027-06-15T12:00:00Z"}
	// The same scan without the configuration, so without the listing:
	// what reading and indexing the state costs by itself. It exits 2
	// (state names a target that is not configured).
	stateArgs := []string{bin, "scan", "--state", "state.json", "--format", "json", "--output", "state-only.json", "--as-of", "2027-06-15T12:00:00Z"}
	scanEnv := []string{"DSN=" + pg.SuperDSN()}

	rounds := 5
	if r, err := strconv.Atoi(os.Getenv("SUNSET_BENCH_ROUNDS")); err == nil && r > 0 {
		rounds = r
	}
	type series struct {
		secs []float64
		rss  int
	}
	add := func(s *series, secs float64, rss int) { s.secs = append(s.secs, secs); s.rss = max(s.rss, rss) }
	var raw, cat, scan, stateOnly, before series
	var ratios, beforeRatios []float64 // scan / raw of each round, both measured back to back
	// SUNSET_BENCH_BEFORE names another sunset binary (an earlier build) to
	// measure in the same rounds, for a before/after from one run.
	beforeBin := os.Getenv("SUNSET_BENCH_BEFORE")
	beforeArgs := []string{beforeBin, "scan", "--config", "sunset.yaml", "--state", "state.json", "--format", "json", "--output", "report-before.json", "--as-of", "2027-06-15T12:00:00Z"}
	// Warm everything once (page cache, the server's catalog), then
	// interleave the commands round by round.
	measure("psql", 0, pgEnv, psqlArgs...)
	measure("scan", 1, scanEnv, scanArgs...)
	if beforeBin != "" {
		measure("scan (before)", 1, scanEnv, beforeArgs...)
	}
	load0 := loadAvg()
	for i := 0; i < rounds; i++ {
		s, r := measure("psql", 0, pgEnv, psqlArgs...)
		add(&raw, s, r)
		s2, r := measure("scan", 1, scanEnv, scanArgs...)
		add(&scan, s2, r)
		ratios = append(ratios, s2/s)
		if beforeBin != "" {
			s3, r := measure("scan (before)", 1, scanEnv, beforeArgs...)
			add(&before, s3, r)
			beforeRatios = append(beforeRatios, s3/s)
		}
		s, r = measure("cat", 0, nil, "cat", "state.json")
		add(&cat, s, r)
		s, r = measure("state only", 2, nil, stateArgs...)
		add(&stateOnly, s, r)
	}
	load1 := loadAvg()
	rep, _ := os.ReadFile(filepath.Join(dir, "report.json"))
	if !strings.Contains(string(rep), fmt.Sprintf(`"declared_credentials": %d`, n)) || !strings.Contains(string(rep), fmt.Sprintf(`"accounts": %d`, n)) {
		t.Fatalf("the scan did not read all %d roles:\n%.2000s", n, rep)
	}
	var timings struct {
		ReadDeclaredNS int64 `json:"read_declared_ns"`
		Targets        []struct {
			DurationNS int64 `json:"duration_ns"`
			ListingNS  int64 `json:"listing_ns"`
		} `json:"targets"`
	}
	json.Unmarshal(rep, &timings)
	best := func(s series) float64 { return slices.Min(s.secs) }
	span := func(s series) string {
		return fmt.Sprintf("best %.3f s, median %.3f (%.3f-%.3f)", slices.Min(s.secs), median(s.secs), slices.Min(s.secs), slices.Max(s.secs))
	}
	fmt.Printf("\nbench-scan: %d login roles declared in a %.1f MiB state (%d identities + %d roles), %d rounds\n", n, float64(st.Size())/(1<<20), n, n, rounds)
	fmt.Printf("  load average (1, 5, 15 min): %s before, %s after\n", load0, load1)
	fmt.Printf("  raw listing  psql \\copy        : %s  peak RSS %6.1f MiB (psql)\n", span(raw), float64(raw.rss)/1024)
	fmt.Printf("  reading the state  cat         : %s\n", span(cat))
	fmt.Printf("  sunset scan                    : %s  peak RSS %6.1f MiB\n", span(scan), float64(scan.rss)/1024)
	fmt.Printf("  sunset scan, state only        : %s  peak RSS %6.1f MiB (no targets: read, index, judge, report)\n", span(stateOnly), float64(stateOnly.rss)/1024)
	if beforeBin != "" {
		fmt.Printf("  sunset scan BEFORE (%s): %s  peak RSS %6.1f MiB; ratio to psql median %.2fx, best %.2fx\n",
			beforeBin, span(before), float64(before.rss)/1024, median(beforeRatios), slices.Min(beforeRatios))
	}
	fmt.Printf("    last full scan: state read %.2f s while the listing ran %.2f s (overlapped); target done at %.2f s\n",
		float64(timings.ReadDeclaredNS)/1e9, float64(timings.Targets[0].ListingNS)/1e9, float64(timings.Targets[0].DurationNS)/1e9)
	fmt.Printf("  ratio scan / raw listing       : best %.2fx, median %.2fx, per round %.2f-%.2fx, of bests %.2fx  (target <= 1.5x)\n",
		slices.Min(ratios), median(ratios), slices.Min(ratios), slices.Max(ratios), best(scan)/best(raw))
	fmt.Printf("  ratio scan / (raw listing + cat state): %.2fx (bests)\n", best(scan)/(best(raw)+best(cat)))
	fmt.Printf("  ratio state-only scan / raw listing   : %.2fx (bests): the state alone, before any listing\n", best(stateOnly)/best(raw))
	verdict := func(ok bool) string {
		if ok {
			return "within"
		}
		return "OVER"
	}
	fmt.Printf("RESULT: sunset scan / psql \\copy = %.2fx (median of %d rounds, each pair back to back; best round %.2fx): %s the 1.5x target; peak RSS %.1f MiB: %s 300 MiB\n",
		median(ratios), rounds, slices.Min(ratios), verdict(median(ratios) <= 1.5), float64(scan.rss)/1024, verdict(scan.rss <= 300*1024))
	if scan.rss > 300*1024 {
		t.Errorf("peak RSS %d KiB exceeds 300 MiB", scan.rss)
	}
}

// median of a non-empty series.
func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// loadAvg is the first three fields of /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// writeBenchState writes a raw v4 state declaring n identities and n
// sunset_postgres_role instances with the attributes the resource carries.
func writeBenchState(t *testing.T, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprint(w, `{"version":4,"terraform_version":"1.11.4","serial":7,"lineage":"bench","outputs":{},"resources":[`)
	fmt.Fprint(w, `{"mode":"managed","type":"sunset_identity","name":"svc","provider":"provider[\"registry.terraform.io/sunset-iam/sunset\"]","instances":[`)
	for i := 1; i <= n; i++ {
		if i > 1 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, `{"index_key":"svc-%06d","schema_version":0,"attributes":{"description":null,"end_date":"2029-12-31","id":"svc-%06d","kind":"service_account","labels":null,"name":"svc-%06d","owner":"data-eng@example.com","source":"inline","start_date":null,"status":"active"},"sensitive_attributes":[],"dependencies":["data.sunset_roster.staff"]}`, i, i, i)
	}
	fmt.Fprint(w, `]},{"mode":"managed","type":"sunset_postgres_role","name":"svc","provider":"provider[\"registry.terraform.io/sunset-iam/sunset\"]","instances":[`)
	for i := 1; i <= n; i++ {
		if i > 1 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, `{"index_key":"svc-%06d","schema_version":0,"attributes":{"connection_limit":-1,"expires_at":"2029-12-31","id":"warehouse/bench_%06d","identity_id":"svc-%06d","member_of":[],"name":"bench_%06d","on_destroy":"disable","password_wo":null,"password_wo_version":null,"reassign_to":null,"target":"warehouse","valid_until":"2030-01-01T00:00:00Z"},"sensitive_attributes":[[{"type":"get_attr","value":"password_wo"}]],"dependencies":["sunset_identity.svc"]}`, i, i, i, i)
	}
	fmt.Fprint(w, `]}],"check_results":null}`)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}
