package ldap

import (
	"strings"
	"testing"
)

func TestCanonicalDN(t *testing.T) {
	// Spellings of one entry, as a configuration, BuildDN and a directory
	// may give them: one key.
	same := [][]string{
		{"uid=alice,ou=people,dc=example,dc=org", "uid=alice,OU=People,DC=Example,DC=org", "UID=Alice, ou=people , dc=example,dc=org"},
		{"cn=john smith,ou=users,dc=corp", "CN=John Smith,OU=Users,DC=corp"},
		{mustBuildDN(t, "uid", `<a>;b="c"`, "ou=people,dc=example,dc=org"), `uid=\3Ca\3E\3Bb=\22c\22,ou=people,dc=example,dc=org`, `uid=\<A\>\;B\=\"C\",ou=people,dc=example,dc=org`},
		{"cn=a+uid=b,dc=x", "uid=B+cn=A,dc=x"},
		{"cn=josé,dc=x", `cn=JOS\c3\89,dc=x`},
		{`cn=\#hash,dc=x`, `cn=\23hash,dc=x`},
		{`cn=\ lead,dc=x`, `cn=\20lead,dc=x`},
	}
	for _, group := range same {
		want := CanonicalDN(group[0])
		for _, dn := range group[1:] {
			if got := CanonicalDN(dn); got != want {
				t.Errorf("CanonicalDN(%q) = %q, want %q (as for %q)", dn, got, want, group[0])
			}
		}
	}
	// Different entries stay different.
	for _, pair := range [][2]string{
		{"uid=alice,ou=people,dc=example,dc=org", "uid=alice2,ou=people,dc=example,dc=org"},
		{"uid=a\\,b,dc=x", "uid=a,b=,dc=x"},
		{"cn=a+uid=b,dc=x", "cn=a,uid=b,dc=x"},
	} {
		if CanonicalDN(pair[0]) == CanonicalDN(pair[1]) {
			t.Errorf("%q and %q got one key %q", pair[0], pair[1], CanonicalDN(pair[0]))
		}
	}
	// The fast path agrees with the parser wherever it applies.
	for _, dn := range []string{
		"uid=alice,ou=people,dc=example,dc=org", "cn=john smith,ou=users,dc=corp", "uid=a.b-c_d@e,dc=x",
		"0.9.2342.19200300.100.1.1=alice,dc=x",
	} {
		if !canonicalAlready(dn) {
			t.Errorf("%q should take the fast path", dn)
			continue
		}
		if slow := slowCanonicalDN(t, dn); slow != dn {
			t.Errorf("fast path keeps %q, the parser gives %q", dn, slow)
		}
	}
	for _, dn := range []string{"", " uid=a,dc=x", "uid=a ,dc=x", "uid=a, dc=x", "uid= a,dc=x", "Uid=a,dc=x", `uid=a\,b,dc=x`, "cn=a+uid=b,dc=x", "uid=a,,dc=x", "uid,dc=x", "cn=é,dc=x", "cn=a=b,dc=x"} {
		if canonicalAlready(dn) {
			t.Errorf("%q must not take the fast path", dn)
		}
	}
	// Unparseable input is kept as it is.
	if got := CanonicalDN("not a dn"); got != "not a dn" {
		t.Errorf("CanonicalDN(not a dn) = %q", got)
	}
}

func mustBuildDN(t *testing.T, attr, value, parent string) string {
	t.Helper()
	dn, err := BuildDN(attr, value, parent)
	if err != nil {
		t.Fatal(err)
	}
	return dn
}

// slowCanonicalDN is CanonicalDN without the fast path.
func slowCanonicalDN(t *testing.T, dn string) string {
	t.Helper()
	p, err := parseDN("dn", dn)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.RDNs {
		for _, a := range r.Attributes {
			a.Type, a.Value = strings.ToLower(a.Type), strings.ToLower(a.Value)
		}
	}
	return p.String()
}
