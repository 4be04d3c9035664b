package provider

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
)

// ledgerEvents reads a ledger, checks that its chain verifies, and returns
// each record as "event:identity[:trigger]" for comparison.
func ledgerEvents(path string) ([]string, []evidence.Record, error) {
	rep, err := evidence.VerifyFile(path, evidence.KeyFromEnv())
	if err != nil {
		return nil, nil, err
	}
	if !rep.OK() {
		return nil, nil, fmt.Errorf("ledger %s does not verify: %v", path, rep.FirstBad)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var events []string
	var recs []evidence.Record
	err = evidence.Scan(f, func(_ int, r evidence.Record) error {
		s := string(r.Event)
		switch {
		case r.Account != "":
			s += ":" + r.Target + "/" + r.Account
		case r.Identity != nil:
			s += ":" + r.Identity.Name
		}
		if r.Trigger != "" {
			s += ":" + string(r.Trigger)
		}
		events = append(events, s)
		recs = append(recs, r)
		return nil
	})
	return events, recs, err
}

// expectLedgerEvents checks the ledger holds exactly these events, in order.
func expectLedgerEvents(path string, want []string) error {
	got, _, err := ledgerEvents(path)
	if err != nil {
		return err
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("ledger events:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(want, "\n       "))
	}
	return nil
}

// expectLedgerEventSet checks the ledger holds exactly these events in any
// order: resources applied in parallel record in any order.
func expectLedgerEventSet(path string, want []string) error {
	got, _, err := ledgerEvents(path)
	if err != nil {
		return err
	}
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		return fmt.Errorf("ledger events (any order):\n  got  %s\n  want %s", strings.Join(g, "\n       "), strings.Join(w, "\n       "))
	}
	return nil
}

// ledgerRecords returns the records of one event, oldest first, from a
// ledger whose chain verifies.
func ledgerRecords(path string, event evidence.Event) ([]evidence.Record, error) {
	_, recs, err := ledgerEvents(path)
	if err != nil {
		return nil, err
	}
	var out []evidence.Record
	for _, r := range recs {
		if r.Event == event {
			out = append(out, r)
		}
	}
	return out, nil
}

// ledgerRecord returns the newest record of one event for one account.
func ledgerRecord(path string, event evidence.Event, account string) (*evidence.Record, error) {
	recs, err := ledgerRecords(path, event)
	if err != nil {
		return nil, err
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Account == account {
			return &recs[i], nil
		}
	}
	return nil, fmt.Errorf("no %s record for account %s in the ledger", event, account)
}

// readLedger reads every record of a ledger as evidence.Scan sees them,
// failing the test on a line Scan rejects.
func readLedger(t *testing.T, path string) []evidence.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := evidence.ReadAll(f)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return recs
}
