package evidence

import (
	"bytes"
	"fmt"
	"testing"
)

// What the Shipper relies on from the engine: each record's exact line and
// the offset where it ends, whatever the chunking, across a recovered torn
// line; and a run resumed after any record sees exactly the records after it.
func TestEngineRawLinesOffsetsAndResume(t *testing.T) {
	var buf bytes.Buffer
	cw := newChainWriter(&buf, nil)
	for i := range 6 {
		cw.add(sampleRecord(i))
	}
	whole, _ := buildLedger(t, 2, nil)
	torn := whole[1][:30]
	cw.raw(append(append([]byte{}, torn...), '\n'))
	cw.recover(7, torn, "torn line: no trailing newline")
	for i := range 4 {
		cw.add(sampleRecord(10 + i))
	}
	cw.flush()
	data := buf.Bytes()

	type got struct {
		line int
		seq  uint64
		raw  []byte
		to   int64 // offset after the line
	}
	collect := func(t *testing.T, rd []byte, base int64, cfg engineConfig) []got {
		t.Helper()
		var out []got
		rep, err := run(bytes.NewReader(rd), nil, func(e *emitted) error {
			out = append(out, got{line: e.line, seq: e.rec.Seq, raw: e.raw, to: base + e.end})
			return nil
		}, cfg)
		if err != nil || !rep.OK() {
			t.Fatalf("%+v %v", rep, err)
		}
		return out
	}

	for _, ec := range engineConfigs {
		t.Run(fmt.Sprintf("%+v", ec), func(t *testing.T) {
			cfg := ec
			cfg.raw = true
			all := collect(t, data, 0, cfg)
			if len(all) != 11 {
				t.Fatalf("%d records, want 11", len(all))
			}
			for i, g := range all {
				start := g.to - int64(len(g.raw))
				if !bytes.Equal(data[start:g.to], g.raw) || g.raw[len(g.raw)-1] != '\n' {
					t.Fatalf("record %d: raw %q is not the bytes before offset %d", g.seq, g.raw, g.to)
				}
				if g.seq != uint64(i+1) {
					t.Fatalf("record %d at position %d", g.seq, i)
				}
			}
			if all[6].line != 8 || all[6].seq != 7 {
				t.Fatalf("the ledger.recovered record: %+v", all[6])
			}
			// Resume after each record in turn.
			for i, g := range all {
				var h hexSum
				copy(h[:], headOf(g.raw).Hash)
				cfg.from = &chainPoint{line: g.line, seq: g.seq, hash: h}
				rest := collect(t, data[g.to:], g.to, cfg)
				if len(rest) != len(all)-i-1 {
					t.Fatalf("resumed after %d: %d records, want %d", g.seq, len(rest), len(all)-i-1)
				}
				for j, r := range rest {
					w := all[i+1+j]
					if r.line != w.line || r.seq != w.seq || r.to != w.to || !bytes.Equal(r.raw, w.raw) {
						t.Fatalf("resumed after %d: %+v, want %+v", g.seq, r, w)
					}
				}
			}
			// Resuming from a wrong chain point is a broken chain.
			cfg.from = &chainPoint{line: all[2].line, seq: all[2].seq, hash: zeroHex}
			rep, _ := run(bytes.NewReader(data[all[2].to:]), nil, nil, cfg)
			if rep.FirstBad == nil || rep.FirstBad.Line != all[3].line {
				t.Fatalf("a wrong resume point: %+v", rep)
			}
		})
	}
}
