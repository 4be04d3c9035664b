package provider

import (
	"fmt"
	"os"
	"slices"
	"strings"

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
