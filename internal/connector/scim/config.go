// Package scim is sunset's connector for SCIM 2.0 service providers
// (RFC 7643 / RFC 7644): SaaS applications, and identity providers such as
// Entra ID or Okta read as a roster.
//
// It provisions and deprovisions users and group memberships, verifies that
// a revocation took effect by reading the user back, and streams the user
// inventory page by page. It imports nothing of Terraform.
//
// Transport decisions, documented once here:
//
//   - Retries (github.com/hashicorp/go-retryablehttp): connection errors,
//     per-attempt timeouts, 429 and 5xx (but 501) are retried up to
//     MaxAttempts with full-jitter exponential backoff. A Retry-After header
//     (delta-seconds or HTTP-date, the latter read against the response's
//     Date header) is honoured as a lower bound on the wait; a Retry-After
//     longer than MaxRetryAfter stops the retries with an error rather than
//     blocking an apply for an hour.
//   - POST is not idempotent. If an earlier attempt of a create may have
//     reached the server (connection lost, timeout, 5xx) and a retry then
//     answers 409 (uniqueness), the client looks the user up by userName and
//     returns it when its externalId agrees with the one sent. A 409 on a
//     first, clean attempt stays an error wrapping ErrConflict: sunset does not
//     silently adopt an account somebody else created.
//   - The bearer token travels only in the Authorization header. The
//     retryablehttp logger is an adapter that receives method, redacted URL
//     and error only, and every error and log line is scrubbed of the token
//     (defence against servers that echo request headers back).
//   - Responses are capped (MaxResponseBytes, 10 MiB by default); a body over
//     the cap, malformed JSON, or an error body that is not SCIM (an HTML
//     page from a proxy) is refused with an error naming the status, never
//     dumped.
//   - A 404 counts as "the user is gone" only when its body is a SCIM error:
//     a 404 page from a misconfigured URL must not verify a revocation.
package scim

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/loopback"
)

// Deprovisioning modes: what Revoke does to a user.
const (
	// DeprovisionDeactivate sets active=false (PATCH). The account stays,
	// so its history does; it can no longer sign in.
	DeprovisionDeactivate = "deactivate"
	// DeprovisionDelete deletes the user (DELETE).
	DeprovisionDelete = "delete"
	// DeprovisionDeactivateThenDelete deactivates first (so access ends even
	// if the delete fails), then deletes.
	DeprovisionDeactivateThenDelete = "deactivate_then_delete"
)

// Defaults for Config fields left zero.
const (
	DefaultTimeout          = 30 * time.Second
	DefaultMaxAttempts      = 10
	DefaultRetryWaitMin     = 250 * time.Millisecond
	DefaultRetryWaitMax     = 15 * time.Second
	DefaultMaxRetryAfter    = 2 * time.Minute
	DefaultPageSize         = 100
	DefaultMaxResponseBytes = 10 << 20
)

// Config configures a Client.
type Config struct {
	// URL is the SCIM base URL, e.g. https://api.example.com/scim/v2.
	// It must be https; http is accepted only to a loopback address unless
	// AllowInsecureHTTP is set. It may not carry userinfo, a query or a
	// fragment.
	URL string
	// Token is the bearer token. Never logged, never in an error.
	Token string
	// Deprovision is Revoke's default mode (default "deactivate").
	Deprovision string
	// Timeout bounds each attempt, including reading the body (default 30s).
	Timeout time.Duration
	// MaxAttempts bounds the attempts per request, first one included
	// (default 10).
	MaxAttempts int
	// RetryWaitMin and RetryWaitMax bound the jittered exponential backoff
	// (defaults 250ms and 15s).
	RetryWaitMin, RetryWaitMax time.Duration
	// MaxRetryAfter is the longest Retry-After the client will wait out
	// (default 2m); a longer one fails the request.
	MaxRetryAfter time.Duration
	// PageSize is the count asked for by Inventory (default 100, which
	// every provider accepts; providers cap count anyway).
	PageSize int
	// MaxResponseBytes caps a response body (default 10 MiB).
	MaxResponseBytes int64
	// AllowInsecureHTTP permits http:// to a non-loopback host.
	AllowInsecureHTTP bool
	// CACertPEM, when set, is the only CA trusted for https.
	CACertPEM []byte
	// UserAgent is sent on every request (default "sunset-scim").
	UserAgent string
	// Logger receives retry and failure events (no headers, no token).
	Logger *slog.Logger
	// Now is the local clock, used when the server sends no Date header
	// (default time.Now).
	Now func() time.Time
}

// String never shows the token.
func (c Config) String() string {
	tok := "unset"
	if c.Token != "" {
		tok = "set (redacted)"
	}
	return fmt.Sprintf("scim.Config{URL: %q, Token: %s, Deprovision: %q}", redactURL(c.URL), tok, c.Deprovision)
}

// GoString keeps %#v from printing the token too.
func (c Config) GoString() string { return c.String() }

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// ValidDeprovision reports whether mode is one of the three modes.
func ValidDeprovision(mode string) bool {
	switch mode {
	case DeprovisionDeactivate, DeprovisionDelete, DeprovisionDeactivateThenDelete:
		return true
	}
	return false
}

func (c Config) withDefaults() Config {
	if c.Deprovision == "" {
		c.Deprovision = DeprovisionDeactivate
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.RetryWaitMin <= 0 {
		c.RetryWaitMin = DefaultRetryWaitMin
	}
	if c.RetryWaitMax <= 0 {
		c.RetryWaitMax = DefaultRetryWaitMax
	}
	if c.RetryWaitMax < c.RetryWaitMin {
		c.RetryWaitMax = c.RetryWaitMin
	}
	if c.MaxRetryAfter <= 0 {
		c.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if c.PageSize <= 0 {
		c.PageSize = DefaultPageSize
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.UserAgent == "" {
		c.UserAgent = "sunset-scim"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// parseBaseURL checks the endpoint. Errors quote the URL without userinfo.
func parseBaseURL(raw string, allowInsecure bool) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("scim: url is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("scim: url %s is not a valid URL", redactURL(raw))
	}
	shown := redactURL(raw)
	switch {
	case u.User != nil:
		return nil, fmt.Errorf("scim: url %s must not carry credentials; put the bearer token in token", shown)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("scim: url %s must not have a query or fragment", shown)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("scim: url %s has no host", shown)
	case u.Scheme == "https":
	case u.Scheme == "http":
		if !allowInsecure && !loopback.Host(u.Hostname()) {
			return nil, fmt.Errorf("scim: url %s uses plain http to a non-loopback host; use https (the bearer token would cross the network in clear)", shown)
		}
	default:
		return nil, fmt.Errorf("scim: url %s must be https", shown)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func tlsConfig(caPEM []byte) (*tls.Config, error) {
	if len(caPEM) == 0 {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("scim: ca_cert holds no PEM certificate")
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
