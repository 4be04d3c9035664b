package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// PatchOp is one RFC 7644 §3.5.2 operation. Op is "add", "remove" or
// "replace".
type PatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value any    `json:"value,omitempty"`
}

type patchRequest struct {
	Schemas    []string  `json:"schemas"`
	Operations []PatchOp `json:"Operations"`
}

func userPath(id string) string { return "/Users/" + url.PathEscape(id) }

func ifMatch(version string) http.Header {
	if version == "" {
		return nil
	}
	return http.Header{"If-Match": []string{version}}
}

func (c *Client) decodeUserResponse(r *response) (User, error) {
	m, err := r.decodeObject()
	if err != nil {
		return User{}, err
	}
	if c.holdsToken(m) {
		return User{}, c.tokenEchoed(r)
	}
	u, err := c.decodeUser(m)
	if err != nil {
		return User{}, fmt.Errorf("SCIM %s %s: %w", r.method, r.path, err)
	}
	if u.Meta.Version == "" {
		u.Meta.Version = r.header.Get("ETag")
	}
	return u, nil
}

// CreateUser creates a user (POST /Users). See the package documentation
// for how a retried POST avoids creating the user twice.
func (c *Client) CreateUser(ctx context.Context, u User) (User, error) {
	if u.UserName == "" {
		return User{}, errors.New("scim: CreateUser needs a userName")
	}
	r, err := c.do(ctx, http.MethodPost, "/Users", nil, u.resource(), nil)
	if err != nil {
		return User{}, c.scrub(err)
	}
	switch {
	case r.status == http.StatusCreated || r.status == http.StatusOK:
		created, err := c.decodeUserResponse(r)
		return created, c.scrub(err)
	case r.status == http.StatusConflict && r.uncertain:
		// An earlier attempt may have created the user before its answer
		// was lost. Take the user if it is recognisably ours.
		existing, ferr := c.FindUserByUserName(ctx, u.UserName)
		if ferr == nil && (u.ExternalID == "" || existing.ExternalID == u.ExternalID) {
			return existing, nil
		}
		return User{}, c.scrub(fmt.Errorf("%w (after a retry whose first attempt may have landed; looking the user up did not confirm it: %v)", c.httpError(r), ferr))
	}
	return User{}, c.scrub(c.httpError(r))
}

// GetUser reads a user. A missing user is an error wrapping ErrNotFound.
func (c *Client) GetUser(ctx context.Context, id string) (User, error) {
	u, _, err := c.getUser(ctx, id)
	return u, err
}

func (c *Client) getUser(ctx context.Context, id string) (User, *response, error) {
	if id == "" {
		return User{}, nil, errors.New("scim: user id is empty")
	}
	r, err := c.do(ctx, http.MethodGet, userPath(id), nil, nil, nil)
	if err != nil {
		return User{}, nil, c.scrub(err)
	}
	if r.status != http.StatusOK {
		return User{}, r, c.scrub(c.httpError(r))
	}
	u, err := c.decodeUserResponse(r)
	return u, r, c.scrub(err)
}

// ReplaceUser replaces a user (PUT /Users/ID). When u.Meta.Version is set
// it is sent as If-Match; a concurrent change then fails with an error
// wrapping ErrPreconditionFailed instead of being overwritten.
func (c *Client) ReplaceUser(ctx context.Context, u User) (User, error) {
	if u.ID == "" {
		return User{}, errors.New("scim: ReplaceUser needs the user's id")
	}
	r, err := c.do(ctx, http.MethodPut, userPath(u.ID), nil, u.resource(), ifMatch(u.Meta.Version))
	if err != nil {
		return User{}, c.scrub(err)
	}
	if r.status != http.StatusOK {
		return User{}, c.scrub(c.httpError(r))
	}
	out, err := c.decodeUserResponse(r)
	return out, c.scrub(err)
}

// PatchUser applies operations (PATCH /Users/ID), with If-Match when
// version is set. Providers that answer 204 No Content are read back, so
// the returned user is always the current state.
func (c *Client) PatchUser(ctx context.Context, id string, ops []PatchOp, version string) (User, error) {
	if id == "" {
		return User{}, errors.New("scim: user id is empty")
	}
	if len(ops) == 0 {
		return User{}, errors.New("scim: PatchUser needs at least one operation")
	}
	body := patchRequest{Schemas: []string{SchemaPatchOp}, Operations: ops}
	r, err := c.do(ctx, http.MethodPatch, userPath(id), nil, body, ifMatch(version))
	if err != nil {
		return User{}, c.scrub(err)
	}
	switch r.status {
	case http.StatusOK:
		u, err := c.decodeUserResponse(r)
		return u, c.scrub(err)
	case http.StatusNoContent:
		return c.GetUser(ctx, id)
	}
	return User{}, c.scrub(c.httpError(r))
}

// DeactivateUser sets active=false.
func (c *Client) DeactivateUser(ctx context.Context, id string) (User, error) {
	return c.PatchUser(ctx, id, []PatchOp{{Op: "replace", Path: "active", Value: false}}, "")
}

// DeleteUser deletes a user. A missing user is an error wrapping
// ErrNotFound (Revoke treats that as success).
func (c *Client) DeleteUser(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("scim: user id is empty")
	}
	r, err := c.do(ctx, http.MethodDelete, userPath(id), nil, nil, nil)
	if err != nil {
		return c.scrub(err)
	}
	if r.status == http.StatusNoContent || r.status == http.StatusOK {
		return nil
	}
	return c.scrub(c.httpError(r))
}

// FindUserByUserName finds the user with this userName (case-insensitive,
// as userName is in RFC 7643). Results are re-checked on the client, so a
// provider that ignores filters cannot hand back the wrong user. No match
// wraps ErrNotFound; two matches that differ only in case are an error.
func (c *Client) FindUserByUserName(ctx context.Context, userName string) (User, error) {
	f, err := EqFilter("userName", userName)
	if err != nil {
		return User{}, err
	}
	var matches []User
	err = c.ListUsers(ctx, f, 50, func(u User) error {
		if strings.EqualFold(u.UserName, userName) {
			matches = append(matches, u)
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	switch len(matches) {
	case 0:
		return User{}, fmt.Errorf("SCIM user with userName %q: %w", userName, ErrNotFound)
	case 1:
		return matches[0], nil
	}
	for _, u := range matches {
		if u.UserName == userName {
			return u, nil
		}
	}
	return User{}, fmt.Errorf("SCIM userName %q matches %d users", userName, len(matches))
}

// maxPages stops a listing from a server that never ends one.
const maxPages = 1_000_000

// ListUsers streams the users matching filter ("" for all), page by page
// (pageSize 0 means Config.PageSize), calling fn for each. Only one page is
// held in memory. An error from fn stops the listing and is returned.
//
// Paging follows RFC 7644 §3.4.2.4 and what providers really do: the next
// startIndex advances by the number of resources received, not by count,
// because providers cap or shorten pages; the listing ends when startIndex
// passes totalResults, or, when totalResults is missing, at the first empty
// page. A short page before the end never stops it. An empty page while
// totalResults says more remain is an error, not the end: an inventory
// must not silently miss accounts.
func (c *Client) ListUsers(ctx context.Context, filter string, pageSize int, fn func(User) error) error {
	return pageThrough(ctx, c, "/Users", filter, pageSize, c.decodeUserPage, func(u User) string { return u.ID }, fn)
}

func (c *Client) decodeUserPage(r *response) (int, []User, error) {
	total, resources, err := decodeList(r)
	if err != nil {
		return 0, nil, err
	}
	users := make([]User, 0, len(resources))
	for _, res := range resources {
		if c.holdsToken(res) {
			return 0, nil, c.tokenEchoed(r)
		}
		u, err := c.decodeUser(res)
		if err != nil {
			return 0, nil, fmt.Errorf("SCIM GET /Users: %w", err)
		}
		users = append(users, u)
	}
	return total, users, nil
}

// pageThrough is the paging loop shared by ListUsers and Inventory, which
// decode pages differently (Inventory reads four attributes, not all), and
// the group filter checks of membership verification (path "/Groups").
// decode returns totalResults (-1 when absent) and the page's items.
func pageThrough[T any](ctx context.Context, c *Client, path, filter string, pageSize int,
	decode func(*response) (int, []T, error), id func(T) string, fn func(T) error) error {
	if pageSize <= 0 {
		pageSize = c.cfg.PageSize
	}
	start := 1
	prevFirst := ""
	for range maxPages {
		q := url.Values{"startIndex": {strconv.Itoa(start)}, "count": {strconv.Itoa(pageSize)}}
		if filter != "" {
			q.Set("filter", filter)
		}
		r, err := c.do(ctx, http.MethodGet, path, q, nil, nil)
		if err != nil {
			return c.scrub(err)
		}
		if r.status != http.StatusOK {
			return c.scrub(c.httpError(r))
		}
		total, items, err := decode(r)
		if err != nil {
			return c.scrub(fmt.Errorf("%w (startIndex=%d)", err, start))
		}
		if len(items) == 0 {
			if total >= 0 && start <= total {
				return fmt.Errorf("SCIM GET %s: the server reported totalResults=%d but returned nothing at startIndex=%d; refusing to treat a partial listing as complete", path, total, start)
			}
			return nil
		}
		first := id(items[0])
		if first == prevFirst {
			return fmt.Errorf("SCIM GET %s: the server returned the same page for startIndex=%d as for the page before; it does not page", path, start)
		}
		prevFirst = first
		for _, it := range items {
			if err := fn(it); err != nil {
				return err
			}
		}
		start += len(items)
		if total >= 0 && start > total {
			return nil
		}
	}
	return fmt.Errorf("SCIM GET %s: more than %d pages; giving up", path, maxPages)
}

// decodeList reads a ListResponse. total is -1 when totalResults is absent.
func decodeList(r *response) (total int, resources []map[string]any, err error) {
	m, err := r.decodeObject()
	if err != nil {
		return 0, nil, err
	}
	rawTotal, hasTotal := lookupOK(m, "totalResults")
	rawRes := lookup(m, "Resources")
	hasRes := rawRes != nil // "Resources": null alone says nothing
	isList := false
	if schemas, ok := lookup(m, "schemas").([]any); ok {
		for _, s := range schemas {
			isList = isList || s == SchemaListResponse
		}
	}
	if !isList && !hasTotal && !hasRes {
		return 0, nil, fmt.Errorf("SCIM %s %s: HTTP %d: %w: not a ListResponse", r.method, r.path, r.status, ErrMalformedResponse)
	}
	total, err = parseTotal(r, rawTotal)
	if err != nil {
		return 0, nil, err
	}
	if rawRes == nil {
		return total, nil, nil
	}
	list, ok := rawRes.([]any)
	if !ok {
		return 0, nil, fmt.Errorf("SCIM %s %s: %w: Resources is not a list", r.method, r.path, ErrMalformedResponse)
	}
	resources = make([]map[string]any, 0, len(list))
	for _, v := range list {
		res, ok := v.(map[string]any)
		if !ok {
			return 0, nil, fmt.Errorf("SCIM %s %s: %w: a resource is not an object", r.method, r.path, ErrMalformedResponse)
		}
		resources = append(resources, res)
	}
	return total, resources, nil
}

// parseTotal reads totalResults: -1 when absent or null; a number or a
// numeric string (seen in the wild) otherwise.
func parseTotal(r *response, raw any) (int, error) {
	switch v := raw.(type) {
	case nil:
		return -1, nil
	case json.RawMessage:
		if len(v) == 0 || string(v) == "null" {
			return -1, nil
		}
		var n json.Number
		if err := json.Unmarshal(v, &n); err != nil {
			var s string
			if json.Unmarshal(v, &s) != nil {
				return 0, fmt.Errorf("SCIM %s %s: %w: totalResults %s is not a count", r.method, r.path, ErrMalformedResponse, r.client.quote(v))
			}
			n = json.Number(s)
		}
		raw = n
	}
	n, err := strconv.Atoi(stringOf(raw))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("SCIM %s %s: %w: totalResults %s is not a count", r.method, r.path, ErrMalformedResponse, r.client.quote(raw))
	}
	return n, nil
}

// tokenEchoed is the error for an answer that holds the bearer token.
func (c *Client) tokenEchoed(r *response) error {
	return fmt.Errorf("SCIM %s %s: HTTP %d: %w: the answer holds the bearer token this client sent (the server or a proxy echoes request headers); refused so that the token is not stored", r.method, r.path, r.status, ErrMalformedResponse)
}
