package ldap

import (
	"strings"
	"unicode"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
)

// CanonicalDN spells dn one way per entry, for joining keys that name the
// same entry: attribute types and values case-folded, escapes decoded and
// re-encoded one way, spaces around separators dropped, multi-valued RDNs
// sorted. A directory compares DNs like that (the naming attributes' matching
// rules ignore case), and it answers with its own spelling
// (uid=alice,ou=people,dc=example,dc=org), while the provider's id keeps the
// spelling of the configuration (uid=alice,OU=People,DC=Example,DC=org) or
// of BuildDN's escaping; the scanner joins state, ledger and inventory on
// this form. A DN that does not parse is returned as it is.
func CanonicalDN(dn string) string {
	if canonicalAlready(dn) {
		return dn
	}
	parsed, err := goldap.ParseDN(dn)
	if err != nil {
		return dn
	}
	for _, rdn := range parsed.RDNs {
		for _, a := range rdn.Attributes {
			a.Type = foldCase(a.Type)
			a.Value = foldCase(a.Value)
		}
	}
	return parsed.String()
}

// foldCase lower-cases s the way DNs are compared (strings.EqualFold, as
// sameDN does): each rune becomes one member of its case-folding orbit,
// the lower-case one where there is one. strings.ToLower is not that: it
// maps İ (U+0130) to i, which EqualFold keeps apart (two entries, one key),
// and keeps ſ (U+017F) apart from s, which EqualFold joins. Bytes that are
// not UTF-8 are kept (ToLower would turn every one into U+FFFD).
func foldCase(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteRune(foldRune(r))
		i += size
	}
	return b.String()
}

func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		return unicode.ToLower(r)
	}
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	if lower := unicode.ToLower(least); lower != least && inOrbit(lower, least) {
		return lower
	}
	return least
}

func inOrbit(r, of rune) bool {
	for f := unicode.SimpleFold(of); f != of; f = unicode.SimpleFold(f) {
		if f == r {
			return true
		}
	}
	return false
}

// canonicalAlready is CanonicalDN's fast path, for the common DN that is
// already in canonical form (lowercase ASCII, nothing escaped, no spaces
// around separators, one attribute per RDN): a scan of a large directory
// calls CanonicalDN once per account.
func canonicalAlready(dn string) bool {
	if dn == "" || dn[0] == ' ' || dn[len(dn)-1] == ' ' {
		return false
	}
	eq, comma := 0, 0
	for i := 0; i < len(dn); i++ {
		switch c := dn[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '@':
		case c == ' ':
			if dn[i-1] == ',' || dn[i-1] == '=' || dn[i+1] == ',' || dn[i+1] == '=' {
				return false
			}
		case c == '=':
			eq++
		case c == ',':
			comma++
		default:
			return false
		}
	}
	return eq == comma+1
}
