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
	errs := make([]error, n)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = b.Destroy(context.Background(), fmt.Sprintf("sunset_postgres_role warehouse/user-%d", i))
		}(i)
		time.Sleep(gap)
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
	for _, want := range []string{"would destroy 37 sunset resources", "max_revocations (10)", "acknowledge_revocations = 37", "SUNSET_ACKNOWLEDGE_REVOCATIONS=37", "sunset_postgres_role warehouse/user-", "… and 29 more"} {
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
	for _, n := range []int{38, 60, 5} {
		got := tripped(plan(New(10, &ack, fast), n, 10, time.Millisecond))
		if len(got) == 0 || got[0].Count != n {
			t.Fatalf("acknowledged 37, plan of %d: want a breaker error with the count, got %v", n, got)
		}
		if !strings.Contains(got[0].Error(), fmt.Sprintf("would destroy %d sunset resources, but acknowledge_revocations is 37", n)) {
			t.Errorf("message: %s", got[0].Error())
		}
	}
}

func TestBreakerLateArrivalsAfterTheVerdictStillTrip(t *testing.T) {
	b := New(2, nil, fast)
	errs := plan(b, 3, 3, 0)
	if len(tripped(errs)) != 1 {
		t.Fatalf("want one error, got %v", errs)
	}
	// A destroy planned long after the verdict (a slow refresh) fails on its own.
	if err := b.Destroy(context.Background(), "sunset_identity late"); err == nil {
		t.Fatal("a destroy after the verdict, over the limit, passed")
	}
}

func TestBreakerWaitEndsWithContext(t *testing.T) {
	b := New(0, nil, Options{Settle: time.Hour, MaxWait: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := b.Destroy(ctx, "x"); err == nil {
		t.Fatal("limit 0 allowed a destroy")
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("the wait ignored the context")
	}
}
