package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Group is a SCIM group (RFC 7643 §4.2).
type Group struct {
	ID, DisplayName, ExternalID string
	// Members is the members list as read; MembersListed says whether the
	// answer held one at all (a list, even empty). Without it, Members says
	// nothing: providers leave members out of GET /Groups/ID (AWS IAM
	// Identity Center), and RFC 7643 lets a server omit an attribute with
	// no values. Use CheckGroupMember to learn whether a user is a member.
	Members       []Member
	MembersListed bool
	Meta          Meta
	// Attributes is the whole resource as read.
	Attributes map[string]any
}

// Member is one group member.
type Member struct {
	// Value is the member's SCIM id.
	Value   string
	Display string
	Type    string
}

// HasMember reports whether the user id is among Members. False says "not a
// member" only when MembersListed.
func (g Group) HasMember(userID string) bool {
	for _, m := range g.Members {
		if m.Value == userID {
			return true
		}
	}
	return false
}

func groupPath(id string) string { return "/Groups/" + url.PathEscape(id) }

// decodeGroup reads a group. Members must be absent, null or a list of
// objects with a value: a membership that cannot be read must never read
// as "not a member". Absent and null (RFC 7643 §2.5: unassigned) leave
// MembersListed false.
func (c *Client) decodeGroup(m map[string]any) (Group, error) {
	g := Group{Attributes: m}
	g.ID = stringOf(lookup(m, "id"))
	if g.ID == "" {
		return Group{}, fmt.Errorf("%w: a group without an id", ErrMalformedResponse)
	}
	g.DisplayName = stringOf(lookup(m, "displayName"))
	g.ExternalID = stringOf(lookup(m, "externalId"))
	if raw := lookup(m, "members"); raw != nil {
		members, ok := raw.([]any)
		if !ok {
			return Group{}, fmt.Errorf("%w: group %s has members that are %s, not a list", ErrMalformedResponse, c.quote(g.ID), c.quote(raw))
		}
		g.MembersListed = true
		for _, v := range members {
			mm, ok := v.(map[string]any)
			if !ok {
				return Group{}, fmt.Errorf("%w: group %s has a member that is not an object", ErrMalformedResponse, c.quote(g.ID))
			}
			value := stringOf(lookup(mm, "value"))
			if value == "" {
				return Group{}, fmt.Errorf("%w: group %s has a member without a value", ErrMalformedResponse, c.quote(g.ID))
			}
			g.Members = append(g.Members, Member{
				Value: value, Display: stringOf(lookup(mm, "display")), Type: stringOf(lookup(mm, "type")),
			})
		}
	}
	g.Meta = parseMeta(m)
	return g, nil
}

func (c *Client) decodeGroupResponse(r *response) (Group, error) {
	m, err := r.decodeObject()
	if err != nil {
		return Group{}, err
	}
	if c.holdsToken(m) {
		return Group{}, c.tokenEchoed(r)
	}
	g, err := c.decodeGroup(m)
	if err != nil {
		return Group{}, fmt.Errorf("SCIM %s %s: %w", r.method, r.path, err)
	}
	if g.Meta.Version == "" {
		g.Meta.Version = r.header.Get("ETag")
	}
	return g, nil
}

// GetGroup reads a group, with its members when the server returns them
// (see Group.MembersListed). Missing wraps ErrNotFound.
func (c *Client) GetGroup(ctx context.Context, id string) (Group, error) {
	g, _, err := c.getGroup(ctx, id, nil)
	return g, err
}

// getGroup is GET /Groups/ID with query parameters (nil for none).
func (c *Client) getGroup(ctx context.Context, id string, query url.Values) (Group, *response, error) {
	if id == "" {
		return Group{}, nil, errors.New("scim: group id is empty")
	}
	r, err := c.do(ctx, http.MethodGet, groupPath(id), query, nil, nil)
	if err != nil {
		return Group{}, nil, c.scrub(err)
	}
	if r.status != http.StatusOK {
		return Group{}, r, c.scrub(c.httpError(r))
	}
	g, err := c.decodeGroupResponse(r)
	return g, r, c.scrub(err)
}

// CreateGroup creates a group with the given members (POST /Groups). Group
// names are not unique in SCIM, so a retried POST can create a duplicate;
// this is meant for setting up fixtures, not for managing groups.
func (c *Client) CreateGroup(ctx context.Context, displayName string, memberIDs ...string) (Group, error) {
	members := make([]any, 0, len(memberIDs))
	for _, id := range memberIDs {
		members = append(members, map[string]any{"value": id})
	}
	body := map[string]any{"schemas": []string{SchemaGroup}, "displayName": displayName}
	if len(members) > 0 {
		body["members"] = members
	}
	r, err := c.do(ctx, http.MethodPost, "/Groups", nil, body, nil)
	if err != nil {
		return Group{}, c.scrub(err)
	}
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		return Group{}, c.scrub(c.httpError(r))
	}
	g, err := c.decodeGroupResponse(r)
	return g, c.scrub(err)
}

// DeleteGroup deletes a group. Missing wraps ErrNotFound.
func (c *Client) DeleteGroup(ctx context.Context, id string) error {
	r, err := c.do(ctx, http.MethodDelete, groupPath(id), nil, nil, nil)
	if err != nil {
		return c.scrub(err)
	}
	if r.status == http.StatusNoContent || r.status == http.StatusOK {
		return nil
	}
	return c.scrub(c.httpError(r))
}

func (c *Client) patchGroup(ctx context.Context, groupID string, op PatchOp) error {
	if groupID == "" {
		return errors.New("scim: group id is empty")
	}
	body := patchRequest{Schemas: []string{SchemaPatchOp}, Operations: []PatchOp{op}}
	r, err := c.do(ctx, http.MethodPatch, groupPath(groupID), nil, body, nil)
	if err != nil {
		return c.scrub(err)
	}
	if r.status == http.StatusOK || r.status == http.StatusNoContent {
		return nil
	}
	return c.scrub(c.httpError(r))
}

// AddGroupMember adds a user to a group. Adding a member twice is not an
// error on conforming providers.
func (c *Client) AddGroupMember(ctx context.Context, groupID, userID string) error {
	if userID == "" {
		return errors.New("scim: user id is empty")
	}
	return c.patchGroup(ctx, groupID, PatchOp{Op: "add", Path: "members", Value: []map[string]string{{"value": userID}}})
}

// RemoveGroupMember removes a user from a group, idempotently: a group that
// no longer exists holds no membership, so its 404 is success too.
func (c *Client) RemoveGroupMember(ctx context.Context, groupID, userID string) error {
	if userID == "" {
		return errors.New("scim: user id is empty")
	}
	err := c.patchGroup(ctx, groupID, PatchOp{Op: "remove", Path: "members[value eq " + QuoteFilterValue(userID) + "]"})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
