package ldap

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

// RevokeMode says what Revoke does to the entry after clearing its groups.
type RevokeMode string

const (
	// RevokeDisable locks the entry and keeps it (the default).
	RevokeDisable RevokeMode = "disable"
	// RevokeDelete locks, then deletes the entry.
	RevokeDelete RevokeMode = "delete"
)

// RevokeResult says what one Revoke call found and did.
type RevokeResult struct {
	// Absent is true when the entry did not exist when Revoke started.
	Absent bool
	// Locked is true when the entry is locked (by this call or before).
	Locked bool
	// Deleted is true when this call deleted the entry.
	Deleted bool
	// RemovedFrom lists the groups this call removed the DN from.
	RemovedFrom []string
}

// Revoke ends the account's access, idempotently:
//
//  1. lock it (pwdAccountLockedTime=000001010000Z, or ACCOUNTDISABLE on AD),
//     so binds are refused from the first step on;
//  2. remove the DN from every group under the group base that lists it,
//     not only the groups sunset added, since out-of-band additions count
//     (and done even when the entry is already gone, so a dangling
//     membership cannot pass to a future entry of the same DN);
//  3. in RevokeDelete mode, delete the entry.
//
// Locking first means a failure at step 2 or 3 leaves the account locked,
// never usable. An absent entry is success.
func (c *Client) Revoke(ctx context.Context, dn string, mode RevokeMode) (RevokeResult, error) {
	var res RevokeResult
	switch mode {
	case "", RevokeDisable, RevokeDelete:
	default:
		return res, fmt.Errorf("ldap: revoke mode %q is not %q or %q", mode, RevokeDisable, RevokeDelete)
	}
	if err := c.checkScope(dn); err != nil {
		return res, err
	}
	conn, release, err := c.connect(ctx)
	if err != nil {
		return res, err
	}
	defer release()

	e, err := c.lookup(conn, dn, c.stateAttributes())
	if err != nil {
		return res, err
	}
	res.Absent = e == nil
	if e != nil {
		if err := c.lock(conn, e); err != nil {
			return res, err
		}
		res.Locked = true
	}
	groups, err := c.groupsListing(ctx, conn, dn)
	if err != nil {
		return res, err
	}
	for _, g := range groups {
		if err := c.removeMember(conn, g, dn); err != nil {
			return res, err
		}
		res.RemovedFrom = append(res.RemovedFrom, g)
	}
	if e != nil && mode == RevokeDelete {
		err := conn.Del(goldap.NewDelRequest(dn, nil))
		if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			return res, fmt.Errorf("ldap: delete %s (it is locked and out of its groups): %w", dn, err)
		}
		res.Deleted = err == nil
	}
	return res, nil
}

// lock applies the flavour's administrative lock, unless already there.
func (c *Client) lock(conn *goldap.Conn, e *goldap.Entry) error {
	mod := goldap.NewModifyRequest(e.DN, nil)
	if c.cfg.flavor() == FlavorActiveDirectory {
		raw := e.GetEqualFoldAttributeValue("userAccountControl")
		uac, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("ldap: %s: userAccountControl %q is not a number", e.DN, raw)
		}
		if uac&UACAccountDisable != 0 {
			return nil
		}
		// Delete the old value and add the new one in one operation: if
		// someone changed the flags meanwhile, the delete fails instead of
		// our write clobbering theirs.
		mod.Delete("userAccountControl", []string{raw})
		mod.Add("userAccountControl", []string{strconv.FormatInt(uac|UACAccountDisable, 10)})
	} else {
		if e.GetEqualFoldAttributeValue("pwdAccountLockedTime") == PermanentLock {
			return nil
		}
		mod.Replace("pwdAccountLockedTime", []string{PermanentLock})
	}
	if err := conn.Modify(mod); err != nil {
		return fmt.Errorf("ldap: lock %s: %w", e.DN, err)
	}
	return nil
}

// VerifyOptions adds evidence Verify can gather.
type VerifyOptions struct {
	// Password, when known (a test, a rotation), is tried in a simple
	// bind; access is gone only if the directory refuses it.
	Password *string
}

// Verify is connector.Target's check, without a password.
func (c *Client) Verify(ctx context.Context, key string) (connector.Verification, error) {
	return c.VerifyWith(ctx, key, VerifyOptions{})
}

// VerifyWith reads the account back and says whether its access is gone:
// the entry is absent, or it is locked and no group lists it; and, when a
// password is given, a bind with it is refused. Anything it cannot read is
// an error, never "gone".
func (c *Client) VerifyWith(ctx context.Context, dn string, opts VerifyOptions) (connector.Verification, error) {
	var v connector.Verification
	if err := c.checkScope(dn); err != nil {
		return v, err
	}
	conn, release, err := c.connect(ctx)
	if err != nil {
		return v, err
	}
	defer release()

	v.CheckedAt = c.serverTime(conn)
	e, err := c.lookup(conn, dn, c.stateAttributes())
	if err != nil {
		return v, err
	}
	groups, err := c.groupsListing(ctx, conn, dn)
	if err != nil {
		return v, err
	}
	var checked []string
	if e == nil {
		v.Absent, v.Gone = true, true
		checked = append(checked, "entry absent")
	} else {
		st, err := c.readState(e)
		if err != nil {
			return v, err
		}
		v.Gone = st.locked && len(groups) == 0
		checked = append(checked, st.parts...)
		if st.locked && c.cfg.flavor() == FlavorOpenLDAP {
			// Without the overlay the lock attribute is inert data.
			ok, err := c.ppolicyAdvertised(conn)
			if err != nil {
				return v, err
			}
			if !ok {
				v.Gone = false
				checked = append(checked, "ppolicy control not advertised, so the lock is not enforced")
			}
		}
	}
	checked = append(checked, groupCount(groups))
	if opts.Password != nil {
		ok, diag, err := c.bindCheck(ctx, dn, *opts.Password)
		if err != nil {
			return connector.Verification{}, err
		}
		if ok {
			v.Gone = false
			checked = append(checked, "bind accepted")
		} else {
			refused := "bind refused"
			if diag != "" {
				refused += " (" + diag + ")"
			}
			checked = append(checked, refused)
		}
	}
	v.Checked = strings.Join(checked, ", ")
	return v, nil
}

func groupCount(groups []string) string {
	switch len(groups) {
	case 0:
		return "0 groups"
	case 1:
		return "1 group (" + groups[0] + ")"
	default:
		return fmt.Sprintf("%d groups (%s)", len(groups), strings.Join(groups, "; "))
	}
}
