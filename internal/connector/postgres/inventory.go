package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

// inventorySQL reads one page of accounts after $1 (keyset on rolname, which
// sorts bytewise: name has the C collation). An account is a role that can
// log in, or any role with a live session: a role set to NOLOGIN whose
// session was never terminated still has access, and hiding it would hide
// exactly the revocation that did not stick. Group roles (NOLOGIN, no
// session) are not accounts.
const inventorySQL = `SELECT r.rolname::text, r.rolcanlogin, r.rolsuper, r.rolvaliduntil,
	r.rolvaliduntil IS NULL OR r.rolvaliduntil > clock_timestamp(),
	ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY g.rolname),
	coalesce(s.n, 0)::int, r.rolname = session_user
FROM pg_roles r
LEFT JOIN (SELECT usesysid, count(*) AS n FROM pg_stat_activity WHERE usesysid IS NOT NULL GROUP BY usesysid) s ON s.usesysid = r.oid
WHERE r.rolname > $1
  AND (r.rolcanlogin OR s.n > 0)
  AND ($2 OR (r.oid >= 16384 AND left(r.rolname, 3) <> 'pg_'))
ORDER BY r.rolname
LIMIT $3`

// Inventory streams every account, one page of InventoryPageSize roles per
// query; the pool connection is released before fn sees a page, so fn may
// call the Client and memory stays bounded by one page. Built-in roles (the
// bootstrap superuser, pg_*) are left out unless Config.IncludeBuiltin.
// The role the client connects as is a real credential and is listed, with
// "connecting role" in State.
//
// Usable is (rolcanlogin and VALID UNTIL not passed on the server's clock)
// or a live session exists: VALID UNTIL and NOLOGIN do not end sessions.
func (c *Client) Inventory(ctx context.Context, fn func(connector.Account) error) error {
	after := ""
	page := make([]connector.Account, 0, c.cfg.InventoryPageSize)
	for {
		page = page[:0]
		rows, err := c.pool.Query(ctx, inventorySQL, after, c.cfg.IncludeBuiltin, c.cfg.InventoryPageSize)
		if err != nil {
			return c.scrub.wrap("inventory", err)
		}
		for rows.Next() {
			var (
				name                                 string
				canLogin, super, notExpired, connect bool
				vu                                   pgtype.Timestamptz
				groups                               []string
				sessions                             int
			)
			if err := rows.Scan(&name, &canLogin, &super, &vu, &notExpired, &groups, &sessions, &connect); err != nil {
				rows.Close()
				return c.scrub.wrap("inventory", err)
			}
			page = append(page, account(name, canLogin, super, validUntil(vu), notExpired, groups, sessions, connect))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return c.scrub.wrap("inventory", err)
		}
		for _, a := range page {
			if err := fn(a); err != nil {
				return err
			}
		}
		if len(page) < c.cfg.InventoryPageSize {
			return nil
		}
		after = page[len(page)-1].Key
	}
}

func account(name string, canLogin, super bool, vu *time.Time, notExpired bool, groups []string, sessions int, connecting bool) connector.Account {
	if groups == nil {
		groups = []string{}
	}
	state := []string{fmt.Sprintf("rolcanlogin=%t", canLogin)}
	if vu != nil {
		state = append(state, "rolvaliduntil="+vu.Format(time.RFC3339))
		if !notExpired {
			state = append(state, "expired")
		}
	}
	if super {
		state = append(state, "rolsuper=true")
	}
	state = append(state, plural(sessions, "session"))
	if connecting {
		state = append(state, "connecting role")
	}
	return connector.Account{
		Key:       name,
		Name:      name,
		Usable:    (canLogin && notExpired) || sessions > 0,
		ExpiresAt: vu,
		Groups:    groups,
		Sessions:  sessions,
		State:     strings.Join(state, ", "),
	}
}
