package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

// verifySQL reads everything "gone" depends on in one statement, with the
// server's clock. Sessions are counted in every database.
const verifySQL = `SELECT clock_timestamp(), r.oid IS NOT NULL, coalesce(r.rolcanlogin, false),
	(SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid)::int,
	(SELECT count(*) FROM pg_stat_activity a WHERE a.usesysid = r.oid)::int
FROM (VALUES (1)) v LEFT JOIN pg_roles r ON r.rolname = $1`

// Verify reads the role back and says whether its access is gone: absent,
// or rolcanlogin=false with no membership and no session. Any error means
// "unknown", never gone. CheckedAt is the server's clock.
func (c *Client) Verify(ctx context.Context, name string) (connector.Verification, error) {
	op := fmt.Sprintf("verify role %q", name)
	if err := ValidateName(name); err != nil {
		return connector.Verification{}, c.scrub.wrap(op, err)
	}
	var (
		at                     time.Time
		exists, canLogin       bool
		memberships, sessionsN int
	)
	err := c.pool.QueryRow(ctx, verifySQL, name).Scan(&at, &exists, &canLogin, &memberships, &sessionsN)
	if err != nil {
		return connector.Verification{}, c.scrub.wrap(op, err)
	}
	v := connector.Verification{CheckedAt: at.UTC()}
	if !exists {
		v.Gone, v.Absent, v.Checked = true, true, "role absent"
		return v, nil
	}
	v.Gone = !canLogin && memberships == 0 && sessionsN == 0
	v.Checked = fmt.Sprintf("rolcanlogin=%t, %s, %s", canLogin, plural(memberships, "membership"), plural(sessionsN, "session"))
	return v, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
