package scim

import (
	"context"
	"errors"
	"fmt"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

// Revoke ends a user's access with mode ("" means Config.Deprovision):
// deactivate (PATCH active=false), delete, or deactivate_then_delete. It is
// idempotent: a user that is already gone (404 with a SCIM body) is success.
// Call Verify afterwards; Revoke's own answer is not the evidence.
func (c *Client) Revoke(ctx context.Context, id, mode string) error {
	if mode == "" {
		mode = c.cfg.Deprovision
	}
	if !ValidDeprovision(mode) {
		return fmt.Errorf("scim: deprovision mode %q must be one of %q, %q, %q", mode,
			DeprovisionDeactivate, DeprovisionDelete, DeprovisionDeactivateThenDelete)
	}
	if mode == DeprovisionDeactivate || mode == DeprovisionDeactivateThenDelete {
		if _, err := c.DeactivateUser(ctx, id); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			return fmt.Errorf("revoke (%s) SCIM user %s: %w", mode, id, err)
		}
	}
	if mode == DeprovisionDelete || mode == DeprovisionDeactivateThenDelete {
		if err := c.DeleteUser(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("revoke (%s) SCIM user %s: %w", mode, id, err)
		}
	}
	return nil
}

// Verify reads the user back (GET /Users/ID). Gone when the answer is a
// SCIM 404 (Absent too) or active=false. RemovedAt is meta.lastModified when
// the user is still there and says so; CheckedAt is the response's Date
// header, else the local clock. Any other answer is an error, never "gone".
func (c *Client) Verify(ctx context.Context, id string) (connector.Verification, error) {
	u, r, err := c.getUser(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return connector.Verification{Gone: true, Absent: true, Checked: "404 on GET " + userPath(id), CheckedAt: c.date(r)}, nil
	case err != nil:
		return connector.Verification{}, err
	}
	v := connector.Verification{CheckedAt: c.date(r)}
	if u.Active {
		v.Checked = "active=true (GET " + userPath(id) + ")"
		return v, nil
	}
	v.Gone = true
	v.Checked = "active=false (GET " + userPath(id) + ")"
	if u.Meta.LastModified != nil {
		v.RemovedAt = *u.Meta.LastModified
	}
	return v, nil
}

// Inventory streams every user, Config.PageSize at a time, as accounts:
// Key = id, Name = userName, Usable = active, Groups = group ids.
//
// A directory that lists no user at all returns an error wrapping
// connector.ErrSuspectEmpty: an empty answer is what a broken filter, a
// token scoped to nothing, or a half-migrated tenant looks like. A caller
// that knows the target should be empty (no declared account) may treat
// errors.Is(err, connector.ErrSuspectEmpty) as an empty inventory; fn was
// never called.
func (c *Client) Inventory(ctx context.Context, fn func(connector.Account) error) error {
	n := 0
	err := pageThrough(ctx, c, "/Users", "", c.cfg.PageSize, c.decodeAccountPage, func(a accountItem) string { return a.id }, func(a accountItem) error {
		n++
		return fn(AccountOf(User{ID: a.id, UserName: a.userName, Active: a.active, Groups: a.groups}))
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("SCIM inventory of %s: %w", c.Describe().Endpoint, connector.ErrSuspectEmpty)
	}
	return nil
}

// AccountOf is how a SCIM user appears in an inventory.
func AccountOf(u User) connector.Account {
	state := "active=true"
	if !u.Active {
		state = "active=false"
	}
	return connector.Account{Key: u.ID, Name: u.UserName, Usable: u.Active, Groups: u.Groups, State: state}
}
