// Command bench-scim measures the SCIM connector's inventory: list N users
// from the test SCIM server in pages of P, and report wall time and peak
// memory, next to raw clients doing the same listing (BENCHMARKS.md: the
// peer for an inventory is the raw listing, curl paging).
//
//	go run ./scripts/bench-scim -counts 10000,100000 -page 1000 -runs 3
//
// The server runs in its own process (this binary with -serve), so its
// in-memory store does not count against the client; each client run is a
// fresh process too, so that its peak RSS is its own. Memory is reported two
// ways: peak HeapInuse sampled every 2ms inside the client, and the
// process's maximum RSS from getrusage. Flat memory means the 100k numbers
// match the 10k ones.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/scim"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

type serverInfo struct {
	URL, Token string
	SeedMillis int64
}

type result struct {
	Client       string
	Users        int
	Pages        int
	WallMillis   float64
	PeakHeapUse  uint64 // sampled HeapInuse, bytes
	TotalAlloc   uint64
	MaxRSSKiB    int64 // from the parent's getrusage of the child
	ServerMaxRSS int64
}

func main() {
	serve := flag.Int("serve", 0, "internal: run a server seeded with this many users")
	list := flag.String("list", "", "internal: run one client (sunset|raw) against -url")
	url := flag.String("url", "", "internal: server URL")
	token := flag.String("token", "", "internal: server token")
	counts := flag.String("counts", "10000,100000", "user counts to measure")
	page := flag.Int("page", 1000, "page size")
	runs := flag.Int("runs", 3, "runs per client and count (median wall, max memory)")
	flag.Parse()

	switch {
	case *serve > 0:
		runServer(*serve)
	case *list != "":
		runClient(*list, *url, *token, *page)
	default:
		if err := orchestrate(*counts, *page, *runs); err != nil {
			fmt.Fprintln(os.Stderr, "bench-scim:", err)
			os.Exit(1)
		}
	}
}

func runServer(n int) {
	s, err := testenv.StartSCIM(testenv.SCIMOptions{MaxResults: 1000})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	start := time.Now()
	if _, err := s.SeedUsers(n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(serverInfo{URL: s.URL, Token: s.Token, SeedMillis: time.Since(start).Milliseconds()})
	_, _ = io.Copy(io.Discard, os.Stdin) // run until the parent closes stdin
	s.Close()
}

// runClient lists every user once and prints a result line.
func runClient(kind, url, token string, page int) {
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()

	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	users, pages, err := 0, 0, error(nil)
	switch kind {
	case "sunset":
		users, pages, err = listSunset(url, token, page)
	case "raw":
		users, pages, err = listRaw(url, token, page)
	default:
		err = fmt.Errorf("unknown client %q", kind)
	}
	wall := time.Since(start)
	close(stop)
	<-done
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	_ = json.NewEncoder(os.Stdout).Encode(result{
		Client: kind, Users: users, Pages: pages, WallMillis: float64(wall.Microseconds()) / 1000,
		PeakHeapUse: peak.Load(), TotalAlloc: after.TotalAlloc - before.TotalAlloc,
	})
}

// listSunset is the path the scanner takes: Inventory, one Account per user.
func listSunset(url, token string, page int) (int, int, error) {
	c, err := scim.New(scim.Config{URL: url, Token: token, PageSize: page, Timeout: time.Minute})
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	n, usable := 0, 0
	err = c.Inventory(context.Background(), func(a connector.Account) error {
		n++
		if a.Usable {
			usable++
		}
		return nil
	})
	return n, (n + page - 1) / page, err
}

// listRaw is the floor: the same GETs with net/http, bodies only counted
// for their users, no SCIM decoding beyond totalResults.
func listRaw(url, token string, page int) (int, int, error) {
	n, pages := 0, 0
	for start := 1; ; start += page {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/Users?startIndex=%d&count=%d", url, start, page), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return n, pages, err
		}
		var lr struct {
			TotalResults int
			Resources    []json.RawMessage
		}
		err = json.NewDecoder(resp.Body).Decode(&lr)
		resp.Body.Close()
		if err != nil {
			return n, pages, err
		}
		pages++
		n += len(lr.Resources)
		if len(lr.Resources) == 0 || start+len(lr.Resources) > lr.TotalResults {
			return n, pages, nil
		}
	}
}

func orchestrate(countsFlag string, page, runs int) error {
	var counts []int
	for _, s := range strings.Split(countsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("bad count %q", s)
		}
		counts = append(counts, n)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	curl, _ := exec.LookPath("curl")
	fmt.Printf("bench-scim: pages of %d, %d runs each, GOMAXPROCS=%d, %s\n", page, runs, runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Printf("%-8s %-18s %10s %7s %14s %12s %14s\n", "users", "client", "wall", "pages", "peak heap use", "max RSS", "allocated")

	summary := map[string]map[int]result{}
	for _, n := range counts {
		srv := exec.Command(self, "-serve", strconv.Itoa(n))
		stdin, _ := srv.StdinPipe()
		stdout, _ := srv.StdoutPipe()
		srv.Stderr = os.Stderr
		if err := srv.Start(); err != nil {
			return err
		}
		var info serverInfo
		if err := json.NewDecoder(bufio.NewReader(stdout)).Decode(&info); err != nil {
			return fmt.Errorf("server for %d users: %w", n, err)
		}

		clients := []string{"sunset", "raw"}
		if curl != "" {
			clients = append(clients, "curl")
		}
		for _, kind := range clients {
			var rs []result
			for range runs {
				var r result
				var err error
				if kind == "curl" {
					r, err = runCurl(curl, info, n, page)
				} else {
					r, err = runChild(self, kind, info, page)
				}
				if err != nil {
					return fmt.Errorf("%s at %d: %w", kind, n, err)
				}
				if r.Users != n {
					return fmt.Errorf("%s listed %d users, want %d", kind, r.Users, n)
				}
				rs = append(rs, r)
			}
			m := merge(rs)
			if summary[kind] == nil {
				summary[kind] = map[int]result{}
			}
			summary[kind][n] = m
			heap := "-"
			alloc := "-"
			if kind != "curl" {
				heap, alloc = mib(m.PeakHeapUse), mib(m.TotalAlloc)
			}
			fmt.Printf("%-8d %-18s %9.0fms %7d %14s %12s %14s\n", n, label(kind), m.WallMillis, m.Pages, heap, mib(uint64(m.MaxRSSKiB)*1024), alloc)
		}
		_ = stdin.Close()
		_ = srv.Wait()
		if ru, ok := srv.ProcessState.SysUsage().(*syscall.Rusage); ok {
			fmt.Printf("%-8d %-18s seeded in %dms, server max RSS %s\n", n, "(server)", info.SeedMillis, mib(uint64(ru.Maxrss)*1024))
		}
	}

	if len(counts) >= 2 {
		lo, hi := counts[0], counts[len(counts)-1]
		s := summary["sunset"]
		fmt.Printf("\nsunset %d vs %d users: wall x%.2f, peak heap use x%.2f, max RSS x%.2f (flat memory = about x1)\n",
			hi, lo, s[hi].WallMillis/s[lo].WallMillis,
			float64(s[hi].PeakHeapUse)/float64(s[lo].PeakHeapUse), float64(s[hi].MaxRSSKiB)/float64(s[lo].MaxRSSKiB))
		for _, peer := range []string{"raw", "curl"} {
			if p, ok := summary[peer]; ok {
				fmt.Printf("sunset / %s at %d users: wall x%.2f\n", peer, hi, s[hi].WallMillis/p[hi].WallMillis)
			}
		}
	}
	return nil
}

func label(kind string) string {
	return map[string]string{"sunset": "sunset Inventory", "raw": "raw net/http+json", "curl": "curl (1 process)"}[kind]
}

func runChild(self, kind string, info serverInfo, page int) (result, error) {
	cmd := exec.Command(self, "-list", kind, "-url", info.URL, "-token", info.Token, "-page", strconv.Itoa(page))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, err
	}
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		return result{}, err
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSSKiB = ru.Maxrss
	}
	return r, nil
}

// runCurl fetches the same pages with one curl process (URL globbing,
// keep-alive), bodies to /dev/null: the raw floor BENCHMARKS.md names. It
// knows the page count in advance, so it does no paging logic at all.
func runCurl(curl string, info serverInfo, n, page int) (result, error) {
	last := ((n-1)/page)*page + 1
	url := fmt.Sprintf("%s/Users?startIndex=[1-%d:%d]&count=%d", info.URL, last, page, page)
	cmd := exec.Command(curl, "-sf", "-H", "Authorization: Bearer "+info.Token, url)
	cmd.Stdout = io.Discard
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return result{}, err
	}
	r := result{Client: "curl", Users: n, Pages: (n + page - 1) / page, WallMillis: float64(time.Since(start).Microseconds()) / 1000}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSSKiB = ru.Maxrss
	}
	return r, nil
}

// merge keeps the median wall time and the largest memory figures.
func merge(rs []result) result {
	walls := make([]float64, len(rs))
	out := rs[0]
	for i, r := range rs {
		walls[i] = r.WallMillis
		out.PeakHeapUse = max(out.PeakHeapUse, r.PeakHeapUse)
		out.MaxRSSKiB = max(out.MaxRSSKiB, r.MaxRSSKiB)
		out.TotalAlloc = max(out.TotalAlloc, r.TotalAlloc)
	}
	slices.Sort(walls)
	out.WallMillis = walls[len(walls)/2]
	return out
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
