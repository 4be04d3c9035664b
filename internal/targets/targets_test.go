package targets

import (
	"context"
	"fmt"
	"strings"
	"testing"

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

func TestLDAPStartTLS(t *testing.T) {
	for url, want := range map[string]bool{
		"ldap://ldap.corp.example":     true,
		"ldap://127.0.0.1:3389":        false,
		"ldap://localhost":             false,
		"ldap://[::1]:389":             false,
		"ldaps://ldap.corp.example":    false,
		"LDAP://LDAP.CORP.EXAMPLE:389": true,
	} {
		if got := LDAPStartTLS(url, false); got != want {
			t.Errorf("LDAPStartTLS(%q) = %v, want %v", url, got, want)
		}
	}
	if LDAPStartTLS("ldap://ldap.corp.example", true) {
		t.Error("insecure = true must not force StartTLS")
	}
}
