package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	measure := func(name string, env []string, args ...string) (secs float64, rssKiB int) {
		t.Helper()
		cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%e %M", "-o", filepath.Join(dir, "time.txt")}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdout, cmd.Stderr = nil, nil
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() > 1) {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "time.txt"))
		f := strings.Fields(string(b))
		secs, _ = strconv.ParseFloat(f[len(f)-2], 64)
		rssKiB, _ = strconv.Atoi(f[len(f)-1])
		return secs, rssKiB
	}
	rawSQL := `\copy (SELECT r.rolname, r.rolcanlogin, r.rolvaliduntil, ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid) FROM pg_roles r WHERE r.rolcanlogin) TO '/dev/null'`
	pgEnv := []string{"PGPASSWORD=" + pg.SuperPassword, "PGSSLMODE=disable"}
	psqlArgs := []string{filepath.Join(pg.BinDir, "psql"), "-X", "-q", "-h", pg.Host, "-p", strconv.Itoa(pg.Port), "-U", pg.SuperUser, "-d", pg.Database, "-c", rawSQL}
	scanArgs := []string{bin, "scan", "--config", "sunset.yaml", "--state", "state.json", "--format", "json", "--output", "report.json", "--as-of", "2027-06-15T12:00:00Z"}
	scanEnv := []string{"DSN=" + pg.SuperDSN()}

	// Warm both once, then take the best of three of each, interleaved.
	measure("psql", pgEnv, psqlArgs...)
	measure("scan", scanEnv, scanArgs...)
	bestRaw, bestScan, rawRSS, scanRSS := 1e9, 1e9, 0, 0
	for i := 0; i < 3; i++ {
		s, r := measure("psql", pgEnv, psqlArgs...)
		bestRaw, rawRSS = min(bestRaw, s), max(rawRSS, r)
		s, r = measure("scan", scanEnv, scanArgs...)
		bestScan, scanRSS = min(bestScan, s), max(scanRSS, r)
	}
	rep, _ := os.ReadFile(filepath.Join(dir, "report.json"))
	if !strings.Contains(string(rep), fmt.Sprintf(`"declared_credentials": %d`, n)) || !strings.Contains(string(rep), fmt.Sprintf(`"accounts": %d`, n)) {
		t.Fatalf("the scan did not read all %d roles:\n%.2000s", n, rep)
	}
	var timings struct {
		ReadDeclaredNS int64 `json:"read_declared_ns"`
		Targets        []struct {
			DurationNS int64 `json:"duration_ns"`
		} `json:"targets"`
	}
	json.Unmarshal(rep, &timings)
	ratio := bestScan / bestRaw
	fmt.Printf("\nbench-scan: %d login roles declared in a %.1f MiB state (%d identities + %d roles)\n", n, float64(st.Size())/(1<<20), n, n)
	fmt.Printf("  raw listing  psql \\copy  : %6.2f s  peak RSS %6.1f MiB (psql)\n", bestRaw, float64(rawRSS)/1024)
	fmt.Printf("  sunset scan              : %6.2f s  peak RSS %6.1f MiB\n", bestScan, float64(scanRSS)/1024)
	fmt.Printf("    of which: state read %.2f s, inventory and join %.2f s (last run)\n", float64(timings.ReadDeclaredNS)/1e9, float64(timings.Targets[0].DurationNS)/1e9)
	fmt.Printf("  ratio scan / raw listing : %6.2fx   (target <= 1.5x; peak RSS target <= 300 MiB)\n", ratio)
	if scanRSS > 300*1024 {
		t.Errorf("peak RSS %d KiB exceeds 300 MiB", scanRSS)
	}
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
