package ldap

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
)

// EscapeFilterValue escapes a value for use inside a search filter
// assertion, per RFC 4515 §3: '*', '(', ')', '\' and NUL become \2a, \28,
// \29, \5c and \00 (bytes above 0x7f are hex-escaped too, which the RFC
// allows). Every filter built from input goes through here.
func EscapeFilterValue(v string) string {
	return goldap.EscapeFilter(v)
}

// EscapeDNValue escapes an attribute value for use in an RDN, per RFC 4514
// §2.4: a leading '#' or space and a trailing space are backslash-escaped,
// as are '"', '+', ',', ';', '<', '>', '\' and '=' (the last is optional in
// the RFC and escaped for safety); NUL, other control bytes and bytes that
// are not valid UTF-8 become \XX.
func EscapeDNValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, "\\%02x", v[i])
		case (r == ' ' || r == '#') && i == 0:
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == ' ' && i+size == len(v):
			b.WriteString("\\ ")
		case strings.ContainsRune(`"+,;<>\=`, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\%02x", r)
		default:
			b.WriteString(v[i : i+size])
		}
		i += size
	}
	return b.String()
}

var attrTypePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*$`)

// attrDescPattern is an attribute description: a type with options
// (cn;lang-de), RFC 4512 §2.5.
var attrDescPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*(;[A-Za-z0-9-]+)*$`)

// BuildDN joins rdnAttr=<escaped value> and a parent DN. The attribute
// type is checked, never escaped: a type is a schema name, not user data.
func BuildDN(rdnAttr, value, parent string) (string, error) {
	if !attrTypePattern.MatchString(rdnAttr) {
		return "", fmt.Errorf("RDN attribute %q is not an attribute name", rdnAttr)
	}
	if value == "" {
		return "", fmt.Errorf("RDN value for %s is empty", rdnAttr)
	}
	if _, err := goldap.ParseDN(parent); err != nil || strings.TrimSpace(parent) == "" {
		return "", fmt.Errorf("parent DN %q is not a valid DN", parent)
	}
	return rdnAttr + "=" + EscapeDNValue(value) + "," + parent, nil
}

// parseDN parses a DN given as input and refuses an empty one.
func parseDN(what, dn string) (*goldap.DN, error) {
	if strings.TrimSpace(dn) == "" {
		return nil, fmt.Errorf("%s is empty", what)
	}
	parsed, err := goldap.ParseDN(dn)
	if err != nil {
		return nil, fmt.Errorf("%s %q is not a valid DN (RFC 4514): %v", what, dn, err)
	}
	return parsed, nil
}

// sameDN compares two DNs the way a directory does (attribute types and
// values case-insensitively, escapes decoded). Unparseable DNs compare by
// their text.
func sameDN(a, b string) bool {
	pa, errA := goldap.ParseDN(a)
	pb, errB := goldap.ParseDN(b)
	if errA != nil || errB != nil {
		return strings.EqualFold(a, b)
	}
	return pa.EqualFold(pb)
}

// underDN reports whether dn is base or below it.
func underDN(dn, base *goldap.DN) bool {
	return base.EqualFold(dn) || base.AncestorOfFold(dn)
}

func containsDN(list []string, dn string) bool {
	for _, x := range list {
		if sameDN(x, dn) {
			return true
		}
	}
	return false
}
