package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SambaDC is a Samba Active Directory domain controller, provisioned into
// a temporary directory and serving LDAP only, for testing the LDAP
// connector's active_directory flavour against a real AD implementation.
//
// It is opt-in (SUNSET_SAMBA_AD=1): Samba's LDAP server has fixed ports
// (389 and 636 on 127.0.0.1), runs as root, and is not part of the
// default toolchain (apt-get install -y samba-ad-dc). Provisioning takes
// about 7 s here.
type SambaDC struct {
	URL, LDAPSURL string
	// BaseDN is the domain (DC=sunset,DC=test); UsersDN its CN=Users.
	BaseDN, UsersDN string
	// BindDN and BindPassword are the domain Administrator's.
	BindDN, BindPassword string
	// CAFile signed the LDAPS certificate for 127.0.0.1.
	CAFile string
	Dir    string

	cmd  *exec.Cmd
	done chan struct{}
}

// SambaDCForTest starts a SambaDC when SUNSET_SAMBA_AD=1 and skips the
// test otherwise; with the variable set, a missing samba fails the test.
func SambaDCForTest(tb testing.TB) *SambaDC {
	tb.Helper()
	if os.Getenv("SUNSET_SAMBA_AD") != "1" {
		tb.Skip("Samba AD DC tests are opt-in: set SUNSET_SAMBA_AD=1 (needs root, apt-get install -y samba-ad-dc, and ports 389/636 free)")
	}
	dc, err := StartSambaDC()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			data, _ := os.ReadFile(filepath.Join(dc.Dir, "samba.log"))
			if len(data) > 4000 {
				data = data[len(data)-4000:]
			}
			tb.Logf("samba log tail:\n%s", data)
		}
		dc.Close()
	})
	return dc
}

// StartSambaDC provisions a domain SUNSET.TEST and starts Samba's LDAP
// service on 127.0.0.1:389 and :636.
func StartSambaDC() (*SambaDC, error) {
	var bins [2]string
	for i, name := range []string{"samba-tool", "samba"} {
		p, err := exec.LookPath(name)
		if err != nil {
			if p, err = exec.LookPath("/usr/sbin/" + name); err != nil {
				return nil, fmt.Errorf("samba AD DC unavailable: %s not found (apt-get install -y samba-ad-dc)", name)
			}
		}
		bins[i] = p
	}
	if !slapdPortFree(389) || !slapdPortFree(636) {
		return nil, fmt.Errorf("samba AD DC needs 127.0.0.1:389 and :636, which are in use")
	}
	dir, err := os.MkdirTemp("", "sunset-samba-")
	if err != nil {
		return nil, err
	}
	pw := make([]byte, 8)
	if _, err := rand.Read(pw); err != nil {
		return nil, err
	}
	dc := &SambaDC{
		URL: "ldap://127.0.0.1:389", LDAPSURL: "ldaps://127.0.0.1:636",
		BaseDN: "DC=sunset,DC=test", UsersDN: "CN=Users,DC=sunset,DC=test",
		BindDN: "CN=Administrator,CN=Users,DC=sunset,DC=test",
		// AD's complexity rules want upper, lower, digit and symbol.
		BindPassword: "Sx1!" + hex.EncodeToString(pw),
		Dir:          dir,
	}
	fail := func(err error) (*SambaDC, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	dc.CAFile, _, _, err = slapdWriteTLS(dir)
	if err != nil {
		return fail(err)
	}
	opts := []string{
		"--option=interfaces=lo", "--option=bind interfaces only=yes",
		"--option=log file=" + filepath.Join(dir, "samba.log"),
		"--option=pid directory=" + dir,
	}
	prov := exec.Command(bins[0], append([]string{"domain", "provision", "--realm=SUNSET.TEST", "--domain=SUNSET",
		"--server-role=dc", "--dns-backend=NONE", "--adminpass=" + dc.BindPassword, "--targetdir=" + dir}, opts...)...)
	if out, err := prov.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("samba-tool domain provision: %v: %s", err, slapdTail(out, 2000)))
	}
	logf, err := os.Create(filepath.Join(dir, "samba.out"))
	if err != nil {
		return fail(err)
	}
	defer logf.Close()
	cmd := exec.Command(bins[1], append([]string{"-i", "-M", "single", "-s", filepath.Join(dir, "etc", "smb.conf"),
		"--option=server services=ldap",
		"--option=tls enabled=yes",
		"--option=tls keyfile=" + filepath.Join(dir, "server.key"),
		"--option=tls certfile=" + filepath.Join(dir, "server.pem"),
		"--option=tls cafile=" + dc.CAFile}, opts...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	dc.cmd, dc.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(dc.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for !(slapdListening(389) && slapdListening(636)) {
		select {
		case <-dc.done:
			out, _ := os.ReadFile(filepath.Join(dir, "samba.out"))
			return fail(fmt.Errorf("samba exited during start: %s", slapdTail(out, 2000)))
		default:
		}
		if time.Now().After(deadline) {
			dc.Close()
			return nil, fmt.Errorf("samba did not listen on 389/636 within 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return dc, nil
}

// Close stops Samba and removes its directory.
func (dc *SambaDC) Close() error {
	if dc.cmd != nil {
		_ = syscall.Kill(-dc.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-dc.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-dc.cmd.Process.Pid, syscall.SIGKILL)
			<-dc.done
		}
		dc.cmd = nil
	}
	return os.RemoveAll(dc.Dir)
}

func slapdTail(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}
