package ldap

import (
	"context"
	"fmt"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

// accountFilter selects the entries that can authenticate: people and
// POSIX accounts, service accounts as simpleSecurityObject; on AD, users
// that are not computers.
func (c *Client) accountFilter() string {
	if c.cfg.flavor() == FlavorActiveDirectory {
		return "(&(objectClass=user)(!(objectClass=computer)))"
	}
	return "(|(objectClass=person)(objectClass=posixAccount)(objectClass=simpleSecurityObject))"
}

func (c *Client) nameAttributes() []string {
	if c.cfg.flavor() == FlavorActiveDirectory {
		return []string{"sAMAccountName", "cn"}
	}
	return []string{"uid", "cn"}
}

// Inventory streams every account under BaseDN, one RFC 2696 page at a
// time, with its lock, expiry and groups. Key is the DN.
//
// Groups come from the accounts' memberOf when the directory maintains it
// (always on AD; on OpenLDAP when the memberof overlay is active, which a
// probe checks), so memory stays flat. Without it each account's groups
// are searched one by one: still flat and still right, but one extra
// search per account.
//
// An empty listing is connector.ErrSuspectEmpty: a wrong base or a bind
// account that may not read is far likelier than a directory with no one.
func (c *Client) Inventory(ctx context.Context, fn func(connector.Account) error) error {
	conn, release, err := c.connect(ctx)
	if err != nil {
		return err
	}
	defer release()
	groupBase, err := c.resolveGroupBase(conn)
	if err != nil {
		return err
	}
	useMemberOf, err := c.memberOfMaintained(conn, groupBase)
	if err != nil {
		return err
	}
	attrs := append(append([]string{}, c.nameAttributes()...), c.stateAttributes()...)
	if useMemberOf {
		attrs = append(attrs, "memberOf")
	}
	// Without memberOf, groups are searched per account on a second
	// connection: a directory keeps one paged search per connection, and
	// a nested one would invalidate the outer cursor.
	groupConn := conn
	if !useMemberOf {
		var releaseGroups func()
		groupConn, releaseGroups, err = c.connect(ctx)
		if err != nil {
			return err
		}
		defer releaseGroups()
	}
	// Without the ppolicy overlay, lock and expiry attributes are inert:
	// the accounts stay usable whatever they say.
	enforced := true
	if c.cfg.flavor() == FlavorOpenLDAP {
		if enforced, err = c.ppolicyAdvertised(conn); err != nil {
			return err
		}
	}
	now := c.now()
	count := 0
	err = c.pagedSearch(ctx, conn, c.cfg.BaseDN, c.accountFilter(), attrs, func(e *goldap.Entry) error {
		count++
		a := connector.Account{Key: e.DN, Usable: true}
		for _, n := range c.nameAttributes() {
			if v := e.GetEqualFoldAttributeValue(n); v != "" {
				a.Name = v
				break
			}
		}
		if st, err := c.readState(e); err != nil {
			// One unreadable value must not hide the rest of the
			// directory; the account stays usable (never assume removal).
			a.State = "unreadable state: " + err.Error()
		} else {
			a.Usable = st.usable(now) || !enforced
			a.ExpiresAt = st.expiresAt
			a.State = st.String()
			if !enforced {
				a.State += ", ppolicy control not advertised (lock and expiry not enforced)"
			}
		}
		if useMemberOf {
			a.Groups = e.GetEqualFoldAttributeValues("memberOf")
		} else {
			groups, err := c.groupsListing(ctx, groupConn, e.DN)
			if err != nil {
				return err
			}
			a.Groups = groups
		}
		return fn(a)
	})
	if err != nil {
		return err
	}
	if count == 0 {
		return fmt.Errorf("ldap: no accounts under %s matching %s: %w", c.cfg.BaseDN, c.accountFilter(), connector.ErrSuspectEmpty)
	}
	return nil
}

// memberOfMaintained reports whether accounts' memberOf can be trusted to
// list their groups, without reading any group's member list (a group of
// 100,000 members would cost what paging saves). On OpenLDAP it probes:
// groupOfUniqueNames groups are not covered by the memberof overlay, so any
// with members means no; else an account that carries memberOf must really
// be listed by the first group it names; and if no account carries
// memberOf, no groupOfNames may list an account under BaseDN. When unsure
// the answer is no: per-account searches are slower but always right.
func (c *Client) memberOfMaintained(conn *goldap.Conn, groupBase string) (bool, error) {
	if c.cfg.flavor() == FlavorActiveDirectory {
		return true, nil
	}
	first := func(base, filter string, attrs []string) (*goldap.Entry, error) {
		req := goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 1,
			int(c.cfg.timeout()/time.Second), false, filter, attrs, nil)
		res, err := conn.Search(req)
		if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
			return nil, fmt.Errorf("ldap: probe for memberOf under %s: %w", base, err)
		}
		if res == nil || len(res.Entries) == 0 {
			return nil, nil
		}
		return res.Entries[0], nil
	}
	unique, err := first(groupBase, "(&(objectClass=groupOfUniqueNames)(uniqueMember=*))", []string{"1.1"})
	if err != nil || unique != nil {
		return false, err
	}
	acct, err := first(c.cfg.BaseDN, "(&"+c.accountFilter()+"(memberOf=*))", []string{"memberOf"})
	if err != nil {
		return false, err
	}
	if acct != nil {
		group := acct.GetAttributeValues("memberOf")[0]
		listed, err := first(group, memberFilter(acct.DN), []string{"1.1"})
		if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			return false, err
		}
		return listed != nil, nil
	}
	// dnSubtreeMatch is OpenLDAP's; a server without it errs, and we fall
	// back to the always-right path.
	grp, err := first(groupBase, "(&(objectClass=groupOfNames)(member:dnSubtreeMatch:="+EscapeFilterValue(c.cfg.BaseDN)+"))", []string{"1.1"})
	if err != nil {
		return false, nil
	}
	return grp == nil, nil
}
