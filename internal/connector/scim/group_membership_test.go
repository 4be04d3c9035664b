package scim_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/scim"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// Membership verification against each way real providers show (or hide)
// a group's members: Gone only when the user truly left, never while the
// user is a member, and an error (never Gone) where the server cannot say.
func TestSCIMVerifyGroupMembershipModes(t *testing.T) {
	for _, tc := range []struct {
		mode   testenv.SCIMGroupMembers
		quirks bool
		// how is what Checked says for a listed group once the user left.
		how        string
		unreadable bool
	}{
		{mode: testenv.SCIMMembersListed, how: "not in members (GET /Groups/"},
		{mode: testenv.SCIMMembersOnRequest, how: "not in members (members not returned; GET /Groups/%G?attributes=members)"},
		{mode: testenv.SCIMMembersFilterOnly, how: `members not returned; GET /Groups?filter=id eq "%G" and members[value eq "%U"] → 0 results (control: id eq "%G" → 1)`},
		// Entra's answers on top: no totalResults in list responses.
		{mode: testenv.SCIMMembersFilterOnly, quirks: true, how: `members not returned; GET /Groups?filter=id eq "%G" and members[value eq "%U"] → 0 results (control: id eq "%G" → 1)`},
		{mode: testenv.SCIMMembersHidden, unreadable: true},
	} {
		name := tc.mode.String()
		if tc.quirks {
			name += "+quirks"
		}
		t.Run(name, func(t *testing.T) {
			srv := testenv.SCIMForTest(t, testenv.SCIMOptions{GroupMembers: tc.mode, Quirks: tc.quirks})
			c := newClient(t, srv)
			ctx := ctxT(t)
			ids, _ := srv.SeedUsers(3)
			gid, err := srv.AddGroup("finance", ids[0], ids[1])
			if err != nil {
				t.Fatal(err)
			}
			solo, err := srv.AddGroup("solo", ids[2])
			if err != nil {
				t.Fatal(err)
			}
			expand := func(s, g, u string) string {
				return strings.NewReplacer("%G", g, "%U", u).Replace(s)
			}
			// gone checks a removal: verified (with the right evidence) or,
			// on a server that cannot say, an error naming the reason.
			gone := func(g, u string) {
				t.Helper()
				v, err := c.VerifyGroupMembership(ctx, g, u)
				if tc.unreadable {
					if err == nil || v.Gone || !errors.Is(err, scim.ErrMembershipUnreadable) || errors.Is(err, connector.ErrNotFound) ||
						!strings.Contains(err.Error(), "cannot be verified on this server") || !strings.Contains(err.Error(), "invalidFilter") {
						t.Fatalf("verify %s in %s = %+v, %v; want an error saying it cannot be verified", u, g, v, err)
					}
					return
				}
				if err != nil || !v.Gone || v.Absent || !strings.Contains(v.Checked, expand(tc.how, g, u)) || v.CheckedAt.IsZero() {
					t.Fatalf("verify %s in %s = %+v, %v; want Gone with %q", u, g, v, err, expand(tc.how, g, u))
				}
			}
			// member checks that a member is never Gone.
			member := func(g, u string) {
				t.Helper()
				v, err := c.VerifyGroupMembership(ctx, g, u)
				if v.Gone {
					t.Fatalf("member %s of %s verified as gone: %+v", u, g, v)
				}
				if tc.unreadable {
					if !errors.Is(err, scim.ErrMembershipUnreadable) {
						t.Fatalf("verify member %s = %+v, %v; want ErrMembershipUnreadable", u, v, err)
					}
					return
				}
				if err != nil || !strings.Contains(v.Checked, "in members") && !strings.Contains(v.Checked, "→ 1 result ") {
					t.Fatalf("verify member %s = %+v, %v", u, v, err)
				}
				mc, err := c.CheckGroupMember(ctx, g, u)
				if err != nil || !mc.Member || mc.Group.ID != g {
					t.Fatalf("CheckGroupMember(%s) = %+v, %v", u, mc, err)
				}
			}

			member(gid, ids[0])
			member(gid, ids[1])
			member(solo, ids[2])
			gone(gid, ids[2]) // never a member

			if err := c.RemoveGroupMember(ctx, gid, ids[1]); err != nil {
				t.Fatal(err)
			}
			if m, _ := srv.GroupMembers(gid); len(m) != 1 || m[0] != ids[0] {
				t.Fatalf("stored members after remove: %v", m)
			}
			gone(gid, ids[1])
			member(gid, ids[0])

			// The last member leaves: the group is empty, and a conforming
			// server may leave members out even where it lists them.
			if err := c.RemoveGroupMember(ctx, solo, ids[2]); err != nil {
				t.Fatal(err)
			}
			if m, _ := srv.GroupMembers(solo); len(m) != 0 {
				t.Fatalf("stored members of the emptied group: %v", m)
			}
			emptyHow := tc.how
			if tc.mode == testenv.SCIMMembersListed || tc.mode == testenv.SCIMMembersOnRequest {
				emptyHow = `members not returned; GET /Groups?filter=id eq "%G" and members[value eq "%U"] → 0 results (control: id eq "%G" → 1)`
			}
			v, err := c.VerifyGroupMembership(ctx, solo, ids[2])
			switch {
			case tc.unreadable:
				if err == nil || v.Gone || !errors.Is(err, scim.ErrMembershipUnreadable) {
					t.Fatalf("empty group: %+v, %v; want an error", v, err)
				}
			case err != nil || !v.Gone || !strings.Contains(v.Checked, expand(emptyHow, solo, ids[2])):
				t.Fatalf("empty group: %+v, %v; want Gone with %q", v, err, expand(emptyHow, solo, ids[2]))
			}

			// A deleted group holds no membership, whatever the mode.
			if err := c.DeleteGroup(ctx, gid); err != nil {
				t.Fatal(err)
			}
			if v, err := c.VerifyGroupMembership(ctx, gid, ids[0]); err != nil || !v.Gone || !v.Absent {
				t.Fatalf("deleted group: %+v, %v", v, err)
			}
			if _, err := c.CheckGroupMember(ctx, gid, ids[0]); !errors.Is(err, connector.ErrNotFound) {
				t.Fatalf("CheckGroupMember on a deleted group: %v", err)
			}
		})
	}
}

// A user id that tries to close the value path and narrow the filter stays
// one escaped value, so the filter still names the group and nothing else.
func TestSCIMVerifyGroupMembershipFilterEscaping(t *testing.T) {
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{GroupMembers: testenv.SCIMMembersFilterOnly})
	c := newClient(t, srv)
	ctx := ctxT(t)
	ids, _ := srv.SeedUsers(1)
	gid, _ := srv.AddGroup("finance", ids[0])
	hostile := ids[0] + `"] and id eq "nope`
	v, err := c.VerifyGroupMembership(ctx, gid, hostile)
	want := `members[value eq "` + ids[0] + `\"] and id eq \"nope"] → 0 results`
	if err != nil || !v.Gone || !strings.Contains(v.Checked, want) {
		t.Fatalf("hostile user id: %+v, %v; want Checked with %q", v, err, want)
	}
	if v, err := c.VerifyGroupMembership(ctx, gid, ids[0]); err != nil || v.Gone {
		t.Fatalf("the real member: %+v, %v", v, err)
	}
	if _, err := c.VerifyGroupMembership(ctx, gid, "bad\xffutf8"); err == nil || !errors.Is(err, scim.ErrMembershipUnreadable) {
		t.Fatalf("a user id that is not UTF-8: %v", err)
	}
}
