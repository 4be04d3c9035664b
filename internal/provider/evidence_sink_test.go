package provider

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
)

// collector is a SIEM-like webhook on loopback that can be taken down.
type collector struct {
	down   atomic.Bool
	mu     sync.Mutex
	bodies [][]byte
	auth   []string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.down.Load() {
		http.Error(w, "collector down", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.bodies = append(c.bodies, body)
	c.auth = append(c.auth, r.Header.Get("Authorization"))
	c.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// received checks the collector holds exactly the ledger, byte for byte, in
// order, and that every request carried the token.
func (c *collector) received(ledger, token string) error {
	want, err := os.ReadFile(ledger)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	got := bytes.Join(c.bodies, nil)
	if !bytes.Equal(got, want) {
		return fmt.Errorf("collector holds %d bytes in %d records; the ledger holds %d bytes", len(got), len(c.bodies), len(want))
	}
	for _, a := range c.auth {
		if a != "Bearer "+token {
			return fmt.Errorf("a delivery carried Authorization %q", a)
		}
	}
	if rep, err := evidence.Verify(bytes.NewReader(got), nil); err != nil || !rep.OK() {
		return fmt.Errorf("the collector's copy does not verify as a ledger: %v %v", err, rep.FirstBad)
	}
	return nil
}

func TestAccEvidenceCollectorDownNeverBlocks(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	c := &collector{}
	srv := httptest.NewServer(c)
	defer srv.Close()
	const token = "siem-token-7c1f9e"
	t.Setenv("SUNSET_TEST_SIEM_TOKEN", token)
	sink := fmt.Sprintf(`evidence = { file = %q, url = %q, token_env = "SUNSET_TEST_SIEM_TOKEN" }
  actor = "acceptance-test"`, ledger, srv.URL+"/ingest")
	config := func(names ...string) string {
		out := fmt.Sprintf("provider \"sunset\" {\n  %s\n}\n", sink)
		for _, n := range names {
			out += fmt.Sprintf(`
resource "sunset_identity" %q {
  name     = %q
  kind     = "workload"
  owner    = "data-eng@example.com"
  end_date = %q
}
`, n, n, day(30))
		}
		return out
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// The collector is down: declarations still succeed and
				// their records wait in the ledger.
				PreConfig: func() { c.down.Store(true) },
				Config:    config("etl", "bot"),
				ConfigStateChecks: []statecheck.StateCheck{ledgerCheck(func() error {
					c.mu.Lock()
					defer c.mu.Unlock()
					if len(c.bodies) != 0 {
						return fmt.Errorf("a down collector received %d records", len(c.bodies))
					}
					return expectLedgerEventSet(ledger, []string{"identity.declared:etl", "identity.declared:bot"})
				})},
			},
			{
				// Back up: the next run delivers the backlog and the new
				// record, complete and in order.
				PreConfig: func() { c.down.Store(false) },
				Config:    config("etl"),
				ConfigStateChecks: []statecheck.StateCheck{ledgerCheck(func() error {
					return c.received(ledger, token)
				})},
			},
		},
	})
	if err := c.received(ledger, token); err != nil {
		t.Fatalf("after the post-test destroy: %v", err)
	}
	if b, _ := os.ReadFile(ledger); bytes.Contains(b, []byte(token)) {
		t.Fatal("the collector token reached the ledger")
	}
}
