package ldap

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

const testSecret = "s3cr3t-bind-pw-XYZ"

func testConfig(url string) Config {
	return Config{URL: url, BindDN: "cn=admin,dc=example,dc=org", BindPassword: testSecret, BaseDN: "dc=example,dc=org"}
}

func TestLDAPConfigRefusesPlainLDAPToRemoteHosts(t *testing.T) {
	for _, url := range []string{"ldap://ldap.corp.example", "ldap://10.0.0.5:389", "ldap://[2001:db8::1]:389"} {
		_, err := New(context.Background(), testConfig(url))
		if err == nil || !strings.Contains(err.Error(), "insecure") {
			t.Errorf("%s: want a refusal naming insecure, got %v", url, err)
		}
		cfg := testConfig(url)
		cfg.Insecure = true
		if _, err := New(context.Background(), cfg); err != nil {
			t.Errorf("%s with insecure: %v", url, err)
		}
		cfg = testConfig(url)
		cfg.StartTLS = true
		if _, err := New(context.Background(), cfg); err != nil {
			t.Errorf("%s with start_tls: %v", url, err)
		}
	}
	for _, url := range []string{"ldap://127.0.0.1:3890", "ldap://localhost", "ldap://[::1]:389", "ldaps://ldap.corp.example"} {
		if _, err := New(context.Background(), testConfig(url)); err != nil {
			t.Errorf("%s: %v", url, err)
		}
	}
}

func TestLDAPConfigValidation(t *testing.T) {
	bad := map[string]func(*Config){
		"no url":             func(c *Config) { c.URL = "" },
		"http":               func(c *Config) { c.URL = "http://x" },
		"creds in url":       func(c *Config) { c.URL = "ldaps://admin:" + testSecret + "@host" },
		"path":               func(c *Config) { c.URL = "ldaps://host/dc=example,dc=org" },
		"starttls on ldaps":  func(c *Config) { c.URL = "ldaps://host"; c.StartTLS = true },
		"flavor":             func(c *Config) { c.Flavor = "novell" },
		"base":               func(c *Config) { c.BaseDN = "example.org" },
		"bind dn":            func(c *Config) { c.BindDN = "" },
		"empty password":     func(c *Config) { c.BindPassword = "" },
		"ca file":            func(c *Config) { c.CAFile = "/nonexistent/ca.pem" },
		"ca file unbounded":  func(c *Config) { c.CAFile = "/dev/zero" },
		"negative timeout":   func(c *Config) { c.Timeout = -1 },
		"bad placeholder dn": func(c *Config) { c.EmptyGroupMember = "nobody" },
	}
	for name, mutate := range bad {
		cfg := testConfig("ldaps://host")
		mutate(&cfg)
		_, err := New(context.Background(), cfg)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), testSecret) {
			t.Errorf("%s: error shows the password: %v", name, err)
		}
	}
}

func TestLDAPSecretsNeverPrinted(t *testing.T) {
	cfg := testConfig("ldaps://ldap.corp.example")
	c, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg),
		fmt.Sprintf("%v %+v %#v %s", c, c, c, c),
		fmt.Sprintf("%+v %#v", struct {
			C   *Client
			Cfg Config
		}{c, cfg}, []any{c, cfg}),
		c.Describe().Endpoint, c.Describe().System,
	} {
		if strings.Contains(s, testSecret) {
			t.Errorf("password printed: %s", s)
		}
	}
	if d := c.Describe(); d.System != "ldap" || d.Endpoint != "ldaps://ldap.corp.example:636 base=dc=example,dc=org" {
		t.Errorf("Describe = %+v", d)
	}
}

func TestLDAPAccountDNAndSpecChecks(t *testing.T) {
	c, err := New(context.Background(), testConfig("ldaps://host"))
	if err != nil {
		t.Fatal(err)
	}
	dn, err := c.AccountDN(AccountSpec{UID: "a,b+c", OU: "ou=people,dc=example,dc=org"})
	if err != nil || dn != `uid=a\,b\+c,ou=people,dc=example,dc=org` {
		t.Errorf("AccountDN = %q, %v", dn, err)
	}
	for name, spec := range map[string]AccountSpec{
		"outside base":    {DN: "uid=x,dc=other,dc=org"},
		"the base itself": {DN: "dc=example,dc=org"},
		"dn and uid":      {DN: "uid=x,dc=example,dc=org", UID: "x"},
		"nothing":         {},
		"bad dn":          {DN: "uid"},
	} {
		if _, err := c.AccountDN(spec); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	empty := ""
	for name, spec := range map[string]AccountSpec{
		"userPassword attr": {Attributes: map[string][]string{"userPassword": {"x"}}},
		"lock attr":         {Attributes: map[string][]string{"PWDACCOUNTLOCKEDTIME": {"x"}}},
		"memberOf":          {Attributes: map[string][]string{"memberOf": {"cn=g"}}},
		"bad attr name":     {Attributes: map[string][]string{"cn;x=y": {"x"}}},
		"bad group":         {Groups: []string{"not a dn"}},
		"empty password":    {Password: &empty},
	} {
		if err := c.checkSpec(spec); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
