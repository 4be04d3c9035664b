package scim

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// attrPathRE is an RFC 7644 §3.4.2.2 attribute path: an optional schema URN
// prefix, an attribute name, an optional sub-attribute. Each segment of the
// URN is non-empty (RFC 8141): "urn:x:::name" was accepted, and a filter
// parser reads no attribute path in it (found by fuzzing EqFilter).
var attrPathRE = regexp.MustCompile(`^(urn(:[A-Za-z0-9][A-Za-z0-9._-]*)+:)?[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z][A-Za-z0-9_-]*)?$`)

// ValidAttrPath reports whether path is a SCIM attribute path, such as
// "userName", "name.givenName" or
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department".
func ValidAttrPath(path string) bool { return attrPathRE.MatchString(path) }

// QuoteFilterValue renders s as a filter comparison value: a JSON string
// (RFC 7644 §3.4.2.2 takes compValue from JSON), with '"' and '\' escaped and
// control characters as \u00XX. Upper-case hex, because some parsers
// (scim2/filter-parser) accept no other.
func QuoteFilterValue(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// EqFilter builds `attr eq "value"` with the value escaped, so that a value
// such as `x" or userName pr or userName eq "y` stays one string and cannot
// widen the filter. attr must be a valid attribute path.
func EqFilter(attr, value string) (string, error) {
	if !ValidAttrPath(attr) {
		return "", fmt.Errorf("scim: %q is not a SCIM attribute path", attr)
	}
	if !utf8.ValidString(value) {
		return "", fmt.Errorf("scim: filter value for %s is not valid UTF-8", attr)
	}
	return attr + " eq " + QuoteFilterValue(value), nil
}
