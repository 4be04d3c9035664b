package ldap

import (
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

func TestLDAPEscapeFilterValue(t *testing.T) {
	cases := map[string]string{
		"plain":           "plain",
		"*":               `\2a`,
		"(":               `\28`,
		")":               `\29`,
		`\`:               `\5c`,
		"a\x00b":          `a\00b`,
		"*)(uid=*))(|(a=": `\2a\29\28uid=\2a\29\29\28|\28a=`,
		"é":               `\c3\a9`,
	}
	for in, want := range cases {
		if got := EscapeFilterValue(in); got != want {
			t.Errorf("EscapeFilterValue(%q) = %q, want %q", in, got, want)
		}
		// The escaped value must compile as a single equality assertion.
		if _, err := goldap.CompileFilter("(uid=" + EscapeFilterValue(in) + ")"); err != nil {
			t.Errorf("filter with escaped %q does not compile: %v", in, err)
		}
	}
}

func TestLDAPEscapeDNValue(t *testing.T) {
	cases := map[string]string{
		"alice":          "alice",
		"Smith, John":    `Smith\, John`,
		"a+b":            `a\+b`,
		`say "hi"`:       `say \"hi\"`,
		`back\slash`:     `back\\slash`,
		"<x>;y=z":        `\<x\>\;y\=z`,
		"#hash":          `\#hash`,
		"mid#hash":       "mid#hash",
		" lead":          `\ lead`,
		"trail ":         `trail\ `,
		" ":              `\ `,
		"in side":        "in side",
		"nul\x00byte":    `nul\00byte`,
		"tab\tnl\n":      `tab\09nl\0a`,
		"Zoë":            "Zoë",
		"bad\xffutf8":    `bad\ffutf8`,
		"*(wild)\\card*": `*(wild)\\card*`,
	}
	for in, want := range cases {
		got := EscapeDNValue(in)
		if got != want {
			t.Errorf("EscapeDNValue(%q) = %q, want %q", in, got, want)
			continue
		}
		// Round trip: the escaped RDN parses back to exactly one value,
		// the input, in one RDN (no '+' or ',' leaked into structure).
		if strings.ContainsRune(in, 0xfffd) || !validUTF8(in) {
			continue
		}
		dn, err := goldap.ParseDN("uid=" + got + ",ou=people,dc=example,dc=org")
		if err != nil {
			t.Errorf("ParseDN of escaped %q: %v", in, err)
			continue
		}
		if len(dn.RDNs) != 4 || len(dn.RDNs[0].Attributes) != 1 || dn.RDNs[0].Attributes[0].Value != in {
			t.Errorf("escaped %q did not round-trip: %+v", in, dn.RDNs[0].Attributes)
		}
	}
}

func validUTF8(s string) bool { return strings.ToValidUTF8(s, "?") == s }

func TestLDAPBuildDN(t *testing.T) {
	dn, err := BuildDN("uid", "o'neil, jr+", "ou=people,dc=example,dc=org")
	if err != nil || dn != `uid=o'neil\, jr\+,ou=people,dc=example,dc=org` {
		t.Fatalf("BuildDN = %q, %v", dn, err)
	}
	for _, bad := range []struct{ attr, val, parent string }{
		{"uid=x,cn", "v", "dc=org"}, // attribute type injection
		{"uid", "", "dc=org"},
		{"uid", "v", "not a dn"},
		{"uid", "v", ""},
	} {
		if _, err := BuildDN(bad.attr, bad.val, bad.parent); err == nil {
			t.Errorf("BuildDN(%q, %q, %q) accepted", bad.attr, bad.val, bad.parent)
		}
	}
}
