package scim

import (
	"net/http"
	"testing"
	"time"
)

func TestSCIMRetryAfterParsing(t *testing.T) {
	local := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	serverDate := local.Add(-time.Hour) // the server's clock is an hour behind
	for _, tc := range []struct {
		name string
		hdr  http.Header
		want time.Duration
		ok   bool
	}{
		{"seconds", http.Header{"Retry-After": {"7"}}, 7 * time.Second, true},
		{"zero", http.Header{"Retry-After": {"0"}}, 0, true},
		{"negative", http.Header{"Retry-After": {"-3"}}, 0, false},
		{"absent", http.Header{}, 0, false},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0, false},
		{"date against local clock", http.Header{"Retry-After": {local.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second, true},
		{"date against server Date", http.Header{
			"Retry-After": {serverDate.Add(30 * time.Second).Format(http.TimeFormat)},
			"Date":        {serverDate.Format(http.TimeFormat)},
		}, 30 * time.Second, true},
		{"date in the past", http.Header{"Retry-After": {local.Add(-time.Minute).Format(http.TimeFormat)}}, 0, true},
		{"absurd seconds capped", http.Header{"Retry-After": {"999999999999"}}, 24 * time.Hour, true},
	} {
		got, ok := retryAfter(tc.hdr, local)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: got %v %v, want %v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSCIMBackoffIsJitteredAndBounded(t *testing.T) {
	c := &Client{cfg: Config{}.withDefaults()}
	lo, hi := 100*time.Millisecond, 2*time.Second
	seen := map[time.Duration]bool{}
	for attempt := range 10 {
		ceiling := min(lo<<attempt, hi)
		for range 50 {
			d := c.backoff(lo, hi, attempt, nil)
			if d < ceiling/2 || d > ceiling {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, ceiling/2, ceiling)
			}
			seen[d] = true
		}
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct waits: no jitter", len(seen))
	}
	resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"5"}}}
	if d := c.backoff(lo, hi, 0, resp); d != 5*time.Second {
		t.Errorf("Retry-After 5 on 429 waited %v", d)
	}
	resp.StatusCode = http.StatusServiceUnavailable
	if d := c.backoff(lo, hi, 0, resp); d != 5*time.Second {
		t.Errorf("Retry-After 5 on 503 waited %v", d)
	}
}
