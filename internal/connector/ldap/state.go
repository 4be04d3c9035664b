package ldap

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// accountState is what the flavour says about an entry's access: lock and
// expiry, read from the directory's own attributes.
type accountState struct {
	locked    bool
	expiresAt *time.Time
	startsAt  *time.Time
	parts     []string // evidence, in the directory's words
}

func (s accountState) String() string { return strings.Join(s.parts, ", ") }

// usable: not locked, not before its start, not at or past its end.
func (s accountState) usable(now time.Time) bool {
	if s.locked {
		return false
	}
	if s.startsAt != nil && now.Before(*s.startsAt) {
		return false
	}
	return s.expiresAt == nil || now.Before(*s.expiresAt)
}

// stateAttributes are the attributes readState needs. On OpenLDAP the
// ppolicy ones are operational and must be asked for by name.
func (c *Client) stateAttributes() []string {
	if c.cfg.flavor() == FlavorActiveDirectory {
		return []string{"userAccountControl", "accountExpires", "lockoutTime"}
	}
	return []string{"pwdAccountLockedTime", "pwdEndTime", "pwdStartTime"}
}

// readState interprets lock and expiry. An unreadable value is an error:
// guessing could call a usable account locked.
func (c *Client) readState(e *goldap.Entry) (accountState, error) {
	var s accountState
	if c.cfg.flavor() == FlavorActiveDirectory {
		raw := e.GetEqualFoldAttributeValue("userAccountControl")
		if raw == "" {
			return s, fmt.Errorf("ldap: %s has no userAccountControl", e.DN)
		}
		uac, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return s, fmt.Errorf("ldap: %s: userAccountControl %q is not a number", e.DN, raw)
		}
		s.locked = uac&UACAccountDisable != 0
		s.parts = append(s.parts, UACString(uac))
		if v := e.GetEqualFoldAttributeValue("accountExpires"); v != "" {
			t, never, err := ParseFileTime(v)
			if err != nil {
				return s, fmt.Errorf("ldap: %s: accountExpires: %w", e.DN, err)
			}
			if never {
				s.parts = append(s.parts, "accountExpires=never")
			} else {
				s.expiresAt = &t
				s.parts = append(s.parts, "accountExpires="+t.Format(time.RFC3339))
			}
		}
		// lockoutTime is a failed-logon lockout that lapses by itself: told,
		// not counted as locked.
		if v := e.GetEqualFoldAttributeValue("lockoutTime"); v != "" && v != "0" {
			s.parts = append(s.parts, "lockoutTime="+v)
		}
		return s, nil
	}

	switch v := e.GetEqualFoldAttributeValue("pwdAccountLockedTime"); v {
	case "":
		s.parts = append(s.parts, "pwdAccountLockedTime absent")
	case PermanentLock:
		s.locked = true
		s.parts = append(s.parts, "pwdAccountLockedTime="+v)
	default:
		// A timestamp is a failure lockout that pwdLockoutDuration may
		// lift: told, not counted as the administrative lock.
		s.parts = append(s.parts, "pwdAccountLockedTime="+v+" (failure lockout)")
	}
	for _, a := range []struct {
		name string
		dst  **time.Time
	}{{"pwdStartTime", &s.startsAt}, {"pwdEndTime", &s.expiresAt}} {
		v := e.GetEqualFoldAttributeValue(a.name)
		if v == "" {
			continue
		}
		t, err := ParseGeneralizedTime(v)
		if err != nil {
			return s, fmt.Errorf("ldap: %s: %s: %w", e.DN, a.name, err)
		}
		*a.dst = &t
		s.parts = append(s.parts, a.name+"="+v)
	}
	return s, nil
}

// expiryAttribute is the flavour's attribute for ExpiresAt.
func (c *Client) expiryAttribute() string {
	if c.cfg.flavor() == FlavorActiveDirectory {
		return "accountExpires"
	}
	return "pwdEndTime"
}

// expiryValue renders t for expiryAttribute, rounded down so the directory
// never lets the account live past t.
func (c *Client) expiryValue(t time.Time) string {
	if c.cfg.flavor() == FlavorActiveDirectory {
		return strconv.FormatInt(TimeToFileTime(t), 10)
	}
	return FormatGeneralizedTime(t)
}

// sameExpiry compares at the precision the directory stores.
func (c *Client) sameExpiry(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return c.expiryValue(*a) == c.expiryValue(*b)
}
