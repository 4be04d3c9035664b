package testenv

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	fparser "github.com/scim2/filter-parser/v2"
)

// SCIMGroupMembers is how the test server shows a group's members. Real
// providers differ here, and a client that reads a group without members as
// "the user is not a member" verifies every removal on them (fail-open).
type SCIMGroupMembers int32

const (
	// SCIMMembersListed is the default: groups are returned with their
	// members. An empty group has no members attribute at all (RFC 7643
	// §2.5 lets a server omit an attribute without values, and the
	// library's store does).
	SCIMMembersListed SCIMGroupMembers = iota
	// SCIMMembersOnRequest leaves members out of every group answer (and
	// groups out of every user answer) unless the request asks for them
	// with ?attributes=members (groups) (RFC 7644 §3.4.2.5), as providers
	// that keep large groups cheap do.
	SCIMMembersOnRequest
	// SCIMMembersFilterOnly never returns members or a user's groups, even
	// when asked, but answers /Groups filters that name members
	// (members[value eq "x"]), as AWS IAM Identity Center does.
	SCIMMembersFilterOnly
	// SCIMMembersHidden never returns members or a user's groups and
	// refuses any /Groups filter that names members with 400
	// invalidFilter: membership cannot be read back at all.
	SCIMMembersHidden
)

func (m SCIMGroupMembers) String() string {
	switch m {
	case SCIMMembersListed:
		return "listed"
	case SCIMMembersOnRequest:
		return "on-request"
	case SCIMMembersFilterOnly:
		return "filter-only"
	case SCIMMembersHidden:
		return "hidden"
	}
	return "unknown"
}

// SetGroupMembers switches how groups show their members.
func (s *SCIMServer) SetGroupMembers(m SCIMGroupMembers) { s.members.Store(int32(m)) }

// scimMembersQuirk applies mode to /Groups and /Users requests: it refuses
// member filters (hidden) and strips members from groups and groups from
// users (every mode but listed; on-request only when the request did not
// ask for them).
func scimMembersQuirk(mode SCIMGroupMembers, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attr, schema := "", ""
		switch {
		case scimUnder(r.URL.Path, "/Groups"):
			attr, schema = "members", "urn:ietf:params:scim:schemas:core:2.0:Group"
		case scimUnder(r.URL.Path, "/Users"):
			attr, schema = "groups", "urn:ietf:params:scim:schemas:core:2.0:User"
		default:
			next.ServeHTTP(w, r)
			return
		}
		q := r.URL.Query()
		if mode == SCIMMembersHidden && attr == "members" && scimFilterNamesMembers(q.Get("filter")) {
			scimWriteInvalidFilter(w, "filtering on members is not supported")
			return
		}
		if mode == SCIMMembersOnRequest && r.Method == http.MethodGet && scimAsksFor(q.Get("attributes"), schema, attr) {
			next.ServeHTTP(w, r)
			return
		}
		c := &scimCapture{header: http.Header{}}
		next.ServeHTTP(c, r)
		body := c.body.Bytes()
		if c.status == http.StatusOK || c.status == http.StatusCreated {
			body = scimStrip(body, attr)
		}
		for k, v := range c.header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(c.status)
		_, _ = w.Write(body)
	})
}

// scimUnder reports whether path is the endpoint or one of its resources.
func scimUnder(path, endpoint string) bool {
	rest, ok := strings.CutPrefix(path, SCIMBasePath+endpoint)
	return ok && (rest == "" || strings.HasPrefix(rest, "/"))
}

// scimAsksFor reports whether an attributes parameter (a comma-separated
// list, RFC 7644 §3.4.2.5) names attr, bare or under its schema URN.
func scimAsksFor(list, schema, attr string) bool {
	for _, a := range strings.Split(list, ",") {
		a = strings.TrimSpace(a)
		if strings.EqualFold(a, attr) || strings.EqualFold(a, schema+":"+attr) {
			return true
		}
	}
	return false
}

// scimFilterNamesMembers reports whether a filter refers to members
// anywhere. A filter that does not parse is left to the library, which
// refuses it.
func scimFilterNamesMembers(f string) bool {
	if f == "" {
		return false
	}
	e, err := fparser.ParseFilter([]byte(f))
	if err != nil {
		return false
	}
	var names func(fparser.Expression) bool
	names = func(e fparser.Expression) bool {
		switch e := e.(type) {
		case *fparser.AttributeExpression:
			return strings.EqualFold(e.AttributePath.AttributeName, "members")
		case *fparser.ValuePath:
			return strings.EqualFold(e.AttributePath.AttributeName, "members") || names(e.ValueFilter)
		case *fparser.LogicalExpression:
			return names(e.Left) || names(e.Right)
		case *fparser.NotExpression:
			return names(e.Expression)
		}
		return false
	}
	return names(e)
}

// scimStrip removes attr from a resource or from every resource of a list
// response. Anything that is not a JSON object passes unchanged.
func scimStrip(body []byte, attr string) []byte {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if d.Decode(&m) != nil {
		return body
	}
	delete(m, attr)
	if res, ok := m["Resources"].([]any); ok {
		for _, r := range res {
			if rm, ok := r.(map[string]any); ok {
				delete(rm, attr)
			}
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

func scimWriteInvalidFilter(w http.ResponseWriter, detail string) {
	b, _ := json.Marshal(map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
		"status":   "400",
		"scimType": "invalidFilter",
		"detail":   detail,
	})
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(b)
}
