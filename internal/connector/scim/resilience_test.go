package scim_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/scim"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

func rawGet(t *testing.T, srv *testenv.SCIMServer, path string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// With 30% of requests failing transiently (429, 503, dropped connections
// before and after the work, answers slower than the client's timeout),
// every operation still succeeds, nothing is created twice, and every
// revocation verifies.
func TestSCIMTransientFaults(t *testing.T) {
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{
		FaultSeed: 42, RetryAfter: "0", SlowDelay: 1500 * time.Millisecond,
	})
	seeded, _ := srv.SeedUsers(150)
	srv.SetFaultRate(0.3)
	c := newClient(t, srv, func(cfg *scim.Config) {
		cfg.Timeout = 500 * time.Millisecond
		cfg.MaxAttempts = 10
		cfg.PageSize = 40
	})
	ctx := ctxT(t)

	var created []string
	for i := range 15 {
		u, err := c.CreateUser(ctx, scim.User{UserName: fmt.Sprintf("flaky-%02d", i), ExternalID: fmt.Sprintf("hr-%02d", i), Active: true})
		if err != nil {
			t.Fatalf("create %d under faults: %v", i, err)
		}
		created = append(created, u.ID)
	}
	n := 0
	if err := c.Inventory(ctx, func(connector.Account) error { n++; return nil }); err != nil {
		t.Fatalf("inventory under faults: %v", err)
	}
	if n != 165 {
		t.Fatalf("inventory under faults: %d accounts, want 165", n)
	}
	for i, id := range append(created, seeded[:10]...) {
		mode := []string{scim.DeprovisionDeactivate, scim.DeprovisionDelete, scim.DeprovisionDeactivateThenDelete}[i%3]
		if err := c.Revoke(ctx, id, mode); err != nil {
			t.Fatalf("revoke %s (%s) under faults: %v", id, mode, err)
		}
		v, err := c.Verify(ctx, id)
		if err != nil || !v.Gone {
			t.Fatalf("verify %s under faults: %+v %v", id, v, err)
		}
	}
	srv.SetFaultRate(0)
	st := srv.Stats()
	if st.Faults < 20 {
		t.Errorf("only %d faults injected in %d requests: the test did not exercise retries", st.Faults, st.Requests)
	}
	// 25 revoked; modes delete and deactivate_then_delete (i%3 != 0, 16 of
	// them) remove the user. Any other count means a create was duplicated
	// or a delete lost.
	if got, want := srv.UserCount(), 165-16; got != want {
		t.Errorf("%d users on the server, want %d", got, want)
	}
	t.Logf("%d requests, %d injected faults", st.Requests, st.Faults)
}

// The answer to a create is lost after the server made the user: the retry
// gets 409, and the client recognises its own user instead of failing or
// creating a second one.
func TestSCIMCreateAnswerLost(t *testing.T) {
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{})
	c := newClient(t, srv)
	ctx := ctxT(t)

	srv.FailNext(1, testenv.SCIMFaultDropAfter)
	u, err := c.CreateUser(ctx, scim.User{UserName: "dora", ExternalID: "hr-77", Active: true})
	if err != nil {
		t.Fatalf("create with a lost answer: %v", err)
	}
	if id, _ := srv.UserIDByUserName("dora"); u.ID != id || srv.UserCount() != 1 {
		t.Fatalf("got %s, server has %s and %d users", u.ID, id, srv.UserCount())
	}

	// Someone else's user with the same userName: a retry's 409 must not
	// adopt it.
	if _, err := srv.AddUser(testenv.SCIMUser{UserName: "erin", ExternalID: "other-system"}); err != nil {
		t.Fatal(err)
	}
	srv.FailNext(1, testenv.SCIMFaultUnavailable)
	if _, err := c.CreateUser(ctx, scim.User{UserName: "erin", ExternalID: "hr-78", Active: true}); !errors.Is(err, scim.ErrConflict) {
		t.Fatalf("adopted a foreign user after a retry: %v", err)
	}
}

func TestSCIMPermanentFailure(t *testing.T) {
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{})
	id, _ := srv.AddUser(testenv.SCIMUser{UserName: "frank"})
	c := newClient(t, srv, func(cfg *scim.Config) { cfg.MaxAttempts = 3 })
	ctx := ctxT(t)

	srv.SetPermanentFailure(true)
	before := srv.Stats().Requests
	err := c.Revoke(ctx, id, scim.DeprovisionDeactivate)
	if err == nil {
		t.Fatal("revoke succeeded against a failing server")
	}
	if got := srv.Stats().Requests - before; got != 3 {
		t.Errorf("%d attempts, want exactly MaxAttempts=3", got)
	}
	for _, want := range []string{"HTTP 503", "after 3 attempts", "injected permanent failure", "/Users/" + id} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if errors.Is(err, scim.ErrNotFound) {
		t.Error("a 503 was taken for not found")
	}
	if v, err := c.Verify(ctx, id); err == nil || v.Gone {
		t.Errorf("verify against a failing server = %+v, %v; want an error, never gone", v, err)
	}
	if err := c.Inventory(ctx, func(connector.Account) error { return nil }); err == nil {
		t.Error("inventory against a failing server succeeded")
	}

	srv.SetPermanentFailure(false)
	if err := c.Revoke(ctx, id, scim.DeprovisionDeactivate); err != nil {
		t.Fatalf("revoke after recovery: %v", err)
	}
	if v, err := c.Verify(ctx, id); err != nil || !v.Gone {
		t.Fatalf("verify after recovery: %+v %v", v, err)
	}
}

func TestSCIMRetryAfterHonoured(t *testing.T) {
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{RetryAfter: "1"})
	id, _ := srv.AddUser(testenv.SCIMUser{UserName: "gina"})
	c := newClient(t, srv) // backoff alone would wait a few milliseconds
	srv.FailNext(1, testenv.SCIMFaultTooMany)
	start := time.Now()
	if _, err := c.GetUser(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 950*time.Millisecond || d > 6*time.Second {
		t.Errorf("Retry-After: 1 waited %v", d)
	}

	// A Retry-After beyond MaxRetryAfter fails fast with a clear error.
	srv.SetRetryAfter("3600")
	srv.FailNext(1, testenv.SCIMFaultTooMany)
	c2 := newClient(t, srv, func(cfg *scim.Config) { cfg.MaxRetryAfter = time.Minute })
	start = time.Now()
	_, err := c2.GetUser(ctxT(t), id)
	if err == nil || !strings.Contains(err.Error(), "Retry-After") || !strings.Contains(err.Error(), "1h0m0s") {
		t.Fatalf("long Retry-After: %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("long Retry-After was waited out")
	}
}

func TestSCIMSlowAnswerTimesOutAndRetries(t *testing.T) {
	// A broken timeout would take the full 10s SlowDelay.
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{SlowDelay: 10 * time.Second})
	id, _ := srv.AddUser(testenv.SCIMUser{UserName: "hal"})
	c := newClient(t, srv, func(cfg *scim.Config) { cfg.Timeout = 300 * time.Millisecond })
	srv.FailNext(1, testenv.SCIMFaultSlow)
	start := time.Now()
	if _, err := c.GetUser(ctxT(t), id); err != nil {
		t.Fatalf("slow answer not retried: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("per-request timeout not applied: took %v", d)
	}
	srv.FailNext(3, testenv.SCIMFaultSlow)
	c3 := newClient(t, srv, func(cfg *scim.Config) { cfg.Timeout = 100 * time.Millisecond; cfg.MaxAttempts = 3 })
	_, err := c3.GetUser(ctxT(t), id)
	if err == nil || !strings.Contains(err.Error(), "after 3 attempt") || !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("three timeouts: %v", err)
	}
}

func TestSCIMContextCancellation(t *testing.T) {
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{SlowDelay: 10 * time.Second})
	id, _ := srv.AddUser(testenv.SCIMUser{UserName: "ivy"})

	// Cancelled while the server sits on the answer.
	c := newClient(t, srv, func(cfg *scim.Config) { cfg.Timeout = 30 * time.Second })
	srv.FailNext(1, testenv.SCIMFaultSlow)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.GetUser(ctx, id)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("cancel during a request: %v after %v", err, time.Since(start))
	}

	// Cancelled while waiting to retry.
	srv.SetPermanentFailure(true)
	c2 := newClient(t, srv, func(cfg *scim.Config) {
		cfg.RetryWaitMin, cfg.RetryWaitMax, cfg.MaxAttempts = 10*time.Second, 20*time.Second, 5
	})
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel2)
	start = time.Now()
	_, err = c2.GetUser(ctx2, id)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Fatalf("cancel during backoff: %v after %v", err, time.Since(start))
	}
}

func TestSCIMConcurrentUse(t *testing.T) {
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{FaultSeed: 7, RetryAfter: "0"})
	ids, _ := srv.SeedUsers(40)
	srv.SetFaultRate(0.2)
	srv.SetFaultKinds(testenv.SCIMFaultTooMany, testenv.SCIMFaultUnavailable, testenv.SCIMFaultDrop)
	c := newClient(t, srv, func(cfg *scim.Config) { cfg.MaxAttempts = 10 })
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	for _, id := range ids {
		wg.Go(func() {
			if err := c.Revoke(ctx, id, scim.DeprovisionDeactivate); err != nil {
				errs <- err
				return
			}
			if v, err := c.Verify(ctx, id); err != nil || !v.Gone {
				errs <- fmt.Errorf("verify %s: %+v %v", id, v, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSCIMOverTLS(t *testing.T) {
	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{TLS: true})
	id, _ := srv.AddUser(testenv.SCIMUser{UserName: "jo"})
	c := newClient(t, srv, func(cfg *scim.Config) { cfg.CACertPEM = srv.CACertPEM })
	if _, err := c.GetUser(ctxT(t), id); err != nil {
		t.Fatalf("https with the server's CA: %v", err)
	}
	untrusting := newClient(t, srv)
	before := srv.Stats().Requests
	_, err := untrusting.GetUser(ctxT(t), id)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("unknown CA accepted or unclear: %v", err)
	}
	if srv.Stats().Requests != before {
		t.Error("a request reached the server over an untrusted TLS connection")
	}
	if strings.Contains(err.Error(), "after 4 attempt") {
		t.Errorf("certificate errors should not be retried: %v", err)
	}
}
