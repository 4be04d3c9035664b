package connector

import (
	"fmt"
	"regexp"
	"strings"
)

// TargetNamePattern is what a target name may look like. Keeping it free of
// "/" is what lets TARGET/ACCOUNT split unambiguously even when ACCOUNT is an
// LDAP DN that itself contains a slash.
var TargetNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,62}$`)

// ID joins a target name and the target's own account key into the one key
// used everywhere: resource id, import id, ledger target+account, and the
// scanner's join between state and live inventory.
func ID(target, account string) string {
	return target + "/" + account
}

// ParseID splits TARGET/ACCOUNT at the first slash.
func ParseID(id string) (target, account string, err error) {
	target, account, ok := strings.Cut(id, "/")
	if !ok || account == "" {
		return "", "", fmt.Errorf("id %q is not of the form TARGET/ACCOUNT", id)
	}
	if !validTargetName(target) {
		return "", "", fmt.Errorf("id %q: target name %q must start with a letter and hold only letters, digits, '_' and '-'", id, target)
	}
	return target, account, nil
}

// validTargetName is TargetNamePattern.MatchString without the regexp
// engine: ParseID runs once per credential of a state that may hold a
// hundred thousand.
func validTargetName(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case i > 0 && (c >= '0' && c <= '9' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}
