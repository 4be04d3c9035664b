package evidence

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func openTemp(t *testing.T, opts Options) *Ledger {
	t.Helper()
	l, err := Open(filepath.Join(t.TempDir(), "sunset-evidence.jsonl"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustAppend(t *testing.T, l *Ledger, r Record) Record {
	t.Helper()
	out, err := l.Append(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(string(b), "\n")
}

// The format, checked from the outside with nothing but the spec: body is
// the line with its hash/hmac members cut and "}" put back, prev is its
// last member, hash = sha256(body), hmac = HMAC-SHA256(key, body).
func TestLineFormatByteExact(t *testing.T) {
	key := []byte("format-key")
	l := openTemp(t, Options{Key: key, Now: fixedClock(t0)})
	var prev string = ZeroHash
	for i := 1; i <= 3; i++ {
		r := mustAppend(t, l, sampleRecord(i))
		line := readLines(t, l.Path())[i-1]
		if !strings.HasSuffix(line, "\"}\n") || !strings.HasPrefix(line, `{"seq":`+strconv.Itoa(i)+`,"time":"`) {
			t.Fatalf("line %d: %s", i, line)
		}
		cut := strings.LastIndex(line, `,"hash":"`)
		body := line[:cut] + "}"
		if !strings.HasSuffix(body, `,"prev":"`+prev+`"}`) {
			t.Fatalf("prev is not the last member of the body: %s", body)
		}
		sum := sha256.Sum256([]byte(body))
		m := hmac.New(sha256.New, key)
		m.Write([]byte(body))
		want := body[:len(body)-1] + `,"hash":"` + hex.EncodeToString(sum[:]) + `","hmac":"` + hex.EncodeToString(m.Sum(nil)) + "\"}\n"
		if line != want {
			t.Fatalf("line %d\n got %s\nwant %s", i, line, want)
		}
		// The body is exactly json.Marshal of the record without prev/hash/hmac.
		var asMap map[string]any
		if err := json.Unmarshal([]byte(body), &asMap); err != nil {
			t.Fatal(err)
		}
		if r.Hash != hex.EncodeToString(sum[:]) || r.Prev != prev || r.Seq != uint64(i) {
			t.Fatalf("returned record %+v does not match the line", r)
		}
		plain := r
		plain.Prev, plain.Hash, plain.HMAC = "", "", ""
		mb, _ := json.Marshal(plain)
		// Record marshals prev and hash (not omitempty) at its end; cut them.
		wantBody := strings.TrimSuffix(string(mb), `,"prev":"","hash":""}`) + `,"prev":"` + prev + `"}`
		if body != wantBody {
			t.Fatalf("body\n got %s\nwant %s", body, wantBody)
		}
		prev = r.Hash
	}
}

func TestAppendFillsAndChains(t *testing.T) {
	l := openTemp(t, Options{Now: func() time.Time { return t0.In(time.FixedZone("CET", 3600)) }})
	var got []Record
	for i := 1; i <= 3; i++ {
		r := sampleRecord(i)
		r.Time = time.Time{}
		r.Seq, r.Prev, r.Hash, r.HMAC = 99, "caller", "junk", "junk" // overwritten
		got = append(got, mustAppend(t, l, r))
	}
	for i, r := range got {
		if r.Seq != uint64(i+1) || !r.Time.Equal(t0) || r.Time.Location() != time.UTC || r.HMAC != "" {
			t.Errorf("record %d: seq %d time %v hmac %q", i, r.Seq, r.Time, r.HMAC)
		}
	}
	if got[0].Prev != ZeroHash || got[1].Prev != got[0].Hash || got[2].Prev != got[1].Hash {
		t.Fatal("records do not chain")
	}
	f, _ := os.Open(l.Path())
	defer f.Close()
	back, err := ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if back[i].Hash != got[i].Hash || !back[i].Time.Equal(got[i].Time) || back[i].Account != got[i].Account {
			t.Fatalf("record %d reads back as %+v, was returned as %+v", i, back[i], got[i])
		}
	}
	rep, err := VerifyFile(l.Path(), nil)
	if err != nil || !rep.OK() || rep.Records != 3 || rep.Head != (Head{3, got[2].Hash}) {
		t.Fatalf("VerifyFile = %+v, %v", rep, err)
	}

	// A caller's own time is kept (as UTC).
	r := sampleRecord(4)
	r.Time = time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("X", -7200))
	out := mustAppend(t, l, r)
	if !out.Time.Equal(r.Time) || out.Time.Location() != time.UTC {
		t.Fatalf("time %v", out.Time)
	}
}

func TestAppendWithKey(t *testing.T) {
	key := []byte("the-key")
	l := openTemp(t, Options{Key: key})
	for i := 1; i <= 5; i++ {
		if r := mustAppend(t, l, sampleRecord(i)); len(r.HMAC) != 64 {
			t.Fatalf("hmac %q", r.HMAC)
		}
	}
	if rep, err := VerifyFile(l.Path(), key); err != nil || !rep.OK() || !rep.HMACChecked || rep.Records != 5 {
		t.Fatalf("right key: %+v %v", rep, err)
	}
	if rep, _ := VerifyFile(l.Path(), []byte("other")); rep.OK() || rep.FirstBad.Line != 1 {
		t.Fatalf("wrong key: %+v", rep)
	}
	// The key given to Open is copied: changing the caller's slice later
	// does not change what is signed.
	k2 := []byte("mutable")
	l2 := openTemp(t, Options{Key: k2})
	k2[0] = 'X'
	mustAppend(t, l2, sampleRecord(1))
	if rep, _ := VerifyFile(l2.Path(), []byte("mutable")); !rep.OK() {
		t.Fatalf("key was not copied: %v", rep.FirstBad)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-dir", "ledger.jsonl")
	if _, err := Open(missing, Options{}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "no-such-dir")); !os.IsNotExist(err) {
		t.Fatal("Open created the directory")
	}
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("directory as ledger: %v", err)
	}
	if _, err := Open("", Options{}); err == nil {
		t.Fatal("empty path accepted")
	}
	p := filepath.Join(dir, "ledger.jsonl")
	l, err := Open(p, Options{})
	if err != nil || l.Path() != p {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatal("Open created the file; the first Append should")
	}
	mustAppend(t, l, sampleRecord(1))
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Fatalf("ledger mode %v, want 0600", st.Mode().Perm())
	}
}

func TestAppendRefuses(t *testing.T) {
	l := openTemp(t, Options{})
	for name, r := range map[string]Record{
		"no event":        {},
		"reserved event":  {Event: EventLedgerRecovered},
		"oversize record": {Event: EventCredentialIssued, Details: map[string]string{"blob": strings.Repeat("x", MaxRecordBytes)}},
	} {
		if _, err := l.Append(context.Background(), r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := os.Stat(l.Path()); err == nil {
		if b, _ := os.ReadFile(l.Path()); len(b) != 0 {
			t.Fatalf("refused records left bytes: %q", b[:min(len(b), 80)])
		}
	}
}

func TestAppendWaitsForLockAndHonoursContext(t *testing.T) {
	l := openTemp(t, Options{})
	mustAppend(t, l, sampleRecord(1))
	other := flock.New(l.Path() + ".lock") // another process's lock
	if err := other.Lock(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := l.Append(ctx, sampleRecord(2))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("Append under someone else's lock: %v after %v", err, time.Since(start))
	}

	// A waiting Append proceeds as soon as the lock is released.
	done := make(chan error, 1)
	go func() {
		_, err := l.Append(context.Background(), sampleRecord(2))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Append did not wait for the lock: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := other.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rep, _ := VerifyFile(l.Path(), nil); !rep.OK() || rep.Records != 2 {
		t.Fatalf("%+v", rep)
	}

	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	// Both locks are free: a cancelled context still gets no write.
	if _, err := l.Append(cancelled, sampleRecord(3)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if rep, _ := VerifyFile(l.Path(), nil); rep.Records != 2 {
		t.Fatalf("a cancelled Append wrote: %+v", rep)
	}
}

func TestKeyNeverPrinted(t *testing.T) {
	key := []byte("s3cr3t-evidence-key")
	t.Setenv(KeyEnv, string(key))
	if got := KeyFromEnv(); string(got) != string(key) {
		t.Fatalf("KeyFromEnv = %q", got)
	}
	opts := Options{Key: KeyFromEnv()}
	l, err := Open(filepath.Join(t.TempDir(), "l.jsonl"), opts)
	if err != nil {
		t.Fatal(err)
	}
	r := mustAppend(t, l, sampleRecord(1))
	for _, s := range []string{
		fmt.Sprint(l), fmt.Sprintf("%v %+v %#v %s", l, l, l, l),
		fmt.Sprint(opts), fmt.Sprintf("%v %+v %#v %s", opts, opts, opts, opts),
		fmt.Sprintf("%+v", r),
	} {
		if strings.Contains(s, string(key)) || strings.Contains(s, fmt.Sprint(key)) {
			t.Fatalf("key leaked: %s", s)
		}
	}
	b, _ := os.ReadFile(l.Path())
	if bytes.Contains(b, key) {
		t.Fatal("key in the ledger")
	}
	t.Setenv(KeyEnv, "")
	if KeyFromEnv() != nil {
		t.Fatal("empty variable gave a key")
	}
}

// tornCase is a tail left by a crash (or worse), written after five good records.
type tornCase struct {
	name       string
	tail       func(good []byte) []byte // bytes to append after the good records
	tornLine   int                      // line the recovery must name
	tornBytes  func(good []byte) []byte // the torn line's bytes, without "\n"
	reason     string
	firstBad   int // >0: the damage is more than one torn line; Verify must flag it
	recoverSeq uint64
}

func TestAppendRecoversTornTail(t *testing.T) {
	next := func(good []byte) []byte { // the line a sixth record would have
		lines, _ := buildLedger(t, 6, nil)
		return lines[5]
	}
	cases := []tornCase{
		{name: "partial line", reason: "torn line: no trailing newline", tornLine: 6, recoverSeq: 6,
			tail:      func(g []byte) []byte { return next(g)[:100] },
			tornBytes: func(g []byte) []byte { return next(g)[:100] }},
		{name: "whole record but no newline is still not trusted", reason: "torn line: no trailing newline", tornLine: 6, recoverSeq: 6,
			tail:      func(g []byte) []byte { return bytes.TrimSuffix(next(g), []byte("\n")) },
			tornBytes: func(g []byte) []byte { return bytes.TrimSuffix(next(g), []byte("\n")) }},
		{name: "garbage line with newline", reason: "not a ledger record", tornLine: 6, recoverSeq: 6,
			tail:      func([]byte) []byte { return []byte("}{ garbage\n") },
			tornBytes: func([]byte) []byte { return []byte("}{ garbage") }},
		{name: "record with a flipped byte", reason: "hash mismatch", tornLine: 6, recoverSeq: 6,
			tail: func(g []byte) []byte { return bytes.Replace(next(g), []byte("user-"), []byte("usex-"), 1) },
			tornBytes: func(g []byte) []byte {
				return bytes.TrimSuffix(bytes.Replace(next(g), []byte("user-"), []byte("usex-"), 1), []byte("\n"))
			}},
		{name: "zeros from a filesystem crash", reason: "torn line: no trailing newline", tornLine: 6, recoverSeq: 6,
			tail:      func([]byte) []byte { return make([]byte, 4096) },
			tornBytes: func([]byte) []byte { return make([]byte, 4096) }},
		{name: "empty line", reason: "empty line", tornLine: 6, recoverSeq: 6,
			tail:      func([]byte) []byte { return []byte("\n") },
			tornBytes: func([]byte) []byte { return nil }},
		// Two damaged lines are more than a crash leaves: Append still writes
		// (it must never block a revocation) and Verify still flags line 6.
		{name: "two damaged lines", reason: "torn line: no trailing newline", tornLine: 7, recoverSeq: 6, firstBad: 6,
			tail:      func([]byte) []byte { return []byte("junk one\njunk two") },
			tornBytes: func([]byte) []byte { return []byte("junk two") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []Record
			l := openTemp(t, Options{Now: fixedClock(t0), OnRecovery: func(r Record) { got = append(got, r) }})
			for i := 1; i <= 5; i++ {
				mustAppend(t, l, sampleRecord(i))
			}
			good, _ := os.ReadFile(l.Path())
			damage := tc.tail(good)
			f, _ := os.OpenFile(l.Path(), os.O_WRONLY|os.O_APPEND, 0)
			f.Write(damage)
			f.Close()

			// Before any append, Verify reports the damage and does not trust it.
			rep, err := VerifyFile(l.Path(), nil)
			if err != nil || rep.OK() || rep.Records != 5 {
				t.Fatalf("before recovery: %+v %v", rep, err)
			}

			r := sampleRecord(6)
			r.Actor, r.Run = "alice@example", "https://ci.example/run/9"
			out := mustAppend(t, l, r)
			if out.Seq != tc.recoverSeq+1 {
				t.Fatalf("caller's record got seq %d, want %d", out.Seq, tc.recoverSeq+1)
			}
			if len(got) != 1 {
				t.Fatalf("OnRecovery called %d times", len(got))
			}
			rec := got[0]
			sum := sha256.Sum256(tc.tornBytes(good))
			wantDetails := map[string]string{
				DetailTornLine:   strconv.Itoa(tc.tornLine),
				DetailTornSHA256: hex.EncodeToString(sum[:]),
				DetailTornBytes:  strconv.Itoa(len(tc.tornBytes(good))),
			}
			for k, v := range wantDetails {
				if rec.Details[k] != v {
					t.Errorf("details[%s] = %q, want %q", k, rec.Details[k], v)
				}
			}
			if !strings.Contains(rec.Details[DetailReason], tc.reason) || rec.Seq != tc.recoverSeq ||
				rec.Event != EventLedgerRecovered || rec.Actor != r.Actor || rec.Run != r.Run || out.Prev != rec.Hash {
				t.Errorf("recovery record %+v", rec)
			}

			// Nothing was dropped: the file still holds every byte that was
			// there, then (a newline and) the recovery and the record.
			after, _ := os.ReadFile(l.Path())
			if !bytes.HasPrefix(after, append(append([]byte{}, good...), damage...)) {
				t.Fatal("bytes before the append changed")
			}

			rep, err = VerifyFile(l.Path(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.firstBad > 0 {
				if rep.OK() || rep.FirstBad.Line != tc.firstBad {
					t.Fatalf("Verify = %+v, want line %d flagged", rep, tc.firstBad)
				}
				return
			}
			want := []Recovery{{TornLine: tc.tornLine, RecoveredBySeq: tc.recoverSeq, Reason: rec.Details[DetailReason]}}
			if !rep.OK() || rep.Records != 7 || fmt.Sprint(rep.Recovered) != fmt.Sprint(want) || rep.Head.Hash != out.Hash {
				t.Fatalf("Verify = %+v, want 7 records and recovered %+v", rep, want)
			}
			// Later appends are ordinary.
			mustAppend(t, l, sampleRecord(7))
			if rep, _ := VerifyFile(l.Path(), nil); !rep.OK() || rep.Records != 8 || len(rep.Recovered) != 1 || len(got) != 1 {
				t.Fatalf("after another append: %+v", rep)
			}
		})
	}
}

func TestAppendRecoversTornFirstLine(t *testing.T) {
	key := []byte("k")
	p := writeFile(t, []byte(`{"seq":1,"time":"2026-`))
	l, err := Open(p, Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	out := mustAppend(t, l, sampleRecord(1))
	rep, err := VerifyFile(p, key)
	if err != nil || !rep.OK() || rep.Records != 2 || out.Seq != 2 || len(rep.Recovered) != 1 || rep.Recovered[0].TornLine != 1 {
		t.Fatalf("%+v %v (record seq %d)", rep, err, out.Seq)
	}
}

// Append trusts the last line when it verifies on its own and reads nothing
// else: damage further up is Verify's to report, not Append's to hide.
func TestAppendReadsOnlyTheTail(t *testing.T) {
	lines, _ := buildLedger(t, 4, nil)
	p := writeFile(t, join(lines[0], []byte("damage in the middle\n"), lines[1], lines[2], lines[3]))
	l, _ := Open(p, Options{})
	out := mustAppend(t, l, sampleRecord(5))
	if out.Seq != 5 {
		t.Fatalf("seq %d", out.Seq)
	}
	rep, _ := VerifyFile(p, nil)
	if rep.FirstBad == nil || rep.FirstBad.Line != 2 {
		t.Fatalf("%+v", rep)
	}
}

func TestChainWriterMatchesAppend(t *testing.T) {
	key := []byte("k")
	l := openTemp(t, Options{Key: key})
	var buf bytes.Buffer
	cw := newChainWriter(&buf, key)
	for i := 1; i <= 20; i++ {
		mustAppend(t, l, sampleRecord(i))
		cw.add(sampleRecord(i))
	}
	cw.flush()
	b, _ := os.ReadFile(l.Path())
	if !bytes.Equal(b, buf.Bytes()) {
		t.Fatal("the test fast path writes other bytes than Append")
	}
}

func TestVerifyFileMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.jsonl")
	if _, err := VerifyFile(p, nil); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v", err)
	}
}

// VerifyFile of a live ledger waits for an append in progress instead of
// reporting its half-written line as torn, but not forever.
func TestVerifyFileWaitsForWriter(t *testing.T) {
	lines, _ := buildLedger(t, 4, nil)
	p := writeFile(t, join(lines[:3]...))
	writer := flock.New(p + ".lock")
	if err := writer.Lock(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(lines[3][:50]) // the writer is halfway through

	type result struct {
		rep Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := VerifyFile(p, nil)
		done <- result{rep, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("VerifyFile did not wait for the writer: %+v", r.rep)
	case <-time.After(100 * time.Millisecond):
	}
	f.Write(lines[3][50:])
	writer.Unlock()
	r := <-done
	if r.err != nil || !r.rep.OK() || r.rep.Records != 4 {
		t.Fatalf("%+v %v", r.rep, r.err)
	}

	// A writer that never lets go: VerifyFile gives up waiting and reports
	// what is there.
	old := lockWaitForVerify
	lockWaitForVerify = 100 * time.Millisecond
	defer func() { lockWaitForVerify = old }()
	writer.Lock()
	defer writer.Unlock()
	f.Write([]byte(`{"seq":5,`))
	rep, err := VerifyFile(p, nil)
	if err != nil || rep.FirstBad == nil || rep.FirstBad.Line != 5 || !strings.Contains(rep.FirstBad.Reason, "torn") {
		t.Fatalf("%+v %v", rep, err)
	}
}
