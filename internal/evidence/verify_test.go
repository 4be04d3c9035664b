package evidence

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// forge builds a line with a correct hash (and HMAC under key) around any
// body, as someone editing the file by hand could.
func forge(body string, key []byte) []byte {
	sum := sha256.Sum256([]byte(body))
	line := body[:len(body)-1] + hashField + hex.EncodeToString(sum[:]) + `"`
	if key != nil {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(body))
		line += hmacField + hex.EncodeToString(m.Sum(nil)) + `"`
	}
	return []byte(line + "}\n")
}

// reencode re-renders r (as written) with edit applied, keeping its seq and
// prev: a consistent edit of one record, signed with key.
func reencode(t *testing.T, r Record, key []byte, edit func(*Record)) []byte {
	t.Helper()
	edit(&r)
	var prev [32]byte
	if !decodeHex32(&prev, []byte(r.Prev)) {
		t.Fatal("bad prev")
	}
	line, _, _, err := encodeLine(&r, prev, key)
	if err != nil {
		t.Fatal(err)
	}
	return line
}

// engineConfigs are the splits every Verify case is run under: the report
// must not depend on how the input was cut into chunks or spread on workers.
var engineConfigs = []engineConfig{
	{},
	{chunk: 1, workers: 1},
	{chunk: 97, workers: 3},
	{chunk: 700, workers: 2},
}

func TestVerify(t *testing.T) {
	key := []byte("test-key-not-a-real-secret")
	plain, precs := buildLedger(t, 10, nil)
	keyed, krecs := buildLedger(t, 10, key)

	// A ledger with a torn line 6 and its recovery, the way Append leaves it.
	torn := plain[5][:len(plain[5])/2] // half of a record, then a crash
	recovered := func(key []byte, mutate func(cw *chainWriter, lines [][]byte)) []byte {
		var buf bytes.Buffer
		cw := newChainWriter(&buf, key)
		var lines [][]byte
		for i := range 5 {
			_, l, _ := cw.add(sampleRecord(i + 1))
			lines = append(lines, l)
		}
		cw.raw(append(append([]byte{}, torn...), '\n'))
		mutate(cw, lines)
		for i := 6; i < 9; i++ {
			cw.add(sampleRecord(i + 1))
		}
		cw.flush()
		return buf.Bytes()
	}
	goodRecovery := func(cw *chainWriter, _ [][]byte) { cw.recover(6, torn, "torn line: no trailing newline") }

	swapped := join(plain[:2]...)
	swapped = append(append(append(swapped, plain[3]...), plain[2]...), join(plain[4:]...)...)
	firstSeq2 := func() []byte {
		var buf bytes.Buffer
		cw := newChainWriter(&buf, nil)
		cw.seq = 1
		cw.add(sampleRecord(1))
		cw.flush()
		return buf.Bytes()
	}()
	firstPrevNonZero := func() []byte {
		var buf bytes.Buffer
		cw := newChainWriter(&buf, nil)
		cw.prev[0] = 1
		cw.add(sampleRecord(1))
		cw.flush()
		return buf.Bytes()
	}()

	cases := []struct {
		name        string
		data        []byte
		key         []byte
		records     int
		badLine     int    // 0: intact
		badReason   string // substring of the reason
		recovered   []Recovery
		headSeq     uint64
		hmacChecked bool
	}{
		{name: "empty", data: nil, records: 0},
		{name: "intact", data: join(plain...), records: 10, headSeq: 10},
		{name: "edited field", records: 2, badLine: 3, badReason: "hash mismatch",
			data: join(append(append(plain[:2:2], bytes.Replace(plain[2], []byte("user-0000003"), []byte("user-0000666"), 1)), plain[3:]...)...)},
		{name: "edited field, hash recomputed", records: 3, badLine: 4, badReason: "prev does not match line 3's hash",
			data: join(append(append(plain[:2:2], reencode(t, precs[2], nil, func(r *Record) { r.Account = "mallory" })), plain[3:]...)...)},
		{name: "deleted line", records: 2, badLine: 3, badReason: "seq 4 follows 2",
			data: join(append(plain[:2:2], plain[3:]...)...)},
		{name: "reordered lines", records: 2, badLine: 3, badReason: "seq 4 follows 2", data: swapped},
		{name: "truncated last line", records: 9, badLine: 10, badReason: "torn line: no trailing newline",
			data: join(plain...)[:len(join(plain...))-20]},
		{name: "last line without its newline", records: 9, badLine: 10, badReason: "torn line: no trailing newline",
			data: join(plain...)[:len(join(plain...))-1]},
		// Cutting whole lines off the end leaves a valid chain: only a saved
		// Head (see Head, ParseHead) catches that.
		{name: "truncated at a line boundary", data: join(plain[:9]...), records: 9, headSeq: 9},
		{name: "extra garbage line", records: 10, badLine: 11, badReason: "not a ledger record",
			data: join(append(plain[:10:10], []byte("garbage\n"))...)},
		{name: "garbage line in the middle", records: 4, badLine: 5, badReason: "not a ledger record",
			data: join(append(append(plain[:4:4], []byte("{\"hello\":1}\n")), plain[4:]...)...)},
		{name: "empty line", records: 4, badLine: 5, badReason: "empty line",
			data: join(append(append(plain[:4:4], []byte("\n")), plain[4:]...)...)},
		{name: "CRLF line endings", records: 0, badLine: 1, badReason: "carriage return",
			data: bytes.ReplaceAll(join(plain...), []byte("\n"), []byte("\r\n"))},
		{name: "uppercase hash", records: 0, badLine: 1, badReason: "malformed hash",
			data: func() []byte {
				l := append([]byte{}, plain[0]...)
				i := bytes.Index(l, []byte(hashField)) + len(hashField)
				copy(l[i:], bytes.ToUpper(l[i:i+64]))
				return join(append([][]byte{l}, plain[1:]...)...)
			}()},
		{name: "not JSON under a correct hash", records: 0, badLine: 1, badReason: "not JSON",
			data: forge(`{"seq":1,"time":oops,"event":"x","prev":"`+ZeroHash+`"}`, nil)},
		{name: "first seq is not 1", data: firstSeq2, records: 0, badLine: 1, badReason: "first record has seq 2, want 1"},
		{name: "first prev is not zero", data: firstPrevNonZero, records: 0, badLine: 1, badReason: "prev of the first record is not the zero hash"},

		{name: "hmac, right key", data: join(keyed...), key: key, records: 10, headSeq: 10, hmacChecked: true},
		{name: "hmac ledger, no key given", data: join(keyed...), records: 10, headSeq: 10},
		{name: "hmac, wrong key", data: join(keyed...), key: []byte("wrong"), records: 0, badLine: 1, badReason: "hmac mismatch", hmacChecked: true},
		{name: "hmac missing", data: join(plain...), key: key, records: 0, badLine: 1, badReason: "missing hmac", hmacChecked: true},
		{name: "hmac, record rewritten without the key", key: key, records: 2, badLine: 3, badReason: "hmac mismatch", hmacChecked: true,
			data: join(append(append(keyed[:2:2], reencode(t, krecs[2], []byte("guess"), func(r *Record) { r.Account = "mallory" })), keyed[3:]...)...)},

		{name: "recovered torn line", data: recovered(nil, goodRecovery), records: 9, headSeq: 9,
			recovered: []Recovery{{TornLine: 6, RecoveredBySeq: 6, Reason: "torn line: no trailing newline"}}},
		{name: "recovered whole record that lost its newline", records: 9, headSeq: 9,
			recovered: []Recovery{{TornLine: 6, RecoveredBySeq: 6, Reason: "torn line: no trailing newline"}},
			data: func() []byte {
				var buf bytes.Buffer
				cw := newChainWriter(&buf, nil)
				for i := range 5 {
					cw.add(sampleRecord(i + 1))
				}
				whole, _ := buildLedger(t, 6, nil)
				cw.raw(whole[5]) // verifies on its own, but Append found it without "\n"
				cw.recover(6, whole[5][:len(whole[5])-1], "torn line: no trailing newline")
				for i := 6; i < 9; i++ {
					cw.add(sampleRecord(i + 1))
				}
				cw.flush()
				return buf.Bytes()
			}()},
		{name: "recovery naming a valid record that was not torn", records: 6, badLine: 7, badReason: "seq 6 follows 6",
			data: func() []byte {
				var buf bytes.Buffer
				cw := newChainWriter(&buf, nil)
				var last []byte
				var r5 Record
				for i := range 6 {
					r, l, _ := cw.add(sampleRecord(i + 1))
					if i == 4 {
						r5 = r
					}
					last = l
				}
				// Chained past line 6 as a real recovery would be, but
				// naming other bytes than line 6 holds.
				cw.seq = 5
				decodeHex32(&cw.prev, []byte(r5.Hash))
				cw.recover(6, last[:len(last)-2], "made up")
				cw.flush()
				return buf.Bytes()
			}()},
		{name: "recovered torn line, hmac", data: recovered(key, goodRecovery), key: key, records: 9, headSeq: 9, hmacChecked: true,
			recovered: []Recovery{{TornLine: 6, RecoveredBySeq: 6, Reason: "torn line: no trailing newline"}}},
		{name: "recovery forged without the key", key: key, records: 5, badLine: 6, badReason: "hmac mismatch", hmacChecked: true,
			data: recovered(key, func(cw *chainWriter, _ [][]byte) {
				cw.key = []byte("guess")
				cw.recover(6, torn, "torn")
				cw.key = key
			})},
		{name: "fake recovery that does not chain", records: 5, badLine: 6, badReason: "does not chain to line 5",
			data: recovered(nil, func(cw *chainWriter, lines [][]byte) {
				var r4 [32]byte
				decodeHex32(&r4, []byte(precs[3].Hash))
				cw.prev = r4 // chain to line 4, skipping line 5
				cw.seq = 5
				cw.recover(6, torn, "torn")
			})},
		{name: "recovery naming another line", records: 5, badLine: 6, badReason: "names line 7",
			data: recovered(nil, func(cw *chainWriter, _ [][]byte) { cw.recover(7, torn, "torn") })},
		{name: "recovery naming other bytes", records: 5, badLine: 6, badReason: "names other bytes",
			data: recovered(nil, func(cw *chainWriter, _ [][]byte) { cw.recover(6, []byte("something else"), "torn") })},
		{name: "torn line, no recovery", records: 5, badLine: 6, badReason: "is no ledger.recovered record",
			data: recovered(nil, func(*chainWriter, [][]byte) {})},
		{name: "two torn lines, one recovery", records: 5, badLine: 6, badReason: "is no valid ledger.recovered record",
			data: recovered(nil, func(cw *chainWriter, _ [][]byte) {
				cw.raw([]byte("more damage\n"))
				cw.recover(7, []byte("more damage"), "torn")
			})},
		{name: "recovery without a torn line", records: 5, badLine: 6, badReason: "does not follow a torn line",
			data: func() []byte {
				var buf bytes.Buffer
				cw := newChainWriter(&buf, nil)
				for i := range 5 {
					cw.add(sampleRecord(i + 1))
				}
				cw.recover(3, plain[2][:len(plain[2])-1], "made up")
				cw.flush()
				return buf.Bytes()
			}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var first Report
			for i, cfg := range engineConfigs {
				rep, err := run(bytes.NewReader(tc.data), tc.key, nil, cfg)
				if err != nil {
					t.Fatalf("%+v: %v", cfg, err)
				}
				if i == 0 {
					first = rep
					continue
				}
				if !reflect.DeepEqual(rep, first) {
					t.Fatalf("engine %+v gave %+v, default gave %+v", cfg, rep, first)
				}
			}
			rep, err := Verify(bytes.NewReader(tc.data), tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rep, first) {
				t.Fatalf("Verify and run disagree: %+v vs %+v", rep, first)
			}
			if rep.Records != tc.records {
				t.Errorf("Records = %d, want %d", rep.Records, tc.records)
			}
			if rep.HMACChecked != tc.hmacChecked {
				t.Errorf("HMACChecked = %v, want %v", rep.HMACChecked, tc.hmacChecked)
			}
			if tc.badLine == 0 {
				if !rep.OK() {
					t.Fatalf("want intact, got %v", rep.FirstBad)
				}
				if rep.Head.Seq != tc.headSeq {
					t.Errorf("Head = %v, want seq %d", rep.Head, tc.headSeq)
				}
			} else {
				if rep.OK() || rep.FirstBad.Line != tc.badLine || !strings.Contains(rep.FirstBad.Reason, tc.badReason) {
					t.Fatalf("FirstBad = %v, want line %d with %q", rep.FirstBad, tc.badLine, tc.badReason)
				}
				t.Logf("reported: %v", rep.FirstBad)
			}
			if !reflect.DeepEqual(rep.Recovered, tc.recovered) {
				t.Errorf("Recovered = %+v, want %+v", rep.Recovered, tc.recovered)
			}
			// Head is the last valid record, whatever follows it.
			if rep.Records == 0 && rep.Head != (Head{Seq: 0, Hash: ZeroHash}) {
				t.Errorf("Head of no records = %v", rep.Head)
			}
		})
	}
}

func TestVerifyHeadIsLastValidRecord(t *testing.T) {
	lines, recs := buildLedger(t, 5, nil)
	rep, err := Verify(bytes.NewReader(join(append(lines, []byte("junk\n"))...)), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Head{Seq: 5, Hash: recs[4].Hash}
	if rep.Head != want || rep.FirstBad == nil || rep.FirstBad.Line != 6 {
		t.Fatalf("Head = %v FirstBad = %v, want %v and line 6", rep.Head, rep.FirstBad, want)
	}
	h, err := ParseHead(rep.Head.String())
	if err != nil || h != want {
		t.Fatalf("ParseHead(String()) = %v, %v", h, err)
	}
}

func TestParseHead(t *testing.T) {
	good := "42:" + strings.Repeat("ab", 32)
	if h, err := ParseHead(good); err != nil || h.Seq != 42 || h.String() != good {
		t.Fatalf("ParseHead(%q) = %v, %v", good, h, err)
	}
	if h, err := ParseHead("0:" + ZeroHash); err != nil || h.Seq != 0 {
		t.Fatalf("empty ledger head: %v, %v", h, err)
	}
	for _, bad := range []string{
		"", "42", ":" + ZeroHash, "-1:" + ZeroHash, "01:" + ZeroHash, "x:" + ZeroHash,
		"42:" + strings.Repeat("AB", 32), "42:abc", "18446744073709551616:" + ZeroHash,
		"1:" + ZeroHash + "\n\x1b[31m",
	} {
		_, err := ParseHead(bad)
		if err == nil {
			t.Errorf("ParseHead(%q) accepted", bad)
			continue
		}
		if strings.ContainsAny(err.Error(), "\n\x1b") {
			t.Errorf("error does not escape hostile input: %q", err)
		}
	}
}

func TestLineError(t *testing.T) {
	var err error = &LineError{Line: 41, Reason: "hash mismatch"}
	if err.Error() != "line 41: hash mismatch" {
		t.Fatal(err)
	}
}

func TestScan(t *testing.T) {
	lines, recs := buildLedger(t, 20, []byte("k"))
	got, err := ReadAll(bytes.NewReader(join(lines...)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Fatalf("ReadAll differs from what was written:\n got %+v\nwant %+v", got[0], recs[0])
	}

	// A bad line stops the scan after every record before it, as a *LineError.
	bad := join(append(append(lines[:7:7], []byte("oops\n")), lines[7:]...)...)
	var seen []int
	err = Scan(bytes.NewReader(bad), func(line int, r Record) error {
		seen = append(seen, line)
		if uint64(line) != r.Seq {
			t.Errorf("line %d holds seq %d", line, r.Seq)
		}
		return nil
	})
	var le *LineError
	if !errors.As(err, &le) || le.Line != 8 || len(seen) != 7 {
		t.Fatalf("Scan err = %v after %v", err, seen)
	}

	// An error from fn stops the scan and comes back as is.
	stop := errors.New("enough")
	n := 0
	err = Scan(bytes.NewReader(join(lines...)), func(int, Record) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Fatalf("Scan err = %v after %d records", err, n)
	}
}

func TestScanPassesOverRecoveredTornLine(t *testing.T) {
	var buf bytes.Buffer
	cw := newChainWriter(&buf, nil)
	cw.add(sampleRecord(1))
	cw.add(sampleRecord(2))
	cw.raw([]byte("{\"seq\":3,\"ti\n"))
	cw.recover(3, []byte("{\"seq\":3,\"ti"), "torn line: no trailing newline")
	cw.add(sampleRecord(3))
	cw.flush()
	var got []string
	err := Scan(bytes.NewReader(buf.Bytes()), func(line int, r Record) error {
		got = append(got, fmt.Sprintf("%s@%d", r.Event, line))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"identity.changed@1", "credential.revoke_failed@2", "ledger.recovered@4", "credential.revoked@5"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Scan saw %v, want %v", got, want)
	}

	// A torn line that is a whole record short of its "\n" is not passed
	// on either, though it verifies on its own; under every chunking.
	buf.Reset()
	cw = newChainWriter(&buf, nil)
	cw.add(sampleRecord(1))
	whole, _ := buildLedger(t, 2, nil)
	cw.raw(whole[1])
	cw.recover(2, whole[1][:len(whole[1])-1], "torn line: no trailing newline")
	cw.add(sampleRecord(2))
	cw.flush()
	for _, cfg := range engineConfigs {
		got = got[:0]
		rep, err := run(bytes.NewReader(buf.Bytes()), nil, func(e *emitted) error {
			line, r := e.line, *e.rec
			got = append(got, fmt.Sprintf("%s@%d", r.Event, line))
			return nil
		}, cfg)
		want := []string{"identity.changed@1", "ledger.recovered@3", "credential.revoke_failed@4"}
		if err != nil || !rep.OK() || !reflect.DeepEqual(got, want) {
			t.Fatalf("%+v: saw %v (%+v, %v), want %v", cfg, got, rep, err, want)
		}
	}
}

// Verify checks fields by position; Scan decodes. A hand-made line whose
// duplicate key makes the decoder see another seq must not pass Scan.
func TestScanRefusesAmbiguousRecord(t *testing.T) {
	line := forge(`{"seq":1,"time":"2026-11-25T09:00:00Z","event":"identity.declared","Seq":7,"prev":"`+ZeroHash+`"}`, nil)
	if rep, _ := Verify(bytes.NewReader(line), nil); !rep.OK() {
		t.Fatalf("Verify: %v", rep.FirstBad)
	}
	err := Scan(bytes.NewReader(line), func(int, Record) error { return nil })
	var le *LineError
	if !errors.As(err, &le) || !strings.Contains(le.Reason, "ambiguous") {
		t.Fatalf("Scan err = %v", err)
	}
}

func TestVerifyLongLine(t *testing.T) {
	lines, _ := buildLedger(t, 3, nil)
	long := bytes.Repeat([]byte("x"), maxLineBytes+10)
	data := join(lines[0], lines[1], long, []byte("\n"), lines[2])
	rep, err := Verify(bytes.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.FirstBad == nil || rep.FirstBad.Line != 3 || !strings.Contains(rep.FirstBad.Reason, "longer than") || rep.Records != 2 {
		t.Fatalf("got %+v", rep)
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestVerifyReadError(t *testing.T) {
	lines, _ := buildLedger(t, 4, nil)
	boom := errors.New("disk on fire")
	rep, err := Verify(&failingReader{data: join(lines...), err: boom}, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if rep.Records != 4 {
		t.Fatalf("records before the error = %d", rep.Records)
	}
}
