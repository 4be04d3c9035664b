//go:build linux

package provider

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// Issue 7, item 2: crash consistency of a mass revocation. The provider is
// the real binary under the real terraform (not served in-process, so that
// it can be SIGKILLed like a production plugin), revoking real PostgreSQL
// roles.
const (
	crashRoles       = 200
	crashParallelism = 10
	crashKillAt      = 40 // credential.revoked records in the ledger before the kill
	crashSessionStep = 10 // every 10th role holds a live session when the destroy starts
	crashTarget      = "warehouse"
	crashGroup       = "crash_grp"
)

const crashConfig = requiredSunset + `
variable "n" { type = number }

provider "sunset" {
  evidence   = { file = "${path.module}/evidence/sunset.jsonl" }
  actor      = "crash-test"
  targets    = { warehouse = { postgres = { dsn_env = "CRASH_DSN" } } }
  safeguards = { max_revocations = 1000 }
}

resource "sunset_postgres_role" "r" {
  for_each            = toset([for i in range(var.n) : format("crash_%%03d", i)])
  target              = "warehouse"
  name                = each.key
  identity_id         = "svc-${each.key}"
  expires_at          = %q
  member_of           = ["crash_grp"]
  password_wo         = "crash-pw-${each.key}"
  password_wo_version = 1
}
`

// crashHarness runs terraform in one working directory against the
// provider binary built from this tree. Its commands have no watchdog:
// the test kills the provider itself, and a long mass create or rerun on
// a loaded machine must not be cut short.
type crashHarness struct {
	*tfDir
	provider string // absolute path of the built binary, as /proc/PID/exe shows it
}

func (h *crashHarness) command(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), append(args, "-no-color")...)
	cmd.Dir, cmd.Env = h.dir, h.env
	return cmd
}

func (h *crashHarness) run(args ...string) string {
	h.t.Helper()
	out, err := h.command(args...).CombinedOutput()
	if err != nil {
		h.t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// stateRoles lists the role names of the sunset_postgres_role instances in
// terraform's state.
func (h *crashHarness) stateRoles() map[string]bool {
	h.t.Helper()
	out, err := h.command("state", "list").Output()
	if err != nil {
		h.t.Fatalf("terraform state list: %v", err)
	}
	roles := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		name, ok := strings.CutPrefix(line, `sunset_postgres_role.r["`)
		if !ok || !strings.HasSuffix(name, `"]`) {
			h.t.Fatalf("unexpected state entry %q", line)
		}
		roles[strings.TrimSuffix(name, `"]`)] = true
	}
	return roles
}

// TestAccPostgresRoleCrashConsistency revokes 200 roles through terraform,
// SIGKILLs the provider partway, tears the ledger's last line, reruns, and
// checks that the end state is exactly that of an uninterrupted destroy.
func TestAccPostgresRoleCrashConsistency(t *testing.T) {
	began := time.Now()
	phase := began
	lap := func(what string) {
		t.Logf("%-44s %6.1fs", what, time.Since(phase).Seconds())
		phase = time.Now()
	}

	bin := buildProviderBinary(t)
	pg := testenv.NewPostgresForTest(t, testenv.PostgresOptions{})
	if out, err := pg.Psql([]byte("CREATE ROLE " + crashGroup + ";")); err != nil {
		t.Fatalf("create group: %v\n%s", err, out)
	}
	lap("build provider, start PostgreSQL")

	h := &crashHarness{tfDir: newTFDir(t, bin, "CRASH_DSN="+pg.SuperDSN()), provider: bin.provider}
	if err := os.Mkdir(h.path("evidence"), 0o700); err != nil {
		t.Fatal(err)
	}
	ledger := h.path("evidence/sunset.jsonl")
	h.write("main.tf", fmt.Sprintf(crashConfig, day(365)))
	par := fmt.Sprintf("-parallelism=%d", crashParallelism)
	names := make([]string, crashRoles)
	for i := range names {
		names[i] = fmt.Sprintf("crash_%03d", i)
	}

	// 1. Create the 200 roles.
	h.run("apply", "-auto-approve", par, "-var", fmt.Sprintf("n=%d", crashRoles))
	if got := len(h.stateRoles()); got != crashRoles {
		t.Fatalf("after create, state holds %d roles, want %d", got, crashRoles)
	}
	lap(fmt.Sprintf("create %d roles (terraform apply)", crashRoles))

	// Live sessions, so that "no sessions" afterwards is something the
	// revocations did, not something that was true all along.
	var sessions []*pgx.Conn
	for i := 0; i < crashRoles; i += crashSessionStep {
		c, err := pgx.Connect(context.Background(), pg.DSN(names[i], "crash-pw-"+names[i], ""))
		if err != nil {
			t.Fatalf("log in as %s: %v", names[i], err)
		}
		sessions = append(sessions, c)
	}
	t.Cleanup(func() {
		for _, c := range sessions {
			c.Close(context.Background())
		}
	})
	if n := pgCount(t, pg, `SELECT count(*) FROM pg_stat_activity WHERE usename LIKE 'crash\_%'`); n != len(sessions) {
		t.Fatalf("%d sessions open as crash roles, want %d", n, len(sessions))
	}
	issued := countEvents(t, ledger, evidence.EventCredentialIssued)
	if issued != crashRoles {
		t.Fatalf("%d credential.issued records after create, want %d", issued, crashRoles)
	}

	// 2. Destroy them all (removed from configuration), and SIGKILL the
	// provider once the ledger holds crashKillAt revocations.
	destroy := h.command("apply", "-auto-approve", par, "-var", "n=0")
	var out lockedBuffer
	destroy.Stdout, destroy.Stderr = &out, &out
	if err := destroy.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- destroy.Wait() }()
	t.Cleanup(func() { destroy.Process.Kill() }) // when the test fails before it exits
	killed, seenAtKill := h.killProviderAt(destroy.Process.Pid, ledger, exited)
	var applyErr error
	select {
	case applyErr = <-exited:
	case <-time.After(2 * time.Minute):
		destroy.Process.Kill()
		t.Fatalf("terraform did not exit after its provider was killed:\n%s", out.String())
	}
	crashOut := out.String()
	if applyErr == nil {
		t.Fatalf("terraform apply succeeded although its provider (pid %v) was SIGKILLed:\n%s", killed, crashOut)
	}
	// terraform's words for calls to a plugin that died: codes.Canceled and
	// codes.Unavailable from the plugin's connection.
	crashErrs := strings.Count(crashOut, "Error: Request cancelled") + strings.Count(crashOut, "Error: Plugin did not respond")
	if crashErrs == 0 {
		t.Fatalf("terraform failed without reporting the plugin crash:\n%s", crashOut)
	}
	if i := strings.Index(crashOut, "Error: "); i >= 0 {
		t.Logf("terraform exited (%v) with %d plugin errors, the first:\n%s", applyErr, crashErrs, firstLines(crashOut[i:], 3))
	}
	lap(fmt.Sprintf("destroy, SIGKILL provider pid %v", killed))

	// 3. What the crash left. The ledger is intact (SIGKILL cannot tear a
	// write(2): the kernel finishes it), and terraform, which survived its
	// plugin, saved the state of every destroy that had returned.
	rep, err := evidence.VerifyFile(ledger, nil)
	if err != nil || !rep.OK() || len(rep.Recovered) != 0 {
		t.Fatalf("ledger right after the SIGKILL: %+v %v", rep, err)
	}
	before := revokedByRole(t, ledger) // role -> credential.revoked records
	inState := h.stateRoles()
	loginNow := roleStates(t, pg)
	var gone, inFlightRecorded, inFlightUnrecorded, untouched []string
	for _, n := range names {
		switch {
		case !inState[n]:
			gone = append(gone, n)
		case before[n] > 0:
			inFlightRecorded = append(inFlightRecorded, n) // revoked and recorded, the reply to terraform lost
		case !loginNow[n].canLogin:
			inFlightUnrecorded = append(inFlightUnrecorded, n) // revoked, killed before its record
		default:
			untouched = append(untouched, n)
		}
	}
	t.Logf("after the kill (%d revocations seen when it was sent): %d credential.revoked records; state: %d destroyed, %d still held (%d revoked+recorded, %d revoked unrecorded, %d untouched)",
		seenAtKill, sumValues(before), len(gone), len(inState), len(inFlightRecorded), len(inFlightUnrecorded), len(untouched))
	if got := strings.Count(crashOut, "Destruction complete"); got != len(gone) {
		t.Errorf("terraform reported %d destroys before the crash, but %d roles left its state", got, len(gone))
	}
	if len(gone) == 0 || len(inState) == 0 {
		t.Fatalf("the kill did not land partway: %d roles destroyed, %d left in state", len(gone), len(inState))
	}
	for _, n := range gone {
		// Terraform forgets a role only after its revocation was verified
		// and recorded: nothing leaves state without evidence.
		if before[n] != 1 {
			t.Errorf("%s left terraform's state with %d credential.revoked records, want 1", n, before[n])
		}
		if s := loginNow[n]; s.canLogin || s.memberships != 0 || s.sessions != 0 {
			t.Errorf("%s left terraform's state but is not revoked: %+v", n, s)
		}
	}
	if inFlight := len(inFlightRecorded) + len(inFlightUnrecorded); inFlight > crashParallelism {
		t.Errorf("%d revocations were in flight at the kill, more than -parallelism=%d: %v %v", inFlight, crashParallelism, inFlightRecorded, inFlightUnrecorded)
	}
	for n, c := range before {
		if c > 1 {
			t.Errorf("%s: %d credential.revoked records before the rerun", n, c)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// 4. The worst case SIGKILL alone cannot produce: power lost (or the
	// kernel crashing) in the middle of the write of a record, leaving the
	// ledger's last line torn. That write is always the record of a
	// revocation whose Append had not returned, so its role is still in
	// terraform's state (Append fsyncs before Delete returns: a record
	// whose destroy terraform saw cannot be torn). So the test writes the
	// record of an in-flight revocation as the provider would have, through
	// the ledger's own Append, and truncates that last record mid-line.
	// Prefer a role the killed provider had revoked but not yet recorded:
	// that is exactly the state in which such a write happens.
	torn := append(slices.Clone(inFlightUnrecorded), untouched...)
	if len(torn) == 0 {
		t.Fatal("no role in state without a record: nothing to tear")
	}
	tornRole := torn[0]
	tornLine, tornBytes := tearLastRecord(t, ledger, tornRole)
	t.Logf("tore line %d (%d of its bytes kept): the unfinished credential.revoked of %s (revoked in PostgreSQL before the kill: %t)",
		tornLine, len(tornBytes), tornRole, !loginNow[tornRole].canLogin)
	lap("inspect the crash, tear the last line")

	// 5. Rerun the destroy with a fresh provider process.
	rerunOut := h.run("apply", "-auto-approve", par, "-var", "n=0")
	// The apply that found the torn line says so.
	if got := strings.Count(rerunOut, "Warning: Evidence ledger: a torn line was recovered"); got != 1 ||
		!strings.Contains(rerunOut, fmt.Sprintf("Line %d of the evidence ledger", tornLine)) {
		t.Errorf("the rerun warned %d times of the recovered torn line, want once naming line %d:\n%s", got, tornLine, rerunOut)
	}
	if i := strings.Index(rerunOut, "Warning: Evidence ledger"); i >= 0 {
		t.Logf("the rerun warned:\n%s", firstLines(rerunOut[i:], 9))
	}
	if got := strings.Count(rerunOut, "Destruction complete"); got != len(inState) {
		t.Errorf("the rerun destroyed %d resources, want the %d left in state:\n%s", got, len(inState), rerunOut)
	}
	lap(fmt.Sprintf("rerun destroy of %d roles", len(inState)))

	// 6. Every role revoked and verified, as if nothing had happened.
	if left := h.stateRoles(); len(left) != 0 {
		t.Errorf("state still holds %d sunset_postgres_role instances after the rerun", len(left))
	}
	final := roleStates(t, pg)
	for _, n := range names {
		if s, ok := final[n]; !ok || s.canLogin || s.memberships != 0 || s.sessions != 0 {
			t.Errorf("role %s after the rerun: %+v (present %t), want NOLOGIN, no membership, no session", n, s, ok)
		}
	}
	if n := pgCount(t, pg, `SELECT count(*) FROM pg_stat_activity WHERE usename LIKE 'crash\_%'`); n != 0 {
		t.Errorf("%d sessions still open as crash roles", n)
	}
	for i, c := range sessions {
		if err := c.Ping(context.Background()); err == nil {
			t.Errorf("the session held as %s still answers", names[i*crashSessionStep])
		}
	}
	// The roles the crash caught mid-way cannot log in with their password.
	for _, n := range append([]string{tornRole}, append(inFlightRecorded, inFlightUnrecorded...)...) {
		if c, err := pgx.Connect(context.Background(), pg.DSN(n, "crash-pw-"+n, "")); err == nil {
			c.Close(context.Background())
			t.Errorf("%s can still log in after the rerun", n)
		}
	}
	if n := pgCount(t, pg, `SELECT count(*) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE g.rolname = '`+crashGroup+`'`); n != 0 {
		t.Errorf("%s still has %d members", crashGroup, n)
	}

	// The ledger verifies; the torn line is reported as recovered, is not a
	// record, and is still in the file, followed by the record naming it.
	rep, err = evidence.VerifyFile(ledger, nil)
	if err != nil || !rep.OK() {
		t.Fatalf("ledger after the rerun: %+v %v", rep, err)
	}
	lines := ledgerLines(t, ledger)
	if len(rep.Recovered) != 1 || rep.Recovered[0].TornLine != tornLine || !strings.Contains(rep.Recovered[0].Reason, "torn") {
		t.Fatalf("Report.Recovered = %+v, want exactly torn line %d", rep.Recovered, tornLine)
	}
	if rep.Records != len(lines)-1 {
		t.Errorf("Report.Records = %d for %d lines: the torn line must be the only line not counted", rep.Records, len(lines))
	}
	if !bytes.Equal(lines[tornLine-1], tornBytes) {
		t.Errorf("line %d is no longer the torn bytes:\n got  %q\n want %q", tornLine, lines[tornLine-1], tornBytes)
	}
	recs, err := evidence.ReadAll(bytes.NewReader(bytes.Join(append(lines, nil), []byte("\n"))))
	if err != nil {
		t.Fatal(err)
	}
	var recovery evidence.Record
	for _, r := range recs {
		if r.Event == evidence.EventLedgerRecovered {
			if recovery.Seq != 0 {
				t.Fatalf("two ledger.recovered records: %d and %d", recovery.Seq, r.Seq)
			}
			recovery = r
		}
	}
	sum := sha256.Sum256(tornBytes)
	want := map[string]string{
		evidence.DetailTornLine:   strconv.Itoa(tornLine),
		evidence.DetailTornSHA256: hex.EncodeToString(sum[:]),
		evidence.DetailTornBytes:  strconv.Itoa(len(tornBytes)),
	}
	for k, v := range want {
		if recovery.Details[k] != v {
			t.Errorf("ledger.recovered %s = %q, want %q (record %+v)", k, recovery.Details[k], v, recovery)
		}
	}
	next := lines[tornLine] // the line right after the torn one
	if rep.Recovered[0].RecoveredBySeq != recovery.Seq || !bytes.HasPrefix(next, fmt.Appendf(nil, `{"seq":%d,`, recovery.Seq)) ||
		!bytes.Contains(next, []byte(`"event":"ledger.recovered"`)) {
		t.Errorf("line %d, after the torn line, is not the recovery record (seq %d): %s", tornLine+1, recovery.Seq, next)
	}
	t.Logf("recovery record (line %d): %s", tornLine+1, lines[tornLine])

	// Evidence: one credential.revoked per role, a second one exactly for
	// the roles whose revocation was recorded but whose destroy terraform
	// never heard of (it ran again, idempotently, on the rerun).
	after := revokedByRole(t, ledger)
	var dups []string
	for _, n := range names {
		switch after[n] {
		case 1:
		case 2:
			dups = append(dups, n)
		default:
			t.Errorf("%s has %d credential.revoked records", n, after[n])
		}
	}
	if !slices.Equal(dups, inFlightRecorded) {
		t.Errorf("roles with two credential.revoked records: %v, want exactly those recorded but still in state after the kill: %v", dups, inFlightRecorded)
	}
	if after[tornRole] != 1 {
		t.Errorf("%s, whose record was torn, has %d valid credential.revoked records, want 1 (from the rerun)", tornRole, after[tornRole])
	}
	var rerunRevoked, failed int
	pastRecovery := false
	for _, r := range recs {
		switch {
		case r.Event == evidence.EventLedgerRecovered:
			pastRecovery = true
		case r.Event == evidence.EventRevokeFailed:
			failed++
		case r.Event == evidence.EventCredentialRevoked && pastRecovery:
			rerunRevoked++
			// A revocation that had run before the kill (recorded or not)
			// finds nothing left to do on the rerun.
			ranBefore := slices.Contains(dups, r.Account) || slices.Contains(inFlightUnrecorded, r.Account)
			if ranBefore && (r.Details["role_existed"] != "true" || r.Details["memberships_revoked"] != "" || r.Details["sessions_terminated"] != "0") {
				t.Errorf("the repeated revocation of %s was not a no-op: %v", r.Account, r.Details)
			}
		}
		if r.Event == evidence.EventCredentialRevoked && (r.Target != crashTarget || r.Trigger != evidence.TriggerRemovedFromConfiguration) {
			t.Errorf("credential.revoked record %d: target %q trigger %q", r.Seq, r.Target, r.Trigger)
		}
	}
	if failed != 0 {
		t.Errorf("%d credential.revoke_failed records: no revocation should have failed", failed)
	}
	if rerunRevoked != len(inState) {
		t.Errorf("the rerun recorded %d revocations after the recovery record, want %d", rerunRevoked, len(inState))
	}
	if got := countByEvent(recs); got[string(evidence.EventCredentialIssued)] != crashRoles {
		t.Errorf("records by event: %v", got)
	}
	t.Logf("ledger: %d lines, %d valid records %v; %d revocations before the kill, %d on the rerun, %d roles revoked twice %v; wall time %.1fs",
		len(lines), rep.Records, countByEvent(recs), sumValues(before), rerunRevoked, len(dups), dups, time.Since(began).Seconds())
}

// killProviderAt watches the ledger and SIGKILLs terraform's provider
// process(es) once the ledger holds crashKillAt credential.revoked records.
// It returns the killed pids and the count it saw.
//
// The kill follows the write of the crashKillAt-th record by well under a
// millisecond (the pid is found beforehand, the file's new bytes are polled
// every 100µs), so it often lands while that record's Append is still in
// fsync, before terraform hears that the destroy succeeded: the case of a
// revocation that ran and was recorded but that terraform's state still
// holds.
func (h *crashHarness) killProviderAt(tfPid int, ledger string, exited chan error) ([]int, int) {
	h.t.Helper()
	needle := []byte(`"event":"` + string(evidence.EventCredentialRevoked) + `"`)
	f, err := os.Open(ledger)
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	var (
		off  int64 // bytes counted so far: whole lines only
		seen int
		pids []int
		buf  []byte
	)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			h.t.Fatalf("terraform exited (%v) with %d revocations in the ledger, before the kill at %d: lower crashKillAt or raise crashRoles", err, seen, crashKillAt)
		default:
		}
		st, err := f.Stat()
		if err != nil {
			h.t.Fatal(err)
		}
		if st.Size() > off {
			buf = slices.Grow(buf[:0], int(st.Size()-off))[:st.Size()-off]
			n, _ := f.ReadAt(buf, off)
			whole := bytes.LastIndexByte(buf[:n], '\n') + 1
			seen += bytes.Count(buf[:whole], needle)
			off += int64(whole)
		}
		if seen > 0 && len(pids) == 0 {
			// The apply's provider is running: find it now, not at the kill.
			pids = childrenRunning(h.t, tfPid, h.provider)
		}
		if seen >= crashKillAt {
			if len(pids) == 0 {
				h.t.Fatalf("%d revocations recorded but no %s child of terraform (pid %d) found", seen, filepath.Base(h.provider), tfPid)
			}
			for _, pid := range pids {
				if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
					h.t.Fatalf("SIGKILL provider pid %d: %v", pid, err)
				}
			}
			return pids, seen
		}
		time.Sleep(100 * time.Microsecond)
	}
	h.t.Fatalf("the ledger never held %d revocations", crashKillAt)
	return nil, 0
}

// childrenRunning lists the processes whose parent is ppid and whose
// executable is exe, from /proc.
func childrenRunning(t *testing.T, ppid int, exe string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone since ReadDir
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parens.
		i := bytes.LastIndexByte(stat, ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(ppid) {
			continue
		}
		if path, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && path == exe {
			pids = append(pids, pid)
		}
	}
	return pids
}

// tearLastRecord appends, through the ledger's own Append, the
// credential.revoked record the killed provider would have written for
// role, then cuts that last line in the middle, without its "\n". It
// returns the torn line's number and bytes.
func tearLastRecord(t *testing.T, ledger, role string) (int, []byte) {
	t.Helper()
	l, err := evidence.Open(ledger, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := l.Append(context.Background(), evidence.Record{
		Event: evidence.EventCredentialRevoked, Target: crashTarget, System: systemPostgres, Account: role,
		Identity: &evidence.IdentityRef{ID: "svc-" + role}, Action: "disable",
		Trigger: evidence.TriggerRemovedFromConfiguration, RequestedAt: &now, RemovedAt: &now, VerifiedAt: &now,
		Verification: "rolcanlogin=false, 0 memberships, 0 sessions", Actor: "crash-test",
	}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(ledger)
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	cut := start + (len(data)-1-start)/2
	if err := os.Truncate(ledger, int64(cut)); err != nil {
		t.Fatal(err)
	}
	return bytes.Count(data[:start], []byte("\n")) + 1, slices.Clone(data[start:cut])
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// ledgerLines returns the ledger's lines without their "\n".
func ledgerLines(t *testing.T, ledger string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(ledger)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

// revokedByRole counts the valid credential.revoked records per account.
func revokedByRole(t *testing.T, ledger string) map[string]int {
	t.Helper()
	m := map[string]int{}
	for _, r := range readLedger(t, ledger) {
		if r.Event == evidence.EventCredentialRevoked {
			m[r.Account]++
		}
	}
	return m
}

func countEvents(t *testing.T, ledger string, ev evidence.Event) int {
	t.Helper()
	return countByEvent(readLedger(t, ledger))[string(ev)]
}

func countByEvent(recs []evidence.Record) map[string]int {
	m := map[string]int{}
	for _, r := range recs {
		m[string(r.Event)]++
	}
	return m
}

func sumValues(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

type crashRoleState struct {
	canLogin    bool
	memberships int
	sessions    int
}

// roleStates reads every crash_ role as the superuser.
func roleStates(t *testing.T, pg *testenv.Postgres) map[string]crashRoleState {
	t.Helper()
	out, err := pg.Psql(nil, "-At", "-F", "|", "-c", `SELECT r.rolname, r.rolcanlogin,
  (SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid),
  (SELECT count(*) FROM pg_stat_activity a WHERE a.usesysid = r.oid)
FROM pg_roles r WHERE r.rolname LIKE 'crash\_%' AND r.rolname <> '`+crashGroup+`'`)
	if err != nil {
		t.Fatalf("read roles: %v\n%s", err, out)
	}
	m := map[string]crashRoleState{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "|")
		if len(f) != 4 {
			t.Fatalf("unexpected psql line %q", sc.Text())
		}
		mem, _ := strconv.Atoi(f[2])
		ses, _ := strconv.Atoi(f[3])
		m[f[0]] = crashRoleState{canLogin: f[1] == "t", memberships: mem, sessions: ses}
	}
	return m
}

func pgCount(t *testing.T, pg *testenv.Postgres, query string) int {
	t.Helper()
	out, err := pg.Psql(nil, "-At", "-c", query)
	if err != nil {
		t.Fatalf("%s: %v\n%s", query, err, out)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("%s: %q", query, out)
	}
	return n
}

// lockedBuffer collects a command's output while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
