package evidence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// cursorPath is the file that says what the collector has acknowledged.
func cursorPath(ledger string) string { return ledger + ".sent" }

// deliveryLockPath serializes deliverers. It is not the ledger's lock, so
// that a hanging collector never holds up an Append.
func deliveryLockPath(ledger string) string { return ledger + ".sent.lock" }

// cursor is the last record the collector acknowledged and where its line
// ends in the ledger. The zero cursor (seq 0, offset 0) is "nothing sent".
type cursor struct {
	Collector string    `json:"collector"` // scheme://host/path it was sent to
	Seq       uint64    `json:"seq"`
	Hash      string    `json:"hash"`
	Offset    int64     `json:"offset"` // just after the record's "\n"
	Line      int       `json:"line"`
	Time      time.Time `json:"time"` // when the collector acknowledged it
}

func (c cursor) head() Head {
	if c.Seq == 0 {
		return Head{Hash: ZeroHash}
	}
	return Head{Seq: c.Seq, Hash: c.Hash}
}

// chainPoint is where a resumed engine run picks up the chain.
func (c cursor) chainPoint() *chainPoint {
	p := &chainPoint{line: c.Line, seq: c.Seq, hash: zeroHex}
	if c.Seq > 0 {
		copy(p.hash[:], c.Hash)
	}
	return p
}

var errNoCursor = errors.New("no cursor")

const maxCursorBytes = 4 << 10

// readCursor reads the cursor file; errNoCursor when there is none.
func readCursor(path string) (cursor, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cursor{}, errNoCursor
	}
	if err != nil {
		return cursor{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCursorBytes+1))
	if err != nil {
		return cursor{}, err
	}
	if len(b) > maxCursorBytes {
		return cursor{}, errors.New("larger than a cursor")
	}
	var c cursor
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimRight(b, " \n")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || dec.More() {
		return cursor{}, errors.New("not a cursor (JSON)")
	}
	if c.Seq == 0 || c.Offset <= 0 || c.Line < 1 || !isHex64([]byte(c.Hash)) {
		return cursor{}, errors.New("not a cursor (seq, hash, offset or line out of range)")
	}
	return c, nil
}

// cursorSize is the cursor file's fixed size: every update is one write
// of these bytes at offset 0, JSON padded with spaces. No rename and no
// fsync per record (both cost milliseconds on a journaling file system);
// a process that dies leaves the last write in the page cache, and an
// update torn by a power cut is caught by cursorHolds or the JSON check:
// the worst case is sending again (at least once) with a warning.
const cursorSize = 1024

// maxEndpointBytes bounds the collector endpoint so a cursor fits.
const maxEndpointBytes = 512

// cursorWriter updates the cursor file during one delivery; the caller
// holds the delivery lock.
type cursorWriter struct {
	path string
	f    *os.File
	buf  [cursorSize]byte
}

func (w *cursorWriter) write(c cursor) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if len(b) >= cursorSize {
		return fmt.Errorf("the cursor is %d bytes, more than %d", len(b), cursorSize-1)
	}
	if w.f == nil {
		if w.f, err = os.OpenFile(w.path, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
			return err
		}
	}
	n := copy(w.buf[:], b)
	for i := n; i < cursorSize-1; i++ {
		w.buf[i] = ' '
	}
	w.buf[cursorSize-1] = '\n'
	if _, err := w.f.WriteAt(w.buf[:], 0); err != nil {
		return err
	}
	// A file left longer by some other writer would keep stale bytes.
	if st, err := w.f.Stat(); err == nil && st.Size() > cursorSize {
		return w.f.Truncate(cursorSize)
	}
	return nil
}

// close makes the last update durable, once per delivery.
func (w *cursorWriter) close() error {
	if w.f == nil {
		return nil
	}
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	return err
}

// cursorHolds reports whether the ledger f (size bytes) still holds the
// cursor's record, ending at its offset. Because each hash covers the one
// before it, that one check vouches for every record before it too.
func cursorHolds(f *os.File, size int64, c cursor) (bool, error) {
	if c.Seq == 0 {
		return true, nil
	}
	if c.Offset > size {
		return false, nil
	}
	var nl [1]byte
	if _, err := f.ReadAt(nl[:], c.Offset-1); err != nil {
		return false, err
	}
	if nl[0] != '\n' {
		return false, nil
	}
	start, err := lineStart(f, c.Offset-1)
	if err != nil {
		return false, err
	}
	if c.Offset-1-start > maxLineBytes {
		return false, nil
	}
	line := make([]byte, c.Offset-1-start)
	if _, err := f.ReadAt(line, start); err != nil {
		return false, err
	}
	var li lineInfo
	newChecker(nil, false).check(line, true, &li)
	return li.kind == lineOK && li.seq == c.Seq && string(li.hash[:]) == c.Hash, nil
}

// ledgerHeadSeq is the seq of the ledger's last valid record, read from
// its tail (Pending is counted from it).
func ledgerHeadSeq(f *os.File, size int64) (uint64, error) {
	st, err := readTail(f, size)
	return st.seq, err
}

// cursorError wraps a cursor write failure for the report.
func cursorError(ledger string, err error) string {
	return fmt.Sprintf("the delivery cursor %s cannot be written (%v); the collector may receive the last record again", cursorPath(ledger), err)
}
