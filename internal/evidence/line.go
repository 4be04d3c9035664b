package evidence

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	"strconv"
)

// lineKind is what one line is worth on its own, before the chain is checked.
type lineKind uint8

const (
	lineOK lineKind = iota
	// lineBroken: the line itself is damaged (torn, not a record, wrong hash,
	// not JSON). A crash can leave such a line, so Append treats it as torn
	// when it is last, and a ledger.recovered record right after it may
	// account for it.
	lineBroken
	// lineRejected: a well-formed line failing a check no crash explains
	// (HMAC, decoding). Never recoverable.
	lineRejected
)

// lineInfo is what a worker learns about one line.
type lineInfo struct {
	kind   lineKind
	seq    uint64
	prev   hexSum         // as written: 64 lowercase hex digits
	hash   hexSum         // as written, and equal to the body's sha256
	reason string         // why the line is not lineOK
	torn   *tornSum       // lineBroken: what a recovery record must name
	claim  *recoveryClaim // lineOK ledger.recovered records
	rec    *Record        // decoded record, Scan only
	raw    []byte         // the line and its "\n", when the engine keeps them
	end    int64          // input offset just after the line (and its "\n")
}

// hexSum is a sha256 in the ledger's spelling. Lines are compared in it, so
// that checking a line needs no hex decoding.
type hexSum [64]byte

// zeroHex is the prev of the first record.
var zeroHex = func() (h hexSum) {
	copy(h[:], ZeroHash)
	return h
}()

// tornSum identifies a damaged line's bytes (without its "\n").
type tornSum struct {
	sum [32]byte
	n   int64
}

// recoveryClaim is what a ledger.recovered record says about the torn line.
type recoveryClaim struct {
	line    int
	sum     [32]byte
	n       int64
	reason  string
	problem string   // non-empty when the details are unusable
	before  *tornSum // the line before this record, nil at the start
}

// checker checks lines one at a time; one per goroutine (it reuses hashers).
type checker struct {
	h      hash.Hash
	mac    hash.Hash // nil when no key was given
	decode bool
	sum    [32]byte
	sumHex hexSum
	macSum [32]byte
	macHex hexSum
}

func newChecker(key []byte, decode bool) *checker {
	c := &checker{h: sha256.New(), decode: decode}
	if key != nil {
		c.mac = hmac.New(sha256.New, key)
	}
	return c
}

var closeBrace = []byte{'}'}

// check fills li for line (without "\n"); complete says whether a "\n" ended it.
func (c *checker) check(line []byte, complete bool, li *lineInfo) {
	*li = lineInfo{}
	broken := func(reason string) {
		li.kind, li.reason = lineBroken, reason
		li.torn = &tornSum{sum: sha256.Sum256(line), n: int64(len(line))}
	}
	if !complete {
		broken("torn line: no trailing newline")
		return
	}
	if len(line) == 0 {
		broken("empty line")
		return
	}
	if line[len(line)-1] == '\r' {
		broken("line ends with a carriage return (CRLF line endings?)")
		return
	}
	if !bytes.HasPrefix(line, []byte(seqPrefix)) {
		broken(`not a ledger record: does not start with {"seq":`)
		return
	}
	seqEnd := bytes.IndexByte(line[len(seqPrefix):], ',')
	if seqEnd < 0 {
		broken("malformed seq")
		return
	}
	seqEnd += len(seqPrefix)
	seq, ok := parseSeq(line[len(seqPrefix):seqEnd])
	if !ok {
		broken("malformed seq")
		return
	}
	li.seq = seq

	// Fields at the end, read backwards: [,"hmac":"X"] after ,"hash":"X",
	// after ,"prev":"X" which closes the body.
	i := len(line) - 1
	if line[i] != '}' {
		broken(`not a ledger record: does not end with "}"`)
		return
	}
	var macHex []byte
	if v, ok := fieldBefore(line, i, hmacField); ok {
		macHex = v
		i -= len(hmacField) + 65
	}
	hashHex, ok := fieldBefore(line, i, hashField)
	if !ok {
		broken("malformed: no hash field at the end")
		return
	}
	bodyEnd := i - (len(hashField) + 65)
	prevHex, ok := fieldBefore(line, bodyEnd, prevField)
	if !ok || bodyEnd-(len(prevField)+65) < seqEnd {
		broken("malformed: no prev field before hash")
		return
	}
	if !isHex64(prevHex) {
		broken("malformed prev: want 64 lowercase hex digits")
		return
	}
	if macHex != nil && !isHex64(macHex) {
		broken("malformed hmac: want 64 lowercase hex digits")
		return
	}
	copy(li.prev[:], prevHex)
	copy(li.hash[:], hashHex)

	c.h.Reset()
	c.h.Write(line[:bodyEnd])
	c.h.Write(closeBrace)
	c.h.Sum(c.sum[:0])
	hex.Encode(c.sumHex[:], c.sum[:])
	if c.sumHex != li.hash {
		if !isHex64(hashHex) {
			broken("malformed hash: want 64 lowercase hex digits")
		} else {
			broken("hash mismatch")
		}
		return
	}
	// The line is the body plus members with hex string values (checked
	// above), so it is valid JSON exactly when the body is; checking the
	// line saves building the body.
	if !validJSON(line) {
		broken("not JSON")
		return
	}

	if c.mac != nil {
		if macHex == nil {
			li.kind, li.reason = lineRejected, "missing hmac"
			return
		}
		c.mac.Reset()
		c.mac.Write(line[:bodyEnd])
		c.mac.Write(closeBrace)
		c.mac.Sum(c.macSum[:0])
		hex.Encode(c.macHex[:], c.macSum[:])
		if !hmac.Equal(c.macHex[:], macHex) {
			li.kind, li.reason = lineRejected, "hmac mismatch"
			return
		}
	}

	// The event is the third member, after seq and time (a string with no
	// escapes): a cheap look decides whether to decode a recovery claim.
	if isRecovery(line[seqEnd:]) {
		li.claim = parseClaim(line)
	}
	if c.decode {
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			li.kind, li.reason = lineRejected, "record does not decode: "+err.Error()
			return
		}
		// Duplicate or case-folded keys could make the decoder see other
		// values than the positions Verify checked; refuse such a line.
		if r.Seq != li.seq || r.Prev != string(prevHex) || r.Hash != string(hashHex) || r.HMAC != string(macHex) ||
			(r.Event == EventLedgerRecovered) != (li.claim != nil) {
			li.kind, li.reason = lineRejected, "ambiguous record: decoded seq/prev/hash/hmac differ from the checked ones"
			return
		}
		li.rec = &r
	}
}

// isRecovery reports whether rest, the line from the "," after seq, goes on
// with a time and then "event":"ledger.recovered".
func isRecovery(rest []byte) bool {
	const timeKey, event = `,"time":"`, `","event":"` + string(EventLedgerRecovered) + `"`
	if !bytes.HasPrefix(rest, []byte(timeKey)) {
		return false
	}
	rest = rest[len(timeKey):]
	end := bytes.IndexByte(rest, '"')
	return end >= 0 && bytes.HasPrefix(rest[end:], []byte(event))
}

// fieldBefore reads `<name>"<64 chars>"` ending just before line[end].
func fieldBefore(line []byte, end int, name string) ([]byte, bool) {
	start := end - (len(name) + 65)
	if start < 0 || line[end-1] != '"' || string(line[start:start+len(name)]) != name {
		return nil, false
	}
	return line[start+len(name) : end-1], true
}

// parseClaim reads a ledger.recovered record's details. It returns nil when
// the record is some other event that merely mentions the name.
func parseClaim(line []byte) *recoveryClaim {
	// Decoding reads the last "event" member; isRecovery read the first.
	// They differ only in a hand-made line, which then gets no claim (and
	// Scan refuses it as ambiguous).
	var r struct {
		Event   Event             `json:"event"`
		Details map[string]string `json:"details"`
	}
	if err := json.Unmarshal(line, &r); err != nil || r.Event != EventLedgerRecovered {
		return nil
	}
	cl := &recoveryClaim{reason: r.Details[DetailReason]}
	n, err := strconv.Atoi(r.Details[DetailTornLine])
	if err != nil || n < 1 {
		cl.problem = "its " + DetailTornLine + " is not a line number"
		return cl
	}
	cl.line = n
	if !decodeHex32(&cl.sum, []byte(r.Details[DetailTornSHA256])) {
		cl.problem = "its " + DetailTornSHA256 + " is not 64 lowercase hex digits"
		return cl
	}
	if cl.n, err = strconv.ParseInt(r.Details[DetailTornBytes], 10, 64); err != nil || cl.n < 0 {
		cl.problem = "its " + DetailTornBytes + " is not a byte count"
		return cl
	}
	return cl
}

// recoveryDetails is the Details of the ledger.recovered record for a torn line.
func recoveryDetails(line int, t tornSum, reason string) map[string]string {
	return map[string]string{
		DetailTornLine:   strconv.Itoa(line),
		DetailTornSHA256: hex.EncodeToString(t.sum[:]),
		DetailTornBytes:  strconv.FormatInt(t.n, 10),
		DetailReason:     reason,
	}
}

// parseSeq reads a canonical decimal uint64 (no sign, no leading zeros).
func parseSeq(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	var n uint64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		d := uint64(ch - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// hexVal maps lowercase hex digits to their value and everything else to
// 0xff: the format is canonical, so "ABC" is not a hash.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := byte(0); i < 10; i++ {
		t['0'+i] = i
	}
	for i := byte(0); i < 6; i++ {
		t['a'+i] = 10 + i
	}
	return t
}()

// isHex64 reports whether b is 64 lowercase hex digits.
func isHex64(b []byte) bool {
	if len(b) != 64 {
		return false
	}
	for _, c := range b {
		if hexVal[c] > 15 {
			return false
		}
	}
	return true
}

func decodeHex32(dst *[32]byte, src []byte) bool {
	if len(src) != 64 {
		return false
	}
	for i := range dst {
		hi, lo := hexVal[src[2*i]], hexVal[src[2*i+1]]
		if hi > 15 || lo > 15 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func lineRef(line int) string {
	if line == 0 {
		return "the start of the ledger"
	}
	return fmt.Sprintf("line %d", line)
}
