package evidence

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Recognisable secrets: the token, and a key in the URL's query (some
// webhooks take one there).
const (
	secretToken = "tok-LEAKCHECK-7c1d9a"
	secretQuery = "qkey-LEAKCHECK-55b0e2"
)

func assertNoSecret(t *testing.T, where, s string) {
	t.Helper()
	for _, secret := range []string{secretToken, secretQuery} {
		if strings.Contains(s, secret) {
			t.Errorf("%s shows a secret: %q", where, s)
		}
	}
}

// The token and the query key appear in no error, report, warning, log
// line or String(), even when the collector echoes the Authorization
// header back, times out, or refuses the connection.
func TestShipperSecretsNeverShown(t *testing.T) {
	c := newCollector(t, secretToken)
	c.set(func(c *collector) { c.echoAuth = true })
	path := tempLedger(t)
	appendN(t, openLedger(t, path), 1, 2)

	var logs bytes.Buffer
	cfg := testSinkConfig(c.url()+"?key="+secretQuery, secretToken)
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := newShipper(t, path, cfg)

	var shown []string
	show := func(where string, rep DeliveryReport) {
		shown = append(shown, where+": "+fmt.Sprintf("%v | %+v | %#v | %s", rep, rep, rep, rep.Warning()))
	}
	rep := s.Deliver(context.Background())
	if !strings.Contains(rep.Problem, "401") || !strings.Contains(rep.Problem, "[redacted]") {
		t.Fatalf("the echoing collector's answer should be shown, redacted: %q", rep.Problem)
	}
	show("echoed 401", rep)

	// A hung collector (timeout) and a refused connection.
	c.set(func(c *collector) { c.echoAuth, c.hang = false, make(chan struct{}) })
	hcfg := cfg
	hcfg.Timeout = 100 * time.Millisecond
	show("timeout", newShipper(t, path, hcfg).Deliver(context.Background()))
	c.close()
	show("refused", s.Deliver(context.Background()))

	// And success, for the debug log.
	ok := newCollector(t, secretToken)
	okCfg := cfg
	okCfg.URL = ok.url() + "?key=" + secretQuery
	okRep := newShipper(t, path, okCfg).Deliver(context.Background())
	if okRep.Delivered != 2 {
		t.Fatalf("%+v", okRep)
	}
	show("delivered", okRep)
	show("status", s.Status())

	shown = append(shown,
		fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg.String()),
		fmt.Sprintf("%v %+v %#v %s", s, s, s, s.String()),
		logs.String(),
	)
	if !strings.Contains(logs.String(), "evidence: delivered") {
		t.Fatalf("the debug log has no delivery line:\n%s", logs.String())
	}
	for _, out := range shown {
		assertNoSecret(t, "output", out)
	}
	// The collector's identity is still shown, without the query.
	if !strings.Contains(rep.Warning(), c.srv.URL+"/intake") {
		t.Fatalf("the warning does not name the collector: %s", rep.Warning())
	}
}

// A redirect is not followed: the Authorization header would go with it.
func TestShipperDoesNotFollowRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer other.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()

	path := tempLedger(t)
	appendN(t, openLedger(t, path), 1, 1)
	rep := newShipper(t, path, testSinkConfig(redirector.URL, secretToken)).Deliver(context.Background())
	if rep.Delivered != 0 || !strings.Contains(rep.Problem, "307 Temporary Redirect (a redirect, not followed") {
		t.Fatalf("%+v", rep)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the redirect was followed %d times", n)
	}
}

func TestNewShipperRefuses(t *testing.T) {
	for _, tc := range []struct {
		url, token, want string
	}{
		{"", "t", "URL is empty"},
		{"http://collector.example.com/intake?key=" + secretQuery, "t", "plain http"},
		{"ftp://127.0.0.1/x?key=" + secretQuery, "t", "must be https"},
		{"https://user:" + secretQuery + "@collector.example.com/", "t", "user or password"},
		{"https://collector.example.com/#" + secretQuery, "t", "fragment"},
		{"https:///nohost?key=" + secretQuery, "t", "no host"},
		{"https://collector.example.com/", secretToken + "\r\nX-Injected: 1", "one word"},
		{"https://collector.example.com/", secretToken + " " + secretToken, "one word"},
		{"%zz" + secretQuery, "t", "does not parse"},
	} {
		_, err := NewShipper(tempLedger(t), SinkConfig{URL: tc.url, Token: tc.token})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewShipper(%q) = %v, want an error saying %q", tc.url, err, tc.want)
			continue
		}
		assertNoSecret(t, "error", err.Error())
	}
	if _, err := NewShipper("", SinkConfig{URL: "https://collector.example.com/"}); err == nil {
		t.Error("an empty ledger path was accepted")
	}
	for _, ok := range []SinkConfig{
		{URL: "https://collector.example.com/intake?key=x", Token: secretToken},
		{URL: "http://127.0.0.1:8080/intake"},
		{URL: "http://[::1]:8080/intake"},
		{URL: "http://localhost/intake"},
		{URL: "http://collector.internal/intake", AllowInsecureHTTP: true},
	} {
		if _, err := NewShipper(tempLedger(t), ok); err != nil {
			t.Errorf("NewShipper(%v): %v", ok, err)
		}
	}
}
