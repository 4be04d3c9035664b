// Package evidence is sunset's tamper-evident evidence ledger: one JSON
// record per line, each holding the sha256 of the record before it, so an
// edited, deleted, reordered or inserted line breaks the chain at a line
// number that Verify reports.
//
// The line format is byte-exact so that Verify can check a line by position
// instead of decoding it:
//
//	body = json.Marshal(record without prev, hash, hmac) with its final "}"
//	       replaced by `,"prev":"<64 hex>"}`
//	hash = hex(sha256(body))
//	hmac = hex(HMAC-SHA256(key, body))            (only when a key is set)
//	line = body minus its final "}" + `,"hash":"<hash>"` [+ `,"hmac":"<hmac>"`] + "}\n"
//
// The first record's prev is 64 zeros and seqs count 1, 2, 3, ... A line
// that a crash left torn is never trusted and never dropped: the next Append
// terminates it and writes a ledger.recovered record that names it (line
// number, sha256 and length of its bytes) and chains to the last valid
// record, and Verify accepts the torn line only in that exact shape.
//
// Two checks reach beyond the file. A head (SEQ:HASH of the last record,
// Report.Head) saved elsewhere lets VerifyHead prove later that the ledger
// still holds that record: a truncated or rewritten ledger re-chains and
// verifies on its own, but it no longer holds the head. And a Shipper
// (sink.go) copies every record, as written, to an HTTP collector, using
// the ledger itself as its queue.
//
// Records are evidence for auditors and are not secret. Callers must never
// put passwords, tokens, DSN passwords or any other secret in a Record; the
// ledger writes what it is given.
package evidence

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Event names what happened.
type Event string

// The events sunset records. EventLedgerRecovered is written by the ledger
// itself, never by callers.
const (
	EventIdentityDeclared   Event = "identity.declared"
	EventIdentityChanged    Event = "identity.changed"
	EventCredentialIssued   Event = "credential.issued"
	EventCredentialChanged  Event = "credential.changed"
	EventRevokeFailed       Event = "credential.revoke_failed"
	EventCredentialRevoked  Event = "credential.revoked"
	EventIdentityOffboarded Event = "identity.offboarded"
	// EventLedgerRecovered follows a torn or corrupt last line that Append
	// found; its Details name that line (see the Detail* constants).
	EventLedgerRecovered Event = "ledger.recovered"
)

// Trigger says why access ended.
type Trigger string

// The triggers of an offboarding or revocation.
const (
	TriggerEndDateReached           Trigger = "end_date_reached"
	TriggerRemovedFromConfiguration Trigger = "removed_from_configuration"
	TriggerReplaced                 Trigger = "replaced"
	TriggerTerminatedInSource       Trigger = "terminated_in_source"
	// TriggerExceptionExpired: the end date had passed and the exception
	// that held the identity past it has expired.
	TriggerExceptionExpired Trigger = "exception_expired"
)

// Keys of a ledger.recovered record's Details.
const (
	DetailTornLine   = "torn_line"   // 1-based line number of the torn line
	DetailTornSHA256 = "torn_sha256" // hex sha256 of the torn line's bytes, without "\n"
	DetailTornBytes  = "torn_bytes"  // length of those bytes
	DetailReason     = "reason"      // what was wrong with the line when it was found
)

// IdentityRef identifies the identity a record is about.
type IdentityRef struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
	Kind    string `json:"kind,omitempty"`
	Owner   string `json:"owner,omitempty"`
	EndDate string `json:"end_date,omitempty"`
}

// Change is one attribute's old and new value, e.g. an extended end date.
type Change struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// Record is one line of the ledger. Seq, Prev, Hash and HMAC are filled by
// Append; whatever a caller puts there is overwritten.
//
// A Record is evidence, not a secret store: never put a password, token,
// DSN password or private key in any field (Error and Details included).
// Redact before calling Append.
type Record struct {
	Seq          uint64            `json:"seq"`
	Time         time.Time         `json:"time"`
	Event        Event             `json:"event"`
	Identity     *IdentityRef      `json:"identity,omitempty"`
	Target       string            `json:"target,omitempty"`
	System       string            `json:"system,omitempty"`
	Account      string            `json:"account,omitempty"`
	Action       string            `json:"action,omitempty"`
	Trigger      Trigger           `json:"trigger,omitempty"`
	RequestedAt  *time.Time        `json:"requested_at,omitempty"`
	RemovedAt    *time.Time        `json:"removed_at,omitempty"`
	VerifiedAt   *time.Time        `json:"verified_at,omitempty"`
	Verification string            `json:"verification,omitempty"`
	Actor        string            `json:"actor,omitempty"`
	Run          string            `json:"run,omitempty"`
	Changes      map[string]Change `json:"changes,omitempty"`
	Error        string            `json:"error,omitempty"` // for revoke_failed; the caller redacts
	Details      map[string]string `json:"details,omitempty"`
	Prev         string            `json:"prev"`
	Hash         string            `json:"hash"`
	HMAC         string            `json:"hmac,omitempty"`
}

// recordBody is Record without prev, hash and hmac: marshalling it gives the
// body into which prev is spliced as the last field. Keep the two in step.
type recordBody struct {
	Seq          uint64            `json:"seq"`
	Time         time.Time         `json:"time"`
	Event        Event             `json:"event"`
	Identity     *IdentityRef      `json:"identity,omitempty"`
	Target       string            `json:"target,omitempty"`
	System       string            `json:"system,omitempty"`
	Account      string            `json:"account,omitempty"`
	Action       string            `json:"action,omitempty"`
	Trigger      Trigger           `json:"trigger,omitempty"`
	RequestedAt  *time.Time        `json:"requested_at,omitempty"`
	RemovedAt    *time.Time        `json:"removed_at,omitempty"`
	VerifiedAt   *time.Time        `json:"verified_at,omitempty"`
	Verification string            `json:"verification,omitempty"`
	Actor        string            `json:"actor,omitempty"`
	Run          string            `json:"run,omitempty"`
	Changes      map[string]Change `json:"changes,omitempty"`
	Error        string            `json:"error,omitempty"`
	Details      map[string]string `json:"details,omitempty"`
}

// ZeroHash is the prev of the first record and the hash of an empty ledger's head.
const ZeroHash = "0000000000000000000000000000000000000000000000000000000000000000"

// MaxRecordBytes bounds one encoded line. Records are small; a bigger one is
// a caller bug (a dumped response body, say), refused rather than written.
const MaxRecordBytes = 1 << 20

// maxLineBytes is the longest line Verify and Append's tail reader will read
// into memory. It is far above MaxRecordBytes so that a valid record never
// hits it; a longer line is reported as bad.
const maxLineBytes = 16 << 20

const (
	seqPrefix = `{"seq":`
	prevField = `,"prev":"`
	hashField = `,"hash":"`
	hmacField = `,"hmac":"`
)

// encodeLine renders r (whose Seq and Time are set) chained to prev, and
// returns the full line including "\n", plus the hash and hmac it carries.
func encodeLine(r *Record, prev [32]byte, key []byte) (line []byte, sum [32]byte, mac string, err error) {
	b, err := json.Marshal(recordBody{
		Seq: r.Seq, Time: r.Time, Event: r.Event, Identity: r.Identity,
		Target: r.Target, System: r.System, Account: r.Account, Action: r.Action,
		Trigger: r.Trigger, RequestedAt: r.RequestedAt, RemovedAt: r.RemovedAt,
		VerifiedAt: r.VerifiedAt, Verification: r.Verification, Actor: r.Actor,
		Run: r.Run, Changes: r.Changes, Error: r.Error, Details: r.Details,
	})
	if err != nil {
		return nil, sum, "", fmt.Errorf("evidence: encode %s record: %w", r.Event, err)
	}
	// b is `{"seq":N,...}`; splice prev in as the last member.
	n := len(b) - 1 + len(prevField) + 64 + 2 + len(hashField) + 64 + 1 + 2
	if key != nil {
		n += len(hmacField) + 64 + 1
	}
	line = make([]byte, 0, n)
	line = append(line, b[:len(b)-1]...)
	line = append(line, prevField...)
	line = hex.AppendEncode(line, prev[:])
	line = append(line, `"}`...)
	// line is now the body. Hash (and sign) it before the appends below
	// overwrite its closing "}".
	sum = sha256.Sum256(line)
	if key != nil {
		m := hmac.New(sha256.New, key)
		m.Write(line)
		mac = hex.EncodeToString(m.Sum(nil))
	}
	line = line[:len(line)-1]
	line = append(line, hashField...)
	line = hex.AppendEncode(line, sum[:])
	line = append(line, '"')
	if key != nil {
		line = append(line, hmacField...)
		line = append(line, mac...)
		line = append(line, '"')
	}
	line = append(line, "}\n"...)
	if len(line) > MaxRecordBytes {
		return nil, sum, "", fmt.Errorf("evidence: %s record is %d bytes encoded, more than the %d-byte limit", r.Event, len(line), MaxRecordBytes)
	}
	return line, sum, mac, nil
}

// Head names a ledger's last record: its seq and hash. Saved elsewhere, it
// lets a later check prove the ledger still holds that record (was not
// truncated or rewritten).
type Head struct {
	Seq  uint64
	Hash string
}

// String renders "SEQ:HASH", the form ParseHead reads.
func (h Head) String() string { return strconv.FormatUint(h.Seq, 10) + ":" + h.Hash }

// ParseHead reads "SEQ:HASH" where HASH is 64 lowercase hex digits.
func ParseHead(s string) (Head, error) {
	seqStr, hash, ok := bytes.Cut([]byte(s), []byte(":"))
	bad := func(why string) (Head, error) {
		shown := s
		if len(shown) > 160 {
			shown = shown[:160] + "..."
		}
		return Head{}, fmt.Errorf("evidence: head %q: %s (want SEQ:HASH, HASH being 64 lowercase hex digits)", shown, why)
	}
	if !ok {
		return bad("no ':'")
	}
	seq, ok := parseSeq(seqStr)
	if !ok {
		return bad("SEQ is not a decimal number")
	}
	var sum [32]byte
	if !decodeHex32(&sum, hash) {
		return bad("HASH is not 64 lowercase hex digits")
	}
	return Head{Seq: seq, Hash: string(hash)}, nil
}
