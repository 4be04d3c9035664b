package testenv

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// scimCall is a bare HTTP call: these tests check the server itself, not
// the client connector.
func scimCall(t *testing.T, s *SCIMServer, method, path, body string, hdr ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", "application/scim+json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode, resp.Header, m
}

func scimFilterPath(f string) string { return "/Users?filter=" + url.QueryEscape(f) }

const scimPatchOpPrefix = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`

func TestSCIMServerRequiresBearerToken(t *testing.T) {
	s := SCIMForTest(t, SCIMOptions{})
	for _, auth := range []string{"", "Bearer wrong", "Basic " + s.Token, "Bearer " + s.Token + "x"} {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/Users", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", auth, resp.StatusCode)
		}
	}
	if st, _, _ := scimCall(t, s, http.MethodGet, "/Users", ""); st != http.StatusOK {
		t.Errorf("with the token: %d", st)
	}
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") || !strings.HasSuffix(s.URL, SCIMBasePath) {
		t.Errorf("URL = %s", s.URL)
	}
}

func TestSCIMServerCRUDAndMeta(t *testing.T) {
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	s := SCIMForTest(t, SCIMOptions{Now: func() time.Time { return now }})
	st, hdr, u := scimCall(t, s, http.MethodPost, "/Users",
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		  "userName":"ann","name":{"givenName":"Ann"},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Ops"}}`)
	if st != http.StatusCreated || hdr.Get("Etag") != `W/"1"` || hdr.Get("Location") == "" {
		t.Fatalf("create: %d %v %v", st, hdr, u)
	}
	id := u["id"].(string)
	if u["active"] != true {
		t.Errorf("a new user is active unless told otherwise: %v", u["active"])
	}
	if st, _, _ := scimCall(t, s, http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ANN"}`); st != http.StatusConflict {
		t.Errorf("duplicate userName (other case): %d, want 409", st)
	}

	now = now.Add(time.Hour)
	st, hdr, u = scimCall(t, s, http.MethodPatch, "/Users/"+id, scimPatchOpPrefix+`{"op":"Replace","path":"active","value":false}]}`, "If-Match", `W/"1"`)
	if st != http.StatusOK || u["active"] != false || hdr.Get("Etag") != `W/"2"` {
		t.Fatalf("PascalCase Replace: %d %v %v", st, hdr.Get("Etag"), u)
	}
	if lm := u["meta"].(map[string]any)["lastModified"]; lm != "2026-05-01T10:00:00Z" {
		t.Errorf("lastModified = %v", lm)
	}
	// A PATCH that changes nothing leaves lastModified and the version.
	now = now.Add(time.Hour)
	_, hdr, u = scimCall(t, s, http.MethodPatch, "/Users/"+id, scimPatchOpPrefix+`{"op":"replace","path":"active","value":false}]}`)
	if lm := u["meta"].(map[string]any)["lastModified"]; lm != "2026-05-01T10:00:00Z" || hdr.Get("Etag") != `W/"2"` {
		t.Errorf("no-op PATCH moved meta: %v %s", lm, hdr.Get("Etag"))
	}
	if st, _, _ := scimCall(t, s, http.MethodPatch, "/Users/"+id, scimPatchOpPrefix+`{"op":"replace","path":"displayName","value":"x"}]}`, "If-Match", `W/"1"`); st != http.StatusPreconditionFailed {
		t.Errorf("stale If-Match: %d, want 412", st)
	}
	// Patch an extension attribute and a sub-attribute, then add an email.
	st, _, u = scimCall(t, s, http.MethodPatch, "/Users/"+id, scimPatchOpPrefix+
		`{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"42"},
		 {"op":"replace","path":"name.familyName","value":"Smith"},
		 {"op":"add","path":"emails","value":[{"value":"ann@example.com","type":"work"}]},
		 {"op":"add","value":{"displayName":"Ann Smith"}}]}`)
	ent, _ := u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)
	name, _ := u["name"].(map[string]any)
	if st != http.StatusOK || ent["employeeNumber"] != "42" || ent["department"] != "Ops" || name["familyName"] != "Smith" || name["givenName"] != "Ann" || u["displayName"] != "Ann Smith" {
		t.Fatalf("patch paths: %d %v", st, u)
	}
	st, _, u = scimCall(t, s, http.MethodPatch, "/Users/"+id, scimPatchOpPrefix+`{"op":"remove","path":"emails[type eq \"work\"]"}]}`)
	if st != http.StatusOK || u["emails"] != nil {
		t.Errorf("remove by value filter: %d %v", st, u["emails"])
	}
	st, _, u = scimCall(t, s, http.MethodPut, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann","active":true}`, "If-Match", `W/"1"`)
	if st != http.StatusPreconditionFailed {
		t.Errorf("PUT with stale If-Match: %d", st)
	}
	if st, _, _ := scimCall(t, s, http.MethodDelete, "/Users/"+id, ""); st != http.StatusNoContent {
		t.Errorf("delete: %d", st)
	}
	if st, _, u := scimCall(t, s, http.MethodGet, "/Users/"+id, ""); st != http.StatusNotFound || u["schemas"] == nil {
		t.Errorf("get after delete: %d %v (want a SCIM 404)", st, u)
	}
}

func TestSCIMServerFilterEscaping(t *testing.T) {
	s := SCIMForTest(t, SCIMOptions{})
	for _, n := range []string{"alice", "bob", `a"b`, `c\d`} {
		if _, err := s.AddUser(SCIMUser{UserName: n}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(f string) int {
		st, _, m := scimCall(t, s, http.MethodGet, scimFilterPath(f), "")
		if st != http.StatusOK {
			t.Fatalf("filter %s: %d %v", f, st, m)
		}
		return int(m["totalResults"].(float64))
	}
	for f, want := range map[string]int{
		`userName eq "a\"b"`:     1,
		`userName eq "c\\d"`:     1,
		`userName eq "A\u0022B"`: 1, // JSON escape, case-insensitive
		`userName eq "alice\" or userName pr or userName eq \"x"`: 0, // escaped: one string
		`userName eq "alice" or userName pr`:                      4, // unescaped: the whole directory
		`userName sw "a"`:                                         2,
		`active eq true and userName ne "bob"`:                    3,
	} {
		if got := count(f); got != want {
			t.Errorf("%s: %d users, want %d", f, got, want)
		}
	}
	if st, _, _ := scimCall(t, s, http.MethodGet, scimFilterPath(`userName eq "x`), ""); st != http.StatusBadRequest {
		t.Errorf("unterminated string: %d, want 400", st)
	}
}

func TestSCIMServerGroups(t *testing.T) {
	s := SCIMForTest(t, SCIMOptions{})
	ids, _ := s.SeedUsers(3)
	gid, err := s.AddGroup("eng", ids[0])
	if err != nil {
		t.Fatal(err)
	}
	st, _, _ := scimCall(t, s, http.MethodPatch, "/Groups/"+gid, scimPatchOpPrefix+`{"op":"Add","path":"members","value":[{"value":"`+ids[1]+`"},{"value":"`+ids[2]+`"}]}]}`)
	if m, _ := s.GroupMembers(gid); st != http.StatusOK || len(m) != 3 {
		t.Fatalf("add members: %d %v", st, m)
	}
	// Entra ID's removal: path "members" with the members as value.
	st, _, _ = scimCall(t, s, http.MethodPatch, "/Groups/"+gid, scimPatchOpPrefix+`{"op":"Remove","path":"members","value":[{"value":"`+ids[1]+`"}]}]}`)
	if m, _ := s.GroupMembers(gid); st != http.StatusOK || len(m) != 2 {
		t.Fatalf("Entra-style remove: %d %v", st, m)
	}
	// RFC style: a value filter in the path.
	st, _, _ = scimCall(t, s, http.MethodPatch, "/Groups/"+gid, scimPatchOpPrefix+`{"op":"remove","path":"members[value eq \"`+ids[2]+`\"]"}]}`)
	if m, _ := s.GroupMembers(gid); st != http.StatusOK || len(m) != 1 || m[0] != ids[0] {
		t.Fatalf("filter remove: %d %v", st, m)
	}
	if u, _ := s.User(ids[0]); len(u.Groups) != 1 || u.Groups[0] != gid {
		t.Errorf("user groups = %v", u.Groups)
	}
	if st, _, _ := scimCall(t, s, http.MethodPatch, "/Groups/"+gid, scimPatchOpPrefix+`{"op":"add","path":"members","value":[{"value":"ghost"}]}]}`); st != http.StatusBadRequest {
		t.Errorf("adding a user that does not exist: %d, want 400", st)
	}
	// Deleting a user takes it out of its groups.
	if err := s.DeleteUser(ids[0]); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.GroupMembers(gid); len(m) != 0 {
		t.Errorf("members after the user was deleted: %v", m)
	}
}

func TestSCIMServerQuirks(t *testing.T) {
	s := SCIMForTest(t, SCIMOptions{Quirks: true})
	ids, _ := s.SeedUsers(30)
	_ = s.SetUserActive(ids[0], false)
	st, _, m := scimCall(t, s, http.MethodGet, "/Users?startIndex=1&count=10", "")
	res, _ := m["Resources"].([]any)
	if st != http.StatusOK || m["totalResults"] != nil || len(res) == 0 || len(res) >= 10 {
		t.Fatalf("list: %d totalResults=%v %d resources", st, m["totalResults"], len(res))
	}
	if a := res[0].(map[string]any)["active"]; a != "False" {
		t.Errorf("active = %#v, want \"False\"", a)
	}
	if a := res[1].(map[string]any)["active"]; a != "True" {
		t.Errorf("active = %#v, want \"True\"", a)
	}
	if st, _, m := scimCall(t, s, http.MethodPatch, "/Users/"+ids[1], scimPatchOpPrefix+`{"op":"Replace","path":"active","value":false}]}`); st != http.StatusNoContent || m != nil {
		t.Errorf("PATCH: %d %v, want 204 without body", st, m)
	}
	if u, _ := s.User(ids[1]); u.Active {
		t.Error("PATCH under quirks did not apply")
	}
	if _, _, m := scimCall(t, s, http.MethodGet, "/Users/nope", ""); m["status"] != float64(404) {
		t.Errorf("error status = %#v, want the number 404", m["status"])
	}
	s.SetQuirks(false)
	if _, _, m := scimCall(t, s, http.MethodGet, "/Users?count=10", ""); m["totalResults"] != float64(30) {
		t.Errorf("strict again: totalResults = %v", m["totalResults"])
	}
}

func TestSCIMServerFaults(t *testing.T) {
	statuses := func(seed uint64) []int {
		s := SCIMForTest(t, SCIMOptions{FaultSeed: seed, FaultRate: 0.5, FaultKinds: []SCIMFault{SCIMFaultTooMany, SCIMFaultUnavailable}, RetryAfter: "3"})
		var out []int
		for range 40 {
			st, hdr, _ := scimCall(t, s, http.MethodGet, "/Users", "")
			if st == http.StatusTooManyRequests && hdr.Get("Retry-After") != "3" {
				t.Errorf("429 without Retry-After: %v", hdr)
			}
			out = append(out, st)
		}
		return out
	}
	a, b, c := statuses(9), statuses(9), statuses(10)
	if scimFmtStatuses(a) != scimFmtStatuses(b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	if scimFmtStatuses(a) == scimFmtStatuses(c) {
		t.Errorf("different seeds, same faults: %v", a)
	}
	failed := 0
	for _, st := range a {
		if st != http.StatusOK {
			failed++
		}
	}
	if failed < 10 || failed > 30 {
		t.Errorf("%d of 40 failed at rate 0.5", failed)
	}

	s := SCIMForTest(t, SCIMOptions{})
	s.SetPermanentFailure(true)
	for range 5 {
		if st, _, _ := scimCall(t, s, http.MethodGet, "/Users", ""); st != http.StatusServiceUnavailable {
			t.Fatalf("permanent failure: %d", st)
		}
	}
	s.SetPermanentFailure(false)
	if st, _, _ := scimCall(t, s, http.MethodGet, "/Users", ""); st != http.StatusOK {
		t.Fatalf("back to normal: %d", st)
	}

	// Dropped after the work: the client sees no answer, the user exists.
	s.FailNext(1, SCIMFaultDropAfter)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/Users", strings.NewReader(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"lost"}`))
	req.Header.Set("Authorization", "Bearer "+s.Token)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("drop-after answered %d", resp.StatusCode)
	}
	if _, ok := s.UserIDByUserName("lost"); !ok {
		t.Error("drop-after did not do the work")
	}
	s.FailNext(1, SCIMFaultDrop)
	req, _ = http.NewRequest(http.MethodPost, s.URL+"/Users", strings.NewReader(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"never"}`))
	req.Header.Set("Authorization", "Bearer "+s.Token)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("drop answered %d", resp.StatusCode)
	}
	if _, ok := s.UserIDByUserName("never"); ok {
		t.Error("drop did the work")
	}
	if st := s.Stats(); st.Faults != 7 {
		t.Errorf("faults counted: %+v, want 7", st)
	}
}

func scimFmtStatuses(v []int) string {
	var b strings.Builder
	for _, n := range v {
		b.WriteString(" ")
		b.WriteString(http.StatusText(n))
	}
	return b.String()
}

func TestSCIMServerLargeDirectoryPaging(t *testing.T) {
	s := SCIMForTest(t, SCIMOptions{})
	start := time.Now()
	ids, err := s.SeedUsers(20000)
	if err != nil {
		t.Fatal(err)
	}
	seedTime := time.Since(start)
	start = time.Now()
	st, _, m := scimCall(t, s, http.MethodGet, "/Users?startIndex=19001&count=1000", "")
	res, _ := m["Resources"].([]any)
	if st != http.StatusOK || len(res) != 1000 || res[999].(map[string]any)["id"] != ids[19999] || m["totalResults"] != float64(20000) {
		t.Fatalf("last page: %d, %d resources", st, len(res))
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a page of 1000 from 20000 users took %v", d)
	}
	start = time.Now()
	if _, _, m := scimCall(t, s, http.MethodGet, scimFilterPath(`userName eq "seed-0019999"`), ""); m["totalResults"] != float64(1) {
		t.Errorf("indexed lookup: %v", m["totalResults"])
	}
	t.Logf("seeded 20000 in %v; indexed lookup %v", seedTime, time.Since(start))
}

// The group-members modes: who shows members (and a user's groups) where,
// and which filters on members are answered. Every mode keeps the
// membership itself intact.
func TestSCIMServerGroupMembersModes(t *testing.T) {
	s := SCIMForTest(t, SCIMOptions{})
	ids, _ := s.SeedUsers(2)
	gid, err := s.AddGroup("eng", ids[0])
	if err != nil {
		t.Fatal(err)
	}
	empty, _ := s.AddGroup("nobody")
	groupFilter := func(f string) string { return "/Groups?filter=" + url.QueryEscape(f) }
	count := func(f string) (int, any) {
		t.Helper()
		st, _, m := scimCall(t, s, http.MethodGet, groupFilter(f), "")
		if st != http.StatusOK {
			return -st, m["scimType"]
		}
		res, _ := m["Resources"].([]any)
		for _, r := range res {
			if _, has := r.(map[string]any)["members"]; has && s.members.Load() != int32(SCIMMembersListed) {
				t.Errorf("%s: members in a list answer", f)
			}
		}
		if n, _ := m["totalResults"].(float64); int(n) != len(res) {
			t.Errorf("%s: totalResults %v for %d resources", f, m["totalResults"], len(res))
		}
		return len(res), nil
	}
	hasMembers := func(path string) bool {
		t.Helper()
		st, _, m := scimCall(t, s, http.MethodGet, path, "")
		if st != http.StatusOK || m["id"] != gid {
			t.Fatalf("GET %s: %d %v", path, st, m)
		}
		_, has := m["members"]
		return has
	}
	member := `id eq "` + gid + `" and members[value eq "` + ids[0] + `"]`
	other := `id eq "` + gid + `" and members[value eq "` + ids[1] + `"]`
	for _, tc := range []struct {
		mode                SCIMGroupMembers
		plain, asked        bool // members in GET /Groups/ID, and with ?attributes=members
		memberFilterRefused bool
	}{
		{SCIMMembersListed, true, true, false},
		{SCIMMembersOnRequest, false, true, false},
		{SCIMMembersFilterOnly, false, false, false},
		{SCIMMembersHidden, false, false, true},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			s.SetGroupMembers(tc.mode)
			if got := hasMembers("/Groups/" + gid); got != tc.plain {
				t.Errorf("members in GET /Groups/ID: %v, want %v", got, tc.plain)
			}
			if got := hasMembers("/Groups/" + gid + "?attributes=members"); got != tc.asked {
				t.Errorf("members in GET /Groups/ID?attributes=members: %v, want %v", got, tc.asked)
			}
			if got := hasMembers("/Groups/" + gid + "?attributes=displayName,Members"); got != tc.asked {
				t.Errorf("members asked among others: %v, want %v", got, tc.asked)
			}
			userGroups := func(path string) bool {
				t.Helper()
				st, _, m := scimCall(t, s, http.MethodGet, path, "")
				if st != http.StatusOK {
					t.Fatalf("GET %s: %d", path, st)
				}
				if res, ok := m["Resources"].([]any); ok && len(res) > 0 {
					m = res[0].(map[string]any)
				}
				_, has := m["groups"]
				return has
			}
			if got := userGroups("/Users/" + ids[0]); got != tc.plain {
				t.Errorf("groups in GET /Users/ID: %v, want %v", got, tc.plain)
			}
			if got := userGroups("/Users/" + ids[0] + "?attributes=groups"); got != tc.asked {
				t.Errorf("groups in GET /Users/ID?attributes=groups: %v, want %v", got, tc.asked)
			}
			if got := userGroups(scimFilterPath(`id eq "` + ids[0] + `"`)); got != tc.plain {
				t.Errorf("groups in a user listing: %v, want %v", got, tc.plain)
			}
			if n, _ := count(`id eq "` + gid + `"`); n != 1 {
				t.Errorf("id eq: %d results, want 1", n)
			}
			if n, _ := count(`id eq "` + empty + `" and members[value eq "` + ids[0] + `"]`); n != 0 && !tc.memberFilterRefused {
				t.Errorf("empty group: %d results, want 0", n)
			}
			n, scimType := count(member)
			n2, _ := count(other)
			switch {
			case tc.memberFilterRefused:
				if n != -http.StatusBadRequest || scimType != "invalidFilter" || n2 != -http.StatusBadRequest {
					t.Errorf("member filter: %d %v / %d, want 400 invalidFilter", n, scimType, n2)
				}
			case n != 1 || n2 != 0:
				t.Errorf("member filter: %d (member) and %d (not a member), want 1 and 0", n, n2)
			}
			if m, _ := s.GroupMembers(gid); len(m) != 1 || m[0] != ids[0] {
				t.Errorf("stored members: %v", m)
			}
		})
	}
	// The parser's own escapes: a member filter whose value is not an id
	// does not match (and is not refused in the modes that answer it).
	s.SetGroupMembers(SCIMMembersFilterOnly)
	if n, _ := count(`id eq "` + gid + `" and members[value eq "x\" or id pr or \"y"]`); n != 0 {
		t.Errorf("escaped quote in a member filter matched %d groups", n)
	}
	if !scimFilterNamesMembers(`not (members pr)`) || scimFilterNamesMembers(`displayName eq "members"`) || scimFilterNamesMembers(`bad filter (`) {
		t.Error("scimFilterNamesMembers misreads a filter")
	}
}
