package evidence

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The second process of TestConcurrentAppendTwoProcesses is this test
// binary again, started with helperEnv set; TestMain sends it here.
const helperEnv = "SUNSET_EVIDENCE_TEST_HELPER"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		os.Exit(helperMain(path))
	}
	if path := os.Getenv(shipHelperEnv); path != "" {
		os.Exit(shipHelperMain(path))
	}
	code := m.Run()
	cleanupBench()
	os.Exit(code)
}

const (
	goroutinesPerProc = 8
	recordsPerG       = 200
)

// helperMain waits for "go" on stdin, then appends as the child process.
func helperMain(path string) int {
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		fmt.Fprintln(os.Stderr, "helper: no go signal:", err)
		return 1
	}
	if err := appendMany(path, "child", KeyFromEnv()); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	return 0
}

// appendMany runs goroutinesPerProc goroutines appending recordsPerG records
// each, tagged with proc, through two Ledgers on the same path.
func appendMany(path, proc string, key []byte) error {
	var ls [2]*Ledger
	for i := range ls {
		l, err := Open(path, Options{Key: key})
		if err != nil {
			return err
		}
		ls[i] = l
	}
	errs := make(chan error, goroutinesPerProc)
	var wg sync.WaitGroup
	for g := range goroutinesPerProc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range recordsPerG {
				r := sampleRecord(i)
				r.Details = map[string]string{"proc": proc, "g": strconv.Itoa(g), "i": strconv.Itoa(i)}
				if _, err := ls[g%2].Append(context.Background(), r); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func TestConcurrentAppendTwoProcesses(t *testing.T) {
	key := []byte("shared-test-key")
	path := filepath.Join(t.TempDir(), "sunset-evidence.jsonl")

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path, KeyEnv+"="+string(key))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		cmd.Process.Kill()
		t.Fatalf("helper did not start: %q %v %s", line, err, stderr.String())
	}
	// Both sides start together.
	parent := make(chan error, 1)
	go func() { parent <- appendMany(path, "parent", key) }()
	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	if err := <-parent; err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v\n%s", err, stderr.String())
	}

	const total = 2 * goroutinesPerProc * recordsPerG
	rep, err := VerifyFile(path, key)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Records != total || rep.Head.Seq != total || len(rep.Recovered) != 0 {
		t.Fatalf("VerifyFile = %+v, want %d intact records", rep, total)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	switches, lastProc := 0, ""
	err = Scan(f, func(line int, r Record) error {
		id := r.Details["proc"] + "/" + r.Details["g"] + "/" + r.Details["i"]
		if seen[id] {
			return fmt.Errorf("line %d: %s written twice", line, id)
		}
		seen[id] = true
		if p := r.Details["proc"]; p != lastProc {
			switches++
			lastProc = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != total {
		t.Fatalf("%d distinct records, want %d", len(seen), total)
	}
	// The two processes really ran at once: their records interleave.
	if switches < 3 {
		t.Fatalf("the processes' records interleave only %d times: they did not run concurrently", switches)
	}
	t.Logf("%d records from 2 processes x %d goroutines; the writer changed process %d times along the chain", total, goroutinesPerProc, switches)
}

// A torn tail found by many appenders at once is recovered exactly once.
func TestConcurrentAppendRecoversTornTailOnce(t *testing.T) {
	lines, _ := buildLedger(t, 3, nil)
	path := writeFile(t, join(lines[0], lines[1], lines[2][:50]))
	var mu sync.Mutex
	recoveries := 0
	l, err := Open(path, Options{OnRecovery: func(Record) { mu.Lock(); recoveries++; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if _, err := l.Append(context.Background(), sampleRecord(g)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	rep, err := VerifyFile(path, nil)
	if err != nil || !rep.OK() || rep.Records != 2+1+80 || len(rep.Recovered) != 1 || recoveries != 1 {
		t.Fatalf("%+v %v, %d recoveries", rep, err, recoveries)
	}
}
