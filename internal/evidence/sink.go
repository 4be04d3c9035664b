package evidence

// An external copy of the ledger: a Shipper POSTs every record to an HTTP
// collector (a SIEM webhook, a log intake), so that truncating or rewriting
// the local file cannot erase what was already sent.
//
// Design, decided once here:
//
//   - The ledger is the queue. What the collector has acknowledged is one
//     small cursor file next to the ledger, <ledger>.sent: the seq and hash
//     of the last acknowledged record, the byte offset where its line ends,
//     and the collector it went to. Deliver sends every record after the
//     cursor, in ledger order, one POST each, and moves the cursor after
//     each 2xx. Records waiting for a collector that is down are simply the
//     ledger's records after the cursor, already written with fsync under
//     the ledger's lock: there is no second copy (a spool) that a crash
//     could leave ahead of, behind, or different from the ledger, nothing
//     to garbage-collect, and no second place for secrets or tampering.
//     "Spooled locally, delivered in order on the next run" is what reading
//     the ledger from the cursor gives. The offset makes a Deliver read only
//     the new records, never the whole ledger. One ledger has one
//     collector (one cursor).
//   - The body of each POST is the record's ledger line, byte for byte,
//     its "\n" included, as Content-Type application/json. Concatenated in
//     order, the bodies are a ledger that `sunset evidence verify` checks
//     (hash chain, and HMAC with the key), so the collector's copy is
//     evidence on its own, not a re-encoding. Headers repeat the identity:
//     Sunset-Evidence-Seq, Sunset-Evidence-Hash, and Idempotency-Key (the
//     hash). A torn line is not a record and is not sent; the
//     ledger.recovered record that names it is.
//   - Delivery is at least once. A crash (or a lost answer) between a
//     collector's 2xx and the cursor update sends that record again; the
//     collector deduplicates on seq+hash (the same seq with another hash is
//     not a duplicate: it is a rewritten ledger, see below).
//   - A down collector never blocks or fails a revocation. Delivery runs
//     under its own lock (<ledger>.sent.lock), never the ledger's, so
//     appends go on while a POST hangs; a second deliverer (goroutine or
//     process) does not wait for that lock but returns at once (Busy),
//     leaving the records to the one delivering, which goes back for
//     records appended meanwhile (a few rounds). Each attempt has a short
//     timeout, each record a few attempts, each Deliver a time budget, and
//     after a failure a Shipper leaves the collector alone for a cooldown,
//     so a run of 200 revocations against a dead collector pays the timeout
//     once, not 200 times. Failures come back as a DeliveryReport whose
//     Warning() the caller shows; Deliver returns no error.
//   - The cursor is checked against the ledger before use: the record at
//     its offset must still have its seq and hash. When it does not, the
//     ledger was truncated or rewritten after those records were sent; the
//     report says so (Restarted) and delivery starts again from the first
//     record, so that the collector receives the current ledger too and
//     holds both versions side by side. A cursor written for another
//     collector (scheme, host and path differ) also restarts from the first
//     record, so a new collector gets the whole history.
//   - A record is never skipped: a collector that refuses one (400, 401,
//     413...) stops delivery at that record, every run, with a warning,
//     until it accepts it. A ledger that does not verify is delivered up to
//     its first bad line and no further.
//   - The token travels only in the Authorization header. It is not in any
//     error, report, log line or String(); the URL's query (some webhooks
//     carry a key there) is not shown either. Redirects are not followed
//     (the Authorization header would go with them), and a token over plain
//     http is refused except to a loopback address.

import (
	"errors"
	"fmt"
	"github.com/sunset-iam/terraform-provider-sunset/internal/loopback"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Defaults for SinkConfig fields left zero.
const (
	DefaultSinkTimeout      = 5 * time.Second
	DefaultSinkMaxAttempts  = 3
	DefaultSinkRetryWaitMin = 250 * time.Millisecond
	DefaultSinkRetryWaitMax = 2 * time.Second
	DefaultSinkBudget       = 20 * time.Second
	DefaultSinkCooldown     = time.Minute
)

// SinkConfig configures a Shipper.
type SinkConfig struct {
	// URL is the collector endpoint each record is POSTed to. It must be
	// https, or http to a loopback address (unless AllowInsecureHTTP). It
	// may carry a query (never shown), not userinfo or a fragment.
	URL string
	// Token, when set, is sent as "Authorization: Bearer <token>". Never
	// logged, never in an error.
	Token string
	// AllowInsecureHTTP allows http to a non-loopback host.
	AllowInsecureHTTP bool
	// Timeout bounds one attempt (connect, send, answer).
	Timeout time.Duration
	// MaxAttempts bounds the attempts per record in one Deliver (connection
	// errors, timeouts, 429 and 5xx but 501 are retried).
	MaxAttempts int
	// RetryWaitMin and RetryWaitMax bound the jittered exponential wait
	// between attempts; a Retry-After is honoured up to RetryWaitMax.
	RetryWaitMin, RetryWaitMax time.Duration
	// Budget bounds one Deliver call, whatever the backlog: no record is
	// started after it (one in flight finishes its attempts); the rest
	// waits for the next call. The worst case for a Deliver is thus Budget
	// plus MaxAttempts*Timeout and the waits between attempts.
	Budget time.Duration
	// Cooldown is how long a Shipper leaves the collector alone after a
	// failed delivery: Deliver calls in between only report. Negative: none.
	Cooldown time.Duration
	// Now is the clock for the cooldown and the cursor's time; nil: time.Now.
	Now func() time.Time
	// Logger, when set, receives a debug line per delivered record and a
	// warning when delivery stops. Never the token.
	Logger *slog.Logger
}

// String keeps the token out of logs and errors.
func (c SinkConfig) String() string {
	ep := "(invalid URL)"
	if u, err := url.Parse(c.URL); err == nil {
		ep = redactedEndpoint(u)
	}
	tok := "none"
	if c.Token != "" {
		tok = "[redacted]"
	}
	return fmt.Sprintf("evidence.SinkConfig{URL: %s, Token: %s, Timeout: %s, MaxAttempts: %d, Budget: %s}", ep, tok, c.Timeout, c.MaxAttempts, c.Budget)
}

// GoString keeps the token out of %#v.
func (c SinkConfig) GoString() string { return c.String() }

func (c SinkConfig) withDefaults() SinkConfig {
	if c.Timeout <= 0 {
		c.Timeout = DefaultSinkTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultSinkMaxAttempts
	}
	if c.RetryWaitMin <= 0 {
		c.RetryWaitMin = DefaultSinkRetryWaitMin
	}
	if c.RetryWaitMax <= 0 {
		c.RetryWaitMax = DefaultSinkRetryWaitMax
	}
	if c.RetryWaitMax < c.RetryWaitMin {
		c.RetryWaitMax = c.RetryWaitMin
	}
	if c.Budget <= 0 {
		c.Budget = DefaultSinkBudget
	}
	if c.Cooldown == 0 {
		c.Cooldown = DefaultSinkCooldown
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// parseCollectorURL checks a collector URL. Its errors never show the
// query or userinfo.
func parseCollectorURL(raw string, allowHTTP bool) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("evidence: the collector URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("evidence: the collector URL does not parse")
	}
	switch {
	case u.User != nil:
		return nil, errors.New("evidence: the collector URL must not carry a user or password; use the token")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, errors.New("evidence: the collector URL must not carry a fragment")
	case len(redactedEndpoint(u)) > maxEndpointBytes:
		return nil, fmt.Errorf("evidence: the collector URL is longer than %d characters without its query", maxEndpointBytes)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("evidence: the collector URL %s has no host", redactedEndpoint(u))
	case u.Scheme == "https":
	case u.Scheme == "http":
		if !allowHTTP && !loopback.Host(u.Hostname()) {
			return nil, fmt.Errorf("evidence: the collector URL %s is plain http to a host that is not loopback: the token and the evidence would cross the network in clear; use https", redactedEndpoint(u))
		}
	default:
		return nil, fmt.Errorf("evidence: the collector URL %s must be https (or http to loopback)", redactedEndpoint(u))
	}
	return u, nil
}

// redactedEndpoint is scheme://host/path: what reports and the cursor name.
func redactedEndpoint(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return v.String()
}

// DeliveryReport is what one Deliver call did and what remains. Its
// strings hold no secret.
type DeliveryReport struct {
	// Collector is the endpoint, as scheme://host/path.
	Collector string
	// Delivered counts the records the collector acknowledged in this call.
	Delivered int
	// Acked is the last record the collector has acknowledged, over all
	// runs (0:ZeroHash when none).
	Acked Head
	// Pending counts the ledger's records after Acked, not yet delivered.
	Pending int
	// Busy: another process or goroutine was delivering; this call did not
	// try (the one delivering sends these records too, or the next run).
	Busy bool
	// Skipped: the collector failed within the cooldown; this call did not
	// try. Problem repeats that failure.
	Skipped bool
	// Problem says why delivery stopped before the end of the ledger: the
	// collector is down or refused a record, the budget ran out, the ledger
	// breaks, the cursor cannot be written. Empty when all was delivered.
	Problem string
	// Restarted is set when the cursor did not fit (the ledger no longer
	// holds the last acknowledged record, the collector changed, the cursor
	// file was unreadable) and delivery started again from the first record.
	Restarted string
}

// OK reports whether everything is delivered and nothing needs a warning.
func (r DeliveryReport) OK() bool {
	return r.Problem == "" && r.Restarted == "" && r.Pending == 0
}

// Warning is the text for a plan or apply warning, or "" when there is
// nothing to warn about (everything delivered, or another process is
// delivering).
func (r DeliveryReport) Warning() string {
	var parts []string
	if r.Restarted != "" {
		parts = append(parts, r.Restarted+".")
	}
	if r.Problem != "" {
		parts = append(parts, fmt.Sprintf("Evidence records are not all delivered to the collector %s: %s. %d record(s) wait in the local ledger, which holds them durably; they are delivered, in order, on the next run. Revocations are not affected.",
			r.Collector, r.Problem, r.Pending))
	}
	return strings.Join(parts, " ")
}
