package evidence

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// chainWriter chains records into w with no lock and no fsync: the fast
// path that builds big ledgers for tests and benchmarks. It encodes with the
// same encodeLine as Append (TestChainWriterMatchesAppend holds them equal).
type chainWriter struct {
	w    *bufio.Writer
	key  []byte
	seq  uint64
	prev [32]byte
	line int // lines written, torn ones included
}

func newChainWriter(w io.Writer, key []byte) *chainWriter {
	return &chainWriter{w: bufio.NewWriterSize(w, 1<<20), key: key}
}

// add appends r as the next record and returns it as written, and its line.
func (c *chainWriter) add(r Record) (Record, []byte, error) {
	r.Seq = c.seq + 1
	if r.Time.IsZero() {
		r.Time = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	}
	r.Time = r.Time.UTC()
	line, sum, mac, err := encodeLine(&r, c.prev, c.key)
	if err != nil {
		return Record{}, nil, err
	}
	if _, err := c.w.Write(line); err != nil {
		return Record{}, nil, err
	}
	r.Prev, r.Hash, r.HMAC = hex.EncodeToString(c.prev[:]), hex.EncodeToString(sum[:]), mac
	c.seq, c.prev = r.Seq, sum
	c.line++
	return r, line, nil
}

// raw writes bytes that are not a record (a torn line, garbage) and counts
// the lines they end.
func (c *chainWriter) raw(b []byte) {
	c.w.Write(b)
	c.line += bytes.Count(b, []byte{'\n'})
}

// recover writes the ledger.recovered record Append would write for torn
// (the torn line's bytes without "\n") at line tornLine.
func (c *chainWriter) recover(tornLine int, torn []byte, reason string) (Record, []byte, error) {
	return c.add(Record{
		Event:   EventLedgerRecovered,
		Details: recoveryDetails(tornLine, tornSum{sum: sha256.Sum256(torn), n: int64(len(torn))}, reason),
	})
}

func (c *chainWriter) flush() error { return c.w.Flush() }

// sampleRecord is a realistic record, varied by i.
func sampleRecord(i int) Record {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	requested, removed, verified := t0.Add(-2*time.Second), t0.Add(-300*time.Millisecond), t0.Add(-100*time.Millisecond)
	name := fmt.Sprintf("user-%07d", i)
	r := Record{
		Time:  t0,
		Event: EventCredentialRevoked,
		Identity: &IdentityRef{
			ID: "idn-" + name, Name: name, Kind: "contractor",
			Owner: "platform-team@example.com", EndDate: "2026-11-24",
		},
		Target: "warehouse", System: "postgres", Account: name, Action: "revoke",
		Trigger:     TriggerEndDateReached,
		RequestedAt: &requested, RemovedAt: &removed, VerifiedAt: &verified,
		Verification: "rolcanlogin=false, 0 memberships, 0 sessions",
		Actor:        "ci@runner-7",
		Run:          "https://github.com/example/infra/actions/runs/1234567890",
	}
	switch i % 5 {
	case 1:
		r.Event, r.Trigger, r.RemovedAt, r.VerifiedAt = EventIdentityChanged, "", nil, nil
		r.Changes = map[string]Change{"end_date": {Old: "2026-11-24", New: "2027-02-28"}}
	case 2:
		r.Event, r.RemovedAt, r.VerifiedAt = EventRevokeFailed, nil, nil
		r.Error = "connection refused (redacted endpoint warehouse)"
	case 3:
		r.Details = map[string]string{"session_count": "0", "note": `quotes " and <html> & unicode é`}
	}
	return r
}

// buildLedger chains n sample records and returns the lines (each with
// "\n") and the records as written.
func buildLedger(t testing.TB, n int, key []byte) ([][]byte, []Record) {
	t.Helper()
	var buf bytes.Buffer
	cw := newChainWriter(&buf, key)
	var lines [][]byte
	var recs []Record
	for i := range n {
		r, line, err := cw.add(sampleRecord(i + 1))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
		recs = append(recs, r)
	}
	return lines, recs
}

func join(lines ...[]byte) []byte { return bytes.Join(lines, nil) }

// writeFile writes data to a fresh file in a temp dir and returns its path.
func writeFile(t testing.TB, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sunset-evidence.jsonl")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// fixedClock returns a clock that ticks one second per call.
func fixedClock(start time.Time) func() time.Time {
	t := start
	return func() time.Time {
		t = t.Add(time.Second)
		return t
	}
}
