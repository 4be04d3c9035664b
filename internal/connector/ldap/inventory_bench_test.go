package ldap

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// BenchmarkLDAPInventory measures the scanner's inventory of a directory
// of 10,000 and 100,000 accounts in one run, so the two can be compared:
// slapadd's load time (reported apart), the inventory's wall time, the
// peak Go heap and peak RSS of this process during it (flat memory means
// they barely move from 10k to 100k), and the raw peer, ldapsearch with
// the same paging, on the same server. Run it with
// scripts/bench-ldap-inventory.sh (plain `go test` never runs benchmarks).
func BenchmarkLDAPInventory(b *testing.B) {
	if err := testenv.SlapdAvailable(); err != nil {
		b.Skip(err)
	}
	sizes := []int{10_000, 100_000}
	if v := os.Getenv("SUNSET_LDAP_BENCH_SIZES"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				b.Fatal(err)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) { benchInventory(b, n) })
	}
}

func benchInventory(b *testing.B, n int) {
	dir := b.TempDir()
	ldif := filepath.Join(dir, "bulk.ldif")
	f, err := os.Create(ldif)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	if err := testenv.SlapdWriteBulkLDIF(f, testenv.SlapdBulkSpec{Accounts: n, Groups: 10, Now: now}); err != nil {
		b.Fatal(err)
	}
	f.Close()
	s, err := testenv.StartSlapd(testenv.SlapdOptions{LDIFFile: ldif})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c, err := New(context.Background(), Config{URL: s.LDAPSURL, BindDN: s.BindDN, BindPassword: s.BindPassword,
		BaseDN: s.PeopleDN, CAFile: s.CAFile, Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}

	var inventoryTime time.Duration
	var peakHeap uint64
	var peakRSS int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.GC()
		resetPeakRSS()
		stop := sampleHeap(&peakHeap)
		start := time.Now()
		count, usable, grouped := 0, 0, 0
		err := c.Inventory(context.Background(), func(a connector.Account) error {
			count++
			if a.Usable {
				usable++
			}
			if len(a.Groups) > 0 {
				grouped++
			}
			return nil
		})
		inventoryTime = time.Since(start)
		stop()
		peakRSS = peakRSSKiB()
		if err != nil {
			b.Fatal(err)
		}
		if count != n || grouped != n {
			b.Fatalf("inventory saw %d accounts (%d with groups), want %d", count, grouped, n)
		}
		// Locked: every 10th; expired: every 7th (overlaps counted once).
		wantUnusable := 0
		for j := 0; j < n; j++ {
			if j%10 == 0 || j%7 == 0 {
				wantUnusable++
			}
		}
		if usable != n-wantUnusable {
			b.Fatalf("usable = %d, want %d", usable, n-wantUnusable)
		}
	}
	b.StopTimer()

	peer := peerLDAPSearch(b, s, n)
	b.ReportMetric(s.LoadTime.Seconds(), "load-s")
	b.ReportMetric(inventoryTime.Seconds(), "inventory-s")
	b.ReportMetric(peer.Seconds(), "ldapsearch-s")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peakRSS)/1024, "peak-rss-MiB")
	b.Logf("accounts=%d load(slapadd)=%s inventory=%s (%.0f/s) ldapsearch-peer=%s ratio=%.2f peak-heap=%.1fMiB peak-rss=%.1fMiB",
		n, s.LoadTime.Round(time.Millisecond), inventoryTime.Round(time.Millisecond), float64(n)/inventoryTime.Seconds(),
		peer.Round(time.Millisecond), inventoryTime.Seconds()/peer.Seconds(), float64(peakHeap)/(1<<20), float64(peakRSS)/1024)
}

// peerLDAPSearch lists the same accounts and attributes with OpenLDAP's
// own client, paged like the connector, output discarded.
func peerLDAPSearch(b *testing.B, s *testenv.Slapd, n int) time.Duration {
	path, err := exec.LookPath("ldapsearch")
	if err != nil {
		b.Logf("no ldapsearch for the peer measure: %v", err)
		return 0
	}
	cmd := exec.Command(path, "-LLL", "-x", "-H", s.LDAPSURL, "-D", s.BindDN, "-y", passwordFile(b, s.BindPassword),
		"-b", s.PeopleDN, "-E", fmt.Sprintf("pr=%d/noprompt", DefaultPageSize),
		"(|(objectClass=person)(objectClass=posixAccount)(objectClass=simpleSecurityObject))",
		"uid", "cn", "pwdAccountLockedTime", "pwdEndTime", "pwdStartTime", "memberOf")
	cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+s.CAFile)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	entries := 0
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "dn: ") {
			entries++
		}
	}
	if err := cmd.Wait(); err != nil {
		b.Fatalf("ldapsearch: %v: %s", err, stderr.String())
	}
	took := time.Since(start)
	if entries != n {
		b.Fatalf("ldapsearch listed %d entries, want %d", entries, n)
	}
	return took
}

func passwordFile(b *testing.B, pw string) string {
	p := filepath.Join(b.TempDir(), "pw")
	if err := os.WriteFile(p, []byte(pw), 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}

// sampleHeap records the largest HeapAlloc seen until stop is called.
func sampleHeap(peak *uint64) (stop func()) {
	var done atomic.Bool
	var wg sync.WaitGroup
	*peak = 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for !done.Load() {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > *peak {
				*peak = ms.HeapAlloc
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return func() { done.Store(true); wg.Wait() }
}

// resetPeakRSS resets this process's VmHWM (Linux: "5" > clear_refs).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSKiB reads VmHWM from /proc/self/status; 0 where unavailable.
func peakRSSKiB() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			v, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return v
		}
	}
	return 0
}
