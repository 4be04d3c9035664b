package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// walkValid says whether the walker accepts b as one whole JSON value.
func walkValid(b []byte) bool { return walkValidWith(b, nil) }

// walkValidWith is walkValid with the keys of earlier walks in keys.
func walkValidWith(b []byte, keys *keyCache) bool {
	w := walker{final: true, keys: keys}
	i, err := w.value(b, 0)
	return err == nil && ws(b, i) == len(b)
}

// keysOf is a key cache that has walked the values.
func keysOf(values ...[]byte) *keyCache {
	keys := &keyCache{}
	for _, v := range values {
		walkValidWith(v, keys)
	}
	return keys
}

var walkCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e+10`, `-1E-2`, `true`, `false`, `null`,
	`{"a":[1,{"b":null}],"c":"\u00e9\n\"\\\/"}`, ` { "a" : [ ] } `,
	`01`, `1.`, `.5`, `-`, `+1`, `1e`, `1e+`, `0x10`, `NaN`, `tru`, `nul`, `truex`,
	`"\x"`, `"\u12"`, `"\u12G4"`, "\"a\x01\"", "\"a\x7f\"", `"abc`, `{"a"}`, `{"a":}`, `{"a" 1}`,
	`{"a":1,}`, `[1,]`, `[1 2]`, `{,}`, `[,]`, `{1:2}`, `[}`, `{]`, `]`, `}`, `[[[]]`, `{"a":1}}`,
	`"` + strings.Repeat(`\\`, 3) + `"`, "\"\xff\xfe\"", `[-0.0e-0]`, `{"a":"b" "c":1}`,
}

// The walker accepts exactly what encoding/json accepts.
func TestWalkerAgreesWithEncodingJSON(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	var cases [][]byte
	for _, c := range walkCases {
		cases = append(cases, []byte(c))
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, b)
		// Every prefix of a real state is a truncated value.
		for n := 0; n < len(b); n += 1 + n/8 {
			cases = append(cases, b[:n])
		}
	}
	// With the keys of every case in the cache, and of the case itself:
	// a key that matches one walked before is taken as it, one that does
	// not is walked.
	all := keysOf(cases...)
	for _, c := range cases {
		want := json.Valid(c)
		for name, keys := range map[string]*keyCache{"no cache": nil, "all keys": all, "its keys": keysOf(c)} {
			if got := walkValidWith(c, keys); got != want {
				t.Errorf("%s: walker accepts %.80q: %t; encoding/json: %t", name, c, got, want)
			}
		}
	}
	deep := []byte(strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1))
	if walkValid(deep) {
		t.Error("nesting deeper than maxDepth accepted")
	}
}

// fuzzStateKeys are the fixtures, whose keys FuzzWalker walks with.
var fuzzStateKeys = func() (out [][]byte) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			out = append(out, b)
		}
	}
	return out
}()

func FuzzWalker(f *testing.F) {
	stateKeys := keysOf(fuzzStateKeys...)
	for _, c := range walkCases {
		f.Add([]byte(c))
	}
	for _, b := range fuzzStateKeys {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 0 && bytes.Count(b, []byte("[")) > maxDepth/2 {
			return // encoding/json's own depth limit differs in how it counts
		}
		want := json.Valid(b)
		if got := walkValid(b); got != want {
			t.Fatalf("walker accepts %q: %t; encoding/json: %t", b, got, want)
		}
		// Walked again with its own keys remembered, and with those of a
		// real state.
		if got := walkValidWith(b, keysOf(b)); got != want {
			t.Fatalf("with its keys cached, walker accepts %q: %t; encoding/json: %t", b, got, want)
		}
		keys := *stateKeys // a copy: walking changes it
		if got := walkValidWith(b, &keys); got != want {
			t.Fatalf("with a state's keys cached, walker accepts %q: %t; encoding/json: %t", b, got, want)
		}
	})
}

// A state that arrives a byte at a time reads the same as a whole one:
// values cut at every possible place are walked again from their start.
func TestReadingInSmallPiecesReadsTheSame(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		whole, _, err1 := readAll(bytes.NewReader(b))
		pieces, _, err2 := readAll(iotest.OneByteReader(bytes.NewReader(b)))
		if (err1 == nil) != (err2 == nil) || whole != pieces {
			t.Errorf("%s: whole and byte-by-byte reads differ:\n%v\n%s\n---\n%v\n%s", p, err1, whole, err2, pieces)
		}
	}
}

func readAll(r interface{ Read([]byte) (int, error) }) (string, Form, error) {
	var d Declared
	form, err := Read(r, "x", Visitor{
		Identity:    func(i Identity) error { d.Identities = append(d.Identities, i); return nil },
		Credential:  func(c Credential) error { d.Credentials = append(d.Credentials, c); return nil },
		RosterEntry: func(e RosterEntry) error { d.Roster = append(d.Roster, e); return nil },
	})
	return summary(&d), form, err
}

// special's lowest flagged byte is the first byte that is not plain, for
// every byte value at every position, whatever precedes and follows it.
func TestSpecialFindsTheFirstByteThatNeedsAttention(t *testing.T) {
	for _, fill := range []byte{'a', ' ', 0x7f, 0x80, 0xff, '!', '#', '[', ']'} {
		for pos := 0; pos < 8; pos++ {
			for v := 0; v < 256; v++ {
				var w [8]byte
				for k := range w {
					w[k] = fill
				}
				w[pos] = byte(v)
				if pos < 7 {
					w[7] = 0 // a later control byte must not hide the first
				}
				want := 8
				for k, c := range w {
					if !plain[c] {
						want = k
						break
					}
				}
				got := 8
				if m := special(binary.LittleEndian.Uint64(w[:])); m != 0 {
					got = bits.TrailingZeros64(m) >> 3
				}
				if got != want {
					t.Fatalf("% x: special says byte %d, want %d", w, got, want)
				}
			}
		}
	}
}
