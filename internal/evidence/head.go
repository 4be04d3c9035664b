package evidence

import (
	"fmt"
	"io"
	"os"
)

// HeadProblem says why a ledger no longer holds a head saved earlier.
type HeadProblem string

// The ways a saved head can be missing.
const (
	// HeadTruncated: the ledger's valid chain ends before the head's seq.
	HeadTruncated HeadProblem = "truncated"
	// HeadRewritten: the ledger holds a record with the head's seq, but
	// with another hash: that record, or one before it, was rewritten.
	HeadRewritten HeadProblem = "rewritten"
	// HeadUnconfirmed: the chain breaks before the head's seq, so the
	// ledger cannot prove it still holds the head (Report.FirstBad says where).
	HeadUnconfirmed HeadProblem = "unconfirmed"
)

// HeadError is VerifyHead's answer when the ledger no longer holds the
// record a head names.
type HeadError struct {
	Path    string
	Want    Head        // the head looked for
	Problem HeadProblem // truncated, rewritten or unconfirmed
	// Got is, for HeadRewritten, the record found at Want.Seq; otherwise the
	// last valid record of the ledger (0:ZeroHash when there is none).
	Got  Head
	Line int // HeadRewritten: the line of the record found at Want.Seq
	// Break is, for HeadUnconfirmed, the first bad line.
	Break *LineError
}

func (e *HeadError) Error() string {
	if e.Want.Seq == 0 {
		return fmt.Sprintf("evidence: head %s names no record of ledger %q: seq 0 is the empty ledger, whose hash is %s", e.Want, e.Path, ZeroHash)
	}
	what := fmt.Sprintf("evidence: ledger %q no longer holds record %d with hash %s", e.Path, e.Want.Seq, e.Want.Hash)
	switch e.Problem {
	case HeadTruncated:
		return fmt.Sprintf("%s: it was truncated (or replaced by an older copy): its last valid record is %s", what, e.Got)
	case HeadRewritten:
		return fmt.Sprintf("%s: it was rewritten: record %d on line %d has hash %s", what, e.Got.Seq, e.Line, e.Got.Hash)
	default:
		return fmt.Sprintf("%s: cannot confirm it: the chain breaks at %v, after record %s", what, e.Break, e.Got)
	}
}

// VerifyHead verifies the ledger at path as VerifyFile does and checks that
// it still holds the record that want names: a head saved earlier (by
// `sunset evidence head`, a CI log, the collector) proves the ledger was
// not truncated or rewritten since, which the hash chain alone cannot show
// (a chain rebuilt from a shortened or edited ledger verifies without a key).
//
// It returns the verification report and, when the record is not there, a
// *HeadError saying whether the ledger was truncated, rewritten, or breaks
// before that record. A nil error says only that the head is there: a
// ledger broken after it still has Report.FirstBad set, so callers check
// both. The 0:ZeroHash head of an empty ledger is held by every ledger.
// Other errors are reading errors.
func VerifyHead(path string, want Head, key []byte) (Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return Report{}, fmt.Errorf("evidence: verify %q: %w", path, err)
	}
	defer f.Close()
	size, err := stableSize(path, f)
	if err != nil {
		return Report{}, fmt.Errorf("evidence: verify %q: %w", path, err)
	}
	return verifyHead(path, io.NewSectionReader(f, 0, size), want, key)
}

func verifyHead(path string, rd io.Reader, want Head, key []byte) (Report, error) {
	var wantHex hexSum
	if !isHex64([]byte(want.Hash)) {
		return Report{}, fmt.Errorf("evidence: head %d:%.70q: the hash is not 64 lowercase hex digits", want.Seq, want.Hash)
	}
	copy(wantHex[:], want.Hash)
	w := &headWatch{seq: want.Seq}
	rep, err := run(rd, key, nil, engineConfig{watch: w})
	if err != nil {
		return rep, fmt.Errorf("evidence: verify %q: %w", path, err)
	}
	herr := &HeadError{Path: path, Want: want, Got: rep.Head}
	switch {
	case want.Seq == 0:
		if want.Hash == ZeroHash {
			return rep, nil
		}
		herr.Problem, herr.Got = HeadRewritten, Head{Seq: 0, Hash: ZeroHash}
	case w.found && w.hash == wantHex:
		return rep, nil
	case w.found:
		herr.Problem, herr.Got, herr.Line = HeadRewritten, Head{Seq: want.Seq, Hash: string(w.hash[:])}, w.line
	case rep.FirstBad != nil:
		herr.Problem, herr.Break = HeadUnconfirmed, rep.FirstBad
	default:
		herr.Problem = HeadTruncated
	}
	return rep, herr
}
