package postgres

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// MaxNameBytes is PostgreSQL's identifier limit (NAMEDATALEN-1). Longer
// names are not an error there: they are silently truncated, so a role
// called by a 64-byte name would be created under another name. We refuse.
const MaxNameBytes = 63

// ValidateName refuses role names PostgreSQL would reject or change. Any
// other character (quotes, semicolons, backslashes, unicode) is fine: names
// are always sent quoted (ident) or as parameters/literals (literal).
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: the role name is empty", ErrInvalidName)
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("%w: role name %q contains a NUL byte", ErrInvalidName, name)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: role name %q is not valid UTF-8", ErrInvalidName, name)
	case len(name) > MaxNameBytes:
		return fmt.Errorf("%w: role name %q is %d bytes; PostgreSQL's limit is %d bytes (NAMEDATALEN-1) and it would silently truncate the name", ErrInvalidName, name, len(name), MaxNameBytes)
	}
	return nil
}

func validateNames(what string, names []string) error {
	for _, n := range names {
		if err := ValidateName(n); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

// ident quotes a validated name as an SQL identifier.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// literal quotes a string as an SQL literal the way quote_literal does: an
// E-string (E-prefixed literal) with backslashes doubled when there is a backslash, so the
// result is the same whatever standard_conforming_strings says. Callers have
// refused NUL bytes. Used only where PostgreSQL takes no parameters
// (utility statements, multi-statement simple queries).
func literal(s string) string {
	q := strings.ReplaceAll(s, "'", "''")
	if strings.Contains(s, `\`) {
		return `E'` + strings.ReplaceAll(q, `\`, `\\`) + `'`
	}
	return "'" + q + "'"
}

// timestampLiteral renders t for VALID UNTIL, truncated (never rounded up)
// to PostgreSQL's microsecond precision, so the server-side expiry is never
// later than asked.
func timestampLiteral(t time.Time) (string, error) {
	t = t.UTC().Truncate(time.Microsecond)
	if t.Year() < 1 || t.Year() > 9999 {
		return "", fmt.Errorf("%w: valid_until %s is outside years 1-9999", ErrInvalidSpec, t)
	}
	return "'" + t.Format("2006-01-02T15:04:05.999999Z") + "'", nil
}
