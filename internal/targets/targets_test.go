package targets

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/ldap"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/postgres"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/scim"
)

func TestValidateAndKind(t *testing.T) {
	pg := &postgres.Config{DSN: "postgres://u:pw@127.0.0.1:1/db"}
	cases := []struct {
		c    Config
		kind string
		err  string
	}{
		{Config{Name: "warehouse", Postgres: pg}, "postgres", ""},
		{Config{Name: "slack", SCIM: &scim.Config{}}, "scim", ""},
		{Config{Name: "corp", LDAP: &ldap.Config{}}, "ldap", ""},
		{Config{Name: "both", Postgres: pg, SCIM: &scim.Config{}}, "", "2 connector blocks (postgres, scim)"},
		{Config{Name: "none"}, "", "0 connector blocks"},
		{Config{Name: "a/b", Postgres: pg}, "postgres", "target name \"a/b\""},
	}
	for _, c := range cases {
		if c.c.Kind() != c.kind {
			t.Errorf("%s: Kind = %q, want %q", c.c.Name, c.c.Kind(), c.kind)
		}
		err := c.c.Validate()
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: Validate = %v, want %q", c.c.Name, err, c.err)
		}
	}
}

func TestSecretsStayOutOfStringsAndErrors(t *testing.T) {
	const pw = "Xq9-secret-Zz"
	c := Config{Name: "warehouse", Postgres: &postgres.Config{DSN: "postgres://u:" + pw + "@127.0.0.1:1/db?connect_timeout=2"}}
	for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%+v", c)} {
		if strings.Contains(s, pw) {
			t.Fatalf("formatted config leaks the password: %s", s)
		}
	}
	// Nothing listens on port 1: Open fails, and the error names the target
	// without the password.
	_, err := Open(context.Background(), c)
	if err == nil {
		t.Fatal("Open to a closed port succeeded")
	}
	if strings.Contains(err.Error(), pw) || !strings.Contains(err.Error(), `target "warehouse" (postgres)`) {
		t.Fatalf("error = %v", err)
	}
	s := Config{Name: "slack", SCIM: &scim.Config{URL: "https://scim.example/v2", Token: pw}}
	if _, err := Open(context.Background(), s); err != nil {
		t.Fatalf("SCIM open makes no request and must succeed: %v", err)
	}
	if _, err := Open(context.Background(), Config{Name: "slack", SCIM: &scim.Config{URL: "http://scim.example/v2", Token: pw}}); err == nil || strings.Contains(err.Error(), pw) {
		t.Fatalf("plain http to a remote SCIM host must be refused without the token: %v", err)
	}
}

func TestFields(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600)
	c, err := SCIMFields{URL: "https://x", Token: "t", Timeout: "90s", RetryWaitMax: "100ms", MaxAttempts: 3, CAFile: ca, InsecureHTTP: true}.Config("sunset-scan")
	if err != nil {
		t.Fatal(err)
	}
	if c.Timeout != 90*time.Second || c.RetryWaitMax != 100*time.Millisecond || c.RetryWaitMin != 100*time.Millisecond || c.MaxAttempts != 3 ||
		len(c.CACertPEM) == 0 || !c.AllowInsecureHTTP || c.UserAgent != "sunset-scan" {
		t.Errorf("scim config = %+v", c)
	}
	for _, f := range []SCIMFields{{Timeout: "soon"}, {RetryWaitMax: "-1s"}, {MaxAttempts: 21}, {CAFile: filepath.Join(t.TempDir(), "none.pem")}} {
		if _, err := f.Config(""); err == nil {
			t.Errorf("%+v accepted", f)
		}
	}
	l, err := LDAPFields{URL: "ldap://h", StartTLS: true, Flavor: "active_directory", GroupBaseDN: "ou=g", EmptyGroupMember: "cn=nobody", Timeout: "5s"}.Config()
	if err != nil || l.Timeout != 5*time.Second {
		t.Errorf("ldap timeout = %v, %v", l.Timeout, err)
	}
	if _, err := (LDAPFields{Timeout: "soon"}).Config(); err == nil {
		t.Error("ldap timeout \"soon\" accepted")
	}
	if d, err := PostgresTimeout(""); err != nil || d != DefaultTimeout {
		t.Errorf("postgres default timeout = %v, %v", d, err)
	}
	if _, err := PostgresTimeout("-1s"); err == nil {
		t.Error("postgres timeout -1s accepted")
	}
	if !l.StartTLS || l.Flavor != ldap.FlavorActiveDirectory || l.GroupBaseDN != "ou=g" || l.EmptyGroupMember != "cn=nobody" {
		t.Errorf("ldap config = %+v", l)
	}
}

// ca_file is read with a bound: /dev/zero or a huge file is an error
// naming the field, not a hang or a heap the size of the file.
func TestCAFileIsBounded(t *testing.T) {
	dir := t.TempDir()
	at := filepath.Join(dir, "at-limit.pem")
	over := filepath.Join(dir, "over-limit.pem")
	if err := os.WriteFile(at, make([]byte, MaxCAFileBytes), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(over, make([]byte, MaxCAFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := (SCIMFields{URL: "https://x", Token: "t", CAFile: at}).Config(""); err != nil || len(c.CACertPEM) != MaxCAFileBytes {
		t.Errorf("a file of exactly %d bytes: %d bytes, %v", MaxCAFileBytes, len(c.CACertPEM), err)
	}
	for _, p := range []string{over, "/dev/zero"} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := (SCIMFields{URL: "https://x", Token: "t", CAFile: p}).Config("")
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "scim.ca_file: "+p+" is larger than 1 MiB") {
				t.Errorf("%s: %v", p, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("reading %s as ca_file did not stop", p)
		}
	}
}
