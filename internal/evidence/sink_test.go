package evidence

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// collector is a real HTTP collector on loopback: it checks each POST the
// way a SIEM intake would (token, content type, headers agreeing with the
// body) and keeps the bodies it acknowledged, in arrival order. Its fault
// modes are switched by the test.
type collector struct {
	t     testing.TB
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	acked    [][]byte // bodies answered 2xx, in order
	requests int      // every request, faults included
	bad      []string // requests that broke the contract

	// Fault modes (under mu).
	fail503   int  // answer 503 (without keeping the body) to the next N requests
	failClose int  // close the connection without an answer for the next N requests
	down      bool // answer 503 to everything while set
	lostAcks  int  // keep the body, then answer 500, for the next N requests
	echoAuth  bool // answer 401 with the Authorization header in the body
	hang      chan struct{}
	gotOne    chan struct{} // closed at the first request
}

func newCollector(t testing.TB, token string) *collector {
	c := &collector{t: t, token: token, gotOne: make(chan struct{})}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.close)
	return c
}

// newCollectorOn serves on a listener the caller opened (to reuse a port).
func newCollectorOn(t testing.TB, token string, ln net.Listener) *collector {
	c := &collector{t: t, token: token, gotOne: make(chan struct{})}
	c.srv = httptest.NewUnstartedServer(http.HandlerFunc(c.serve))
	c.srv.Listener.Close()
	c.srv.Listener = ln
	c.srv.Start()
	t.Cleanup(c.close)
	return c
}

func (c *collector) close() {
	c.mu.Lock()
	if c.hang != nil {
		select {
		case <-c.hang:
		default:
			close(c.hang)
		}
	}
	c.mu.Unlock()
	c.srv.Close()
}

func (c *collector) url() string { return c.srv.URL + "/intake" }

func (c *collector) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	c.mu.Lock()
	c.requests++
	if c.requests == 1 {
		close(c.gotOne)
	}
	hang := c.hang
	c.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.echoAuth {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "denied for %s\n", r.Header.Get("Authorization"))
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+c.token {
		c.bad = append(c.bad, "wrong Authorization header")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if why := checkPost(r, body); why != "" {
		c.bad = append(c.bad, why)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	switch {
	case c.failClose > 0:
		c.failClose--
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	case c.fail503 > 0 || c.down:
		if c.fail503 > 0 {
			c.fail503--
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case c.lostAcks > 0:
		c.lostAcks--
		c.acked = append(c.acked, body)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	c.acked = append(c.acked, body)
	w.WriteHeader(http.StatusNoContent)
}

// checkPost is the contract: a POST of one ledger line as JSON, whose
// headers name its seq and hash.
func checkPost(r *http.Request, body []byte) string {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		return "not a JSON POST"
	}
	if len(body) == 0 || body[len(body)-1] != '\n' || bytes.Count(body, []byte{'\n'}) != 1 {
		return "body is not one ledger line"
	}
	var rec struct {
		Seq  uint64 `json:"seq"`
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal(body, &rec); err != nil {
		return "body is not JSON: " + err.Error()
	}
	if r.Header.Get(HeaderSeq) != strconv.FormatUint(rec.Seq, 10) || r.Header.Get(HeaderHash) != rec.Hash || r.Header.Get(HeaderIdempotencyKey) != rec.Hash {
		return "headers do not match the body"
	}
	return ""
}

func (c *collector) set(f func(c *collector)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(c)
}

func (c *collector) snapshot() (acked [][]byte, requests int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.acked...), c.requests
}

// checkAcked holds the collector's bodies to the ledger: in order, no gap,
// and duplicates only (when allowed) as a re-send of the very record
// acknowledged last. It returns how many duplicates it saw.
func (c *collector) checkAcked(t testing.TB, ledgerPath string, allowDup bool) int {
	t.Helper()
	acked, _ := c.snapshot()
	c.mu.Lock()
	bad := c.bad
	c.mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("the collector saw requests that break the contract: %v", bad)
	}
	ledger, err := os.ReadFile(ledgerPath)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	dups := 0
	for i, b := range acked {
		if n := len(got); n > 0 && bytes.Equal(got[n-1], b) {
			if !allowDup {
				t.Fatalf("body %d is a duplicate of the one before: %s", i, b)
			}
			dups++
			continue
		}
		got = append(got, b)
	}
	if joined := bytes.Join(got, nil); !bytes.Equal(joined, ledger) {
		t.Fatalf("the collector's copy is not the ledger:\n got %d records, %d bytes\nwant %d bytes\n got %q\nwant %q", len(got), len(joined), len(ledger), joined, ledger)
	}
	// The copy is a ledger in its own right.
	rep, err := Verify(bytes.NewReader(bytes.Join(got, nil)), nil)
	if err != nil || !rep.OK() || rep.Records != len(got) {
		t.Fatalf("the collector's copy does not verify: %+v %v", rep, err)
	}
	return dups
}

// testSinkConfig is quick to fail: tests must not wait on real timeouts.
func testSinkConfig(url, token string) SinkConfig {
	return SinkConfig{
		URL: url, Token: token,
		Timeout: 2 * time.Second, MaxAttempts: 2,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
		Budget: 10 * time.Second, Cooldown: -1,
	}
}

func newShipper(t testing.TB, path string, cfg SinkConfig) *Shipper {
	t.Helper()
	s, err := NewShipper(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openLedger(t testing.TB, path string) *Ledger {
	t.Helper()
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func appendN(t testing.TB, l *Ledger, from, n int) {
	t.Helper()
	for i := range n {
		if _, err := l.Append(context.Background(), sampleRecord(from+i)); err != nil {
			t.Fatal(err)
		}
	}
}

const testToken = "tok-c0llect0r-9f2e41"

// The collector fails for a while (503s, then dropped connections), then
// recovers; the provider appends and delivers after each record as it
// will. Every record arrives once, complete and in order.
func TestShipperDeliversInOrderThroughFailures(t *testing.T) {
	c := newCollector(t, testToken)
	c.set(func(c *collector) { c.fail503, c.failClose = 5, 3 })
	path := tempLedger(t)
	l := openLedger(t, path)
	s := newShipper(t, path, testSinkConfig(c.url(), testToken))

	sawProblem := false
	for i := 1; i <= 20; i++ {
		appendN(t, l, i, 1)
		rep := s.Deliver(context.Background())
		if rep.Problem != "" {
			sawProblem = true
			if rep.Pending == 0 || rep.Warning() == "" || rep.OK() {
				t.Fatalf("record %d: a failed delivery must leave records pending and warn: %+v", i, rep)
			}
			continue
		}
		if rep.Pending != 0 || rep.Acked.Seq != uint64(i) || !rep.OK() || rep.Warning() != "" {
			t.Fatalf("record %d: %+v", i, rep)
		}
	}
	if !sawProblem {
		t.Fatal("the collector's faults were never seen")
	}
	c.checkAcked(t, path, false)
	if acked, _ := c.snapshot(); len(acked) != 20 {
		t.Fatalf("%d records acknowledged, want 20", len(acked))
	}
}

// Separate processes (terraform runs) with the collector down: nothing is
// listening on its port. The records wait in the ledger and the run after
// the collector comes back delivers them all, in order.
func TestShipperSpoolsAcrossRuns(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // connection refused from here on
	url := "http://" + addr + "/intake"
	path := tempLedger(t)

	total := 0
	for run, n := range []int{5, 3} {
		l := openLedger(t, path)
		s, err := NewShipper(path, testSinkConfig(url, testToken))
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			appendN(t, l, 10*run+i, 1)
			start := time.Now()
			rep := s.Deliver(context.Background())
			if rep.Problem == "" || rep.Delivered != 0 {
				t.Fatalf("run %d: delivered to nothing: %+v", run, rep)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("run %d: a refused connection took %s", run, d)
			}
		}
		total += n
		if st := s.Status(); st.Pending != total || st.Acked.Seq != 0 {
			t.Fatalf("run %d: status %+v", run, st)
		}
		s.Close()
	}

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("reopening the collector's port: %v", err)
	}
	c := newCollectorOn(t, testToken, ln)
	s := newShipper(t, path, testSinkConfig(url, testToken))
	rep := s.Deliver(context.Background())
	if rep.Delivered != 8 || rep.Pending != 0 || rep.Acked.Seq != 8 || !rep.OK() {
		t.Fatalf("the next run: %+v", rep)
	}
	c.checkAcked(t, path, false)
	// Nothing twice.
	if rep := s.Deliver(context.Background()); rep.Delivered != 0 || !rep.OK() {
		t.Fatalf("a second Deliver: %+v", rep)
	}
}

// A collector that never answers costs one bounded wait, never an
// Append; other deliverers do not queue behind it; and the cooldown spares
// the rest of the run from waiting again.
func TestShipperNeverBlocksAppend(t *testing.T) {
	c := newCollector(t, testToken)
	c.set(func(c *collector) { c.hang = make(chan struct{}) })
	path := tempLedger(t)
	l := openLedger(t, path)
	appendN(t, l, 1, 3)

	now := t0
	var clockMu sync.Mutex
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	cfg := testSinkConfig(c.url(), testToken)
	cfg.Timeout, cfg.Cooldown, cfg.Now = 800*time.Millisecond, time.Minute, clock
	s := newShipper(t, path, cfg)

	done := make(chan DeliveryReport, 1)
	start := time.Now()
	go func() { done <- s.Deliver(context.Background()) }()
	<-c.gotOne

	// While a POST hangs: appends go through, and another deliverer (a
	// parallel resource's) returns at once instead of queueing...
	appendN(t, openLedger(t, path), 4, 20)
	other := newShipper(t, path, cfg)
	if rep := other.Deliver(context.Background()); !rep.Busy || rep.Delivered != 0 || rep.Warning() != "" || rep.Pending != 23 {
		t.Fatalf("second deliverer: %+v", rep)
	}
	// ...all before the hung delivery has even given up.
	select {
	case rep := <-done:
		t.Fatalf("the appends and the second deliverer waited for the hung delivery: %+v", rep)
	default:
	}

	rep := <-done
	elapsed := time.Since(start)
	if rep.Delivered != 0 || rep.Pending != 23 || rep.Problem == "" || rep.Skipped {
		t.Fatalf("hung collector: %+v", rep)
	}
	if want := "after 2 attempt(s): no answer within 800ms"; !bytes.Contains([]byte(rep.Problem), []byte(want)) {
		t.Fatalf("problem %q does not say %q", rep.Problem, want)
	}
	// Two attempts of 800 ms and a few ms of backoff.
	if elapsed > 4*time.Second {
		t.Fatalf("Deliver against a hung collector took %s", elapsed)
	}

	// Within the cooldown: no request, an instant report.
	_, before := c.snapshot()
	t3 := time.Now()
	rep = s.Deliver(context.Background())
	if !rep.Skipped || rep.Problem == "" || rep.Pending != 23 || time.Since(t3) > 100*time.Millisecond {
		t.Fatalf("within the cooldown: %+v", rep)
	}
	if _, after := c.snapshot(); after != before {
		t.Fatalf("the collector was called %d times within the cooldown", after-before)
	}

	// After it, the collector (recovered) is tried again.
	c.set(func(c *collector) { close(c.hang); c.hang = nil })
	clockMu.Lock()
	now = now.Add(2 * time.Minute)
	clockMu.Unlock()
	if rep := s.Deliver(context.Background()); rep.Delivered != 23 || !rep.OK() {
		t.Fatalf("after the cooldown: %+v", rep)
	}
	c.checkAcked(t, path, false)
}

// At least once: an answer lost after the collector kept the record, or a
// crash between the 2xx and the cursor update, sends that record again,
// right after itself; the collector deduplicates on seq+hash.
func TestShipperAtLeastOnce(t *testing.T) {
	c := newCollector(t, testToken)
	c.set(func(c *collector) { c.lostAcks = 2 })
	path := tempLedger(t)
	l := openLedger(t, path)
	cfg := testSinkConfig(c.url(), testToken)
	cfg.MaxAttempts = 3
	s := newShipper(t, path, cfg)
	appendN(t, l, 1, 3)
	if rep := s.Deliver(context.Background()); rep.Delivered != 3 || !rep.OK() {
		t.Fatalf("%+v", rep)
	}

	// A crash right after the collector's 2xx: the cursor still names the
	// record before.
	old, err := os.ReadFile(cursorPath(path))
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 4, 1)
	if rep := s.Deliver(context.Background()); rep.Delivered != 1 {
		t.Fatalf("%+v", rep)
	}
	if err := os.WriteFile(cursorPath(path), old, 0o600); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 5, 1)
	if rep := s.Deliver(context.Background()); rep.Delivered != 2 || !rep.OK() {
		t.Fatalf("after the crash: %+v", rep)
	}
	if dups := c.checkAcked(t, path, true); dups != 3 {
		t.Fatalf("%d duplicates, want 3 (2 lost answers, 1 crash)", dups)
	}
}

// A collector that refuses a record stops delivery at it, every run: a
// record is never skipped to deliver the ones after it.
func TestShipperNeverSkipsARefusedRecord(t *testing.T) {
	c := newCollector(t, testToken)
	path := tempLedger(t)
	l := openLedger(t, path)
	appendN(t, l, 1, 2)
	wrong := newShipper(t, path, testSinkConfig(c.url(), "wrong-token"))
	for range 2 {
		rep := wrong.Deliver(context.Background())
		if rep.Delivered != 0 || rep.Pending != 2 || !bytes.Contains([]byte(rep.Problem), []byte("401 Unauthorized (check the token)")) {
			t.Fatalf("%+v", rep)
		}
	}
	if _, n := c.snapshot(); n != 2 {
		t.Fatalf("a 401 was retried: %d requests for 2 deliveries", n)
	}
	c.set(func(c *collector) { c.bad = nil })
	if rep := newShipper(t, path, testSinkConfig(c.url(), testToken)).Deliver(context.Background()); rep.Delivered != 2 || !rep.OK() {
		t.Fatalf("%+v", rep)
	}
	c.checkAcked(t, path, false)
}

// The cursor is checked against the ledger: a ledger truncated or
// rewritten after delivery is reported and delivered again from its
// start, so the collector holds both versions.
func TestShipperDetectsRewrittenLedger(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rewrite func(t *testing.T, path string, l *Ledger)
		resent  int
	}{
		// Records 4 and 5 replaced by others of the same length: the
		// cursor's offset still ends a line, only the hash tells.
		{"rewritten in place", func(t *testing.T, path string, l *Ledger) {
			lines := readLines(t, path)
			if err := os.WriteFile(path, []byte(lines[0]+lines[1]+lines[2]), 0o600); err != nil {
				t.Fatal(err)
			}
			appendN(t, l, 107, 2) // for records 7 and 8, the same shapes
			if len(mustRead(t, path)) != len(lines[0]+lines[1]+lines[2]+lines[3]+lines[4]) {
				t.Fatal("the rewrite should keep the length")
			}
		}, 5},
		{"truncated", func(t *testing.T, path string, l *Ledger) {
			lines := readLines(t, path)
			if err := os.WriteFile(path, []byte(lines[0]+lines[1]+lines[2]), 0o600); err != nil {
				t.Fatal(err)
			}
		}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCollector(t, testToken)
			path := tempLedger(t)
			l := openLedger(t, path)
			s := newShipper(t, path, testSinkConfig(c.url(), testToken))
			appendN(t, l, 4, 5)
			if rep := s.Deliver(context.Background()); rep.Delivered != 5 {
				t.Fatalf("%+v", rep)
			}
			original, _ := c.snapshot()

			tc.rewrite(t, path, l)
			rep := s.Deliver(context.Background())
			if rep.Restarted == "" || rep.Delivered != tc.resent || rep.Problem != "" || rep.Acked.Seq != uint64(tc.resent) {
				t.Fatalf("%+v", rep)
			}
			for _, want := range []string{"no longer holds record 5:" + headOf(original[4]).Hash, "truncated or rewritten", "--head 5:"} {
				if !bytes.Contains([]byte(rep.Warning()), []byte(want)) {
					t.Fatalf("warning %q does not say %q", rep.Warning(), want)
				}
			}
			acked, _ := c.snapshot()
			if len(acked) != 5+tc.resent || !bytes.Equal(bytes.Join(acked[:5], nil), bytes.Join(original, nil)) {
				t.Fatalf("the collector lost the original records: %d bodies", len(acked))
			}
			if !bytes.Equal(bytes.Join(acked[5:], nil), mustRead(t, path)) {
				t.Fatal("the collector did not receive the current ledger")
			}
			if tc.resent == 5 {
				// The same seq with another hash: the receiver sees the rewrite.
				if a, b := headOf(acked[3]), headOf(acked[8]); a.Seq != b.Seq || a.Hash == b.Hash {
					t.Fatalf("seq 4 should arrive twice with different hashes: %v %v", a, b)
				}
			}
			if rep := s.Deliver(context.Background()); rep.Restarted != "" || !rep.OK() {
				t.Fatalf("after the restart: %+v", rep)
			}
		})
	}
}

// A new collector gets the whole history, not just what came after the
// switch.
func TestShipperNewCollectorGetsEverything(t *testing.T) {
	a, b := newCollector(t, testToken), newCollector(t, testToken)
	path := tempLedger(t)
	l := openLedger(t, path)
	appendN(t, l, 1, 4)
	if rep := newShipper(t, path, testSinkConfig(a.url(), testToken)).Deliver(context.Background()); rep.Delivered != 4 {
		t.Fatalf("%+v", rep)
	}
	rep := newShipper(t, path, testSinkConfig(b.url(), testToken)).Deliver(context.Background())
	if rep.Delivered != 4 || rep.Restarted == "" || !bytes.Contains([]byte(rep.Restarted), []byte("collector changed")) {
		t.Fatalf("%+v", rep)
	}
	a.checkAcked(t, path, false)
	b.checkAcked(t, path, false)
}

// Delivery stops before a line that does not verify, and says where; a
// torn tail left by a crash is no problem: the ledger.recovered record
// that the next Append writes is delivered, the torn bytes never are.
func TestShipperStopsAtBadLines(t *testing.T) {
	c := newCollector(t, testToken)
	lines, _ := buildLedger(t, 4, nil)

	t.Run("torn tail", func(t *testing.T) {
		path := writeFile(t, join(lines[0], lines[1], lines[2][:40]))
		tc := newCollector(t, testToken)
		s := newShipper(t, path, testSinkConfig(tc.url(), testToken))
		rep := s.Deliver(context.Background())
		if rep.Delivered != 2 || rep.Problem != "" || rep.Pending != 0 {
			t.Fatalf("%+v", rep)
		}
		appendN(t, openLedger(t, path), 9, 1) // writes ledger.recovered, then the record
		rep = s.Deliver(context.Background())
		if rep.Delivered != 2 || !rep.OK() || rep.Acked.Seq != 4 {
			t.Fatalf("%+v", rep)
		}
		acked, _ := tc.snapshot()
		var events []string
		for _, b := range acked {
			var r Record
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatalf("a body that is not a record was sent: %q", b)
			}
			events = append(events, fmt.Sprintf("%d:%s", r.Seq, r.Event))
		}
		if want := "[1:identity.changed 2:credential.revoke_failed 3:ledger.recovered 4:credential.revoked]"; fmt.Sprint(events) != want {
			t.Fatalf("sent %v, want %s", events, want)
		}
	})

	t.Run("corrupt middle line", func(t *testing.T) {
		bad := bytes.Replace(lines[2], []byte("warehouse"), []byte("warehousf"), 1)
		path := writeFile(t, join(lines[0], lines[1], bad, lines[3]))
		s := newShipper(t, path, testSinkConfig(c.url(), testToken))
		rep := s.Deliver(context.Background())
		if rep.Delivered != 2 || rep.Pending != 2 || !bytes.Contains([]byte(rep.Problem), []byte("does not verify at line 3 (hash mismatch")) {
			t.Fatalf("%+v", rep)
		}
		acked, _ := c.snapshot()
		if len(acked) != 2 || !bytes.Equal(acked[1], lines[1]) {
			t.Fatalf("%d bodies", len(acked))
		}
	})
}

func TestShipperMissingLedger(t *testing.T) {
	c := newCollector(t, testToken)
	path := tempLedger(t)
	s := newShipper(t, path, testSinkConfig(c.url(), testToken))
	if rep := s.Deliver(context.Background()); !rep.OK() || rep.Delivered != 0 {
		t.Fatalf("no ledger yet: %+v", rep)
	}
	appendN(t, openLedger(t, path), 1, 2)
	if rep := s.Deliver(context.Background()); rep.Delivered != 2 {
		t.Fatalf("%+v", rep)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if rep := s.Deliver(context.Background()); !bytes.Contains([]byte(rep.Problem), []byte("deleted or moved")) {
		t.Fatalf("a deleted ledger must be reported: %+v", rep)
	}
}

func TestShipperUnreadableCursorRestarts(t *testing.T) {
	c := newCollector(t, testToken)
	path := tempLedger(t)
	appendN(t, openLedger(t, path), 1, 2)
	if err := os.WriteFile(cursorPath(path), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep := newShipper(t, path, testSinkConfig(c.url(), testToken)).Deliver(context.Background())
	if rep.Delivered != 2 || !bytes.Contains([]byte(rep.Restarted), []byte("unreadable")) {
		t.Fatalf("%+v", rep)
	}
	c.checkAcked(t, path, false)
}

func tempLedger(t testing.TB) string {
	return t.TempDir() + string(os.PathSeparator) + "sunset-evidence.jsonl"
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func headOf(line []byte) Head {
	var r Record
	json.Unmarshal(line, &r)
	return Head{Seq: r.Seq, Hash: r.Hash}
}

// Plain http is for loopback only, and "localhost" is loopback in any case
// (DNS names are case-insensitive); any other host needs https.
func TestCollectorURLPlainHTTPOnlyToLoopback(t *testing.T) {
	for _, raw := range []string{"http://localhost:1/x", "http://LOCALHOST:1/x", "http://127.0.0.1:1/x", "http://[::1]:1/x"} {
		if _, err := parseCollectorURL(raw, false); err != nil {
			t.Errorf("%s: %v", raw, err)
		}
	}
	for _, raw := range []string{"http://siem.example:1/x", "http://localhost.example/x", "http://10.0.0.1/x"} {
		if _, err := parseCollectorURL(raw, false); err == nil || !strings.Contains(err.Error(), "use https") {
			t.Errorf("%s: %v, want plain http refused", raw, err)
		}
	}
}
