package scanner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

// slowTarget lists its accounts only once released, or stops when the
// scan's context ends; it records that it was closed.
type slowTarget struct {
	fakeTarget
	release chan struct{}
	stopped atomic.Bool
	closes  atomic.Int32
}

func (s *slowTarget) Inventory(ctx context.Context, fn func(connector.Account) error) error {
	select {
	case <-s.release:
	case <-ctx.Done():
		s.stopped.Store(true)
		return ctx.Err()
	}
	return s.fakeTarget.Inventory(ctx, fn)
}
func (s *slowTarget) Close() error { s.closes.Add(1); return nil }

// Many accounts, listed in several batches, some before and some after
// the declarations are read, are judged as one listing would be: each once,
// with its expiry, groups and state.
func TestListingAcrossBatchesIsJudgedAsAWhole(t *testing.T) {
	const n = 3*batchSize + 17
	var roles []role
	var ids []ident
	var accounts []connector.Account
	outlives := 0
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("r%05d", i)
		ids = append(ids, ident{name, "workload", "o@example.com", "2027-12-31"})
		roles = append(roles, role{"w/" + name, name, "2027-12-31"})
		a := connector.Account{Key: name, Name: name, Usable: true, ExpiresAt: ts("2027-12-31T00:00:00Z"), State: "rolcanlogin=true, 0 sessions", Groups: []string{"g"}}
		if i%3 != 0 {
			outlives++
		}
		switch i % 3 {
		case 1:
			a.ExpiresAt = ts("2029-01-01T00:00:00Z") // outlives the identity
		case 2:
			a.ExpiresAt = nil // no expiry
		}
		accounts = append(accounts, a)
	}
	accounts = append(accounts, connector.Account{Key: "stray", Usable: true, State: "rolcanlogin=true"})
	st := writeState(t, ids, roles)
	tgt := &slowTarget{fakeTarget: fakeTarget{system: "postgresql", accounts: accounts}, release: make(chan struct{})}
	// The listing is held back a little: whatever part of it arrives
	// while the state is read is buffered, the rest judged as it comes.
	go func() { time.Sleep(5 * time.Millisecond); close(tgt.release) }()
	res, err := Scan(context.Background(), Input{Now: now, SLA: time.Hour, States: []string{st}, Targets: []TargetSpec{spec("w", 1, tgt)}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Complete() || res.Targets[0].Accounts != n+1 || res.Targets[0].Listing <= 0 {
		t.Fatalf("incomplete or miscounted: %+v %+v", res.Incomplete, res.Targets)
	}
	counts := map[string]int{}
	for _, f := range res.Findings {
		counts[f.Rule]++
		if f.Rule == RuleOutlivesLifecycle && f.Checked != "rolcanlogin=true, 0 sessions" {
			t.Errorf("finding lost the account's state: %+v", f)
		}
	}
	if counts[RuleOutlivesLifecycle] != outlives || counts[RuleUnmanagedAccount] != 1 || len(counts) != 2 {
		t.Errorf("findings per rule: %v (want %d outlives-lifecycle, 1 unmanaged-account)", counts, outlives)
	}
	if got := tgt.closes.Load(); got != 1 {
		t.Errorf("target closed %d times", got)
	}
}

// A state that cannot be read stops the listings that are under way and
// closes their targets: nothing is left running or open.
func TestUnreadableStateStopsTheListings(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version":4,"resources":[{"mode":"managed"`), 0o600); err != nil {
		t.Fatal(err)
	}
	tgts := []*slowTarget{{release: make(chan struct{})}, {release: make(chan struct{})}}
	var specs []TargetSpec
	for i, tg := range tgts {
		tg.system = "postgresql"
		specs = append(specs, spec(fmt.Sprintf("t%d", i), i+1, tg))
	}
	_, err := Scan(context.Background(), Input{Now: now, States: []string{bad}, Targets: specs})
	if err == nil || !strings.Contains(err.Error(), "ends early") {
		t.Fatalf("err = %v", err)
	}
	for i, tg := range tgts {
		if !tg.stopped.Load() || tg.closes.Load() != 1 {
			t.Errorf("target %d: stopped %t, closed %d times", i, tg.stopped.Load(), tg.closes.Load())
		}
	}
}

// A listing that fails part-way still has what it listed judged, and
// makes the scan incomplete.
func TestListingThatFailsPartWay(t *testing.T) {
	st := writeState(t, []ident{{"bob", "contractor", "hr@example.com", "2027-06-01"}}, []role{{"w/bob", "bob", ""}})
	tgt := &fakeTarget{system: "postgresql", accounts: []connector.Account{{Key: "bob", Usable: true}}, invErr: errors.New("connection reset")}
	res, err := Scan(context.Background(), Input{Now: now, SLA: time.Hour, States: []string{st}, Targets: []TargetSpec{spec("w", 1, tgt)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Complete() || !strings.Contains(res.Incomplete[0].Message, "inventory: connection reset") || rules(res) != "stale-access w/bob bob" || !tgt.closed {
		t.Errorf("incomplete %v, findings %s, closed %t", res.Incomplete, rules(res), tgt.closed)
	}
}

func TestCompactAccountRoundTrip(t *testing.T) {
	exp := time.Date(2031, 2, 3, 4, 5, 6, 789, time.FixedZone("x", 3600))
	for _, a := range []connector.Account{
		{Key: "k", Name: "n", Usable: true, ExpiresAt: &exp, Groups: []string{"a", "b"}, Sessions: 3, State: "s"},
		{Key: "k"},
		{Key: "k", ExpiresAt: &time.Time{}}, // -infinity in PostgreSQL
	} {
		l := compact(a)
		var e time.Time
		b := l.account(&e)
		if b.Key != a.Key || b.Name != a.Name || b.Usable != a.Usable || b.Sessions != a.Sessions || b.State != a.State ||
			strings.Join(b.Groups, ",") != strings.Join(a.Groups, ",") || b.Groups == nil ||
			(a.ExpiresAt == nil) != (b.ExpiresAt == nil) || (a.ExpiresAt != nil && !a.ExpiresAt.Equal(*b.ExpiresAt)) {
			t.Errorf("%+v came back as %+v", a, b)
		}
	}
}
