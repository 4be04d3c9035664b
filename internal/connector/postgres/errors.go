package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

var (
	// ErrInvalidName is returned (wrapped) for a role name PostgreSQL would
	// reject or silently change: empty, NUL bytes, invalid UTF-8, over 63 bytes.
	ErrInvalidName = errors.New("invalid role name")
	// ErrProtectedRole is returned (wrapped) when asked to revoke a built-in
	// role or the role the connector itself is connected as.
	ErrProtectedRole = errors.New("refusing to revoke a protected role")
	// ErrRoleExists is returned (wrapped) by Create when the role exists.
	ErrRoleExists = errors.New("role already exists")
	// ErrInvalidSpec is returned (wrapped) for arguments that make no sense
	// (connection limit below -1, empty password, drop without reassign_to...).
	ErrInvalidSpec = errors.New("invalid argument")
)

// sentinels are what an *Error may unwrap to, besides a scrubbed PgError.
var sentinels = []error{
	connector.ErrNotFound, ErrInvalidName, ErrProtectedRole, ErrRoleExists, ErrInvalidSpec,
	context.Canceled, context.DeadlineExceeded,
}

// Error is every error this package returns. Its text is scrubbed of
// secrets. It deliberately does not unwrap to the underlying pgx error,
// whose fields (a ParseConfigError's ConnString, a ConnectError's Config)
// carry the DSN; it unwraps only to the sentinels above and to a scrubbed
// copy of the server's *pgconn.PgError, so errors.Is/As keep working.
type Error struct {
	msg    string
	causes []error
}

func (e *Error) Error() string   { return e.msg }
func (e *Error) Unwrap() []error { return e.causes }

// scrubber removes known secrets from text.
type scrubber struct{ secrets []string }

// minSecretLen: shorter "secrets" would shred ordinary words in messages
// and protect nothing.
const minSecretLen = 3

func (s scrubber) with(more ...string) scrubber {
	out := scrubber{secrets: append([]string(nil), s.secrets...)}
	for _, m := range more {
		if len(m) < minSecretLen {
			continue
		}
		for _, form := range []string{m, url.QueryEscape(m), url.PathEscape(m), url.UserPassword("", m).String()[1:]} {
			if !slices.Contains(out.secrets, form) {
				out.secrets = append(out.secrets, form)
			}
		}
	}
	return out
}

func (s scrubber) String() string   { return fmt.Sprintf("scrubber{%d secrets}", len(s.secrets)) }
func (s scrubber) GoString() string { return s.String() }

var (
	kvPassword  = regexp.MustCompile(`(?i)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)
	urlUserinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*):[^@\s]*@`)
)

func (s scrubber) scrub(text string) string {
	for _, secret := range s.secrets {
		if secret != "" {
			text = strings.ReplaceAll(text, secret, "xxxxx")
		}
	}
	// Belt and braces for secrets we could not know (an unparsable DSN).
	text = kvPassword.ReplaceAllString(text, "password=xxxxx")
	text = urlUserinfo.ReplaceAllString(text, "${1}:xxxxx@")
	return text
}

// wrap turns err into an *Error whose text starts with "postgres: op: ".
func (s scrubber) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) && err == error(already) {
		return &Error{msg: "postgres: " + op + ": " + strings.TrimPrefix(already.msg, "postgres: "), causes: already.causes}
	}
	e := &Error{msg: "postgres: " + op + ": " + s.scrub(err.Error())}
	for _, sentinel := range sentinels {
		if errors.Is(err, sentinel) {
			e.causes = append(e.causes, sentinel)
		}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		c := *pgErr
		c.Message, c.Detail, c.Hint = s.scrub(c.Message), s.scrub(c.Detail), s.scrub(c.Hint)
		c.Where, c.InternalQuery = s.scrub(c.Where), s.scrub(c.InternalQuery)
		e.causes = append(e.causes, &c)
		if c.Detail != "" { // e.g. which databases still hold a role's objects
			e.msg += "; detail: " + strings.ReplaceAll(c.Detail, "\n", "; ")
		}
	}
	return e
}

// sqlState returns the SQLSTATE of err, or "".
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}
