package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

// Client talks to one SCIM service provider. It is safe for concurrent use.
type Client struct {
	cfg   Config
	base  *url.URL
	token string
	http  *retryablehttp.Client
}

var _ connector.Target = (*Client)(nil)

// New checks cfg and builds a client. It makes no request.
func New(cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	base, err := parseBaseURL(cfg.URL, cfg.AllowInsecureHTTP)
	if err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, errors.New("scim: token is required")
	}
	if strings.ContainsAny(cfg.Token, "\r\n") {
		return nil, errors.New("scim: token must be a single line")
	}
	if !ValidDeprovision(cfg.Deprovision) {
		return nil, fmt.Errorf("scim: deprovision %q must be one of %q, %q, %q", cfg.Deprovision,
			DeprovisionDeactivate, DeprovisionDelete, DeprovisionDeactivateThenDelete)
	}
	tlsCfg, err := tlsConfig(cfg.CACertPEM)
	if err != nil {
		return nil, err
	}

	hc := cleanhttp.DefaultPooledClient()
	hc.Timeout = cfg.Timeout
	if tlsCfg != nil {
		hc.Transport.(*http.Transport).TLSClientConfig = tlsCfg
	}
	// Never follow a redirect: it could carry the Authorization header to
	// another origin, and SCIM has no use for one.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	c := &Client{cfg: cfg, base: base, token: cfg.Token}
	rc := &retryablehttp.Client{
		HTTPClient:     hc,
		RetryWaitMin:   cfg.RetryWaitMin,
		RetryWaitMax:   cfg.RetryWaitMax,
		RetryMax:       cfg.MaxAttempts - 1,
		CheckRetry:     c.checkRetry,
		Backoff:        c.backoff,
		ErrorHandler:   retryablehttp.PassthroughErrorHandler,
		RequestLogHook: countAttempt,
	}
	if cfg.Logger != nil {
		rc.Logger = &leveledLogger{l: cfg.Logger, c: c}
	}
	c.http = rc
	return c, nil
}

// String never shows the token.
func (c *Client) String() string { return "scim.Client{" + c.Describe().Endpoint + "}" }

// Describe names the system and the endpoint without credentials.
func (c *Client) Describe() connector.Description {
	u := *c.base
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return connector.Description{System: "scim", Endpoint: u.String()}
}

// Close releases idle connections.
func (c *Client) Close() error {
	c.http.HTTPClient.CloseIdleConnections()
	return nil
}

// ---------------------------------------------------------------- exchange

type exchangeKey struct{}

// exchange follows one logical request across its attempts.
type exchange struct {
	attempts int
	// uncertain: an earlier attempt may have been processed by the server
	// (connection lost, timeout, 5xx) although we never saw the answer.
	uncertain bool
	body      []byte
	read      bool
}

func exchangeOf(ctx context.Context) *exchange {
	ex, _ := ctx.Value(exchangeKey{}).(*exchange)
	if ex == nil {
		return &exchange{}
	}
	return ex
}

func countAttempt(_ retryablehttp.Logger, req *http.Request, _ int) {
	exchangeOf(req.Context()).attempts++
}

// response is a complete answer, body read and capped.
type response struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
	attempts     int
	uncertain    bool
	// client made the request: errors quoting the answer redact its token.
	client *Client
}

// permanentError stops the retries: retrying would get the same answer.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// do performs one SCIM request with retries. It returns a response for any
// HTTP status; an error only when no usable answer came back.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in any, hdr http.Header) (*response, error) {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = query.Encode()
	var body any
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("SCIM %s %s: encode request: %w", method, path, err)
		}
		body = b
	}
	ex := &exchange{}
	req, err := retryablehttp.NewRequestWithContext(context.WithValue(ctx, exchangeKey{}, ex), method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("SCIM %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/scim+json, application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if in != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.SetResponseHandler(func(resp *http.Response) error {
		b, err := c.readBody(resp)
		if err != nil {
			return err
		}
		ex.body, ex.read = b, true
		return nil
	})

	resp, err := c.http.Do(req)
	if err != nil {
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		return nil, c.transportError(method, path, ex, resp, err)
	}
	defer resp.Body.Close()
	out := &response{method: method, path: path, status: resp.StatusCode, header: resp.Header, attempts: ex.attempts, uncertain: ex.uncertain, client: c}
	if ex.read {
		out.body = ex.body
	} else {
		// Retries exhausted on a 429/5xx: the handler did not run.
		b, err := c.readBody(resp)
		if err != nil {
			return nil, c.transportError(method, path, ex, resp, err)
		}
		out.body = b
	}
	return out, nil
}

func (c *Client) transportError(method, path string, ex *exchange, resp *http.Response, err error) error {
	status := ""
	if resp != nil {
		status = fmt.Sprintf(" (HTTP %d)", resp.StatusCode)
	}
	var ra *retryAfterTooLong
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "Client.Timeout"):
		return fmt.Errorf("SCIM %s %s: stopped after %d attempt(s)%s: %w", method, path, ex.attempts, status, err)
	case errors.As(err, &ra):
		return fmt.Errorf("SCIM %s %s%s: %w", method, path, status, err)
	case errors.Is(err, ErrResponseTooLarge), errors.Is(err, ErrMalformedResponse):
		return fmt.Errorf("SCIM %s %s%s: %w", method, path, status, err)
	}
	return fmt.Errorf("SCIM %s %s: no usable answer after %d attempt(s)%s: %w", method, path, ex.attempts, status, err)
}

// readBody reads at most MaxResponseBytes and refuses anything longer.
func (c *Client) readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	limit := c.cfg.MaxResponseBytes
	if resp.ContentLength > limit {
		return nil, &permanentError{fmt.Errorf("%w: Content-Length %d exceeds %d bytes; refused", ErrResponseTooLarge, resp.ContentLength, limit)}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading response body: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, &permanentError{fmt.Errorf("%w: body exceeds %d bytes; refused", ErrResponseTooLarge, limit)}
	}
	return b, nil
}

// ---------------------------------------------------------------- retry policy

type retryAfterTooLong struct{ wait, limit time.Duration }

func (e *retryAfterTooLong) Error() string {
	return fmt.Sprintf("the server asked to retry after %s (Retry-After), longer than the %s this client waits; giving up", e.wait, e.limit)
}

func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	ex := exchangeOf(ctx)
	if err != nil {
		var perm *permanentError
		if errors.As(err, &perm) {
			return false, perm.err
		}
		// TLS, scheme and redirect errors are not worth retrying; the
		// library's policy knows them.
		retry, rerr := retryablehttp.ErrorPropagatedRetryPolicy(ctx, resp, err)
		if retry {
			ex.uncertain = true
			return true, nil
		}
		if rerr == nil {
			rerr = err
		}
		return false, rerr
	}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests, s >= 500 && s != http.StatusNotImplemented:
		if s >= 500 {
			ex.uncertain = true
		}
		if wait, ok := retryAfter(resp.Header, c.cfg.Now()); ok && wait > c.cfg.MaxRetryAfter {
			return false, &retryAfterTooLong{wait: wait, limit: c.cfg.MaxRetryAfter}
		}
		return true, nil
	}
	return false, nil
}

// backoff is full-jitter exponential backoff, never shorter than a
// Retry-After the server sent.
func (c *Client) backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	ceiling := hi
	if attempt < 30 {
		if d := lo << attempt; d > 0 && d < hi {
			ceiling = d
		}
	}
	wait := ceiling/2 + rand.N(ceiling/2+1)
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if ra, ok := retryAfter(resp.Header, c.cfg.Now()); ok && ra > wait {
			wait = ra
		}
	}
	return wait
}

// retryAfter reads Retry-After as delta-seconds or an HTTP-date. A date is
// measured against the response's own Date header when there is one, so a
// skewed local clock does not stretch or cut the wait.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		now = d
	}
	if wait := at.Sub(now); wait > 0 {
		return wait, true
	}
	return 0, true
}

// ---------------------------------------------------------------- bodies

func mediaType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return strings.TrimSpace(strings.ToLower(h.Get("Content-Type")))
	}
	return mt
}

func isJSONMedia(mt string) bool {
	return mt == "" || mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// decodeObject parses a SCIM JSON object body. Numbers stay json.Number.
// An object that names one attribute twice (in two spellings) is refused.
func (r *response) decodeObject() (map[string]any, error) {
	if mt := mediaType(r.header); !isJSONMedia(mt) {
		return nil, fmt.Errorf("SCIM %s %s: HTTP %d: %w: the body is %s, not SCIM JSON (%d bytes)", r.method, r.path, r.status, ErrMalformedResponse, r.client.shorten(mt, maxQuoted), len(r.body))
	}
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("SCIM %s %s: HTTP %d: %w: not a JSON object (%d bytes)", r.method, r.path, r.status, ErrMalformedResponse, len(r.body))
	}
	if d.More() {
		return nil, fmt.Errorf("SCIM %s %s: HTTP %d: %w: trailing data after the JSON object", r.method, r.path, r.status, ErrMalformedResponse)
	}
	if k, dup := foldDuplicate(m); dup {
		return nil, fmt.Errorf("SCIM %s %s: HTTP %d: %w: attribute %s appears twice (names are case-insensitive)", r.method, r.path, r.status, ErrMalformedResponse, r.client.quote(k))
	}
	return m, nil
}

// httpError turns an unexpected answer into an HTTPError, reading the SCIM
// error body when there is one.
func (c *Client) httpError(r *response) error {
	e := &HTTPError{Method: r.method, Path: r.path, Status: r.status, Attempts: r.attempts, ContentType: c.shorten(mediaType(r.header), maxQuoted), BodyBytes: len(r.body)}
	m, err := r.decodeObject()
	if err != nil || !looksLikeSCIMError(m) {
		e.NotSCIM = true
		return e
	}
	e.SCIMType = c.sanitise(stringOf(lookup(m, "scimType")))
	e.Detail = c.sanitise(stringOf(lookup(m, "detail")))
	return e
}

func looksLikeSCIMError(m map[string]any) bool {
	if schemas, ok := lookup(m, "schemas").([]any); ok {
		for _, s := range schemas {
			if s == SchemaError {
				return true
			}
		}
	}
	// Without the schema URN, demand status plus detail or scimType, so that
	// a framework's generic JSON error ({"status":404,"error":"Not Found"})
	// is not taken for SCIM.
	return lookup(m, "status") != nil && (lookup(m, "detail") != nil || lookup(m, "scimType") != nil)
}

// date is the server's Date header, or the local clock.
func (c *Client) date(r *response) time.Time {
	if r != nil {
		if t, err := http.ParseTime(r.header.Get("Date")); err == nil {
			return t.UTC()
		}
	}
	return c.cfg.Now().UTC()
}

// ---------------------------------------------------------------- logging

// leveledLogger hands retryablehttp's events to slog. retryablehttp passes
// method, redacted URL and errors, never headers; values are still scrubbed
// of the token in case a server echoed it into an error.
type leveledLogger struct {
	l *slog.Logger
	c *Client
}

func (g *leveledLogger) args(kv []any) []any {
	out := make([]any, len(kv))
	for i, v := range kv {
		switch v := v.(type) {
		case string:
			out[i] = g.c.redact(v)
		case error:
			out[i] = g.c.redact(v.Error())
		case time.Duration, int, int64, bool:
			out[i] = v
		default:
			out[i] = g.c.redact(fmt.Sprint(v))
		}
	}
	return out
}

func (g *leveledLogger) Error(msg string, kv ...any) { g.l.Error("scim: "+msg, g.args(kv)...) }
func (g *leveledLogger) Info(msg string, kv ...any)  { g.l.Info("scim: "+msg, g.args(kv)...) }
func (g *leveledLogger) Debug(msg string, kv ...any) { g.l.Debug("scim: "+msg, g.args(kv)...) }
func (g *leveledLogger) Warn(msg string, kv ...any)  { g.l.Warn("scim: "+msg, g.args(kv)...) }
