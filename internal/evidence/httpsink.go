package evidence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
)

// Headers sent with each record, besides Content-Type and Authorization.
const (
	HeaderSeq  = "Sunset-Evidence-Seq"
	HeaderHash = "Sunset-Evidence-Hash"
	// Idempotency-Key (the record's hash) lets a collector that knows the
	// convention drop a record sent twice; it also lets Go's transport
	// retry the POST on a keep-alive connection the server had closed.
	HeaderIdempotencyKey = "Idempotency-Key"
)

// maxAnswerBytes is how much of an answer is read (and drained for
// connection reuse); answers are not used beyond their status.
const maxAnswerBytes = 64 << 10

// poster POSTs one record with retries.
type poster struct {
	rawURL   string // with its query: never shown
	endpoint string // scheme://host/path
	token    string
	timeout  time.Duration
	http     *retryablehttp.Client
}

func newPoster(u *url.URL, cfg SinkConfig) *poster {
	hc := cleanhttp.DefaultPooledClient()
	hc.Timeout = cfg.Timeout
	// Never follow a redirect: the Authorization header would go with it.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p := &poster{rawURL: u.String(), endpoint: redactedEndpoint(u), token: cfg.Token, timeout: cfg.Timeout}
	p.http = &retryablehttp.Client{
		HTTPClient:   hc,
		RetryWaitMin: cfg.RetryWaitMin,
		RetryWaitMax: cfg.RetryWaitMax,
		RetryMax:     cfg.MaxAttempts - 1,
		CheckRetry:   retryPolicy,
		Backoff:      backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		// The request hook counts attempts; no Logger is set, so the
		// library logs nothing (its lines would carry the URL's query).
		RequestLogHook: func(_ retryablehttp.Logger, req *http.Request, _ int) {
			if n, ok := req.Context().Value(attemptsKey{}).(*int); ok {
				*n++
			}
		},
	}
	return p
}

type attemptsKey struct{}

// retryPolicy retries connection errors, timeouts, 429 and 5xx but 501, as
// the library does, and stops when the Deliver budget is spent.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	retry, _ := retryablehttp.ErrorPropagatedRetryPolicy(ctx, resp, err)
	return retry, nil
}

// backoff is full-jitter exponential, and honours a Retry-After only up to
// hi: a collector asking for an hour does not get to hold an apply.
func backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	ceiling := hi
	if attempt < 30 {
		if d := lo << attempt; d > 0 && d < hi {
			ceiling = d
		}
	}
	wait := ceiling/2 + rand.N(ceiling/2+1)
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s > 0 {
			wait = max(wait, min(time.Duration(s)*time.Second, hi))
		}
	}
	return wait
}

// sendError is a record the collector did not acknowledge. Its text holds
// no token and no query.
type sendError struct {
	seq      uint64
	attempts int
	status   int    // 0: no answer
	reason   string // what went wrong, already redacted
}

func (e *sendError) Error() string {
	return fmt.Sprintf("record %d was not acknowledged after %d attempt(s): %s", e.seq, e.attempts, e.reason)
}

// post sends line (the record's ledger line, "\n" included) and returns
// nil once the collector answered 2xx.
func (p *poster) post(ctx context.Context, seq uint64, hash string, line []byte) error {
	attempts := 0
	ctx = context.WithValue(ctx, attemptsKey{}, &attempts)
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, p.rawURL, line)
	if err != nil {
		return &sendError{seq: seq, reason: "the request cannot be built"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sunset-evidence/1")
	req.Header.Set(HeaderSeq, strconv.FormatUint(seq, 10))
	req.Header.Set(HeaderHash, hash)
	req.Header.Set(HeaderIdempotencyKey, hash)
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return &sendError{seq: seq, attempts: max(attempts, 1), reason: p.describe(ctx, err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerBytes))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	reason := "the collector answered " + statusText(resp.StatusCode)
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		reason += " (a redirect, not followed: the token would go with it; configure the final URL)"
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		reason += " (check the token)"
	}
	if s := p.snippet(body); s != "" {
		reason += ": " + s
	}
	return &sendError{seq: seq, attempts: max(attempts, 1), status: resp.StatusCode, reason: reason}
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return strconv.Itoa(code) + " " + t
	}
	return strconv.Itoa(code)
}

// describe turns a transport error into words without the URL (its query
// may hold a key) or the token (a proxy could echo it).
func (p *poster) describe(ctx context.Context, err error) string {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return "the delivery time budget ran out"
	}
	if errors.Is(err, context.Canceled) {
		return "delivery was cancelled"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Sprintf("no answer within %s", p.timeout)
	}
	return p.redact(err.Error())
}

// snippet is the start of an answer body, quoted (so control characters
// and newlines are escaped) and redacted; it helps to read a 400.
func (p *poster) snippet(body []byte) string {
	s := strings.TrimSpace(string(body))
	if s == "" {
		return ""
	}
	s = p.redact(s)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strconv.Quote(s)
}

// redact removes the token and the full URL from s.
func (p *poster) redact(s string) string {
	if p.token != "" {
		s = strings.ReplaceAll(s, p.token, "[redacted]")
	}
	if p.rawURL != p.endpoint {
		s = strings.ReplaceAll(s, p.rawURL, p.endpoint)
	}
	return s
}

func (p *poster) close() { p.http.HTTPClient.CloseIdleConnections() }
