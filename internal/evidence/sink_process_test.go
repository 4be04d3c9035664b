package evidence

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// The second process of TestShipperTwoProcesses is this test binary again,
// with shipHelperEnv naming the ledger and shipURLEnv the collector.
const (
	shipHelperEnv = "SUNSET_EVIDENCE_TEST_SHIP_LEDGER"
	shipURLEnv    = "SUNSET_EVIDENCE_TEST_SHIP_URL"
)

const (
	shipGoroutines  = 3
	shipRecordsPerG = 40
)

func shipHelperMain(path string) int {
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		fmt.Fprintln(os.Stderr, "ship helper: no go signal:", err)
		return 1
	}
	st, err := appendAndShip(path, os.Getenv(shipURLEnv), "child")
	if err != nil {
		fmt.Fprintln(os.Stderr, "ship helper:", err)
		return 1
	}
	fmt.Println(st.delivered, st.busy)
	return 0
}

type shipStats struct{ delivered, busy int64 }

// appendAndShip is one terraform run: goroutines that each append a record
// and deliver, as the provider does after every record it writes. It
// counts the records this process delivered and the Deliver calls that
// found another deliverer at work.
func appendAndShip(path, url, proc string) (shipStats, error) {
	l, err := Open(path, Options{})
	if err != nil {
		return shipStats{}, err
	}
	cfg := testSinkConfig(url, testToken)
	cfg.MaxAttempts = 3
	s, err := NewShipper(path, cfg)
	if err != nil {
		return shipStats{}, err
	}
	defer s.Close()
	var delivered, busy atomic.Int64
	errs := make(chan error, shipGoroutines)
	var wg sync.WaitGroup
	for g := range shipGoroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range shipRecordsPerG {
				r := sampleRecord(i)
				r.Details = map[string]string{"proc": proc, "g": strconv.Itoa(g), "i": strconv.Itoa(i)}
				if _, err := l.Append(context.Background(), r); err != nil {
					errs <- err
					return
				}
				rep := s.Deliver(context.Background())
				delivered.Add(int64(rep.Delivered))
				if rep.Busy {
					busy.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return shipStats{delivered.Load(), busy.Load()}, <-errs
}

// Two processes append and deliver to one collector at once, which drops
// some requests: it still sees every record once, in seq order, and its
// copy is the ledger byte for byte.
func TestShipperTwoProcesses(t *testing.T) {
	c := newCollector(t, testToken)
	c.set(func(c *collector) { c.fail503 = 4 })
	path := tempLedger(t)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), shipHelperEnv+"="+path, shipURLEnv+"="+c.url())
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
	out := bufio.NewReader(stdout)
	if line, err := out.ReadString('\n'); err != nil || line != "ready\n" {
		cmd.Process.Kill()
		t.Fatalf("helper did not start: %q %v %s", line, err, stderr.String())
	}
	type result struct {
		st  shipStats
		err error
	}
	parent := make(chan result, 1)
	go func() {
		st, err := appendAndShip(path, c.url(), "parent")
		parent <- result{st, err}
	}()
	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	p := <-parent
	if p.err != nil {
		t.Fatal(p.err)
	}
	last, _ := out.ReadString('\n')
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v\n%s", err, stderr.String())
	}
	var child shipStats
	if _, err := fmt.Sscan(last, &child.delivered, &child.busy); err != nil {
		t.Fatalf("helper said %q: %v", last, err)
	}

	// A record appended just as the other process finished delivering may
	// wait for the next run: this is it.
	final := newShipper(t, path, testSinkConfig(c.url(), testToken)).Deliver(context.Background())
	if !final.OK() {
		t.Fatalf("the next run: %+v", final)
	}
	const total = 2 * shipGoroutines * shipRecordsPerG
	c.checkAcked(t, path, false)
	if acked, _ := c.snapshot(); len(acked) != total {
		t.Fatalf("%d records acknowledged, want %d", len(acked), total)
	}
	if p.st.delivered+child.delivered+int64(final.Delivered) != total {
		t.Fatalf("delivered by parent %d, child %d, next run %d: want %d in all", p.st.delivered, child.delivered, final.Delivered, total)
	}
	// The deliverers really met: some Deliver calls found the lock taken.
	if p.st.busy+child.busy == 0 {
		t.Fatal("no Deliver call ever found another at work: the processes did not run concurrently")
	}
	t.Logf("%d records: delivered by the parent %d (busy %d times), the child %d (busy %d times), the next run %d",
		total, p.st.delivered, p.st.busy, child.delivered, child.busy, final.Delivered)
}
