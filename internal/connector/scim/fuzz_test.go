package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

// The fuzz targets feed server bytes to the client through a RoundTripper
// that answers every request in process: the whole client runs (retry
// policy, body cap, decoding, error mapping, scrubbing) except the socket,
// at tens of thousands of answers a second. The seed corpora under
// testdata/fuzz hold answers real providers give.

// fuzzToken is the bearer token; seeds echo it the way a debugging proxy
// or a broken server does.
const fuzzToken = "sunset-fuzz-token-4f9c2a"

// maxErrorBytes bounds any error message: a huge body must never become a
// huge error (it ends up in terminals, plans and logs).
const maxErrorBytes = 2048

// canned answers one request with a fixed status, content type and body;
// page, when set, answers list requests after the first page instead.
type canned struct {
	status int
	ct     string
	body   []byte
	page   func(startIndex string) []byte
}

func (a *canned) RoundTrip(req *http.Request) (*http.Response, error) {
	body := a.body
	if a.page != nil {
		if s := req.URL.Query().Get("startIndex"); s != "1" {
			body = a.page(s)
		}
	}
	h := http.Header{}
	if a.ct != "" {
		h.Set("Content-Type", a.ct)
	}
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: -1, Request: req}, nil
}

// fuzzClient makes one attempt per request (a retry would see the same
// bytes) and sends every request to answer.
func fuzzClient(tb testing.TB) (*Client, func(*canned)) {
	c, err := New(Config{URL: "https://scim.example.com/scim/v2", Token: fuzzToken, MaxAttempts: 1, RetryWaitMin: 1, RetryWaitMax: 2})
	if err != nil {
		tb.Fatal(err)
	}
	return c, func(a *canned) { c.http.HTTPClient.Transport = a }
}

// checkError: bounded, token-free.
func checkError(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	if len(msg) > maxErrorBytes {
		t.Fatalf("%s: a %d-byte error: %.300s…", what, len(msg), msg)
	}
	if strings.Contains(msg, fuzzToken) {
		t.Fatalf("%s: the token is in the error: %s", what, msg)
	}
}

// holdsToken reports whether the token is anywhere in v: strings, map keys,
// json.Numbers, nested values, struct fields.
func holdsToken(v any) bool {
	return holds(reflect.ValueOf(v))
}

func holds(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return strings.Contains(v.String(), fuzzToken)
	case reflect.Interface, reflect.Pointer:
		return !v.IsNil() && holds(v.Elem())
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if holds(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			if holds(k) || holds(v.MapIndex(k)) {
				return true
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && holds(v.Field(i)) {
				return true
			}
		}
	}
	return false
}

// jsonObject is encoding/json's own reading of a body as one JSON object,
// the oracle the client's answers are held against.
func jsonObject(ct string, body []byte) (map[string]any, bool) {
	if mt := mediaType(http.Header{"Content-Type": {ct}}); !isJSONMedia(mt) {
		return nil, false
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if d.Decode(&m) != nil || m == nil || d.More() {
		return nil, false
	}
	return m, true
}

// foldValues are the values of every key equal to name ignoring case.
func foldValues(m map[string]any, name string) []any {
	var out []any
	for k, v := range m {
		if strings.EqualFold(k, name) {
			out = append(out, v)
		}
	}
	return out
}

// spelledTwice: some object in body has two keys equal ignoring case.
func spelledTwice(body []byte) bool {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return false
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k, e := range v {
				for _, seen := range keys {
					if strings.EqualFold(k, seen) {
						return true
					}
				}
				keys = append(keys, k)
				if walk(e) {
					return true
				}
			}
		case []any:
			for _, e := range v {
				if walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}

func statusOK(status int) bool { return status >= 100 && status <= 599 }

// FuzzSCIMUserResponse: GET /Users/ID answered with any status, content
// type and body. GetUser either decodes a user that holds no token or
// fails with a short, token-free error; Verify says Gone only on a SCIM 404
// or a user object whose active is unambiguously false, and then GetUser
// agrees.
func FuzzSCIMUserResponse(f *testing.F) {
	for _, s := range []struct {
		status int
		ct, b  string
	}{
		{200, "application/scim+json", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"2819c223","userName":"bjensen","active":true}`},
		{200, "application/json", `{"id":"2819c223","userName":"bjensen","active":"False"}`},
		{200, "", `{"id":"2819c223","userName":"bjensen"}`},
		{200, "application/scim+json", `{"id":"2819c223","active":false,"meta":{"lastModified":"2026-03-01T08:00:00Z"}}`},
		{404, "application/scim+json", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"Resource 2819c223 not found"}`},
		{404, "text/html", `<html><body><h1>404 Not Found</h1></body></html>`},
	} {
		f.Add(s.status, s.ct, []byte(s.b))
	}
	c, answer := fuzzClient(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, status int, ct string, body []byte) {
		if !statusOK(status) {
			return
		}
		answer(&canned{status: status, ct: ct, body: body})
		u, err := c.GetUser(ctx, "2819c223")
		checkError(t, "GetUser", err)
		if err == nil && holdsToken(u) {
			t.Fatalf("the decoded user holds the token: %+v", u)
		}
		v, verr := c.Verify(ctx, "2819c223")
		checkError(t, "Verify", verr)
		if verr != nil && v.Gone {
			t.Fatalf("Verify: Gone with an error: %v", verr)
		}
		if !v.Gone {
			return
		}
		m, isObject := jsonObject(ct, body)
		switch {
		case !isObject:
			t.Fatalf("Gone on HTTP %d with a body that is not one JSON object (%q): %+v", status, ct, v)
		case status == http.StatusNotFound:
			if !v.Absent || err == nil || !errors.Is(err, ErrNotFound) {
				t.Fatalf("Gone on a 404 that GetUser reads as %v", err)
			}
		case status == http.StatusOK:
			for _, a := range foldValues(m, "active") {
				if b, ok := parseBool(a); !ok || b {
					t.Fatalf("Gone although the body says active=%v", a)
				}
			}
			if err != nil || u.Active {
				t.Fatalf("Verify says Gone, GetUser says %+v, %v", u, err)
			}
		default:
			t.Fatalf("Gone on HTTP %d", status)
		}
	})
}

// FuzzSCIMListResponse: the first page of GET /Users is any body; later
// pages are empty. ListUsers (whole resources) and Inventory (the lean
// decoder) must read the same accounts, or both refuse the page; nothing
// they return holds the token; errors are short and token-free.
func FuzzSCIMListResponse(f *testing.F) {
	for _, b := range []string{
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":2,"itemsPerPage":2,"startIndex":1,"Resources":[{"id":"1","userName":"alice","active":true,"groups":[{"value":"g1","display":"admins"}]},{"id":"2","userName":"bob","active":false}]}`,
		`{"Resources":[{"id":"1","userName":"alice"}]}`,
		`{"totalResults":0,"Resources":null}`,
		`{"totalResults":"1","resources":[{"ID":"7","USERNAME":"z","Active":"FALSE"}]}`,
	} {
		f.Add("application/scim+json", []byte(b))
	}
	c, answer := fuzzClient(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		answer(&canned{status: 200, ct: ct, body: body, page: func(string) []byte {
			return []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"Resources":[]}`)
		}})
		var users []connector.Account
		lerr := c.ListUsers(ctx, "", 100, func(u User) error {
			if holdsToken(u) {
				t.Fatalf("ListUsers: a user holds the token: %+v", u)
			}
			users = append(users, AccountOf(u))
			return nil
		})
		checkError(t, "ListUsers", lerr)
		var accounts []connector.Account
		ierr := c.Inventory(ctx, func(a connector.Account) error {
			if holdsToken(a) {
				t.Fatalf("Inventory: an account holds the token: %+v", a)
			}
			accounts = append(accounts, a)
			return nil
		})
		checkError(t, "Inventory", ierr)
		if errors.Is(ierr, connector.ErrSuspectEmpty) {
			ierr = nil
		}
		// ListUsers refuses an attribute spelled twice anywhere; Inventory
		// only among the attributes it reads.
		if (lerr == nil) != (ierr == nil) && (lerr == nil || !spelledTwice(body)) {
			t.Fatalf("the decoders disagree: ListUsers %v, Inventory %v", lerr, ierr)
		}
		if lerr == nil && !reflect.DeepEqual(users, accounts) {
			t.Fatalf("the decoders disagree:\nListUsers %+v\nInventory %+v", users, accounts)
		}
	})
}

// FuzzSCIMErrorBody: DELETE /Users/ID answered with any status and body.
// The error is short and token-free whatever the body (SCIM error, HTML,
// garbage); only a 2xx or a 404 whose body is a JSON object lets Revoke
// call the user gone.
func FuzzSCIMErrorBody(f *testing.F) {
	for _, s := range []struct {
		status int
		ct, b  string
	}{
		{400, "application/scim+json", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"scimType":"invalidValue","detail":"Attribute 'active' is readOnly","status":"400"}`},
		{409, "application/scim+json", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"scimType":"uniqueness","detail":"userName is already taken","status":409}`},
		{502, "text/html; charset=utf-8", `<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>`},
		{404, "application/json", `{"timestamp":"2026-01-01T00:00:00Z","status":404,"error":"Not Found","path":"/scim/v2/Users/1"}`},
		{204, "", ``},
	} {
		f.Add(s.status, s.ct, []byte(s.b))
	}
	c, answer := fuzzClient(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, status int, ct string, body []byte) {
		if !statusOK(status) {
			return
		}
		answer(&canned{status: status, ct: ct, body: body})
		err := c.DeleteUser(ctx, "2819c223")
		checkError(t, "DeleteUser", err)
		var he *HTTPError
		if errors.As(err, &he) {
			if he.Status != status || len(he.Detail) > maxErrorBytes/2 || len(he.SCIMType) > maxErrorBytes/2 {
				t.Fatalf("HTTPError %+v for HTTP %d", he, status)
			}
			if strings.ContainsFunc(he.Detail+he.SCIMType, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("control characters in %q / %q", he.SCIMType, he.Detail)
			}
		}
		rerr := c.Revoke(ctx, "2819c223", DeprovisionDelete)
		checkError(t, "Revoke", rerr)
		if rerr == nil && status != 200 && status != 204 {
			if _, ok := jsonObject(ct, body); status != 404 || !ok {
				t.Fatalf("Revoke succeeded on HTTP %d %q %.200q", status, ct, body)
			}
		}
	})
}

// FuzzSCIMGroupMembership: GET /Groups/ID answered with any status and
// body. VerifyGroupMembership says Gone only on a SCIM 404, or on a group
// object whose members are a list of objects none of which is the user. A
// group without members is never Gone here: the same body answers the
// filter checks that follow, and no one body is both a control that
// returns the group and a member filter that returns nothing.
func FuzzSCIMGroupMembership(f *testing.F) {
	for _, s := range []struct {
		status int
		b      string
	}{
		{200, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"admins","members":[{"value":"u1","display":"alice","type":"User"},{"value":"u2"}],"meta":{"resourceType":"Group","lastModified":"2026-03-01T08:00:00Z"}}`},
		{200, `{"id":"g1","displayName":"admins","members":[{"value":"u2"}]}`},
		{200, `{"id":"g1","displayName":"admins"}`},
		{404, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"Group g1 not found"}`},
	} {
		f.Add(s.status, "application/scim+json", []byte(s.b))
	}
	c, answer := fuzzClient(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, status int, ct string, body []byte) {
		if !statusOK(status) {
			return
		}
		answer(&canned{status: status, ct: ct, body: body})
		g, gerr := c.GetGroup(ctx, "g1")
		checkError(t, "GetGroup", gerr)
		if gerr == nil && holdsToken(g) {
			t.Fatalf("the decoded group holds the token: %+v", g)
		}
		v, err := c.VerifyGroupMembership(ctx, "g1", "u1")
		checkError(t, "VerifyGroupMembership", err)
		if !v.Gone {
			return
		}
		m, isObject := jsonObject(ct, body)
		if !isObject || (status != 200 && status != 404) {
			t.Fatalf("Gone on HTTP %d with %q %.200q", status, ct, body)
		}
		if status == 404 {
			return
		}
		listed := false
		for _, members := range foldValues(m, "members") {
			if members == nil {
				continue
			}
			listed = true
			list, ok := members.([]any)
			if !ok {
				t.Fatalf("Gone although members is %T", members)
			}
			for _, e := range list {
				mm, ok := e.(map[string]any)
				if !ok {
					t.Fatalf("Gone although a member is %T", e)
				}
				values := foldValues(mm, "value")
				if len(values) != 1 {
					t.Fatalf("Gone although a member has %d values", len(values))
				}
				if s := stringOf(values[0]); s == "" || s == "u1" {
					t.Fatalf("Gone although a member has value %v", values[0])
				}
			}
		}
		if !listed {
			t.Fatalf("Gone although the group lists no members: %+v", v)
		}
	})
}

// FuzzSCIMEqFilter: EqFilter's value, read back by an RFC 7644 filter
// parser (scim2/filter-parser) and unquoted as the JSON string it is, is
// exactly the input, in exactly one comparison on attr.
func FuzzSCIMEqFilter(f *testing.F) {
	for _, s := range []struct{ attr, value string }{
		{"userName", "bjensen@example.com"},
		{"userName", `x" or userName pr or userName eq "y`},
		{"externalId", `a\"b\\c`},
		{"userName", "tab\there\nnewline\x00nul"},
		{"emails.value", "Zoë O'Brien"},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "701984"},
	} {
		f.Add(s.attr, s.value)
	}
	f.Fuzz(func(t *testing.T, attr, value string) {
		fl, err := EqFilter(attr, value)
		if err != nil {
			if ValidAttrPath(attr) && utf8.ValidString(value) {
				t.Fatalf("EqFilter(%q, %q) refused: %v", attr, value, err)
			}
			return
		}
		if !utf8.ValidString(value) {
			t.Fatalf("EqFilter accepted invalid UTF-8 %q", value)
		}
		if i := strings.LastIndex(attr, ":"); i >= 0 && strings.Contains(attr[:i], "_") {
			return // filter-parser takes no '_' in a schema URN; RFC 8141 does
		}
		exp, err := filter.ParseFilter([]byte(fl))
		if err != nil {
			t.Fatalf("%s does not parse as a filter: %v", fl, err)
		}
		ae, ok := exp.(*filter.AttributeExpression)
		if !ok {
			t.Fatalf("%s parses as %T (%v), not one comparison", fl, exp, exp)
		}
		if ae.Operator != filter.EQ || !strings.EqualFold(ae.AttributePath.String(), attr) {
			t.Fatalf("%s parses as %v", fl, ae)
		}
		raw, ok := ae.CompareValue.(string)
		if !ok {
			t.Fatalf("%s compares with %T", fl, ae.CompareValue)
		}
		// The parser keeps the string's escapes; the value is JSON.
		var got string
		if err := json.Unmarshal([]byte(`"`+raw+`"`), &got); err != nil || got != value {
			t.Fatalf("%s reads back as %q (%v), not %q", fl, got, err, value)
		}
		if QuoteFilterValue(value) != fl[len(fl)-len(QuoteFilterValue(value)):] {
			t.Fatalf("EqFilter and QuoteFilterValue disagree: %s", fl)
		}
	})
}
