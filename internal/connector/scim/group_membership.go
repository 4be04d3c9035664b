package scim

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

// ErrMembershipUnreadable is returned (wrapped) when a server shows no
// members of a group and answers no filter that would say whether a user
// is one: the membership can be neither confirmed nor ruled out.
var ErrMembershipUnreadable = errors.New("this SCIM server does not show whether the user is a member of the group")

// MembershipCheck is what a SCIM service says about one user's membership
// of one group, and how it was learnt.
type MembershipCheck struct {
	// Group is the group as GET /Groups/ID returned it; its members may be
	// unlisted (Group.MembersListed).
	Group Group
	// Member reports whether the user is a member.
	Member bool
	// Checked says what was read, for evidence records.
	Checked string
	// CheckedAt is the Date of the last answer, else the local clock.
	CheckedAt time.Time
}

// CheckGroupMember learns whether userID is a member of groupID. A group
// read without members is never taken for "not a member", because
// providers leave members out of GET /Groups/ID (AWS IAM Identity Center)
// and RFC 7643 lets a server omit an attribute without values:
//
//  1. GET /Groups/G: members listed (even an empty list) decides.
//  2. Else GET /Groups/G?attributes=members (RFC 7644 §3.4.2.5): listed decides.
//  3. Else two filters on /Groups. The control `id eq "G"` must return
//     exactly G, which proves the server filters groups; then
//     `id eq "G" and members[value eq "U"]` returns nothing (not a member)
//     or G (a member).
//
// A refused filter, a control that does not return exactly G, a result
// naming another group, or any other failure in step 3 is an error
// wrapping ErrMembershipUnreadable. A missing group (a SCIM 404 on step 1)
// wraps ErrNotFound; no later step can produce ErrNotFound.
func (c *Client) CheckGroupMember(ctx context.Context, groupID, userID string) (MembershipCheck, error) {
	mc, _, err := c.checkGroupMember(ctx, groupID, userID)
	return mc, err
}

func (c *Client) checkGroupMember(ctx context.Context, groupID, userID string) (MembershipCheck, *response, error) {
	if userID == "" {
		return MembershipCheck{}, nil, errors.New("scim: user id is empty")
	}
	g, r, err := c.getGroup(ctx, groupID, nil)
	if err != nil {
		return MembershipCheck{}, r, err
	}
	get := "GET " + groupPath(groupID)
	mc := MembershipCheck{Group: g, CheckedAt: c.date(r)}
	if g.MembersListed {
		mc.decide(g, userID, "("+get+")")
		return mc, r, nil
	}

	// The group may have been deleted since step 1, or the server may
	// dislike the parameter: neither is proof that the membership is gone,
	// so no answer from here on counts as "not found".
	asked, r, err := c.getGroup(ctx, groupID, url.Values{"attributes": {"members"}})
	if err != nil {
		return MembershipCheck{}, r, c.unreadable(groupID, fmt.Errorf("%s?attributes=members: %w", get, err))
	}
	mc.CheckedAt = c.date(r)
	if asked.MembersListed {
		mc.decide(asked, userID, "(members not returned; "+get+"?attributes=members)")
		return mc, r, nil
	}

	control, err := EqFilter("id", groupID)
	if err != nil {
		return MembershipCheck{}, nil, c.unreadable(groupID, err)
	}
	value, err := EqFilter("value", userID)
	if err != nil {
		return MembershipCheck{}, nil, c.unreadable(groupID, err)
	}
	probe := control + " and members[" + value + "]"
	ids, r, err := c.groupIDs(ctx, control)
	if err != nil {
		return MembershipCheck{}, r, c.unreadable(groupID, fmt.Errorf("control GET /Groups?filter=%s: %w", control, err))
	}
	if len(ids) != 1 || ids[0] != groupID {
		return MembershipCheck{}, r, c.unreadable(groupID, fmt.Errorf("the control GET /Groups?filter=%s returned %s, not exactly that group, so the server's group filters cannot be trusted", control, c.idList(ids)))
	}
	ids, r, err = c.groupIDs(ctx, probe)
	if err != nil {
		return MembershipCheck{}, r, c.unreadable(groupID, fmt.Errorf("GET /Groups?filter=%s: %w", probe, err))
	}
	for _, id := range ids {
		if id != groupID {
			return MembershipCheck{}, r, c.unreadable(groupID, fmt.Errorf("GET /Groups?filter=%s returned %s, another group than the one filtered on", probe, c.idList(ids)))
		}
	}
	mc.CheckedAt = c.date(r)
	mc.Member = len(ids) > 0
	mc.Checked = fmt.Sprintf("members not returned; GET /Groups?filter=%s → %s (control: %s → 1)", probe, results(len(ids)), control)
	return mc, r, nil
}

// decide reads the membership from a listed members attribute.
func (mc *MembershipCheck) decide(g Group, userID, how string) {
	mc.Member = g.HasMember(userID)
	in := "in"
	if !mc.Member {
		in = "not in"
	}
	mc.Checked = fmt.Sprintf("user %s %s members %s", userID, in, how)
}

func results(n int) string {
	if n == 1 {
		return "1 result"
	}
	return fmt.Sprintf("%d results", n)
}

// unreadable wraps why step 2 or 3 failed. It keeps the cause's text and
// sentinels except ErrNotFound, which would read as "the group is gone".
func (c *Client) unreadable(groupID string, err error) error {
	return c.scrub(fmt.Errorf("%w: group %s (GET %s returns no members, also not when asked with ?attributes=members): %w",
		ErrMembershipUnreadable, c.quote(groupID), groupPath(groupID), notFoundMasked{err}))
}

// notFoundMasked is err for errors.Is, except that it is never ErrNotFound.
type notFoundMasked struct{ err error }

func (e notFoundMasked) Error() string { return e.err.Error() }
func (e notFoundMasked) Is(target error) bool {
	return target != ErrNotFound && errors.Is(e.err, target)
}

// maxFilterResults: a filter on one group id that matches more than this
// is not filtering; the listing stops there.
const maxFilterResults = 10

var errTooManyResults = errors.New("too many results")

// groupIDs lists the ids of the groups matching filter, at most
// maxFilterResults+1 of them.
func (c *Client) groupIDs(ctx context.Context, filter string) ([]string, *response, error) {
	var ids []string
	var last *response
	decode := func(r *response) (int, []string, error) {
		last = r
		return c.decodeIDPage(r)
	}
	err := pageThrough(ctx, c, "/Groups", filter, maxFilterResults, decode, func(id string) string { return id }, func(id string) error {
		ids = append(ids, id)
		if len(ids) > maxFilterResults {
			return errTooManyResults
		}
		return nil
	})
	if err != nil && !errors.Is(err, errTooManyResults) {
		return nil, last, err
	}
	return ids, last, nil
}

// decodeIDPage reads the ids of a ListResponse page.
func (c *Client) decodeIDPage(r *response) (int, []string, error) {
	total, resources, err := decodeList(r)
	if err != nil {
		return 0, nil, err
	}
	ids := make([]string, 0, len(resources))
	for _, res := range resources {
		if c.holdsToken(res) {
			return 0, nil, c.tokenEchoed(r)
		}
		id := stringOf(lookup(res, "id"))
		if id == "" {
			return 0, nil, fmt.Errorf("SCIM %s %s: %w: a resource without an id", r.method, r.path, ErrMalformedResponse)
		}
		ids = append(ids, id)
	}
	return total, ids, nil
}

// idList shows filter results in an error: how many, and the first few.
func (c *Client) idList(ids []string) string {
	switch {
	case len(ids) == 0:
		return "no group"
	case len(ids) > maxFilterResults:
		return fmt.Sprintf("more than %d groups", maxFilterResults)
	case len(ids) > 3:
		return fmt.Sprintf("%d groups", len(ids))
	}
	out := ""
	for i, id := range ids {
		if i > 0 {
			out += ", "
		}
		out += c.quote(id)
	}
	return fmt.Sprintf("%d group(s): %s", len(ids), out)
}

// VerifyGroupMembership says whether the user's membership of the group is
// gone: Gone (and Absent) on a SCIM 404 for the group, Gone when
// CheckGroupMember finds the user is not a member. A membership that this
// server does not show is an error wrapping ErrMembershipUnreadable, never
// Gone. RemovedAt is the group's meta.lastModified when it says.
func (c *Client) VerifyGroupMembership(ctx context.Context, groupID, userID string) (connector.Verification, error) {
	mc, r, err := c.checkGroupMember(ctx, groupID, userID)
	switch {
	case errors.Is(err, ErrNotFound):
		return connector.Verification{Gone: true, Absent: true, Checked: "404 on GET " + groupPath(groupID), CheckedAt: c.date(r)}, nil
	case errors.Is(err, ErrMembershipUnreadable):
		return connector.Verification{}, fmt.Errorf("the removal of user %s from group %s cannot be verified on this server: %w", c.quote(userID), c.quote(groupID), err)
	case err != nil:
		return connector.Verification{}, err
	}
	v := connector.Verification{Checked: mc.Checked, CheckedAt: mc.CheckedAt}
	if mc.Member {
		return v, nil
	}
	v.Gone = true
	if lm := mc.Group.Meta.LastModified; lm != nil {
		v.RemovedAt = *lm
	}
	return v, nil
}
