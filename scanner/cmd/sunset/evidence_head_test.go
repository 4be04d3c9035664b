package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
)

// providerLedgerHead is the last record of testdata/provider-ledger.jsonl,
// a ledger the real provider wrote during `terraform apply`.
const providerLedgerHead = "4:f29e1f8c179f052eb0618600414d04c823233be7c29cca912bb2f2e7ee4adcfb"

// copyProviderLedger copies the provider-written ledger into dir and
// returns its path and its lines ("\n" included).
func copyProviderLedger(t *testing.T, dir string) (string, []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(mustAbs(t, "testdata"), "provider-ledger.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "sunset.jsonl")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, strings.SplitAfter(string(data), "\n")[:strings.Count(string(data), "\n")]
}

// lastHead reads SEQ:HASH from a ledger's last line by hand: an oracle
// independent of the evidence package.
func lastHead(t *testing.T, lines []string) string {
	t.Helper()
	var r struct {
		Seq  uint64 `json:"seq"`
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		t.Fatal(err)
	}
	return strconv.FormatUint(r.Seq, 10) + ":" + r.Hash
}

// rechain rebuilds the hash chain from lines[from] on, as someone rewriting
// the ledger would: each body gets the new prev, each line its new hash
// (the documented line format; no HMAC key, as is the default).
func rechain(t *testing.T, lines []string, from int) {
	t.Helper()
	prev := evidence.ZeroHash
	if from > 0 {
		var r struct{ Hash string }
		if err := json.Unmarshal([]byte(lines[from-1]), &r); err != nil {
			t.Fatal(err)
		}
		prev = r.Hash
	}
	for i := from; i < len(lines); i++ {
		l := strings.TrimSuffix(lines[i], "\n")
		h := strings.LastIndex(l, `,"hash":"`)
		p := strings.LastIndex(l[:h], `"prev":"`)
		if h < 0 || p < 0 {
			t.Fatalf("line %d is not in the ledger's format: %s", i+1, l)
		}
		body := l[:p] + `"prev":"` + prev + `"}`
		sum := sha256.Sum256([]byte(body))
		prev = hex.EncodeToString(sum[:])
		lines[i] = body[:len(body)-1] + `,"hash":"` + prev + `"}` + "\n"
	}
}

func writeLines(t *testing.T, p string, lines []string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestEvidenceHead(t *testing.T) {
	dir := t.TempDir()
	r := sunset(t, dir, nil, "evidence", "head", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "verify evidence/sunset.jsonl --head") {
		t.Fatalf("head --help must show how to save a head and check it next run: %s", r)
	}

	// The head of a provider-written ledger, and nothing else on stdout:
	// CI saves it as is.
	r = sunset(t, dir, nil, "evidence", "head", filepath.Join(mustAbs(t, "testdata"), "provider-ledger.jsonl"))
	if r.code != 0 || r.stdout != providerLedgerHead+"\n" || r.stderr != "" {
		t.Fatalf("head of the provider's ledger: %s", r)
	}

	// A ledger written here, checked against its last line read by hand.
	p := writeLedger(t, dir, 5)
	data, _ := os.ReadFile(p)
	lines := strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
	if r = sunset(t, dir, nil, "evidence", "head", p); r.code != 0 || r.stdout != lastHead(t, lines)+"\n" {
		t.Fatalf("head of a 5-record ledger, want %s: %s", lastHead(t, lines), r)
	}

	// A torn last line that the next append accounted for: the note goes to
	// stderr, stdout stays the head alone.
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":6,"time":"2027-01-0`)
	f.Close()
	l, err := evidence.Open(p, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), evidence.Record{Event: evidence.EventCredentialRevoked, Target: "warehouse", System: "postgresql", Account: "user5"}); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(p)
	lines = strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
	r = sunset(t, dir, nil, "evidence", "head", p)
	if r.code != 0 || r.stdout != lastHead(t, lines)+"\n" || !strings.Contains(r.stderr, "line 6 was torn") {
		t.Fatalf("head after a recovered torn line, want %s: %s", lastHead(t, lines), r)
	}

	// The empty ledger's head is seq 0 and the zero hash.
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, nil, 0o600)
	if r = sunset(t, dir, nil, "evidence", "head", empty); r.code != 0 || r.stdout != "0:"+evidence.ZeroHash+"\n" {
		t.Fatalf("empty ledger: %s", r)
	}

	// A ledger that does not verify has no head: exit 1, the first bad
	// line named, nothing on stdout for CI to save by mistake.
	tampered, tl := copyProviderLedger(t, dir)
	tl[2] = strings.Replace(tl[2], `"end_date":"2030-01-31"`, `"end_date":"2031-01-31"`, 1)
	writeLines(t, tampered, tl)
	if r = sunset(t, dir, nil, "evidence", "head", tampered); r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "does not verify: line 3:") {
		t.Fatalf("tampered: %s", r)
	}
	// Under a key, a ledger written without HMACs does not verify either.
	if r = sunset(t, dir, []string{"SUNSET_EVIDENCE_KEY=k3y"}, "evidence", "head", filepath.Join(mustAbs(t, "testdata"), "provider-ledger.jsonl")); r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "line 1") {
		t.Fatalf("no HMAC under a key: %s", r)
	}
	if r = sunset(t, dir, nil, "evidence", "head", filepath.Join(dir, "missing.jsonl")); r.code != 2 || !strings.Contains(r.stderr, "cannot read the ledger") {
		t.Fatalf("missing: %s", r)
	}
	if r = sunset(t, dir, nil, "evidence", "head", dir); r.code != 2 || r.stdout != "" {
		t.Fatalf("a directory: %s", r)
	}
}

func TestEvidenceVerifyHead(t *testing.T) {
	dir := t.TempDir()
	p, lines := copyProviderLedger(t, dir)
	verify := func(head string, env ...string) result {
		t.Helper()
		return sunset(t, dir, env, "evidence", "verify", p, "--head", head)
	}

	// Intact: the ledger still holds the head taken from it.
	head := strings.TrimSpace(sunset(t, dir, nil, "evidence", "head", p).stdout)
	if head != providerLedgerHead {
		t.Fatalf("head %q, want %q", head, providerLedgerHead)
	}
	if r := verify(head); r.code != 0 || !strings.Contains(r.stdout, "is intact: 4 records") || !strings.Contains(r.stdout, "still holds record "+head) {
		t.Fatalf("intact: %s", r)
	}

	// The next run appended: the old head is still there.
	l, err := evidence.Open(p, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), evidence.Record{Event: evidence.EventIdentityDeclared, Identity: &evidence.IdentityRef{ID: "dave", Name: "dave", EndDate: "2030-09-30"}}); err != nil {
		t.Fatal(err)
	}
	if r := verify(head); r.code != 0 || !strings.Contains(r.stdout, "is intact: 5 records, head 5:") {
		t.Fatalf("a grown ledger holds the old head: %s", r)
	}

	// Truncated: the last two lines removed. The chain alone is fine.
	writeLines(t, p, lines[:2])
	if r := sunset(t, dir, nil, "evidence", "verify", p); r.code != 0 {
		t.Fatalf("a truncated ledger verifies on its own (that is what --head is for): %s", r)
	}
	r := verify(head)
	if r.code != 1 || !strings.Contains(r.stderr, "was truncated") || !strings.Contains(r.stderr, "no longer holds record 4") ||
		!strings.Contains(r.stderr, "its last valid record is "+lastHead(t, lines[:2])) {
		t.Fatalf("truncated: %s", r)
	}

	// Rewritten: bob's end date moved on line 3 and the chain rebuilt from
	// there. verify alone accepts it; --head does not, and says where.
	rewritten := append([]string{}, lines...)
	rewritten[2] = strings.Replace(rewritten[2], `"end_date":"2030-01-31"`, `"end_date":"2031-01-31"`, 1)
	if rewritten[2] == lines[2] {
		t.Fatal("line 3 has no end date to edit")
	}
	rechain(t, rewritten, 2)
	writeLines(t, p, rewritten)
	if r := sunset(t, dir, nil, "evidence", "verify", p); r.code != 0 || !strings.Contains(r.stdout, "is intact: 4 records") {
		t.Fatalf("a re-chained ledger verifies on its own (that is what --head is for): %s", r)
	}
	r = verify(head)
	if r.code != 1 || !strings.Contains(r.stderr, "was rewritten: record 4 on line 4 has hash "+strings.TrimPrefix(lastHead(t, rewritten), "4:")) {
		t.Fatalf("rewritten: %s", r)
	}
	// An older head, before the rewrite, is still there.
	if r := verify(lastHead(t, lines[:2])); r.code != 0 {
		t.Fatalf("head 2 precedes the rewrite: %s", r)
	}

	// Edited without re-chaining: the break before the head is named.
	edited := append([]string{}, lines...)
	edited[1] = strings.Replace(edited[1], `"owner":"finance-eng@example.com"`, `"owner":"nobody@example.com"`, 1)
	writeLines(t, p, edited)
	if r := verify(head); r.code != 1 || !strings.Contains(r.stderr, "is TAMPERED: line 2:") || !strings.Contains(r.stderr, "cannot show that it still holds record 4") {
		t.Fatalf("tampered before the head: %s", r)
	}
	// Broken after the head: the head is there, the ledger still fails.
	writeLines(t, p, append(append([]string{}, lines...), "not a record\n"))
	if r := verify(head); r.code != 1 || !strings.Contains(r.stderr, "is TAMPERED: line 5:") || !strings.Contains(r.stderr, "still there, before the break") {
		t.Fatalf("tampered after the head: %s", r)
	}

	// Bad --head values are usage errors (exit 2) that say what is wanted,
	// with hostile bytes escaped.
	writeLines(t, p, lines)
	for _, c := range []struct{ head, want string }{
		{"", "--head is empty"},
		{"   ", "--head is empty"},
		{"f29e1f8c179f052eb0618600414d04c823233be7c29cca912bb2f2e7ee4adcfb", "no ':'"},
		{"four:f29e1f8c179f052eb0618600414d04c823233be7c29cca912bb2f2e7ee4adcfb", "SEQ is not a decimal number"},
		{"4:F29E1F8C179F052EB0618600414D04C823233BE7C29CCA912BB2F2E7EE4ADCFB", "HASH is not 64 lowercase hex digits"},
		{"4:f29e1f8c", "HASH is not 64 lowercase hex digits"},
		{"4:\x1b[2J\n" + strings.Repeat("a", 62), `"4:\x1b[2J\n`},
		{"0:" + strings.Repeat("a", 64), "names no record: seq 0 is the empty ledger"},
	} {
		r := verify(c.head)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || strings.ContainsAny(r.stderr, "\x1b") || r.stdout != "" {
			t.Errorf("--head %q: want exit 2 and %q: %s", c.head, c.want, r)
		}
	}
	// The empty ledger's head is held by every ledger.
	if r := verify("0:" + evidence.ZeroHash); r.code != 0 {
		t.Fatalf("the empty head: %s", r)
	}
	// Unreadable ledger: exit 2, whatever the head.
	if r := sunset(t, dir, nil, "evidence", "verify", filepath.Join(dir, "missing.jsonl"), "--head", head); r.code != 2 || !strings.Contains(r.stderr, "cannot read the ledger") {
		t.Fatalf("missing ledger: %s", r)
	}
	// HMAC under a key still applies with --head.
	if r := verify(head, "SUNSET_EVIDENCE_KEY=k3y"); r.code != 1 || !strings.Contains(r.stderr, "line 1") {
		t.Fatalf("a ledger without HMACs under a key: %s", r)
	}
}
