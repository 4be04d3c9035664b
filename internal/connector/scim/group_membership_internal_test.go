package scim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

// byRequest answers each request by what it asks: the group itself, the
// group with ?attributes=members, the control filter, the member filter.
type byRequest struct {
	group, asked, control, probe answerOf
}

type answerOf struct {
	status int
	body   string
}

func (b *byRequest) RoundTrip(req *http.Request) (*http.Response, error) {
	q := req.URL.Query()
	var a answerOf
	switch f := q.Get("filter"); {
	case strings.HasSuffix(req.URL.Path, "/Groups/g1") && q.Get("attributes") == "":
		a = b.group
	case strings.HasSuffix(req.URL.Path, "/Groups/g1"):
		a = b.asked
	case f == `id eq "g1"`:
		a = b.control
	case f == `id eq "g1" and members[value eq "u1"]`:
		a = b.probe
	default:
		return nil, fmt.Errorf("unexpected request %s", req.URL)
	}
	h := http.Header{"Content-Type": {"application/scim+json"}}
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(bytes.NewReader([]byte(a.body))), ContentLength: -1, Request: req}, nil
}

func listOf(ids ...string) answerOf {
	res := make([]string, len(ids))
	for i, id := range ids {
		res[i] = `{"id":"` + id + `","displayName":"` + id + `"}`
	}
	return answerOf{200, fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":%d,"startIndex":1,"itemsPerPage":%d,"Resources":[%s]}`, len(ids), len(ids), strings.Join(res, ","))}
}

func scimError(status int, scimType string) answerOf {
	return answerOf{status, fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"%d","scimType":%q,"detail":"no"}`, status, scimType)}
}

// Every way the filter check can be inconsistent or refused is an error
// saying the removal cannot be verified: never Gone, never "group gone".
func TestSCIMVerifyGroupMembershipFilterCheck(t *testing.T) {
	c, _ := fuzzClient(t)
	ctx := context.Background()
	noMembers := answerOf{200, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"admins","meta":{"lastModified":"2026-03-01T08:00:00Z"}}`}
	many := make([]string, 12)
	for i := range many {
		many[i] = fmt.Sprintf("g%d", i+1)
	}
	for _, tc := range []struct {
		name           string
		asked, control answerOf
		probe          answerOf
		gone, member   bool
		want           string // in the error, when neither
	}{
		{name: "not a member", control: listOf("g1"), probe: listOf(), gone: true},
		{name: "a member", control: listOf("g1"), probe: listOf("g1"), member: true},
		{name: "filters ignored", control: listOf("g1", "g2"), probe: listOf(), want: `returned 2 group(s): "g1", "g2", not exactly that group`},
		{name: "filters ignored, many groups", control: listOf(many...), probe: listOf(), want: "more than 10 groups"},
		{name: "control finds nothing", control: listOf(), probe: listOf(), want: "returned no group"},
		{name: "control finds another group", control: listOf("g2"), probe: listOf(), want: `returned 1 group(s): "g2"`},
		{name: "probe finds another group", control: listOf("g1"), probe: listOf("g2"), want: "another group than the one filtered on"},
		{name: "member filter refused", control: listOf("g1"), probe: scimError(400, "invalidFilter"), want: "HTTP 400 Bad Request (invalidFilter)"},
		{name: "control refused", control: scimError(400, "invalidFilter"), probe: listOf(), want: "control GET /Groups?filter=id eq"},
		{name: "filtering not implemented", control: listOf("g1"), probe: scimError(501, ""), want: "HTTP 501"},
		{name: "member filter answers 404", control: listOf("g1"), probe: scimError(404, ""), want: "HTTP 404"},
		{name: "asking for members answers 404", asked: scimError(404, ""), control: listOf("g1"), probe: listOf(), want: "?attributes=members: SCIM GET /Groups/g1: HTTP 404"},
		{name: "a count without the results", control: listOf("g1"), probe: answerOf{200, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"Resources":[]}`}, want: "totalResults=1 but returned nothing"},
		{name: "not a list response", control: listOf("g1"), probe: noMembers, want: "not a ListResponse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked := tc.asked
			if asked.status == 0 {
				asked = noMembers
			}
			c.http.HTTPClient.Transport = &byRequest{group: noMembers, asked: asked, control: tc.control, probe: tc.probe}
			v, err := c.VerifyGroupMembership(ctx, "g1", "u1")
			mc, cerr := c.CheckGroupMember(ctx, "g1", "u1")
			switch {
			case tc.gone:
				want := `members not returned; GET /Groups?filter=id eq "g1" and members[value eq "u1"] → 0 results (control: id eq "g1" → 1)`
				if err != nil || !v.Gone || v.Absent || v.Checked != want || v.RemovedAt.IsZero() {
					t.Fatalf("got %+v, %v; want Gone with %q", v, err, want)
				}
				if cerr != nil || mc.Member || mc.Checked != want {
					t.Fatalf("CheckGroupMember = %+v, %v", mc, cerr)
				}
			case tc.member:
				if err != nil || v.Gone || !strings.Contains(v.Checked, "→ 1 result (control") {
					t.Fatalf("got %+v, %v; want a member", v, err)
				}
				if cerr != nil || !mc.Member {
					t.Fatalf("CheckGroupMember = %+v, %v", mc, cerr)
				}
			default:
				if err == nil || v.Gone || v.Absent {
					t.Fatalf("got %+v, %v; want an error", v, err)
				}
				if !errors.Is(err, ErrMembershipUnreadable) || errors.Is(err, connector.ErrNotFound) || errors.Is(cerr, connector.ErrNotFound) ||
					!strings.Contains(err.Error(), `the removal of user "u1" from group "g1" cannot be verified on this server`) ||
					!strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v; want ErrMembershipUnreadable (not ErrNotFound) mentioning %q", err, tc.want)
				}
				if cerr == nil || mc.Member {
					t.Fatalf("CheckGroupMember = %+v, %v", mc, cerr)
				}
			}
		})
	}
}
