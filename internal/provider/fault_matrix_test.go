//go:build linux

package provider

// Issue 7, item 6: the fault matrix. For each connector, a destroy meets a
// server that dies during it, and a server that answers slowly past the
// timeout. Each cell shows that the failed destroy ends (no hang), that the
// resource stays in state, that credential.revoke_failed is recorded (with
// the cause, and no secret), and that the next apply, with the server back
// to normal, converges: the destroy is planned again, succeeds, records
// credential.revoked, and the target says the access is gone.
//
// | connector | fault                                           | test                                                  |
// |-----------|-------------------------------------------------|-------------------------------------------------------|
// | postgres  | down when the destroy starts                    | TestAccPostgresRoleServerDownDuringDestroy (existing) |
// | postgres  | dies mid-revoke: the revoke statement in flight | TestAccFaultMatrix/postgres/dies_mid_revoke           |
// | postgres  | answers slowly past the timeout                 | TestAccFaultMatrix/postgres/slow_past_timeout         |
// | postgres  | the provider itself SIGKILLed mid-apply         | TestAccPostgresRoleCrashConsistency (existing)        |
// | ldap      | down when the destroy starts                    | TestAccLDAPAccountServerDownDuringDestroy (existing)  |
// | ldap      | dies mid-revoke: its first request unread       | TestAccFaultMatrix/ldap/dies_mid_revoke               |
// | ldap      | hangs (SIGSTOP) past the timeout                | TestAccFaultMatrix/ldap/slow_past_timeout             |
// | scim      | fails every request (HTTP 503)                  | TestAccSCIMPermanentFailure (existing)                |
// | scim      | transient 429/503/drops/slow, retried           | TestAccSCIMTransientFaults (existing)                 |
// | scim      | dies mid-revoke: the PATCH in flight            | TestAccFaultMatrix/scim/dies_mid_revoke               |
// | scim      | answers slowly past the timeout                 | TestAccFaultMatrix/scim/slow_past_timeout             |
//
// How each fault is made, with real servers only:
//   - postgres dies: another session holds a row lock on the role
//     (an uncommitted ALTER ROLE), so the revoke's ALTER ROLE ... NOLOGIN
//     waits on the server; once pg_stat_activity shows the provider's
//     backend waiting, the server is killed (immediate shutdown).
//   - postgres slow: the same lock, held for the whole apply: the server
//     does not answer before the target's timeout.
//   - ldap dies: slapd is stopped (SIGSTOP); once the revocation's first
//     request (the TLS handshake of its connection) sits unread in slapd's
//     socket (/proc/net/tcp rx_queue), slapd is SIGKILLed.
//   - ldap slow: slapd stays stopped for the whole apply, then SIGCONT.
//   - scim dies: every answer is held (testenv's "slow" fault, which does
//     the work first, so the PATCH may well have deactivated the user);
//     once the request is in flight, the listener and every open
//     connection vanish and stay gone (the retry is refused). testenv's SCIM server runs
//     in-process and cannot come back on its port, so the test serves the
//     same server (its store, auth and faults) on a listener of its own,
//     which it closes and reopens on the same address.
//   - scim slow: testenv's "slow" fault on every request, longer than the
//     target's timeout, on every attempt.
//
// The destroy under test is the apply of a saved plan, so no refresh runs
// against the faulty server: the fault meets the revocation itself.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/jackc/pgx/v5"

	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// faultCell is one connector × fault.
type faultCell struct {
	d       *tfDir
	address string // the resource instance under test
	// account returns TARGET/ACCOUNT once the credential exists.
	account func(t *testing.T) string
	// fault injects the fault after the destroy is planned. It returns what
	// to do while the apply runs (nil: nothing), such as waiting for the
	// revocation to be in flight and killing the server.
	fault func(t *testing.T) (during func(t *testing.T))
	// heal brings the server back to normal.
	heal func(t *testing.T)
	// cause must match the failed destroy's error and the recorded one.
	cause *regexp.Regexp
	// limit: the failed apply must end within it.
	limit time.Duration
	// gone checks, at the target, that the access is gone after the rerun.
	gone func(t *testing.T) error
	// secrets must appear in no output and no record.
	secrets []string
}

// faultConfig is the configuration of every cell: one credential, present
// or not, and the provider with one target.
func faultConfig(target, resource string) string {
	return fmt.Sprintf(requiredSunset+`
variable "present" { type = bool }

provider "sunset" {
  evidence = { file = "${path.module}/evidence.jsonl" }
  actor    = "fault-matrix"
  targets  = { %s }
}

%s
`, target, resource)
}

func (c faultCell) run(t *testing.T) {
	began := time.Now()
	ledger := c.d.path("evidence.jsonl")
	c.d.ok("apply", "-auto-approve", "-var", "present=true")
	account := c.account(t)
	c.d.ok("plan", "-out=destroy.tfplan", "-var", "present=false")

	during := c.fault(t)
	wait := c.d.start(c.limit, "apply", "destroy.tfplan")
	if during != nil {
		during(t)
	}
	failed := wait()
	out := failed.Output()
	switch {
	case failed.Hung:
		t.Fatalf("the destroy did not end within %s while the server was faulty: nothing bounds this case\n%s", c.limit, out)
	case failed.Err == nil:
		t.Fatalf("the destroy succeeded against a faulty server:\n%s", out)
	}
	if !wrapped("Error: Revocation", "The resource stays in state; the next apply retries the revocation").MatchString(out) {
		t.Errorf("the failed destroy does not say the resource stays in state:\n%s", out)
	}
	if !c.cause.MatchString(strings.Join(strings.Fields(out), " ")) {
		t.Errorf("the failed destroy's error does not match %q:\n%s", c.cause, out)
	}
	if i := strings.Index(out, "Error: "); i >= 0 {
		t.Logf("failed destroy (%.1fs): %s", failed.Took.Seconds(), strings.Join(strings.Fields(firstLines(out[i:], 8)), " "))
	}
	if err := faultNoSecrets("the failed destroy's output", out, c.secrets); err != nil {
		t.Error(err)
	}

	// 1. The resource stays in state.
	if got := c.d.stateAddresses(); len(got) != 1 || got[0] != c.address {
		t.Fatalf("state after the failed destroy: %v, want [%s]", got, c.address)
	}
	// 2. credential.revoke_failed is recorded, with the cause.
	issued := "credential.issued:" + account
	failedEv := "credential.revoke_failed:" + account + ":removed_from_configuration"
	if err := expectLedgerEvents(ledger, []string{issued, failedEv}); err != nil {
		t.Fatal(err)
	}
	_, recs, err := ledgerEvents(ledger)
	if err != nil {
		t.Fatal(err)
	}
	rec := recs[len(recs)-1]
	if rec.Error == "" || !c.cause.MatchString(rec.Error) || rec.RequestedAt == nil {
		t.Errorf("credential.revoke_failed record: error %q (want it to match %q), requested_at %v", rec.Error, c.cause, rec.RequestedAt)
	}
	t.Logf("recorded: credential.revoke_failed %s, error %q", account, rec.Error)

	// 3. Back to normal, the next apply converges.
	c.heal(t)
	rerun := c.d.ok("apply", "-auto-approve", "-var", "present=false")
	if !strings.Contains(rerun.Stdout, c.address+": Destruction complete") {
		t.Errorf("the rerun did not destroy %s:\n%s", c.address, rerun.Output())
	}
	if got := c.d.stateAddresses(); len(got) != 0 {
		t.Errorf("state after the rerun: %v", got)
	}
	if err := expectLedgerEvents(ledger, []string{issued, failedEv, "credential.revoked:" + account + ":removed_from_configuration"}); err != nil {
		t.Error(err)
	}
	if err := c.gone(t); err != nil {
		t.Errorf("at the target after the rerun: %v", err)
	}
	ledgerText, _ := os.ReadFile(ledger)
	if err := faultNoSecrets("the ledger", string(ledgerText), c.secrets); err != nil {
		t.Error(err)
	}
	t.Logf("cell done in %.1fs (failed destroy %.1fs, rerun %.1fs)", time.Since(began).Seconds(), failed.Took.Seconds(), rerun.Took.Seconds())
}

// faultNoSecrets fails when a secret, in any form the leak audit knows,
// is in text (also with terraform's line wrapping taken out).
func faultNoSecrets(what, text string, secrets []string) error {
	a := &leakAudit{}
	for _, s := range secrets {
		a.secrets = append(a.secrets, leakSecret{label: "a secret", value: s, source: fromEnv})
	}
	if found := a.check([]leakPlace{{name: what, kind: placeTerminal, text: text}}); len(found) > 0 {
		return fmt.Errorf("%s", found[0])
	}
	return nil
}

// TestAccFaultMatrix runs the cells the existing tests do not cover; see
// the table at the top of this file.
func TestAccFaultMatrix(t *testing.T) {
	bin := buildProviderBinary(t)
	t.Run("postgres", func(t *testing.T) { t.Parallel(); faultPostgres(t, bin) })
	t.Run("ldap", func(t *testing.T) { t.Parallel(); faultLDAP(t, bin) })
	t.Run("scim", func(t *testing.T) { t.Parallel(); faultSCIM(t, bin) })
}

// waitFor polls cond until it holds, failing the test after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// --- PostgreSQL -----------------------------------------------------------------

const faultPGEnv = "FAULT_PG_DSN"

func faultPostgres(t *testing.T, bin *tfBinary) {
	pg := testenv.NewPostgresForTest(t, testenv.PostgresOptions{})
	cell := func(t *testing.T, role, timeout string) faultCell {
		const pw = "Fault-Role-Pw-3Jx8"
		d := newTFDir(t, bin, faultPGEnv+"="+pg.SuperDSN())
		d.write("main.tf", faultConfig(
			fmt.Sprintf(`warehouse = { postgres = { dsn_env = %q, timeout = %q } }`, faultPGEnv, timeout),
			fmt.Sprintf(`resource "sunset_postgres_role" "r" {
  count               = var.present ? 1 : 0
  target              = "warehouse"
  name                = %q
  identity_id         = "svc-%s"
  expires_at          = %q
  password_wo         = %q
  password_wo_version = 1
}`, role, role, day(30), pw)))
		return faultCell{
			d: d, address: "sunset_postgres_role.r[0]",
			account: func(t *testing.T) string {
				if err := pgLogin(pg, role, pw); err != nil {
					t.Fatalf("%s cannot log in after create: %v", role, err)
				}
				return "warehouse/" + role
			},
			gone: func(t *testing.T) error {
				if pgCanLogin(t, pg, role) {
					return fmt.Errorf("role %s still has LOGIN", role)
				}
				if err := pgLogin(pg, role, pw); err == nil {
					return fmt.Errorf("role %s still logs in with its password", role)
				}
				return nil
			},
			secrets: []string{pg.SuperPassword, pw},
		}
	}

	// The revoke's ALTER ROLE ... NOLOGIN waits on the row lock of an open
	// transaction that altered the same role; the server dies under it.
	t.Run("dies_mid_revoke", func(t *testing.T) {
		c := cell(t, "fm_pg_dies", "30s")
		c.limit = time.Minute
		// Not a timeout: the server's death (an immediate shutdown
		// terminates every backend, then the connection closes).
		c.cause = regexp.MustCompile(`(?i)terminating connection|unexpected EOF|conn closed|connection reset|broken pipe`)
		c.fault = func(t *testing.T) func(t *testing.T) {
			pgHoldRoleLock(t, pg, "fm_pg_dies")
			return func(t *testing.T) {
				waitFor(t, time.Minute, "the revoke waiting on the role's lock", func() (bool, error) {
					return pgRevokeWaiting(pg)
				})
				if err := pg.Kill(); err != nil {
					t.Fatal(err)
				}
			}
		}
		c.heal = func(t *testing.T) {
			if err := pg.Restart(); err != nil {
				t.Fatal(err)
			}
		}
		c.run(t)
	})

	// The same lock held for the whole apply: the server does not answer
	// within the target's timeout.
	t.Run("slow_past_timeout", func(t *testing.T) {
		c := cell(t, "fm_pg_slow", "3s")
		c.limit = time.Minute
		c.cause = regexp.MustCompile(`(?i)timeout|deadline exceeded`)
		var release func()
		c.fault = func(t *testing.T) func(t *testing.T) {
			release = pgHoldRoleLock(t, pg, "fm_pg_slow")
			return nil
		}
		c.heal = func(t *testing.T) { release() }
		c.run(t)
	})
}

// pgHoldRoleLock opens a transaction that alters role and keeps it open,
// so that any other ALTER ROLE of it waits. The returned function (also run
// at cleanup) rolls it back.
func pgHoldRoleLock(t *testing.T, pg *testenv.Postgres, role string) func() {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.SuperDSN())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf(`ALTER ROLE %q CONNECTION LIMIT 7`, role)); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _ = conn.Exec(ctx, "ROLLBACK")
			_ = conn.Close(ctx)
		})
	}
	t.Cleanup(release)
	return release
}

// pgRevokeWaiting says whether a backend of the provider (application_name
// sunset) is waiting on a lock.
func pgRevokeWaiting(pg *testenv.Postgres) (bool, error) {
	out, err := pg.Psql(nil, "-At", "-c", `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sunset' AND wait_event_type = 'Lock'`)
	if err != nil {
		return false, fmt.Errorf("%v: %s", err, out)
	}
	return strings.TrimSpace(string(out)) != "0", nil
}

func pgCanLogin(t *testing.T, pg *testenv.Postgres, role string) bool {
	t.Helper()
	out, err := pg.Psql(nil, "-At", "-c", fmt.Sprintf(`SELECT rolcanlogin FROM pg_roles WHERE rolname = '%s'`, role))
	if err != nil {
		t.Fatalf("read role %s: %v\n%s", role, err, out)
	}
	return strings.TrimSpace(string(out)) == "t"
}

func pgLogin(pg *testenv.Postgres, role, pw string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.DSN(role, pw, ""))
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// --- LDAP ----------------------------------------------------------------------

const faultLDAPEnv = "FAULT_LDAP_BIND_PASSWORD"

func faultLDAP(t *testing.T, bin *tfBinary) {
	cell := func(t *testing.T, uid, timeout string) (faultCell, *testenv.Slapd) {
		const pw = "Fault-Ldap-Pw-8Rk2"
		s := testenv.SlapdForTest(t)
		group := ldapGroup(t, s, "fm-"+uid)
		dn := ldapDN(t, uid)
		d := newTFDir(t, bin, faultLDAPEnv+"="+s.BindPassword)
		d.write("main.tf", faultConfig(
			fmt.Sprintf(`corp = { ldap = {
      url                = %q
      bind_dn            = %q
      bind_password_env  = %q
      base_dn            = %q
      ca_file            = %q
      empty_group_member = %q
      timeout            = %q
    } }`, s.LDAPSURL, s.BindDN, faultLDAPEnv, s.PeopleDN, s.CAFile, ldapNobody, timeout),
			fmt.Sprintf(`resource "sunset_ldap_account" "a" {
  count               = var.present ? 1 : 0
  target              = "corp"
  identity_id         = "svc-%s"
  uid                 = %q
  groups              = [%q]
  password_wo         = %q
  password_wo_version = 1
}`, uid, uid, group, pw)))
		return faultCell{
			d: d, address: "sunset_ldap_account.a[0]",
			account: func(t *testing.T) string {
				if ok, err := ldapBind(s, dn, pw); err != nil || !ok {
					t.Fatalf("%s cannot bind after create: %v %v", dn, ok, err)
				}
				return "corp/" + dn
			},
			gone: func(t *testing.T) error {
				if ok, err := ldapBind(s, dn, pw); err != nil || ok {
					return fmt.Errorf("%s binds with its password: %v %v", dn, ok, err)
				}
				if groups, err := ldapGroupsListing(s, dn); err != nil || len(groups) != 0 {
					return fmt.Errorf("%s is still in groups %v (%v)", dn, groups, err)
				}
				return nil
			},
			secrets: []string{s.BindPassword, pw},
		}, s
	}

	// slapd is stopped; the provider's first request (the TLS handshake of
	// ldaps) reaches its socket and stays unread; slapd is killed.
	t.Run("dies_mid_revoke", func(t *testing.T) {
		c, s := cell(t, "fmdies", "30s")
		c.limit = time.Minute
		c.cause = regexp.MustCompile(`(?i)connection reset|EOF|broken pipe|connection refused`)
		c.fault = func(t *testing.T) func(t *testing.T) {
			slapdStop(t, s)
			port := urlPort(t, s.LDAPSURL)
			return func(t *testing.T) {
				waitFor(t, time.Minute, "a request unread in slapd's socket", func() (bool, error) {
					return tcpUnreadOnPort(port)
				})
				// SIGKILL ends a stopped process: slapd never reads it.
				if err := s.Kill(); err != nil {
					t.Fatal(err)
				}
			}
		}
		c.heal = func(t *testing.T) {
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
		}
		c.run(t)
	})

	// slapd stays stopped for the whole apply: it accepts the connection
	// (the kernel does) and never answers.
	t.Run("slow_past_timeout", func(t *testing.T) {
		c, s := cell(t, "fmslow", "2s")
		c.limit = time.Minute
		c.cause = regexp.MustCompile(`(?i)timeout|deadline exceeded|timed out`)
		var cont func()
		c.fault = func(t *testing.T) func(t *testing.T) {
			cont = slapdStop(t, s)
			return nil
		}
		c.heal = func(t *testing.T) { cont() }
		c.run(t)
	})
}

// slapdStop stops the test slapd's process with SIGSTOP, and returns the
// function that continues it (also run at cleanup, so that its shutdown is
// not stuck). Only the process started from this server's configuration
// file is ever signalled.
func slapdStop(t *testing.T, s *testenv.Slapd) (cont func()) {
	t.Helper()
	pid := slapdPID(t, s)
	if pid == 0 {
		t.Fatalf("no slapd process runs %s", filepath.Join(s.Dir, "slapd.conf"))
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	cont = func() {
		if slapdPID(t, s) == pid { // not killed (and its pid reused) since
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	t.Cleanup(cont)
	return cont
}

// slapdPID finds the process of a test slapd in /proc by the
// configuration file on its command line; 0 when none runs.
func slapdPID(t *testing.T, s *testenv.Slapd) int {
	t.Helper()
	conf := filepath.Join(s.Dir, "slapd.conf")
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	pid := 0
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue // gone since ReadDir
		}
		args := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")
		if filepath.Base(args[0]) == "slapd" && slices.Contains(args, conf) {
			if pid != 0 {
				t.Fatalf("two slapd processes run %s: %d and %d", conf, pid, n)
			}
			pid = n
		}
	}
	return pid
}

func urlPort(t *testing.T, u string) int {
	t.Helper()
	i := strings.LastIndexByte(u, ':')
	p, err := strconv.Atoi(strings.TrimRight(u[i+1:], "/"))
	if err != nil {
		t.Fatalf("no port in %s", u)
	}
	return p
}

// tcpUnreadOnPort says whether a connection to 127.0.0.1:port holds bytes
// its server has not read, from /proc/net/tcp: local port, state 01
// (established), rx_queue above zero.
func tcpUnreadOnPort(port int) (bool, error) {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	suffix := fmt.Sprintf(":%04X", port)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 5 || !strings.HasSuffix(fl[1], suffix) || fl[3] != "01" {
			continue
		}
		_, rx, ok := strings.Cut(fl[4], ":")
		if n, err := strconv.ParseUint(rx, 16, 64); ok && err == nil && n > 0 {
			return true, nil
		}
	}
	return false, sc.Err()
}

// --- SCIM ----------------------------------------------------------------------

const faultSCIMEnv = "FAULT_SCIM_TOKEN"

// scimFront serves a testenv SCIM server on a listener the test controls:
// down closes the listener and every open connection, up listens again on
// the same address.
type scimFront struct {
	handler http.Handler
	addr    string
	mu      sync.Mutex
	srv     *http.Server
}

func (f *scimFront) up(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	addr := f.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for i := 0; i < 100; i++ { // the old listener's port may linger a moment
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	f.addr = ln.Addr().String()
	f.srv = &http.Server{Handler: f.handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
}

func (f *scimFront) down() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv != nil {
		_ = f.srv.Close()
		f.srv = nil
	}
}

func faultSCIM(t *testing.T, bin *tfBinary) {
	const token = "Fault-Scim-Token-6Hq1"
	cell := func(t *testing.T, user, timeout string) (faultCell, *testenv.SCIMServer, *scimFront) {
		// Answers held by the "slow" fault take longer than any timeout
		// here; the server drops them when the client gives up.
		app := testenv.SCIMForTest(t, testenv.SCIMOptions{Token: token, SlowDelay: 2 * time.Minute})
		front := &scimFront{handler: app}
		front.up(t)
		t.Cleanup(front.down)
		userName := user + "@example.com"
		d := newTFDir(t, bin, faultSCIMEnv+"="+token)
		d.write("main.tf", faultConfig(
			fmt.Sprintf(`app = { scim = { url = %q, token_env = %q, timeout = %q, max_attempts = 2, retry_wait_max = "100ms" } }`,
				"http://"+front.addr+testenv.SCIMBasePath, faultSCIMEnv, timeout),
			fmt.Sprintf(`resource "sunset_scim_user" "u" {
  count       = var.present ? 1 : 0
  target      = "app"
  identity_id = "svc-%s"
  user_name   = %q
  external_id = %q
}`, user, userName, user)))
		var id string
		return faultCell{
			d: d, address: "sunset_scim_user.u[0]",
			account: func(t *testing.T) string {
				u, err := scimUserState(app, userName)
				if err != nil || !u.Active {
					t.Fatalf("user %s after create: %+v %v", userName, u, err)
				}
				id = u.ID
				return "app/" + id
			},
			gone: func(t *testing.T) error {
				if u, ok := app.User(id); ok && u.Active {
					return fmt.Errorf("user %s is still active", userName)
				}
				return nil
			},
			secrets: []string{token},
		}, app, front
	}

	// Every answer is held; once the revocation's first request is in
	// flight, the service vanishes: the connection is cut and every retry
	// is refused.
	t.Run("dies_mid_revoke", func(t *testing.T) {
		c, app, front := cell(t, "fm-scim-dies", "30s")
		c.limit = time.Minute
		c.cause = regexp.MustCompile(`SCIM PATCH .*(EOF|connection reset|connection refused|server closed)`)
		c.fault = func(t *testing.T) func(t *testing.T) {
			base := app.Stats().Requests
			app.SetFaultKinds(testenv.SCIMFaultSlow)
			app.SetFaultRate(1)
			return func(t *testing.T) {
				waitFor(t, time.Minute, "a SCIM request in flight", func() (bool, error) {
					return app.Stats().Requests > base, nil
				})
				front.down()
			}
		}
		c.heal = func(t *testing.T) {
			app.SetFaultRate(0)
			front.up(t)
		}
		c.run(t)
	})

	// Every answer on every attempt comes after the target's timeout.
	t.Run("slow_past_timeout", func(t *testing.T) {
		c, app, _ := cell(t, "fm-scim-slow", "1s")
		c.limit = time.Minute
		c.cause = regexp.MustCompile(`(?i)timeout|deadline exceeded`)
		c.fault = func(t *testing.T) func(t *testing.T) {
			app.SetFaultKinds(testenv.SCIMFaultSlow)
			app.SetFaultRate(1)
			return nil
		}
		c.heal = func(t *testing.T) { app.SetFaultRate(0) }
		c.run(t)
	})
}

// TestFaultTargetTimeouts: the timeout of postgres and ldap targets is
// checked where it is known, defaults to 30s, reaches the LDAP connector,
// and bounds each step of a PostgreSQL revocation with an error that says
// which limit ran out.
func TestFaultTargetTimeouts(t *testing.T) {
	var diags diag.Diagnostics
	validateTargets(map[string]targetModel{
		"pg_bad":   {Postgres: &postgresTargetModel{Timeout: types.StringValue("soon")}},
		"ldap_bad": {LDAP: &ldapTargetModel{Timeout: types.StringValue("0s")}},
		"pg_ok":    {Postgres: &postgresTargetModel{Timeout: types.StringValue("90s")}},
		"ldap_ok":  {LDAP: &ldapTargetModel{Timeout: types.StringValue("1m")}},
	}, &diags)
	var got []string
	for _, d := range diags.Errors() {
		if dp, ok := d.(diag.DiagnosticWithPath); ok {
			got = append(got, dp.Path().String()+": "+d.Summary())
		}
	}
	slices.Sort(got)
	want := []string{`targets["ldap_bad"].ldap.timeout: Invalid timeout`, `targets["pg_bad"].postgres.timeout: Invalid timeout`}
	if !slices.Equal(got, want) {
		t.Errorf("validation errors: %q, want %q", got, want)
	}

	pgDefault := &target{postgres: &postgresTargetModel{}}
	pg2m := &target{postgres: &postgresTargetModel{Timeout: types.StringValue("2m")}}
	ldapModel := &ldapTargetModel{Timeout: types.StringValue("5s")}
	for what, c := range map[string]struct{ got, want time.Duration }{
		"postgres default":      {pgDefault.stepTimeout(), 30 * time.Second},
		"postgres 2m":           {pg2m.stepTimeout(), 2 * time.Minute},
		"ldap step (connector)": {(&target{ldap: ldapModel}).stepTimeout(), 0},
		"scim step (connector)": {(&target{scim: &scimTargetModel{}}).stepTimeout(), 0},
		"ldap connector 5s":     {ldapTimeout(t, ldapModel), 5 * time.Second},
		"ldap connector unset":  {ldapTimeout(t, &ldapTargetModel{}), 0},
	} {
		if c.got != c.want {
			t.Errorf("%s: %s, want %s", what, c.got, c.want)
		}
	}

	rt := &runtime{targets: map[string]*target{"pg": {postgres: &postgresTargetModel{Timeout: types.StringValue("20ms")}}}}
	ctx, cancel := rt.revocationStep(context.Background(), "pg")
	defer cancel()
	<-ctx.Done()
	err := stepTimedOut(ctx, fmt.Errorf("revoke: %w", context.DeadlineExceeded))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within the target's timeout (20ms)") {
		t.Errorf("a timed-out step's error: %v", err)
	}
	if err := stepTimedOut(ctx, nil); err != nil {
		t.Errorf("a step that succeeded as its time ran out: %v", err)
	}
	ctx, cancel = rt.revocationStep(context.Background(), "other")
	defer cancel()
	if _, ok := ctx.Deadline(); ok {
		t.Error("a target without a step timeout got a deadline")
	}
}

func ldapTimeout(t *testing.T, m *ldapTargetModel) time.Duration {
	t.Helper()
	cfg, err := m.ldapConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Timeout
}
