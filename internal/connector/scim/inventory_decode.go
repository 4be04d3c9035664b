package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// accountPage is the lean shape Inventory decodes: four attributes per
// user instead of the whole resource, which roughly halves the client's
// CPU and allocation per user on a large directory. The rules are the
// same as decodeUser's: an id is required, "active" may be a boolean or
// "True"/"False" and is read as active when absent, anything else is an
// error; groups must be a list of objects; id, userName, active, a group's
// value and totalResults may not appear twice in two spellings. Field
// names match case-insensitively (encoding/json). Checking the groups list
// itself for a second spelling would cost a second decode of every list
// (a fifth of the decoder's time); there the last spelling wins.
type accountPage struct {
	Schemas      any
	TotalResults onceRaw
	Resources    []struct {
		ID       scalar
		UserName scalar
		Active   scalar
		Groups   []struct{ Value scalar }
	}
}

// errTwice is an attribute given twice ({"active":true,"Active":false}).
var errTwice = errors.New("an attribute appears twice (names are case-insensitive)")

// scalar is one attribute read as decodeUser sees it (string, json.Number,
// bool, nil; objects and lists as complexValue), refusing a second
// occurrence.
type scalar struct {
	v   any
	set bool
}

// complexValue stands for an object or a list where a scalar was wanted.
type complexValue struct{}

func (s *scalar) UnmarshalJSON(b []byte) error {
	if s.set {
		return errTwice
	}
	s.set = true
	switch b[0] {
	case '"':
		// encoding/json has checked the syntax; only escapes and invalid
		// UTF-8 (replaced by U+FFFD) need its decoder.
		if bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b) {
			s.v = string(b[1 : len(b)-1])
			return nil
		}
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		s.v = str
	case 't':
		s.v = true
	case 'f':
		s.v = false
	case 'n':
		s.v = nil
	case '{', '[':
		s.v = complexValue{}
	default:
		s.v = json.Number(b)
	}
	return nil
}

type onceRaw struct {
	raw json.RawMessage
	set bool
}

func (o *onceRaw) UnmarshalJSON(b []byte) error {
	if o.set {
		return errTwice
	}
	o.set = true
	o.raw = append(json.RawMessage(nil), b...)
	return nil
}

func (c *Client) decodeAccountPage(r *response) (int, []accountItem, error) {
	if mt := mediaType(r.header); !isJSONMedia(mt) {
		return 0, nil, fmt.Errorf("SCIM %s %s: HTTP %d: %w: the body is %s, not SCIM JSON (%d bytes)", r.method, r.path, r.status, ErrMalformedResponse, c.shorten(mt, maxQuoted), len(r.body))
	}
	var p accountPage
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.UseNumber()
	if err := d.Decode(&p); err != nil || !bytes.HasPrefix(bytes.TrimSpace(r.body), []byte("{")) {
		why := "not a JSON ListResponse"
		if errors.Is(err, errTwice) {
			why = errTwice.Error()
		}
		return 0, nil, fmt.Errorf("SCIM %s %s: HTTP %d: %w: %s (%d bytes)", r.method, r.path, r.status, ErrMalformedResponse, why, len(r.body))
	}
	if d.More() {
		return 0, nil, fmt.Errorf("SCIM %s %s: HTTP %d: %w: trailing data after the JSON object", r.method, r.path, r.status, ErrMalformedResponse)
	}
	if p.Resources == nil && p.TotalResults.raw == nil && !listSchema(p.Schemas) {
		return 0, nil, fmt.Errorf("SCIM %s %s: HTTP %d: %w: not a ListResponse", r.method, r.path, r.status, ErrMalformedResponse)
	}
	total, err := parseTotal(r, p.TotalResults.raw)
	if err != nil {
		return 0, nil, err
	}
	items := make([]accountItem, 0, len(p.Resources))
	for _, res := range p.Resources {
		a := accountItem{id: stringOf(res.ID.v), userName: stringOf(res.UserName.v), active: true}
		if a.id == "" {
			return 0, nil, fmt.Errorf("SCIM GET /Users: %w: a user without an id", ErrMalformedResponse)
		}
		if res.Active.v != nil {
			b, ok := parseBool(res.Active.v)
			if !ok {
				return 0, nil, fmt.Errorf("SCIM GET /Users: %w: user %s has active=%s, neither true nor false", ErrMalformedResponse, c.quote(a.id), c.quote(res.Active.v))
			}
			a.active = b
		}
		for _, g := range res.Groups {
			if id := stringOf(g.Value.v); id != "" {
				a.groups = append(a.groups, id)
			}
		}
		if c.holdsToken(a.id) || c.holdsToken(a.userName) || c.holdsToken(a.groups) {
			return 0, nil, c.tokenEchoed(r)
		}
		items = append(items, a)
	}
	return total, items, nil
}

func listSchema(schemas any) bool {
	list, _ := schemas.([]any)
	for _, s := range list {
		if s == SchemaListResponse {
			return true
		}
	}
	return false
}

type accountItem struct {
	id, userName string
	active       bool
	groups       []string
}
