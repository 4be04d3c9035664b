package ldap

import (
	"context"
	"fmt"

	goldap "github.com/go-ldap/ldap/v3"
)

// memberFilter matches every group that names dn as a member, whatever the
// group's kind: groupOfNames and AD groups (member), groupOfUniqueNames
// (uniqueMember).
func memberFilter(dn string) string {
	v := EscapeFilterValue(dn)
	return "(|(member=" + v + ")(uniqueMember=" + v + "))"
}

// groupsListing searches the whole group base for groups naming dn. It
// asks the groups, not the account's memberOf: memberOf is only as good as
// an overlay that may be missing, and an out-of-band addition must count.
func (c *Client) groupsListing(ctx context.Context, conn *goldap.Conn, dn string) ([]string, error) {
	base, err := c.resolveGroupBase(conn)
	if err != nil {
		return nil, err
	}
	groups := []string{}
	err = c.pagedSearch(ctx, conn, base, memberFilter(dn), []string{"1.1"}, func(e *goldap.Entry) error {
		groups = append(groups, e.DN)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ldap: groups listing %s: %w", dn, err)
	}
	return groups, nil
}

// addMember adds dn to group's member attribute; already a member is fine.
// A configured placeholder member is dropped once a real member is in.
func (c *Client) addMember(conn *goldap.Conn, group, dn string) error {
	mod := goldap.NewModifyRequest(group, nil)
	mod.Add("member", []string{dn})
	err := conn.Modify(mod)
	if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultAttributeOrValueExists) {
		return fmt.Errorf("ldap: add %s to group %s: %w", dn, group, err)
	}
	if c.cfg.EmptyGroupMember != "" && !sameDN(c.cfg.EmptyGroupMember, dn) {
		drop := goldap.NewModifyRequest(group, nil)
		drop.Delete("member", []string{c.cfg.EmptyGroupMember})
		_ = conn.Modify(drop) // absent placeholder (16) is the usual case
	}
	return nil
}

// removeMember removes dn from group (member, else uniqueMember). Not a
// member (any more) is success. When dn is the last member of a
// groupOfNames, whose schema requires one, the configured
// EmptyGroupMember takes its place in the same operation; without one the
// removal fails with an error that says so, rather than deleting a group
// sunset does not own.
func (c *Client) removeMember(conn *goldap.Conn, group, dn string) error {
	var err error
	for _, attr := range []string{"member", "uniqueMember"} {
		mod := goldap.NewModifyRequest(group, nil)
		mod.Delete(attr, []string{dn})
		err = conn.Modify(mod)
		switch {
		case err == nil, goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject):
			return nil
		case goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchAttribute):
			continue // not in this attribute; try the next
		case goldap.IsErrorWithCode(err, goldap.LDAPResultObjectClassViolation):
			if c.cfg.EmptyGroupMember == "" {
				return fmt.Errorf("ldap: %s is the last member of group %s, whose schema requires one member; set empty_group_member (a placeholder DN) or remove the group: %w", dn, group, err)
			}
			swap := goldap.NewModifyRequest(group, nil)
			swap.Add(attr, []string{c.cfg.EmptyGroupMember})
			swap.Delete(attr, []string{dn})
			if err := conn.Modify(swap); err != nil {
				return fmt.Errorf("ldap: replace last member %s of group %s with %s: %w", dn, group, c.cfg.EmptyGroupMember, err)
			}
			return nil
		default:
			return fmt.Errorf("ldap: remove %s from group %s: %w", dn, group, err)
		}
	}
	return nil
}
