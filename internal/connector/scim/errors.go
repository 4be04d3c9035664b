package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

// Sentinel errors, matched with errors.Is. ErrNotFound is the connector's,
// so callers need not import this package to test for it.
var (
	ErrNotFound           = connector.ErrNotFound
	ErrConflict           = errors.New("the SCIM service refused a duplicate (409)")
	ErrPreconditionFailed = errors.New("the resource changed since it was read (412); read it again")
	ErrUnauthorized       = errors.New("the SCIM service refused the credentials (401/403)")
	// ErrMalformedResponse is a body that is not the JSON SCIM promises.
	ErrMalformedResponse = errors.New("malformed SCIM response")
	// ErrResponseTooLarge is a body over Config.MaxResponseBytes.
	ErrResponseTooLarge = errors.New("SCIM response larger than the configured limit")
)

// HTTPError is an answer other than the one an operation expects.
type HTTPError struct {
	Method, Path string // e.g. "GET", "/Users/2819c223"
	Status       int
	// SCIMType and Detail come from a SCIM error body (RFC 7644 §3.12),
	// sanitised and shortened.
	SCIMType, Detail string
	// NotSCIM is set when the body was not a SCIM error (an HTML page from
	// a proxy, a login form, nothing at all).
	NotSCIM     bool
	ContentType string
	BodyBytes   int
	// Attempts is how many attempts were made (retries included).
	Attempts int
}

func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "SCIM %s %s: HTTP %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	switch {
	case e.NotSCIM:
		ct := e.ContentType
		if ct == "" {
			ct = "no content type"
		}
		fmt.Fprintf(&b, "; the response body was not SCIM (%s, %d bytes)", ct, e.BodyBytes)
	default:
		if e.SCIMType != "" {
			fmt.Fprintf(&b, " (%s)", e.SCIMType)
		}
		if e.Detail != "" {
			fmt.Fprintf(&b, ": %s", e.Detail)
		}
	}
	return b.String()
}

// Unwrap maps the status to a sentinel. A 404 is ErrNotFound only with a
// SCIM body: a bare 404 page says the URL is wrong, not that the user is
// gone.
func (e *HTTPError) Unwrap() error {
	switch {
	case e.Status == http.StatusNotFound && !e.NotSCIM:
		return ErrNotFound
	case e.Status == http.StatusConflict:
		return ErrConflict
	case e.Status == http.StatusPreconditionFailed:
		return ErrPreconditionFailed
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return ErrUnauthorized
	}
	return nil
}

// sanitise makes server text safe to show: no control characters, no
// token, at most 300 characters.
func (c *Client) sanitise(s string) string { return c.shorten(s, 300) }

// maxQuoted bounds a server value (an id, a content type, an unreadable
// attribute) quoted in an error message: a broken server must not turn a
// 10 MiB body or header into a 10 MiB error.
const maxQuoted = 64

// shorten is sanitise with a limit: the token is redacted before the text
// is cut, so a cut can never keep part of it.
func (c *Client) shorten(s string, max int) string {
	s = c.redact(s)
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	return s
}

// quote shows a decoded JSON value in an error: scalars shortened and
// quoted, objects and lists by kind only.
func (c *Client) quote(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(c.shorten(v, maxQuoted))
	case json.Number:
		return c.shorten(v.String(), maxQuoted)
	case json.RawMessage:
		return c.shorten(string(v), maxQuoted)
	case bool:
		return strconv.FormatBool(v)
	case map[string]any, complexValue:
		return "an object or list"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("a %T", v)
}

// minRedactLen: shorter "tokens" (test fixtures) would shred ordinary words.
const minRedactLen = 6

func (c *Client) redact(s string) string {
	if len(c.token) >= minRedactLen && strings.Contains(s, c.token) {
		return strings.ReplaceAll(s, c.token, "[REDACTED]")
	}
	return s
}

// redactedError hides a token that made it into an error message anyway,
// while errors.Is still sees the sentinels of the original.
type redactedError struct {
	msg  string
	orig error
}

func (e *redactedError) Error() string        { return e.msg }
func (e *redactedError) Is(target error) bool { return errors.Is(e.orig, target) }

// scrub is the last line of defence applied to every error a public method
// returns.
func (c *Client) scrub(err error) error {
	if err == nil {
		return nil
	}
	if msg := err.Error(); c.redact(msg) != msg {
		return &redactedError{msg: c.redact(msg), orig: err}
	}
	return err
}
