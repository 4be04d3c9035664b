package testenv

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The directory tree every test slapd serves. Tests create accounts under
// SlapdPeopleDN and groupOfNames entries under SlapdGroupsDN.
const (
	SlapdBaseDN   = "dc=example,dc=org"
	SlapdPeopleDN = "ou=people,dc=example,dc=org"
	SlapdGroupsDN = "ou=groups,dc=example,dc=org"
	SlapdPolicyDN = "cn=default,ou=policies,dc=example,dc=org"
	SlapdRootDN   = "cn=admin,dc=example,dc=org"
)

// SlapdOptions tunes StartSlapd. The zero value is what most tests want.
type SlapdOptions struct {
	// LDIFFile, when set, is bulk-loaded with `slapadd -q` before the
	// server first starts: the fast path for large benchmark directories.
	// The time it took is in Slapd.LoadTime. Entries must live under
	// SlapdBaseDN; the base entries themselves are already there.
	LDIFFile string
	// NoDefaultPolicy leaves out ppolicy_default: the overlay is loaded
	// but no policy governs entries, so ppolicy enforces nothing for them
	// (the misconfiguration the LDAP connector's lock probe must catch).
	NoDefaultPolicy bool
	// Debug is slapd's -d level; "0" (nothing) unless set. "stats" logs
	// every operation to Dir/slapd.log.
	Debug string
}

// Slapd is a real OpenLDAP server started from its own temporary
// configuration (never /etc/ldap): back_mdb, the ppolicy overlay with a
// default policy that honours pwdAccountLockedTime, pwdStartTime and
// pwdEndTime at bind, and the memberof overlay so accounts carry memberOf.
type Slapd struct {
	// URL is ldap://127.0.0.1:PORT (StartTLS is offered there too).
	URL string
	// LDAPSURL is ldaps://127.0.0.1:PORT with a certificate signed by CAFile.
	LDAPSURL string
	// BaseDN is SlapdBaseDN; PeopleDN, GroupsDN and PolicyDN are the
	// containers and default policy created at start.
	BaseDN, PeopleDN, GroupsDN, PolicyDN string
	// BindDN and BindPassword are the rootdn's credentials.
	BindDN, BindPassword string
	// CAFile is the PEM file of the CA that signed the server certificate.
	CAFile string
	// Dir holds slapd.conf, the database (db/), the certificates and slapd.log.
	Dir string
	// LoadTime is how long slapadd took for SlapdOptions.LDIFFile.
	LoadTime time.Duration

	bins      slapdBins
	opts      SlapdOptions
	runAs     *slapdUser
	ldapPort  int
	ldapsPort int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

type slapdBins struct {
	slapd, slapadd, modules, schema string
}

type slapdUser struct {
	name     string
	uid, gid int
}

// SlapdAvailable reports whether the OpenLDAP server binaries, modules and
// schemas needed by StartSlapd are installed, and if not, what is missing.
func SlapdAvailable() error {
	_, err := slapdFindBinaries()
	return err
}

func slapdFindBinaries() (slapdBins, error) {
	var b slapdBins
	var missing []string
	find := func(name string, dirs ...string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, d := range dirs {
			p := filepath.Join(d, name)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p
			}
		}
		missing = append(missing, name)
		return ""
	}
	sbin := []string{"/usr/sbin", "/usr/local/sbin", "/usr/libexec", "/usr/local/libexec"}
	b.slapd = find("slapd", sbin...)
	b.slapadd = find("slapadd", sbin...)
	firstDir := func(what, probe string, dirs ...string) string {
		for _, d := range dirs {
			if _, err := os.Stat(filepath.Join(d, probe)); err == nil {
				return d
			}
		}
		missing = append(missing, what)
		return ""
	}
	b.modules = firstDir("OpenLDAP modules (back_mdb, ppolicy, memberof)", "ppolicy.la",
		"/usr/lib/ldap", "/usr/lib/openldap", "/usr/lib64/openldap", "/usr/libexec/openldap", "/usr/local/libexec/openldap")
	b.schema = firstDir("OpenLDAP schema files (core.schema ...)", "inetorgperson.schema",
		"/etc/ldap/schema", "/etc/openldap/schema", "/usr/local/etc/openldap/schema")
	if len(missing) > 0 {
		return b, fmt.Errorf("slapd test server unavailable, missing: %s (install with: DEBIAN_FRONTEND=noninteractive apt-get install -y slapd ldap-utils)", strings.Join(missing, ", "))
	}
	return b, nil
}

// SlapdForTest starts a slapd for one test and stops it (removing its
// files) when the test ends. When the binaries are missing it fails the
// test if CI is set, and skips it otherwise.
func SlapdForTest(tb testing.TB) *Slapd {
	return SlapdForTestWith(tb, SlapdOptions{})
}

// SlapdForTestWith is SlapdForTest with options.
func SlapdForTestWith(tb testing.TB, opts SlapdOptions) *Slapd {
	tb.Helper()
	if err := SlapdAvailable(); err != nil {
		if ServersRequired() {
			tb.Fatalf("testenv: %v", err)
		}
		tb.Skipf("testenv: %v (make test and CI make this a failure)", err)
	}
	s, err := StartSlapd(opts)
	if err != nil {
		tb.Fatalf("start slapd: %v", err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("slapd log tail (%s):\n%s", s.Dir, s.LogTail(4000))
		}
		if err := s.Close(); err != nil {
			tb.Logf("stop slapd: %v", err)
		}
	})
	return s
}

// StartSlapd generates a configuration and a database in a new temporary
// directory, bulk-loads opts.LDIFFile if any, and starts slapd on two free
// loopback ports. Call Close to stop it and remove the directory.
func StartSlapd(opts SlapdOptions) (*Slapd, error) {
	bins, err := slapdFindBinaries()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sunset-slapd-")
	if err != nil {
		return nil, err
	}
	s := &Slapd{
		BaseDN:   SlapdBaseDN,
		PeopleDN: SlapdPeopleDN,
		GroupsDN: SlapdGroupsDN,
		PolicyDN: SlapdPolicyDN,
		BindDN:   SlapdRootDN,
		Dir:      dir,
		bins:     bins,
		opts:     opts,
	}
	if err := s.setup(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// A free port found by listening and closing can be taken by someone
	// else before slapd binds it; pick new ports and try again.
	for attempt := 0; ; attempt++ {
		if s.ldapPort, err = slapdFreePort(); err == nil {
			s.ldapsPort, err = slapdFreePort()
		}
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s.URL = fmt.Sprintf("ldap://127.0.0.1:%d", s.ldapPort)
		s.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", s.ldapsPort)
		err = s.Start()
		if err == nil {
			return s, nil
		}
		if attempt == 2 || (slapdPortFree(s.ldapPort) && slapdPortFree(s.ldapsPort)) {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

func (s *Slapd) setup() error {
	pw := make([]byte, 16)
	if _, err := rand.Read(pw); err != nil {
		return err
	}
	s.BindPassword = hex.EncodeToString(pw)

	var err error
	s.CAFile, _, _, err = slapdWriteTLS(s.Dir)
	if err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(s.Dir, "db"), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(s.confPath(), []byte(s.config()), 0o600); err != nil {
		return err
	}
	base := filepath.Join(s.Dir, "base.ldif")
	if err := os.WriteFile(base, []byte(slapdBaseLDIF), 0o600); err != nil {
		return err
	}
	if err := s.slapadd(base); err != nil {
		return err
	}
	if s.opts.LDIFFile != "" {
		start := time.Now()
		if err := s.slapadd(s.opts.LDIFFile); err != nil {
			return err
		}
		s.LoadTime = time.Since(start)
	}

	// slapd drops root privileges when asked to; the Debian package creates
	// the openldap user for exactly that. Without root, run as ourselves.
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("openldap"); err == nil {
			if g, err := user.LookupGroup("openldap"); err == nil {
				uid, _ := strconv.Atoi(u.Uid)
				gid, _ := strconv.Atoi(g.Gid)
				s.runAs = &slapdUser{name: "openldap", uid: uid, gid: gid}
			}
		}
	}
	return s.chown()
}

// chown hands the whole directory to the user slapd runs as (files written
// by slapadd as root included).
func (s *Slapd) chown() error {
	if s.runAs == nil {
		return nil
	}
	return filepath.WalkDir(s.Dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, s.runAs.uid, s.runAs.gid)
	})
}

func (s *Slapd) confPath() string { return filepath.Join(s.Dir, "slapd.conf") }
func (s *Slapd) logPath() string  { return filepath.Join(s.Dir, "slapd.log") }

func (s *Slapd) config() string {
	d := s.Dir
	var b strings.Builder
	for _, sch := range []string{"core", "cosine", "inetorgperson", "nis"} {
		fmt.Fprintf(&b, "include %s\n", filepath.Join(s.bins.schema, sch+".schema"))
	}
	fmt.Fprintf(&b, `modulepath %s
moduleload back_mdb
moduleload ppolicy
moduleload memberof
pidfile %s
argsfile %s
TLSCACertificateFile %s
TLSCertificateFile %s
TLSCertificateKeyFile %s

database mdb
maxsize 4294967296
suffix "%s"
rootdn "%s"
rootpw %s
directory %s
index objectClass eq
index uid,cn eq
index member,uniqueMember,memberOf eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read

# memberOf is kept on accounts for groupOfNames/member (read by Inventory).
overlay memberof
memberof-refint TRUE

# The policy every entry gets unless it names another. ppolicy enforces
# pwdAccountLockedTime, pwdStartTime and pwdEndTime at bind time;
# use_lockout makes a locked bind say "Account locked".
overlay ppolicy
%s
ppolicy_use_lockout
ppolicy_hash_cleartext
`,
		s.bins.modules,
		filepath.Join(d, "slapd.pid"), filepath.Join(d, "slapd.args"),
		filepath.Join(d, "ca.pem"), filepath.Join(d, "server.pem"), filepath.Join(d, "server.key"),
		SlapdBaseDN, SlapdRootDN, s.BindPassword, filepath.Join(d, "db"),
		s.defaultPolicyLine())
	return b.String()
}

func (s *Slapd) defaultPolicyLine() string {
	if s.opts.NoDefaultPolicy {
		return "# no ppolicy_default (SlapdOptions.NoDefaultPolicy)"
	}
	return fmt.Sprintf("ppolicy_default %q", SlapdPolicyDN)
}

const slapdBaseLDIF = `dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
o: example
dc: example

dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=org
objectClass: organizationalUnit
ou: groups

dn: ou=policies,dc=example,dc=org
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,dc=example,dc=org
objectClass: organizationalRole
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 0
pwdAllowUserChange: TRUE

`

func (s *Slapd) slapadd(ldif string) error {
	// -q skips consistency checks: the documented fast path for bulk loads.
	cmd := exec.Command(s.bins.slapadd, "-q", "-f", s.confPath(), "-l", ldif)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("slapadd %s: %v: %s", filepath.Base(ldif), err, bytes.TrimSpace(out))
	}
	return nil
}

// BulkLoad stops the server, adds the LDIF file with `slapadd -q` and
// starts the server again on the same ports. It returns slapadd's time.
func (s *Slapd) BulkLoad(ldif string) (time.Duration, error) {
	if err := s.Stop(); err != nil {
		return 0, err
	}
	start := time.Now()
	err := s.slapadd(ldif)
	took := time.Since(start)
	if err == nil {
		err = s.chown()
	}
	if startErr := s.Start(); err == nil {
		err = startErr
	}
	return took, err
}

// Start starts slapd on the instance's ports with its existing data. It
// is what StartSlapd calls first, and what restarts the server after Stop
// or Kill.
func (s *Slapd) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("slapd is already running")
	}
	debug := s.opts.Debug
	if debug == "" {
		debug = "0"
	}
	args := []string{"-f", s.confPath(), "-h", s.URL + "/ " + s.LDAPSURL + "/", "-d", debug}
	if s.runAs != nil {
		args = append(args, "-u", s.runAs.name, "-g", s.runAs.name)
	}
	logf, err := os.OpenFile(s.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== %s slapd %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(args, " "))
	cmd := exec.Command(s.bins.slapd, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group: a Ctrl-C to `go test` must not race our Stop.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start slapd: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()

	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("slapd exited during start (%v); log tail:\n%s", cmd.ProcessState, s.LogTail(2000))
		default:
		}
		if slapdListening(s.ldapPort) && slapdListening(s.ldapsPort) {
			s.cmd, s.done = cmd, done
			return nil
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return fmt.Errorf("slapd did not listen on %s and %s within 20s; log tail:\n%s", s.URL, s.LDAPSURL, s.LogTail(2000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func slapdListening(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Stop shuts slapd down cleanly (SIGTERM), keeping its data for Start.
func (s *Slapd) Stop() error { return s.signal(syscall.SIGTERM) }

// Kill stops slapd abruptly (SIGKILL), as a crash or a pulled cable would,
// keeping its data for Start. back_mdb is crash-safe.
func (s *Slapd) Kill() error { return s.signal(syscall.SIGKILL) }

// Restart is Stop then Start on the same ports.
func (s *Slapd) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.Start()
}

func (s *Slapd) signal(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd, s.done = nil, nil
	// A listener may linger for a moment after exit; wait so a Start
	// right after binds cleanly.
	for i := 0; i < 100 && (slapdListening(s.ldapPort) || slapdListening(s.ldapsPort)); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// Close stops slapd and removes its directory.
func (s *Slapd) Close() error {
	err := s.Stop()
	if rmErr := os.RemoveAll(s.Dir); err == nil {
		err = rmErr
	}
	return err
}

// LogTail returns the last n bytes of slapd's log.
func (s *Slapd) LogTail(n int) string {
	data, err := os.ReadFile(s.logPath())
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}

func slapdPortFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func slapdFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
