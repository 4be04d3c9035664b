package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

// RoleSpec is the desired state of a login role.
type RoleSpec struct {
	// Name is the role name (at most 63 bytes). In Update it must be empty
	// or equal to the name argument: roles are not renamed.
	Name string
	// ValidUntil becomes VALID UNTIL (password logins fail after it). nil
	// means no expiry: Create leaves rolvaliduntil NULL, Update sets
	// 'infinity' (ALTER ROLE cannot set NULL). Both read back as nil.
	ValidUntil *time.Time
	// ConnectionLimit is CONNECTION LIMIT: -1 is unlimited. Beware that 0
	// (the zero value) means no connection at all.
	ConnectionLimit int
	// MemberOf lists the roles this role is granted (GRANT g TO role).
	MemberOf []string
	// Password, when not nil, sets the password (never read back). Update
	// leaves the password alone when nil.
	Password *string
}

// Role is a role as the server reports it.
type Role struct {
	Name     string
	CanLogin bool
	// Superuser is rolsuper.
	Superuser bool
	// ValidUntil is rolvaliduntil; nil when NULL or 'infinity'. '-infinity'
	// reads as the zero time (always expired).
	ValidUntil *time.Time
	// ConnectionLimit is rolconnlimit (-1 unlimited).
	ConnectionLimit int
	// MemberOf lists the roles it is a member of, sorted.
	MemberOf []string
	// Sessions counts its backends in pg_stat_activity (all databases).
	Sessions int
}

func (s *RoleSpec) validate() error {
	if err := ValidateName(s.Name); err != nil {
		return err
	}
	if err := validateNames("member_of", s.MemberOf); err != nil {
		return err
	}
	if s.ConnectionLimit < -1 {
		return fmt.Errorf("%w: connection limit %d (use -1 for unlimited)", ErrInvalidSpec, s.ConnectionLimit)
	}
	if slices.Contains(s.MemberOf, s.Name) {
		return fmt.Errorf("%w: role %q cannot be a member of itself", ErrInvalidSpec, s.Name)
	}
	return nil
}

// attributes renders the VALID UNTIL / CONNECTION LIMIT / PASSWORD options
// and returns the secret to scrub from errors, if any.
func (s *RoleSpec) attributes(infinityWhenNil bool) (sql, secret string, err error) {
	var b strings.Builder
	switch {
	case s.ValidUntil != nil:
		lit, err := timestampLiteral(*s.ValidUntil)
		if err != nil {
			return "", "", err
		}
		b.WriteString(" VALID UNTIL " + lit)
	case infinityWhenNil:
		b.WriteString(" VALID UNTIL 'infinity'")
	}
	b.WriteString(" CONNECTION LIMIT " + strconv.Itoa(s.ConnectionLimit))
	if s.Password != nil {
		clause, sec, err := passwordClause(*s.Password)
		if err != nil {
			return "", "", err
		}
		b.WriteString(" " + clause)
		secret = sec
	}
	return b.String(), secret, nil
}

func secretsOf(s *RoleSpec, extra string) scrubber {
	if s.Password == nil {
		return scrubber{}.with(extra)
	}
	return scrubber{}.with(*s.Password, extra)
}

// Create makes a LOGIN role with its expiry, connection limit and
// memberships, in one transaction, and reads it back.
func (c *Client) Create(ctx context.Context, spec RoleSpec) (Role, error) {
	op := fmt.Sprintf("create role %q", spec.Name)
	spec.MemberOf = normalize(spec.MemberOf)
	if err := spec.validate(); err != nil {
		return Role{}, c.scrub.wrap(op, err)
	}
	attrs, secret, err := spec.attributes(false)
	if err != nil {
		return Role{}, c.scrub.wrap(op, err)
	}
	sc := c.scrub.with(secretsOf(&spec, secret).secrets...)
	stmts := []string{"CREATE ROLE " + ident(spec.Name) + " LOGIN" + attrs}
	if len(spec.MemberOf) > 0 {
		stmts = append(stmts, "GRANT "+identList(spec.MemberOf)+" TO "+ident(spec.Name))
	}
	// No arguments: one simple-protocol query, one implicit transaction.
	if _, err := c.pool.Exec(ctx, strings.Join(stmts, ";\n")); err != nil {
		if sqlState(err) == "42710" { // duplicate_object
			err = fmt.Errorf("%w: %w", ErrRoleExists, err)
		}
		return Role{}, sc.wrap(op, err)
	}
	r, err := c.Get(ctx, spec.Name)
	if err != nil {
		return Role{}, sc.wrap(op+": read back", err)
	}
	return r, nil
}

// Update sets VALID UNTIL and CONNECTION LIMIT (and PASSWORD when given) and
// grants/revokes memberships so they equal spec.MemberOf, in one
// transaction. It never turns LOGIN back on: a role disabled out of band
// stays disabled (Role.CanLogin shows it).
func (c *Client) Update(ctx context.Context, name string, spec RoleSpec) (Role, error) {
	op := fmt.Sprintf("update role %q", name)
	if spec.Name != "" && spec.Name != name {
		return Role{}, c.scrub.wrap(op, fmt.Errorf("%w: cannot rename role %q to %q", ErrInvalidSpec, name, spec.Name))
	}
	spec.Name = name
	spec.MemberOf = normalize(spec.MemberOf)
	if err := spec.validate(); err != nil {
		return Role{}, c.scrub.wrap(op, err)
	}
	attrs, secret, err := spec.attributes(true)
	if err != nil {
		return Role{}, c.scrub.wrap(op, err)
	}
	sc := c.scrub.with(secretsOf(&spec, secret).secrets...)

	err = pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		var current []string
		err := tx.QueryRow(ctx, `SELECT ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY g.rolname)
			FROM pg_roles r WHERE r.rolname = $1`, name).Scan(&current)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: role %q", connector.ErrNotFound, name)
		}
		if err != nil {
			return err
		}
		add, remove := diff(current, spec.MemberOf)
		stmts := []string{"ALTER ROLE " + ident(name) + attrs}
		if len(add) > 0 {
			stmts = append(stmts, "GRANT "+identList(add)+" TO "+ident(name))
		}
		if len(remove) > 0 {
			stmts = append(stmts, "REVOKE "+identList(remove)+" FROM "+ident(name))
		}
		_, err = tx.Exec(ctx, strings.Join(stmts, ";\n"))
		return err
	})
	if err != nil {
		return Role{}, sc.wrap(op, err)
	}
	r, err := c.Get(ctx, name)
	if err != nil {
		return Role{}, sc.wrap(op+": read back", err)
	}
	return r, nil
}

const getRoleSQL = `SELECT r.rolname::text, r.rolcanlogin, r.rolsuper, r.rolvaliduntil, r.rolconnlimit,
	ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY g.rolname),
	(SELECT count(*) FROM pg_stat_activity a WHERE a.usesysid = r.oid)::int
FROM pg_roles r WHERE r.rolname = $1`

// Get reads one role. An absent role is connector.ErrNotFound (wrapped).
func (c *Client) Get(ctx context.Context, name string) (Role, error) {
	op := fmt.Sprintf("get role %q", name)
	if err := ValidateName(name); err != nil {
		return Role{}, c.scrub.wrap(op, err)
	}
	var (
		r  Role
		vu pgtype.Timestamptz
	)
	err := c.pool.QueryRow(ctx, getRoleSQL, name).Scan(&r.Name, &r.CanLogin, &r.Superuser, &vu, &r.ConnectionLimit, &r.MemberOf, &r.Sessions)
	if errors.Is(err, pgx.ErrNoRows) {
		return Role{}, c.scrub.wrap(op, fmt.Errorf("%w: role %q", connector.ErrNotFound, name))
	}
	if err != nil {
		return Role{}, c.scrub.wrap(op, err)
	}
	r.ValidUntil = validUntil(vu)
	if r.MemberOf == nil {
		r.MemberOf = []string{}
	}
	return r, nil
}

// validUntil maps rolvaliduntil: NULL and 'infinity' mean no expiry (nil);
// '-infinity' means always expired (the zero time, which is in the past).
func validUntil(ts pgtype.Timestamptz) *time.Time {
	t, ok := validUntilTime(ts)
	if !ok {
		return nil
	}
	return &t
}

// validUntilTime is validUntil as a value: false for no expiry.
func validUntilTime(ts pgtype.Timestamptz) (time.Time, bool) {
	switch {
	case !ts.Valid || ts.InfinityModifier == pgtype.Infinity:
		return time.Time{}, false
	case ts.InfinityModifier == pgtype.NegativeInfinity:
		return time.Time{}, true
	}
	return ts.Time.UTC(), true
}

func identList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = ident(n)
	}
	return strings.Join(q, ", ")
}

// normalize sorts and de-duplicates role names.
func normalize(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}

// diff returns what to add to have and what to remove from it to reach want
// (both sorted).
func diff(have, want []string) (add, remove []string) {
	for _, w := range want {
		if !slices.Contains(have, w) {
			add = append(add, w)
		}
	}
	for _, h := range have {
		if !slices.Contains(want, h) {
			remove = append(remove, h)
		}
	}
	return add, remove
}
