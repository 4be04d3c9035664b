package safeguard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// plan fires n destroys the way Terraform's walk does: in parallel batches,
// with a little time between arrivals.
func plan(b *Breaker, n, parallel int, gap time.Duration) []error {
	errs, _ := planWarned(b, n, parallel, gap)
	return errs
}

// planWarned is plan that also returns the warnings.
func planWarned(b *Breaker, n, parallel int, gap time.Duration) ([]error, []*Unneeded) {
	errs := make([]error, n)
	warns := make([]*Unneeded, n)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			warns[i], errs[i] = b.Destroy(context.Background(), fmt.Sprintf("sunset_postgres_role warehouse/user-%d", i))
		}(i)
		time.Sleep(gap)
	}
	wg.Wait()
	var ws []*Unneeded
	for _, w := range warns {
		if w != nil {
			ws = append(ws, w)
		}
	}
	return errs, ws
}

// planInBursts fires bursts of destroys with a pause between bursts, the
// way a plan whose refreshes are slow (SCIM retries, a remote database)
// delivers them; a destroy that waits does not hold up the next burst.
func planInBursts(b *Breaker, bursts []int, pause time.Duration) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	i := 0
	for k, size := range bursts {
		if k > 0 {
			time.Sleep(pause)
		}
		for j := 0; j < size; j++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, err := b.Destroy(context.Background(), fmt.Sprintf("sunset_scim_user app/user-%d", i))
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}(i)
			i++
		}
	}
	wg.Wait()
	return errs
}

func tripped(errs []error) []*Tripped {
	var out []*Tripped
	for _, err := range errs {
		var t *Tripped
		if errors.As(err, &t) {
			out = append(out, t)
		}
	}
	return out
}

var fast = Options{Settle: 80 * time.Millisecond, MaxWait: 5 * time.Second}

func TestBreakerAllowsUpToTheLimit(t *testing.T) {
	b := New(10, nil, fast)
	if got := tripped(plan(b, 10, 10, time.Millisecond)); len(got) != 0 {
		t.Fatalf("10 destroys with limit 10 tripped: %v", got[0])
	}
}

func TestBreakerReportsTheWholePlanOnce(t *testing.T) {
	b := New(10, nil, fast)
	got := tripped(plan(b, 37, 10, 2*time.Millisecond))
	if len(got) != 1 {
		t.Fatalf("want exactly one breaker error for the plan, got %d", len(got))
	}
	tr := got[0]
	if tr.Count != 37 {
		t.Fatalf("error reports %d destroys, want the plan's total 37", tr.Count)
	}
	msg := tr.Error()
	for _, want := range []string{"would destroy 37 sunset resources", "max_revocations (10)", "acknowledge_revocations = 37", "SUNSET_ACKNOWLEDGE_REVOCATIONS=37", "First resources planned for destroy (type and id; Terraform does not tell a provider their addresses):", "sunset_postgres_role warehouse/user-", "… and 29 more"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

func TestBreakerAcknowledgementMustMatchExactly(t *testing.T) {
	ack := 37
	if got := tripped(plan(New(10, &ack, fast), 37, 10, time.Millisecond)); len(got) != 0 {
		t.Fatalf("acknowledged 37, plan of 37 tripped: %v", got[0])
	}
	// Above the limit only the exact number passes. A plan of 11 waits
	// MaxWait for the rest of the 37 before it trips.
	short := Options{Settle: fast.Settle, MaxWait: 300 * time.Millisecond}
	for _, n := range []int{38, 60, 11} {
		got := tripped(plan(New(10, &ack, short), n, 10, time.Millisecond))
		if len(got) == 0 || got[0].Count != n {
			t.Fatalf("acknowledged 37, plan of %d: want a breaker error with the count, got %v", n, got)
		}
		if !strings.Contains(got[0].Error(), fmt.Sprintf("would destroy %d sunset resources, but acknowledge_revocations is 37", n)) {
			t.Errorf("message: %s", got[0].Error())
		}
	}
}

// TestBreakerLeftoverAcknowledgementDoesNotBlock: a plan within the limit
// passes whatever the acknowledgement says, with a warning that it was not
// needed.
func TestBreakerLeftoverAcknowledgementDoesNotBlock(t *testing.T) {
	ack := 37
	errs, warns := planWarned(New(10, &ack, Options{Settle: fast.Settle, MaxWait: fast.MaxWait, AckName: "SUNSET_ACKNOWLEDGE_REVOCATIONS"}), 5, 10, time.Millisecond)
	if got := tripped(errs); len(got) != 0 {
		t.Fatalf("acknowledged 37, plan of 5 within the limit 10 tripped: %v", got[0])
	}
	if len(warns) != 1 {
		t.Fatalf("want one warning for the plan, got %d", len(warns))
	}
	w := warns[0]
	if w.Count != 5 || w.Ack != 37 || w.Limit != 10 {
		t.Errorf("warning %+v", w)
	}
	if want := "SUNSET_ACKNOWLEDGE_REVOCATIONS=37 was not needed: this plan destroys 5 sunset resources, within safeguards.max_revocations (10)"; !strings.Contains(w.String(), want) {
		t.Errorf("warning lacks %q:\n%s", want, w.String())
	}
	// No acknowledgement, no warning.
	if _, warns := planWarned(New(10, nil, fast), 5, 10, time.Millisecond); len(warns) != 0 {
		t.Errorf("warned without an acknowledgement: %v", warns[0])
	}
	// An acknowledgement of a number within the limit is never needed.
	small := 3
	errs, warns = planWarned(New(10, &small, fast), 3, 10, time.Millisecond)
	if len(tripped(errs)) != 0 || len(warns) != 1 {
		t.Errorf("acknowledged 3 within the limit: errors %v, warnings %v", errs, warns)
	}
}

// TestBreakerAcknowledgedPlanArrivingSlowly: the destroys of an
// acknowledged plan arrive with pauses longer than the settle window. The
// breaker waits for the rest, up to MaxWait, instead of tripping on a
// partial count.
func TestBreakerAcknowledgedPlanArrivingSlowly(t *testing.T) {
	const settle = 40 * time.Millisecond
	pause := 5 * settle
	ack := 20
	for _, bursts := range [][]int{
		{12, 8},       // quiet at 12: above the limit, below the acknowledgement
		{11, 3, 3, 3}, // several quiet moments below it
		{5, 15},       // quiet at 5, within the limit: the destroy crossing it waits again
		{20},
	} {
		b := New(10, &ack, Options{Settle: settle, MaxWait: 10 * time.Second})
		if got := tripped(planInBursts(b, bursts, pause)); len(got) != 0 {
			t.Errorf("bursts %v adding up to the acknowledged 20 tripped: %v", bursts, got[0])
		}
	}
	// One more than acknowledged, arriving slowly, trips with the total.
	b := New(10, &ack, Options{Settle: settle, MaxWait: 10 * time.Second})
	got := tripped(planInBursts(b, []int{12, 9}, pause))
	if len(got) == 0 || got[len(got)-1].Count != 21 {
		t.Fatalf("21 destroys acknowledged as 20: want a breaker error counting 21, got %v", got)
	}
	// Short of the acknowledgement for good: trips after MaxWait, saying
	// how long it waited.
	const maxWait = 400 * time.Millisecond
	b = New(10, &ack, Options{Settle: settle, MaxWait: maxWait})
	start := time.Now()
	got = tripped(planInBursts(b, []int{12}, 0))
	if len(got) != 1 || got[0].Count != 12 {
		t.Fatalf("12 destroys acknowledged as 20: want one breaker error counting 12, got %v", got)
	}
	if el := time.Since(start); el < maxWait {
		t.Errorf("tripped after %s, before MaxWait %s", el, maxWait)
	}
	if !strings.Contains(got[0].Error(), "waited") {
		t.Errorf("message does not say the breaker waited: %s", got[0].Error())
	}
}

// TestBreakerAboveAcknowledgementTripsWithoutWaiting: a count above the
// acknowledgement at a quiet moment is final; it does not wait for MaxWait.
func TestBreakerAboveAcknowledgementTripsWithoutWaiting(t *testing.T) {
	ack := 20
	b := New(10, &ack, Options{Settle: 40 * time.Millisecond, MaxWait: time.Hour})
	start := time.Now()
	got := tripped(planInBursts(b, []int{25}, 0))
	if len(got) != 1 || got[0].Count != 25 {
		t.Fatalf("want one breaker error counting 25, got %v", got)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %s", el)
	}
}

func TestBreakerLateArrivalsAfterTheVerdictStillTrip(t *testing.T) {
	b := New(2, nil, fast)
	errs := plan(b, 3, 3, 0)
	if len(tripped(errs)) != 1 {
		t.Fatalf("want one error, got %v", errs)
	}
	// A destroy planned long after the verdict (a slow refresh) fails on its own.
	if _, err := b.Destroy(context.Background(), "sunset_identity late"); err == nil {
		t.Fatal("a destroy after the verdict, over the limit, passed")
	}
}

func TestBreakerWaitEndsWithContext(t *testing.T) {
	b := New(0, nil, Options{Settle: time.Hour, MaxWait: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := b.Destroy(ctx, "x"); err == nil {
		t.Fatal("limit 0 allowed a destroy")
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("the wait ignored the context")
	}
}
