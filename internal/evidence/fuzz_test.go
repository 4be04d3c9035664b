package evidence

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"
)

// validJSON must answer exactly as json.Valid on valid UTF-8, and refuse
// invalid UTF-8 (which json.Valid lets through).
func FuzzValidJSON(f *testing.F) {
	lines, _ := buildLedger(f, 3, []byte("k"))
	for _, l := range lines {
		f.Add(bytes.TrimSuffix(l, []byte("\n")))
	}
	for _, s := range []string{
		``, ` `, `{}`, `[]`, `[1,2]`, `{"a":[true,false,null]}`, `"\u00e9\n"`, `"\u00g0"`, `"\x"`,
		`-0`, `-01`, `1.`, `1.5e`, `1e+9`, `0.5E-3`, `01`, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{1:2}`,
		`"a` + "\x01" + `"`, "\"\xff\"", `nul`, `truex`, `[` + string(bytes.Repeat([]byte("["), 10001)),
		" {\"a\" : [ 1 , { } ] } \t\r\n", `{"a":"b"}{"c":1}`, `"ab\\"`, `"\"\\\/\b\f\n\r\t"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := validJSON(b)
		want := json.Valid(b) && utf8.Valid(b)
		if got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid && utf8.Valid = %v", b, got, want)
		}
	})
}

func TestValidJSONDepth(t *testing.T) {
	for _, depth := range []int{9999, 10000, 10001} {
		b := append(bytes.Repeat([]byte("["), depth), bytes.Repeat([]byte("]"), depth)...)
		if validJSON(b) != json.Valid(b) {
			t.Fatalf("depth %d: validJSON %v, json.Valid %v", depth, validJSON(b), json.Valid(b))
		}
	}
}

// Reading any bytes as a ledger must not panic, must not depend on how the
// input is cut into chunks, and Scan must agree with Verify.
func FuzzReadLedger(f *testing.F) {
	key := []byte("k")
	lines, _ := buildLedger(f, 4, key)
	f.Add(join(lines...))
	f.Add(join(lines[0], lines[1][:40]))
	f.Add(join(lines[0], lines[2]))
	var buf bytes.Buffer
	cw := newChainWriter(&buf, key)
	cw.add(sampleRecord(1))
	cw.raw([]byte("torn\n"))
	cw.recover(2, []byte("torn"), "torn line: no trailing newline")
	cw.add(sampleRecord(2))
	cw.flush()
	f.Add(buf.Bytes())
	f.Add([]byte("\n\n{\"seq\":1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range [][]byte{nil, key} {
			want, err := Verify(bytes.NewReader(data), k)
			if err != nil {
				t.Fatal(err)
			}
			for _, cfg := range []engineConfig{{chunk: 1, workers: 1}, {chunk: 61, workers: 3}} {
				got, err := run(bytes.NewReader(data), k, nil, cfg)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Fatalf("engine %+v: %+v %v, default %+v", cfg, got, err, want)
				}
			}
			if want.Records > 0 && (want.Head.Seq == 0 || len(want.Head.Hash) != 64) {
				t.Fatalf("head %v after %d records", want.Head, want.Records)
			}
		}
		n := 0
		err := Scan(bytes.NewReader(data), func(int, Record) error { n++; return nil })
		rep, _ := Verify(bytes.NewReader(data), nil)
		var le *LineError
		switch {
		case err == nil:
			if !rep.OK() || n != rep.Records {
				t.Fatalf("Scan ok with %d records; Verify %+v", n, rep)
			}
		case errors.As(err, &le):
			// Scan also decodes, so it may stop earlier than Verify, never later.
			if rep.OK() && n > rep.Records || !rep.OK() && le.Line > rep.FirstBad.Line {
				t.Fatalf("Scan stopped at %v after %d; Verify %+v", le, n, rep)
			}
		default:
			t.Fatalf("Scan: %v", err)
		}
	})
}
