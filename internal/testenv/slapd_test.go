package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

func slapdTestDial(t *testing.T, s *Slapd) *ldap.Conn {
	t.Helper()
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CA file holds no certificate")
	}
	c, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}))
	if err != nil {
		t.Fatalf("ldaps dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetTimeout(10 * time.Second)
	if err := c.Bind(s.BindDN, s.BindPassword); err != nil {
		t.Fatalf("bind: %v", err)
	}
	return c
}

func slapdTestCount(t *testing.T, c *ldap.Conn, base, filter string) int {
	t.Helper()
	res, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 10, false, filter, []string{"dn"}, nil))
	if err != nil {
		t.Fatalf("search %s: %v", filter, err)
	}
	return len(res.Entries)
}

func TestSlapdServesTLSAndSurvivesKill(t *testing.T) {
	s := SlapdForTest(t)
	c := slapdTestDial(t, s)
	if n := slapdTestCount(t, c, s.BaseDN, "(|(ou=people)(ou=groups)(cn=default))"); n != 3 {
		t.Fatalf("base entries: got %d, want 3", n)
	}
	add := ldap.NewAddRequest("uid=kept,"+s.PeopleDN, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("uid", []string{"kept"})
	add.Attribute("cn", []string{"kept"})
	add.Attribute("sn", []string{"kept"})
	if err := c.Add(add); err != nil {
		t.Fatal(err)
	}

	// StartTLS on the plain port works with the same CA.
	plain, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(s.CAFile)
	pool.AppendCertsFromPEM(pem)
	if err := plain.StartTLS(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	plain.Close()

	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Search(ldap.NewSearchRequest(s.BaseDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 5, false, "(objectClass=*)", nil, nil)); err == nil {
		t.Fatal("search on a killed server succeeded")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	c2 := slapdTestDial(t, s)
	if n := slapdTestCount(t, c2, s.PeopleDN, "(uid=kept)"); n != 1 {
		t.Fatalf("entry added before the kill: got %d after restart, want 1", n)
	}
}

func TestSlapdBulkLoad(t *testing.T) {
	if err := SlapdAvailable(); err != nil && !ServersRequired() {
		t.Skip(err)
	}
	ldif := filepath.Join(t.TempDir(), "bulk.ldif")
	f, err := os.Create(ldif)
	if err != nil {
		t.Fatal(err)
	}
	if err := SlapdWriteBulkLDIF(f, SlapdBulkSpec{Accounts: 50, Groups: 3, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s := SlapdForTestWith(t, SlapdOptions{LDIFFile: ldif})
	if s.LoadTime <= 0 {
		t.Fatalf("LoadTime not measured: %v", s.LoadTime)
	}
	c := slapdTestDial(t, s)
	if n := slapdTestCount(t, c, s.PeopleDN, "(objectClass=inetOrgPerson)"); n != 50 {
		t.Fatalf("accounts: got %d, want 50", n)
	}
	if n := slapdTestCount(t, c, s.PeopleDN, "(memberOf=cn=group0001,"+s.GroupsDN+")"); n != 17 {
		t.Fatalf("members of group0001 by memberOf: got %d, want 17", n)
	}
}
