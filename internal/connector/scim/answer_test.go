package scim

import (
	"context"
	"errors"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"strings"
	"testing"
)

// What fuzzing the decoders found, as plain tests (the crashing inputs are
// also kept under testdata/fuzz).
func TestSCIMAnswersFoundByFuzzing(t *testing.T) {
	c, answer := fuzzClient(t)
	ctx := context.Background()
	const scimJSON = "application/scim+json"

	t.Run("a group whose members are not a list is not proof of removal", func(t *testing.T) {
		for _, body := range []string{
			`{"id":"g1","members":""}`,
			`{"id":"g1","members":{"value":"u1"}}`,
			`{"id":"g1","members":[{"display":"alice"}]}`,
			`{"id":"g1","members":[{"value":{"id":"u1"}}]}`,
		} {
			answer(&canned{status: 200, ct: scimJSON, body: []byte(body)})
			if v, err := c.VerifyGroupMembership(ctx, "g1", "u1"); err == nil || v.Gone {
				t.Errorf("%s verified as %+v, %v", body, v, err)
			}
		}
		// An empty list is a listed membership; null or no members at all
		// (the same body answering every follow-up request, which no
		// filter check accepts) is not proof of anything.
		answer(&canned{status: 200, ct: scimJSON, body: []byte(`{"id":"g1","members":[]}`)})
		if v, err := c.VerifyGroupMembership(ctx, "g1", "u1"); err != nil || !v.Gone {
			t.Errorf("a group with an empty members list: %+v, %v", v, err)
		}
		for _, body := range []string{`{"id":"g1","members":null}`, `{"id":"g1"}`} {
			answer(&canned{status: 200, ct: scimJSON, body: []byte(body)})
			if v, err := c.VerifyGroupMembership(ctx, "g1", "u1"); !errors.Is(err, ErrMembershipUnreadable) || v.Gone {
				t.Errorf("%s verified as %+v, %v", body, v, err)
			}
		}
	})

	t.Run("an attribute spelled twice is refused, not read by map order", func(t *testing.T) {
		answer(&canned{status: 200, ct: scimJSON, body: []byte(`{"id":"u1","Active":false,"aCtive":true}`)})
		if v, err := c.Verify(ctx, "u1"); err == nil || v.Gone || !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("verified as %+v, %v", v, err)
		}
		answer(&canned{status: 200, ct: scimJSON, body: []byte(`{"Resources":[{"id":"u1","active":true,"ACTIVE":false}]}`)})
		if err := c.Inventory(ctx, func(a connector.Account) error { return nil }); !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("inventory: %v", err)
		}
	})

	t.Run("groups that are not a list fail ListUsers as they fail Inventory", func(t *testing.T) {
		answer(&canned{status: 200, ct: scimJSON, body: []byte(`{"Resources":[{"id":"u1","groups":false}]}`)})
		if err := c.ListUsers(ctx, "", 10, func(User) error { return nil }); !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("ListUsers: %v", err)
		}
	})

	t.Run("a user that holds the token is refused", func(t *testing.T) {
		answer(&canned{status: 200, ct: scimJSON, body: []byte(`{"id":"u1","userName":"kim","x-debug":{"authorization":"Bearer ` + fuzzToken + `"}}`)})
		u, err := c.GetUser(ctx, "u1")
		if err == nil || strings.Contains(err.Error(), fuzzToken) || u.ID != "" {
			t.Errorf("GetUser = %+v, %v", u, err)
		}
		answer(&canned{status: 200, ct: scimJSON, body: []byte(`{"Resources":[{"id":"u1","userName":"` + fuzzToken + `"}]}`)})
		if err := c.Inventory(ctx, func(a connector.Account) error { t.Errorf("account %+v", a); return nil }); err == nil {
			t.Error("inventory accepted the token as a user name")
		}
	})

	t.Run("a huge content type or value is not a huge error", func(t *testing.T) {
		answer(&canned{status: 145, ct: strings.Repeat("q", 4000), body: []byte("x")})
		if _, err := c.GetUser(ctx, "u1"); err == nil || len(err.Error()) > 300 {
			t.Errorf("%d-byte error", len(err.Error()))
		}
		answer(&canned{status: 200, ct: scimJSON, body: []byte(`{"id":"` + strings.Repeat("7", 5000) + `","active":"` + strings.Repeat("x", 5000) + `"}`)})
		if _, err := c.GetUser(ctx, "u1"); err == nil || len(err.Error()) > 400 {
			t.Errorf("%d-byte error", len(err.Error()))
		}
	})
}
