package evidence

import (
	"context"
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// appendBatch is how many records one benchmark op appends, so that even
// -benchtime=1x measures a rate rather than one fsync.
const appendBatch = 100

// BenchmarkAppend measures Append with fsync, one record per Append, next to
// the floor of the same work done raw: write the same line and fsync.
func BenchmarkAppend(b *testing.B) {
	for _, g := range []int{1, 8} {
		name := "1-goroutine"
		if g > 1 {
			name = "8-goroutines"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			l, err := Open(filepath.Join(dir, "ledger.jsonl"), Options{Key: []byte("bench-key")})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := l.Append(context.Background(), sampleRecord(0)); err != nil {
				b.Fatal(err) // create the file outside the timing
			}
			raw, err := os.OpenFile(filepath.Join(dir, "raw.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				b.Fatal(err)
			}
			defer raw.Close()
			lines, _ := buildLedger(b, 1, nil)
			var appendTime, rawTime time.Duration
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				var wg sync.WaitGroup
				for w := range g {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := w; i < appendBatch; i += g {
							if _, err := l.Append(context.Background(), sampleRecord(i)); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				appendTime += time.Since(start)

				b.StopTimer()
				start = time.Now()
				for range appendBatch {
					raw.Write(lines[0])
					raw.Sync()
				}
				rawTime += time.Since(start)
				b.StartTimer()
			}
			n := float64(b.N * appendBatch)
			b.ReportMetric(n/appendTime.Seconds(), "records/s")
			b.ReportMetric(n/rawTime.Seconds(), "raw-write+fsync/s")
			b.ReportMetric(appendTime.Seconds()/rawTime.Seconds(), "x-raw")
			if rep, err := VerifyFile(l.Path(), []byte("bench-key")); err != nil || !rep.OK() || rep.Records != 1+b.N*appendBatch {
				b.Fatalf("ledger after the benchmark: %+v %v", rep, err)
			}
		})
	}
}

const benchRecords = 1_000_000

var benchKey = []byte("bench-key")

// bench1M is the 1,000,000-record ledger, built once per test binary run.
var bench1M struct {
	once sync.Once
	dir  string
	path string
	size int64
	err  error
}

// ledger1M builds the ledger with the unlocked, unsynced chain writer:
// through Append with fsync it would take minutes.
func ledger1M(b *testing.B) (string, int64) {
	bench1M.once.Do(func() {
		start := time.Now()
		bench1M.dir, bench1M.err = os.MkdirTemp("", "sunset-evidence-bench-")
		if bench1M.err != nil {
			return
		}
		bench1M.path = filepath.Join(bench1M.dir, "ledger-1m.jsonl")
		f, err := os.Create(bench1M.path)
		if err != nil {
			bench1M.err = err
			return
		}
		defer f.Close()
		cw := newChainWriter(f, benchKey)
		for i := range benchRecords {
			if _, _, err := cw.add(sampleRecord(i)); err != nil {
				bench1M.err = err
				return
			}
		}
		if bench1M.err = cw.flush(); bench1M.err != nil {
			return
		}
		st, err := f.Stat()
		bench1M.size, bench1M.err = st.Size(), err
		b.Logf("built %d records, %d bytes, in %v", benchRecords, bench1M.size, time.Since(start).Round(time.Millisecond))
	})
	if bench1M.err != nil {
		b.Fatal(bench1M.err)
	}
	return bench1M.path, bench1M.size
}

func cleanupBench() {
	if bench1M.dir != "" {
		os.RemoveAll(bench1M.dir)
	}
}

// BenchmarkVerify1M times VerifyFile over 1,000,000 records (HMAC'd), with
// and without the key, next to the floor: sha256 of the same bytes in one
// Go stream and with sha256sum.
func BenchmarkVerify1M(b *testing.B) {
	path, size := ledger1M(b)
	for _, tc := range []struct {
		name string
		key  []byte
	}{{"hmac", benchKey}, {"no-key", nil}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(size)
			var verify, floor, floorCmd time.Duration
			sha256sum, _ := exec.LookPath("sha256sum")
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				rep, err := VerifyFile(path, tc.key)
				verify += time.Since(start)
				if err != nil || !rep.OK() || rep.Records != benchRecords {
					b.Fatalf("%+v %v", rep, err)
				}

				b.StopTimer()
				start = time.Now()
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				h := sha256.New()
				if _, err := io.Copy(h, f); err != nil {
					b.Fatal(err)
				}
				f.Close()
				floor += time.Since(start)
				if sha256sum != "" {
					start = time.Now()
					if out, err := exec.Command(sha256sum, path).CombinedOutput(); err != nil {
						b.Fatalf("sha256sum: %v %s", err, out)
					}
					floorCmd += time.Since(start)
				}
				b.StartTimer()
			}
			n := float64(b.N)
			b.ReportMetric(verify.Seconds()/n, "s/verify")
			b.ReportMetric(benchRecords*n/verify.Seconds(), "records/s")
			b.ReportMetric(verify.Seconds()/floor.Seconds(), "x-go-sha256")
			if sha256sum != "" {
				b.ReportMetric(verify.Seconds()/floorCmd.Seconds(), "x-sha256sum")
			}
		})
	}
}
