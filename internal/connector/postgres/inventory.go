package postgres

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

// An account is a role that can log in, or any role with a live session: a
// role set to NOLOGIN whose session was never terminated still has access,
// and hiding it would hide exactly the revocation that did not stick. Group
// roles (NOLOGIN, no session) are not accounts. Built-in roles are left out
// unless $1 (IncludeBuiltin).
//
// Both queries return the same columns: name, rolcanlogin, rolsuper,
// rolvaliduntil, "VALID UNTIL not passed" on the server's clock, the
// names of the roles it is a member of (unordered; NULL for none), the
// number of sessions, and whether it is the connecting role.

// inventoryStreamSQL lists every account in one statement, set-based:
// memberships and sessions are each aggregated once (GROUP BY, hash joins)
// rather than looked up role by role, and there is no ORDER BY to sort.
// The whole listing is one snapshot of the catalog. array_agg has no ORDER
// BY so that the server may hash-aggregate; the client sorts each role's
// (few) groups.
const inventoryStreamSQL = `SELECT r.rolname::text, r.rolcanlogin, r.rolsuper, r.rolvaliduntil,
	r.rolvaliduntil IS NULL OR r.rolvaliduntil > clock_timestamp(),
	m.groups, coalesce(s.n, 0)::int, r.rolname = session_user
FROM pg_roles r
LEFT JOIN (SELECT am.member, array_agg(g.rolname::text) AS groups
	FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.roleid
	GROUP BY am.member) m ON m.member = r.oid
LEFT JOIN (SELECT usesysid, count(*) AS n FROM pg_stat_activity WHERE usesysid IS NOT NULL GROUP BY usesysid) s ON s.usesysid = r.oid
WHERE (r.rolcanlogin OR s.n > 0)
  AND ($1 OR (r.oid >= 16384 AND left(r.rolname, 3) <> 'pg_'))`

// inventoryPageSQL reads one page of $3 accounts after $2 (keyset on
// rolname, which sorts bytewise: name has the C collation). A page is small,
// so its memberships are looked up per role (an index probe each) rather
// than aggregated over the whole catalog once per page.
const inventoryPageSQL = `SELECT r.rolname::text, r.rolcanlogin, r.rolsuper, r.rolvaliduntil,
	r.rolvaliduntil IS NULL OR r.rolvaliduntil > clock_timestamp(),
	ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid),
	coalesce(s.n, 0)::int, r.rolname = session_user
FROM pg_roles r
LEFT JOIN (SELECT usesysid, count(*) AS n FROM pg_stat_activity WHERE usesysid IS NOT NULL GROUP BY usesysid) s ON s.usesysid = r.oid
WHERE r.rolname > $2
  AND (r.rolcanlogin OR s.n > 0)
  AND ($1 OR (r.oid >= 16384 AND left(r.rolname, 3) <> 'pg_'))
ORDER BY r.rolname
LIMIT $3`

// Inventory streams every account to fn. Built-in roles (the bootstrap
// superuser, pg_*) are left out unless Config.IncludeBuiltin. The role the
// client connects as is a real credential and is listed, with "connecting
// role" in State.
//
// Usable is (rolcanlogin and VALID UNTIL not passed on the server's clock)
// or a live session exists: VALID UNTIL and NOLOGIN do not end sessions.
//
// By default (Config.InventoryPageSize 0) the listing is one query whose
// rows are decoded and handed to fn one at a time, so memory stays flat;
// the query holds one pool connection until the listing ends, and fn runs
// meanwhile: fn may call the Client only if the pool has another connection
// (MaxConns is at least 4 unless set lower). With InventoryPageSize > 0 the
// listing is read in keyset pages, each query's connection released before
// fn sees its page, so fn may call the Client even with MaxConns 1; that is
// slower, and a role renamed during the listing may be missed or seen twice.
func (c *Client) Inventory(ctx context.Context, fn func(connector.Account) error) error {
	if c.cfg.InventoryPageSize > 0 {
		return c.inventoryPages(ctx, fn)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows, err := c.pool.Query(ctx, inventoryStreamSQL, c.cfg.IncludeBuiltin)
	if err != nil {
		return c.scrub.wrap("inventory", err)
	}
	defer rows.Close()
	var r inventoryRow
	buf := make([]byte, 0, 128)
	for rows.Next() {
		if err := r.scan(rows); err != nil {
			return c.scrub.wrap("inventory", err)
		}
		var a connector.Account
		a, buf = r.account(buf)
		if err := fn(a); err != nil {
			// Stop the server rather than read the rest of a listing
			// nobody wants.
			cancel()
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return c.scrub.wrap("inventory", err)
	}
	return nil
}

// inventoryPages is the paged listing: see Inventory.
func (c *Client) inventoryPages(ctx context.Context, fn func(connector.Account) error) error {
	after := ""
	size := c.cfg.InventoryPageSize
	page := make([]connector.Account, 0, size)
	var r inventoryRow
	var buf []byte
	for {
		page = page[:0]
		rows, err := c.pool.Query(ctx, inventoryPageSQL, c.cfg.IncludeBuiltin, after, size)
		if err != nil {
			return c.scrub.wrap("inventory", err)
		}
		for rows.Next() {
			if err := r.scan(rows); err != nil {
				rows.Close()
				return c.scrub.wrap("inventory", err)
			}
			var a connector.Account
			a, buf = r.account(buf)
			page = append(page, a)
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
		if len(page) < size {
			return nil
		}
		after = page[len(page)-1].Key
	}
}

// inventoryRow is one row of either inventory query; it is reused from row
// to row.
type inventoryRow struct {
	name                                 string
	canLogin, super, notExpired, connect bool
	vu                                   pgtype.Timestamptz
	groups                               []string
	sessions                             int32
	state                                string      // the last row's State
	dest                                 []any       // what scan scans into
	times                                []time.Time // the rest of validUntil's block
}

func (r *inventoryRow) scan(rows pgx.Rows) error {
	r.groups = nil // a NULL leaves the destination alone
	if r.dest == nil {
		// Made once: a Scan(&a, &b, …) call makes its argument slice anew for every row.
		r.dest = []any{&r.name, &r.canLogin, &r.super, &r.vu, &r.notExpired, &r.groups, &r.sessions, &r.connect}
	}
	return rows.Scan(r.dest...)
}

// validUntil is the row's validUntil, kept in a block of instants shared
// by a run of rows: one allocation per block rather than one per row.
func (r *inventoryRow) validUntil() *time.Time {
	t, ok := validUntilTime(r.vu)
	if !ok {
		return nil
	}
	if len(r.times) == 0 {
		r.times = make([]time.Time, 256)
	}
	p := &r.times[0]
	r.times = r.times[1:]
	*p = t
	return p
}

// account builds the Account of a row. State is built in buf (returned for
// reuse), without fmt: this runs once per role.
func (r *inventoryRow) account(buf []byte) (connector.Account, []byte) {
	groups := r.groups
	if groups == nil {
		groups = []string{}
	} else if len(groups) > 1 {
		slices.Sort(groups) // bytewise, as name's C collation orders them
	}
	vu := r.validUntil()
	buf = append(buf[:0], "rolcanlogin="...)
	buf = strconv.AppendBool(buf, r.canLogin)
	if vu != nil {
		buf = append(buf, ", rolvaliduntil="...)
		buf = vu.AppendFormat(buf, time.RFC3339)
		if !r.notExpired {
			buf = append(buf, ", expired"...)
		}
	}
	if r.super {
		buf = append(buf, ", rolsuper=true"...)
	}
	buf = append(buf, ", "...)
	buf = strconv.AppendInt(buf, int64(r.sessions), 10)
	if r.sessions == 1 {
		buf = append(buf, " session"...)
	} else {
		buf = append(buf, " sessions"...)
	}
	if r.connect {
		buf = append(buf, ", connecting role"...)
	}
	// Most roles are in one of a few states: one that reads as the last
	// row's is that same string, not a new one.
	if string(buf) != r.state {
		r.state = string(buf)
	}
	return connector.Account{
		Key:       r.name,
		Name:      r.name,
		Usable:    (r.canLogin && r.notExpired) || r.sessions > 0,
		ExpiresAt: vu,
		Groups:    groups,
		Sessions:  int(r.sessions),
		State:     r.state,
	}, buf
}
