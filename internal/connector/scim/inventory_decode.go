package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// accountPage is the lean shape Inventory decodes: four attributes per
// user instead of the whole resource, which roughly halves the client's
// CPU and allocation per user on a large directory. The rules are the
// same as decodeUser's: an id is required, "active" may be a boolean or
// "True"/"False" and is read as active when absent, anything else is an
// error. Field names match case-insensitively (encoding/json).
type accountPage struct {
	Schemas      []string
	TotalResults json.RawMessage
	Resources    []struct {
		ID       any
		UserName any
		Active   any
		Groups   []struct{ Value any }
	}
}

func decodeAccountPage(r *response) (int, []accountItem, error) {
	if mt := mediaType(r.header); !isJSONMedia(mt) {
		return 0, nil, fmt.Errorf("SCIM %s %s: HTTP %d: %w: the body is %s, not SCIM JSON (%d bytes)", r.method, r.path, r.status, ErrMalformedResponse, mt, len(r.body))
	}
	var p accountPage
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.UseNumber()
	if err := d.Decode(&p); err != nil || !bytes.HasPrefix(bytes.TrimSpace(r.body), []byte("{")) {
		return 0, nil, fmt.Errorf("SCIM %s %s: HTTP %d: %w: not a JSON ListResponse (%d bytes)", r.method, r.path, r.status, ErrMalformedResponse, len(r.body))
	}
	if d.More() {
		return 0, nil, fmt.Errorf("SCIM %s %s: HTTP %d: %w: trailing data after the JSON object", r.method, r.path, r.status, ErrMalformedResponse)
	}
	if p.Resources == nil && p.TotalResults == nil && !slices.Contains(p.Schemas, SchemaListResponse) {
		return 0, nil, fmt.Errorf("SCIM %s %s: HTTP %d: %w: not a ListResponse", r.method, r.path, r.status, ErrMalformedResponse)
	}
	total, err := parseTotal(r, p.TotalResults)
	if err != nil {
		return 0, nil, err
	}
	items := make([]accountItem, 0, len(p.Resources))
	for _, res := range p.Resources {
		a := accountItem{id: stringOf(res.ID), userName: stringOf(res.UserName), active: true}
		if a.id == "" {
			return 0, nil, fmt.Errorf("SCIM GET /Users: %w: a user without an id", ErrMalformedResponse)
		}
		if res.Active != nil {
			b, ok := parseBool(res.Active)
			if !ok {
				return 0, nil, fmt.Errorf("SCIM GET /Users: %w: user %s has active=%v, neither true nor false", ErrMalformedResponse, a.id, res.Active)
			}
			a.active = b
		}
		for _, g := range res.Groups {
			if id := stringOf(g.Value); id != "" {
				a.groups = append(a.groups, id)
			}
		}
		items = append(items, a)
	}
	return total, items, nil
}

type accountItem struct {
	id, userName string
	active       bool
	groups       []string
}
