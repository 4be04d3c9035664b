package scim_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/scim"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// hostile serves fixed bad answers. It is not a SCIM server and does not
// pretend to be one: it is the proxy, the broken tenant, the attacker.
func hostile(t *testing.T, h http.HandlerFunc) *scim.Client {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	c, err := scim.New(scim.Config{URL: ts.URL + "/scim/v2", Token: "hostile-token-value", MaxAttempts: 2, RetryWaitMin: 1, RetryWaitMax: 2})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSCIMRefusesBadAnswers(t *testing.T) {
	ctx := context.Background()
	scimJSON := func(status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}

	t.Run("malformed JSON", func(t *testing.T) {
		c := hostile(t, scimJSON(200, `{"id":"1","userName":"x",`))
		_, err := c.GetUser(ctx, "1")
		if !errors.Is(err, scim.ErrMalformedResponse) || !strings.Contains(err.Error(), "HTTP 200") {
			t.Fatalf("err = %v", err)
		}
		if _, err := c.Verify(ctx, "1"); err == nil {
			t.Fatal("verify accepted a malformed answer")
		}
	})
	t.Run("not an object", func(t *testing.T) {
		c := hostile(t, scimJSON(200, `["x"]`))
		if _, err := c.GetUser(ctx, "1"); !errors.Is(err, scim.ErrMalformedResponse) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unreadable active", func(t *testing.T) {
		c := hostile(t, scimJSON(200, `{"id":"1","userName":"x","active":"maybe"}`))
		v, err := c.Verify(ctx, "1")
		if err == nil || v.Gone {
			t.Fatalf("active=maybe verified as %+v, %v", v, err)
		}
	})
	t.Run("inventory refuses what it cannot read", func(t *testing.T) {
		for name, body := range map[string]string{
			"active=maybe": `{"totalResults":1,"Resources":[{"id":"1","userName":"a","active":"maybe"}]}`,
			"no id":        `{"totalResults":1,"Resources":[{"userName":"a","active":true}]}`,
			"null":         `null`,
			"bad total":    `{"totalResults":"many","Resources":[{"id":"1"}]}`,
		} {
			c := hostile(t, scimJSON(200, body))
			if err := c.Inventory(ctx, func(connector.Account) error { return nil }); !errors.Is(err, scim.ErrMalformedResponse) {
				t.Errorf("%s: err = %v", name, err)
			}
		}
		c := hostile(t, scimJSON(200, `{"totalResults":"1","resources":[{"ID":"7","USERNAME":"z","Active":"FALSE","groups":[{"value":"g1"}]}]}`))
		var got []connector.Account
		if err := c.Inventory(ctx, func(a connector.Account) error { got = append(got, a); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Key != "7" || got[0].Name != "z" || got[0].Usable || len(got[0].Groups) != 1 {
			t.Errorf("tolerant inventory read %+v", got)
		}
	})
	t.Run("oversized, streamed", func(t *testing.T) {
		c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/scim+json")
			_, _ = w.Write([]byte(`{"id":"1","userName":"`))
			chunk := bytes.Repeat([]byte("a"), 1<<20)
			for range 11 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			_, _ = w.Write([]byte(`"}`))
		})
		_, err := c.GetUser(ctx, "1")
		if !errors.Is(err, scim.ErrResponseTooLarge) || len(err.Error()) > 300 {
			t.Fatalf("err = %.400v", err)
		}
	})
	t.Run("oversized, declared", func(t *testing.T) {
		c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(64<<20))
			w.WriteHeader(200)
		})
		if _, err := c.GetUser(ctx, "1"); !errors.Is(err, scim.ErrResponseTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("HTML error page from a proxy", func(t *testing.T) {
		page := "<html><body>" + strings.Repeat("<p>Bad gateway, the upstream is sad</p>", 500) + "</body></html>"
		c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte(page))
		})
		_, err := c.GetUser(ctx, "1")
		msg := fmt.Sprint(err)
		if !strings.Contains(msg, "HTTP 502") || !strings.Contains(msg, "not SCIM") || strings.Contains(msg, "upstream is sad") || len(msg) > 300 {
			t.Fatalf("err = %.500s", msg)
		}
		var he *scim.HTTPError
		if !errors.As(err, &he) || !he.NotSCIM || he.Attempts != 2 {
			t.Fatalf("HTTPError = %+v", he)
		}
	})
	t.Run("404 page that is not SCIM is not proof of absence", func(t *testing.T) {
		c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("<h1>Not Found</h1>"))
		})
		v, err := c.Verify(ctx, "1")
		if err == nil || v.Gone || errors.Is(err, connector.ErrNotFound) {
			t.Fatalf("a non-SCIM 404 verified as %+v, %v", v, err)
		}
		if err := c.Revoke(ctx, "1", scim.DeprovisionDelete); err == nil {
			t.Fatal("revoke took a non-SCIM 404 for already gone")
		}
		// A framework's generic JSON error is not SCIM either.
		c2 := hostile(t, scimJSON(404, `{"timestamp":"2026-01-01","status":404,"error":"Not Found","path":"/scim/v2/Users/1"}`))
		if v, err := c2.Verify(ctx, "1"); err == nil || v.Gone {
			t.Fatalf("a generic JSON 404 verified as %+v, %v", v, err)
		}
	})
	t.Run("list that never ends", func(t *testing.T) {
		c := hostile(t, scimJSON(200, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"Resources":[{"id":"1","userName":"a"},{"id":"2","userName":"b"}]}`))
		err := c.ListUsers(ctx, "", 2, func(scim.User) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "does not page") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("empty page while totalResults says more", func(t *testing.T) {
		c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/scim+json")
			if r.URL.Query().Get("startIndex") == "1" {
				_, _ = w.Write([]byte(`{"totalResults":10,"Resources":[{"id":"1","userName":"a"}]}`))
				return
			}
			_, _ = w.Write([]byte(`{"totalResults":10,"Resources":[]}`))
		})
		n := 0
		err := c.Inventory(ctx, func(connector.Account) error { n++; return nil })
		if err == nil || !strings.Contains(err.Error(), "totalResults=10") {
			t.Fatalf("partial listing accepted: %v after %d", err, n)
		}
	})
	t.Run("200 that is not a list", func(t *testing.T) {
		c := hostile(t, scimJSON(200, `{"message":"welcome to the portal"}`))
		if err := c.Inventory(ctx, func(connector.Account) error { return nil }); !errors.Is(err, scim.ErrMalformedResponse) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("redirect not followed", func(t *testing.T) {
		c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example/steal", http.StatusFound)
		})
		if _, err := c.GetUser(ctx, "1"); err == nil || !strings.Contains(err.Error(), "HTTP 302") {
			t.Fatalf("err = %v", err)
		}
	})
}

// The token must not appear in any error or log line, even when the
// server echoes the Authorization header back.
func TestSCIMTokenNeverLeaks(t *testing.T) {
	const token = "s3cr3t-bearer-token-0123456789"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/scim+json")
		status := http.StatusBadRequest
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/Users") {
			status = http.StatusInternalServerError
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"%d","scimType":%q,"detail":"you sent %s"}`,
			status, r.Header.Get("Authorization"), r.Header.Get("Authorization"))
	}))
	defer echo.Close()
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{Token: token})
	id, _ := srv.AddUser(testenv.SCIMUser{UserName: "kim"})

	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mk := func(url string) *scim.Client {
		c, err := scim.New(scim.Config{URL: url, Token: token, Logger: logger, MaxAttempts: 2, RetryWaitMin: 1, RetryWaitMax: 2})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	var errs []error
	run := func(c *scim.Client) {
		_, err := c.GetUser(ctx, id)
		errs = append(errs, err)
		_, err = c.CreateUser(ctx, scim.User{UserName: "kim", Active: true})
		errs = append(errs, err)
		errs = append(errs, c.Revoke(ctx, id, scim.DeprovisionDeactivateThenDelete))
		_, err = c.Verify(ctx, id)
		errs = append(errs, err)
		errs = append(errs, c.Inventory(ctx, func(connector.Account) error { return nil }))
		errs = append(errs, c.AddGroupMember(ctx, "g", id))
	}
	run(mk(echo.URL))
	srv.SetPermanentFailure(true)
	run(mk(srv.URL))
	srv.SetPermanentFailure(false)
	run(mk(srv.URL + "/wrong/base"))
	run(mk("http://127.0.0.1:1/scim/v2")) // nothing listens there

	n := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		n++
		if strings.Contains(err.Error(), token) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), token) {
			t.Errorf("token in error: %v", err)
		}
	}
	if n < 15 {
		t.Fatalf("only %d errors were produced; the test does not exercise the error paths", n)
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("token in logs:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("the logger saw no retries; the log check proves nothing:\n%s", logs.String())
	}
	if !strings.Contains(fmt.Sprint(errs[0]), "[REDACTED]") {
		t.Errorf("echoed token not visibly redacted: %v", errs[0])
	}
	if !errors.Is(errs[0], scim.ErrMalformedResponse) && !strings.Contains(fmt.Sprint(errs[0]), "HTTP 400") {
		t.Errorf("redaction lost the error: %v", errs[0])
	}

	cfg := scim.Config{URL: srv.URL, Token: token}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprint(mk(srv.URL))} {
		if strings.Contains(s, token) {
			t.Errorf("token printed: %s", s)
		}
	}
}

func TestSCIMConfigValidation(t *testing.T) {
	ok := []scim.Config{
		{URL: "https://api.example.com/scim/v2", Token: "t"},
		{URL: "https://api.example.com/scim/v2/", Token: "t", Deprovision: "delete"},
		{URL: "http://127.0.0.1:8080/scim", Token: "t"},
		{URL: "http://[::1]:8080/scim", Token: "t"},
		{URL: "http://localhost/scim", Token: "t"},
		{URL: "http://scim.internal/scim", Token: "t", AllowInsecureHTTP: true},
	}
	for _, cfg := range ok {
		if _, err := scim.New(cfg); err != nil {
			t.Errorf("New(%s): %v", cfg.URL, err)
		}
	}
	bad := map[string]scim.Config{
		"non-loopback http":   {URL: "http://api.example.com/scim", Token: "t"},
		"userinfo":            {URL: "https://admin:hunter2pass@api.example.com/scim", Token: "t"},
		"query":               {URL: "https://api.example.com/scim?aadOptscim062020", Token: "t"},
		"scheme":              {URL: "ftp://api.example.com/scim", Token: "t"},
		"no host":             {URL: "https:///scim", Token: "t"},
		"empty":               {Token: "t"},
		"no token":            {URL: "https://api.example.com/scim"},
		"token with newline":  {URL: "https://api.example.com/scim", Token: "a\r\nX-Evil: 1"},
		"unknown deprovision": {URL: "https://api.example.com/scim", Token: "t", Deprovision: "suspend"},
		"bad CA":              {URL: "https://api.example.com/scim", Token: "t", CACertPEM: []byte("not pem")},
	}
	for name, cfg := range bad {
		_, err := scim.New(cfg)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), "hunter2pass") {
			t.Errorf("%s: password in error: %v", name, err)
		}
	}
	c, _ := scim.New(scim.Config{URL: "https://api.example.com/scim/v2/", Token: "t"})
	if d := c.Describe(); d.Endpoint != "https://api.example.com/scim/v2" || d.System != "scim" {
		t.Errorf("describe = %+v", d)
	}
}
