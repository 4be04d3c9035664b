package evidence

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
)

// tailState is what Append needs from the file: the last valid record's
// seq and hash, and the torn last line if there is one.
type tailState struct {
	seq  uint64
	hash [32]byte // zero for an empty ledger: the first record's prev
	torn *tornTail
}

type tornTail struct {
	line       int // 1-based
	sum        tornSum
	terminated bool // it already ends with "\n"
	reason     string
}

// readTail reads backwards from the end of f (size bytes), never the whole
// file in the common case: one short read finds and checks the last line.
// Only when that line is torn or corrupt does it count lines (for the torn
// line's number) and walk back to the last line that verifies on its own.
func readTail(f *os.File, size int64) (tailState, error) {
	var st tailState
	if size == 0 {
		return st, nil
	}
	ck := newChecker(nil, false)
	var last [1]byte
	if _, err := f.ReadAt(last[:], size-1); err != nil {
		return st, err
	}
	end, terminated := size, last[0] == '\n'
	if terminated {
		end--
	}
	start, err := lineStart(f, end)
	if err != nil {
		return st, err
	}
	var li lineInfo
	if end-start <= maxLineBytes {
		line := make([]byte, end-start)
		if _, err := f.ReadAt(line, start); err != nil {
			return st, err
		}
		ck.check(line, terminated, &li)
		if li.kind == lineOK {
			st.seq = li.seq
			decodeHex32(&st.hash, li.hash[:])
			return st, nil
		}
	} else {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(f, start, end-start)); err != nil {
			return st, err
		}
		li.reason = fmt.Sprintf("line longer than %d bytes", maxLineBytes)
		li.torn = &tornSum{n: end - start}
		h.Sum(li.torn.sum[:0])
	}

	nl, err := countNewlines(f, start)
	if err != nil {
		return st, err
	}
	st.torn = &tornTail{line: nl + 1, sum: *li.torn, terminated: terminated, reason: li.reason}
	for pos := start; pos > 0; {
		e := pos - 1 // the "\n" ending the line before
		s, err := lineStart(f, e)
		if err != nil {
			return st, err
		}
		if e-s <= maxLineBytes {
			line := make([]byte, e-s)
			if _, err := f.ReadAt(line, s); err != nil {
				return st, err
			}
			if ck.check(line, true, &li); li.kind == lineOK {
				st.seq = li.seq
				decodeHex32(&st.hash, li.hash[:])
				return st, nil
			}
		}
		pos = s
	}
	return st, nil // no valid record at all: chain to the start
}

// lineStart returns the offset where the line ending at end begins.
func lineStart(f *os.File, end int64) (int64, error) {
	buf := make([]byte, 4<<10) // a record usually fits: one read
	for pos := end; pos > 0; {
		n := min(int64(len(buf)), pos)
		b := buf[:n]
		if _, err := f.ReadAt(b, pos-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return pos - n + int64(i) + 1, nil
		}
		pos -= n
		if len(buf) < 1<<20 {
			buf = make([]byte, 2*len(buf))
		}
	}
	return 0, nil
}

// countNewlines counts "\n" in the first n bytes of f.
func countNewlines(f *os.File, n int64) (int, error) {
	buf := make([]byte, 1<<20)
	count := 0
	for off := int64(0); off < n; {
		b := buf[:min(int64(len(buf)), n-off)]
		if _, err := f.ReadAt(b, off); err != nil {
			return 0, err
		}
		count += bytes.Count(b, []byte{'\n'})
		off += int64(len(b))
	}
	return count, nil
}
