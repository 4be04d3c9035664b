package evidence

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

func headError(t *testing.T, err error) *HeadError {
	t.Helper()
	var he *HeadError
	if !errors.As(err, &he) {
		t.Fatalf("want a *HeadError, got %v", err)
	}
	return he
}

func TestVerifyHead(t *testing.T) {
	key := []byte("head-key")
	lines, recs := buildLedger(t, 6, key)
	head := Head{Seq: 6, Hash: recs[5].Hash}
	mid := Head{Seq: 3, Hash: recs[2].Hash}

	t.Run("intact", func(t *testing.T) {
		path := writeFile(t, join(lines...))
		for _, h := range []Head{head, mid, {Seq: 1, Hash: recs[0].Hash}, {Hash: ZeroHash}} {
			rep, err := VerifyHead(path, h, key)
			if err != nil || !rep.OK() || rep.Records != 6 || !rep.HMACChecked {
				t.Fatalf("VerifyHead(%s) = %+v, %v", h, rep, err)
			}
		}
		// Appends after the head was saved are fine.
		appendN(t, openLedgerKey(t, path, key), 7, 2)
		if _, err := VerifyHead(path, head, key); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("truncated", func(t *testing.T) {
		path := writeFile(t, join(lines[:4]...)) // the last two lines removed
		rep, err := VerifyHead(path, head, key)
		he := headError(t, err)
		if he.Problem != HeadTruncated || he.Got != (Head{Seq: 4, Hash: recs[3].Hash}) || !rep.OK() {
			t.Fatalf("%+v %+v", he, rep)
		}
		for _, want := range []string{"no longer holds record 6 with hash " + head.Hash, "truncated", "last valid record is 4:" + recs[3].Hash} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%q does not say %q", err, want)
			}
		}
		// The chain alone is fine, which is why the head is needed.
		if rep, err := VerifyFile(path, key); err != nil || !rep.OK() {
			t.Fatalf("the truncated ledger should verify on its own: %+v %v", rep, err)
		}
		// Emptied entirely.
		empty := writeFile(t, nil)
		if _, err := VerifyHead(empty, mid, key); headError(t, err).Problem != HeadTruncated {
			t.Fatal(err)
		}
	})

	t.Run("rewritten", func(t *testing.T) {
		// Record 3 edited and the chain rebuilt after it: a rewrite that
		// verifies without the key.
		var buf bytes.Buffer
		cw := newChainWriter(&buf, nil)
		for i, r := range recs {
			r.Seq, r.Prev, r.Hash, r.HMAC = 0, "", "", ""
			if i == 2 {
				r.Verification = "rolcanlogin=false (edited)"
			}
			if _, _, err := cw.add(r); err != nil {
				t.Fatal(err)
			}
		}
		cw.flush()
		path := writeFile(t, buf.Bytes())
		if rep, err := VerifyFile(path, nil); err != nil || !rep.OK() {
			t.Fatalf("the rewritten ledger should verify on its own: %+v %v", rep, err)
		}
		for _, h := range []Head{head, mid} {
			rep, err := VerifyHead(path, h, nil)
			he := headError(t, err)
			if he.Problem != HeadRewritten || he.Got.Seq != h.Seq || he.Got.Hash == h.Hash || he.Line != int(h.Seq) || !rep.OK() {
				t.Fatalf("%+v %+v", he, rep)
			}
			if !strings.Contains(err.Error(), "rewritten: record "+strconv.FormatUint(h.Seq, 10)+" on line "+strconv.FormatUint(h.Seq, 10)+" has hash "+he.Got.Hash) {
				t.Errorf("%v", err)
			}
		}
		// Records before the edit still match.
		if _, err := VerifyHead(path, Head{Seq: 2, Hash: recs[1].Hash}, nil); err != nil {
			t.Fatal(err)
		}
		// With the key, the rewrite is also a broken HMAC.
		if rep, _ := VerifyHead(path, Head{Seq: 2, Hash: recs[1].Hash}, key); rep.OK() {
			t.Fatal("unsigned records verified with the key")
		}
	})

	t.Run("broken before the head", func(t *testing.T) {
		bad := bytes.Replace(lines[1], []byte("warehouse"), []byte("warehousf"), 1)
		path := writeFile(t, join(lines[0], bad, lines[2], lines[3], lines[4], lines[5]))
		rep, err := VerifyHead(path, head, key)
		he := headError(t, err)
		if he.Problem != HeadUnconfirmed || he.Break == nil || he.Break.Line != 2 || rep.OK() {
			t.Fatalf("%+v %+v", he, rep)
		}
		if !strings.Contains(err.Error(), "cannot confirm it: the chain breaks at line 2") {
			t.Error(err)
		}
		// A head before the break is still confirmed (the report is not OK).
		rep, err = VerifyHead(path, Head{Seq: 1, Hash: recs[0].Hash}, key)
		if err != nil || rep.OK() {
			t.Fatalf("%+v %v", rep, err)
		}
	})

	t.Run("torn tail recovered", func(t *testing.T) {
		// Record 6 lost its "\n" in a crash: it is not a record, and the
		// ledger.recovered record takes seq 6.
		var buf bytes.Buffer
		cw := newChainWriter(&buf, key)
		for _, r := range recs[:5] {
			r.Seq, r.Prev, r.Hash, r.HMAC = 0, "", "", ""
			cw.add(r)
		}
		torn := lines[5][:len(lines[5])-1]
		cw.raw(torn)
		cw.raw([]byte("\n"))
		rec, _, err := cw.recover(6, torn, "torn line: no trailing newline")
		if err != nil {
			t.Fatal(err)
		}
		cw.flush()
		path := writeFile(t, buf.Bytes())
		if _, err := VerifyHead(path, head, key); headError(t, err).Problem != HeadRewritten {
			t.Fatalf("the torn record counted as record 6: %v", err)
		}
		if rep, err := VerifyHead(path, Head{Seq: 6, Hash: rec.Hash}, key); err != nil || !rep.OK() || len(rep.Recovered) != 1 {
			t.Fatalf("%+v %v", rep, err)
		}
	})

	t.Run("refuses", func(t *testing.T) {
		path := writeFile(t, join(lines...))
		if _, err := VerifyHead(path, Head{Seq: 0, Hash: recs[0].Hash}, key); headError(t, err).Problem != HeadRewritten || !strings.Contains(err.Error(), "seq 0 is the empty ledger") {
			t.Fatal(err)
		}
		if _, err := VerifyHead(path, Head{Seq: 1, Hash: "\x1b[31mnot-hex"}, key); err == nil || strings.Contains(err.Error(), "\x1b") {
			t.Fatalf("a bad hash: %v", err)
		}
		if _, err := VerifyHead(path+".missing", head, key); err == nil || !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a missing ledger: %v", err)
		}
	})
}

func openLedgerKey(t *testing.T, path string, key []byte) *Ledger {
	t.Helper()
	l, err := Open(path, Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return l
}
