package ldap

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// ppolicyControlOID is the password policy control (draft-behera); slapd
// advertises it in the root DSE's supportedControl when the ppolicy overlay
// is loaded.
const ppolicyControlOID = "1.3.6.1.4.1.42.2.27.8.5.1"

// ErrLockNotEnforced is returned (wrapped) when the directory does not
// refuse a bind for an entry with pwdAccountLockedTime or a past pwdEndTime.
//
// OpenLDAP's ppolicy enforces those attributes only for entries a password
// policy governs: through the overlay's default policy (ppolicy_default /
// olcPPolicyDefault) or the entry's own pwdPolicySubentry. With the overlay
// loaded but no policy for the entry, slapd 2.5 stores both attributes and
// ignores them (observed on 2.5.13). A client cannot see the default
// policy, so ProbeLockEnforcement tries it.
var ErrLockNotEnforced = errors.New("the directory does not enforce pwdAccountLockedTime / pwdEndTime for accounts here")

// ppolicyAdvertised reports whether the root DSE lists the ppolicy control.
func (c *Client) ppolicyAdvertised(conn *goldap.Conn) (bool, error) {
	root, err := c.lookup(conn, "", []string{"supportedControl"})
	if err != nil {
		return false, err
	}
	return root != nil && slices.Contains(root.GetAttributeValues("supportedControl"), ppolicyControlOID), nil
}

// ProbeLockEnforcement proves on the live directory that the flavour's
// lock and expiry end access, with a throwaway account under parentDN
// (BaseDN when empty): it must bind with its password, then be refused once
// locked, then be refused with a past expiry and no lock. The account is
// deleted afterwards. It writes to the directory: the provider calls it
// before trusting a lock-based revocation; the scanner, which never
// writes, does not.
//
// On Active Directory ACCOUNTDISABLE is always enforced and the probe only
// checks that the client can read the root DSE.
func (c *Client) ProbeLockEnforcement(ctx context.Context, parentDN string) (err error) {
	if parentDN == "" {
		parentDN = c.cfg.BaseDN
	}
	conn, release, err := c.connect(ctx)
	if err != nil {
		return err
	}
	defer release()
	if c.cfg.flavor() == FlavorActiveDirectory {
		_, err := c.lookup(conn, "", []string{"currentTime"})
		return err
	}
	if ok, err := c.ppolicyAdvertised(conn); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("ldap: the root DSE does not list the ppolicy control: the ppolicy overlay is not loaded: %w", ErrLockNotEnforced)
	}

	buf := make([]byte, 16)
	if _, err := rand.Read(buf); err != nil {
		return err
	}
	name := "sunset-lock-probe-" + hex.EncodeToString(buf[:6])
	password := hex.EncodeToString(buf[6:])
	dn, err := BuildDN(c.rdnAttribute(), name, parentDN)
	if err != nil {
		return fmt.Errorf("ldap: %w", err)
	}
	if err := c.checkScope(dn); err != nil {
		return err
	}
	add := goldap.NewAddRequest(dn, nil)
	for _, a := range c.newEntryAttributes(dn, AccountSpec{UID: name}) {
		add.Attribute(a.Type, a.Vals)
	}
	if err := conn.Add(add); err != nil {
		return fmt.Errorf("ldap: lock probe: add %s: %w", dn, err)
	}
	defer func() {
		if delErr := conn.Del(goldap.NewDelRequest(dn, nil)); delErr != nil && err == nil {
			err = fmt.Errorf("ldap: lock probe: remove %s: %w", dn, delErr)
		}
	}()
	if err := c.setPassword(conn, dn, password); err != nil {
		return fmt.Errorf("ldap: lock probe: %w", err)
	}
	steps := []struct {
		what       string
		change     func(*goldap.ModifyRequest)
		wantAccept bool
	}{
		{"unlocked", nil, true},
		{"pwdAccountLockedTime=" + PermanentLock, func(m *goldap.ModifyRequest) {
			m.Replace("pwdAccountLockedTime", []string{PermanentLock})
		}, false},
		{"pwdEndTime in the past", func(m *goldap.ModifyRequest) {
			m.Delete("pwdAccountLockedTime", nil)
			m.Replace("pwdEndTime", []string{FormatGeneralizedTime(c.now().Add(-time.Minute))})
		}, false},
	}
	for _, s := range steps {
		if s.change != nil {
			mod := goldap.NewModifyRequest(dn, nil)
			s.change(mod)
			if err := conn.Modify(mod); err != nil {
				return fmt.Errorf("ldap: lock probe: set %s: %w", s.what, err)
			}
		}
		accepted, _, err := c.bindCheck(ctx, dn, password)
		if err != nil {
			return fmt.Errorf("ldap: lock probe: %w", err)
		}
		switch {
		case s.wantAccept && !accepted:
			return fmt.Errorf("ldap: lock probe: a fresh account under %s cannot bind with its password, so a refused bind would prove nothing", parentDN)
		case !s.wantAccept && accepted:
			return fmt.Errorf("ldap: lock probe: an account with %s could still bind (is a password policy in force for %s? set ppolicy_default): %w", s.what, parentDN, ErrLockNotEnforced)
		}
	}
	return nil
}
