// Package safeguard holds the mass-revocation breaker: the check that stops
// an unattended run from revoking everyone because a source came back
// truncated. Microsoft Entra ID's "accidental deletions" threshold is the
// model: past a limit, nothing is removed until a person acknowledges the
// exact number.
//
// Terraform plans each resource instance separately and never tells a
// provider how many destroys a plan holds, so the breaker counts the
// destroys planned by one provider process. To report (and compare against
// an acknowledgement) the plan's total rather than a running count, one
// planned destroy waits until arrivals settle before giving the verdict; the
// others return at once. A plan that fails on the breaker applies nothing.
package safeguard

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// DefaultLimit is the default safeguards.max_revocations.
const DefaultLimit = 10

// Default timings: a plan's destroys arrive in bursts as Terraform walks the
// graph; a pause of Settle means the walk has moved past them.
const (
	DefaultSettle  = 1500 * time.Millisecond
	DefaultMaxWait = 60 * time.Second
	// shownAddresses is how many destroyed addresses an error names.
	shownAddresses = 8
)

// Breaker counts planned destroys. Its zero value is not usable: use New.
type Breaker struct {
	limit   int
	ack     *int
	settle  time.Duration
	maxWait time.Duration
	now     func() time.Time

	mu      sync.Mutex
	count   int
	first   []string
	last    time.Time
	arrived chan struct{} // closed and replaced on every arrival
	// decided is set once the waiting destroy has given its verdict; later
	// arrivals are judged on their own.
	decided bool
}

// Options tune a Breaker. Zero values take the defaults.
type Options struct {
	Settle  time.Duration
	MaxWait time.Duration
	Now     func() time.Time
}

// New returns a breaker that lets a plan destroy at most limit resources,
// or, when ack is set, exactly *ack.
func New(limit int, ack *int, opts Options) *Breaker {
	b := &Breaker{limit: limit, ack: ack, settle: opts.Settle, maxWait: opts.MaxWait, now: opts.Now, arrived: make(chan struct{})}
	if b.settle <= 0 {
		b.settle = DefaultSettle
	}
	if b.maxWait <= 0 {
		b.maxWait = DefaultMaxWait
	}
	if b.now == nil {
		b.now = time.Now
	}
	return b
}

// Tripped is the breaker's error: the plan destroys more than allowed, or
// not exactly the acknowledged number.
type Tripped struct {
	Count int
	Limit int
	Ack   *int
	First []string
}

func (t *Tripped) Error() string {
	var b strings.Builder
	if t.Ack != nil {
		fmt.Fprintf(&b, "This plan would destroy %d sunset resources, but acknowledge_revocations is %d. ", t.Count, *t.Ack)
		b.WriteString("An acknowledgement covers exactly one plan of exactly that size, so that it cannot silently cover a larger one later.")
	} else {
		fmt.Fprintf(&b, "This plan would destroy %d sunset resources, more than safeguards.max_revocations (%d). Nothing has been revoked.", t.Count, t.Limit)
	}
	b.WriteString("\n\nFirst destroys planned:\n")
	for _, a := range t.First {
		b.WriteString("  - " + a + "\n")
	}
	if more := t.Count - len(t.First); more > 0 {
		fmt.Fprintf(&b, "  … and %d more\n", more)
	}
	fmt.Fprintf(&b, "\nCheck the plan first: did an HR export or a SCIM directory come back truncated? "+
		"If the plan is right, acknowledge this exact number, either with safeguards = { acknowledge_revocations = %d } "+
		"in the provider block or with SUNSET_ACKNOWLEDGE_REVOCATIONS=%d in the environment, and plan again. "+
		"Remove the acknowledgement after the apply.", t.Count, t.Count)
	return b.String()
}

// Destroy records one planned destroy of the resource at address and says
// whether the plan may go on. It may block for up to the settle window (and
// at most MaxWait) while the rest of the plan's destroys arrive.
func (b *Breaker) Destroy(ctx context.Context, address string) error {
	b.mu.Lock()
	b.count++
	n := b.count
	if len(b.first) < shownAddresses {
		b.first = append(b.first, address)
	}
	b.last = b.now()
	close(b.arrived)
	b.arrived = make(chan struct{})
	if b.decided {
		// Arrived after the verdict: judge this one on the running count.
		err := b.judgeLocked()
		b.mu.Unlock()
		return err
	}
	// With an acknowledgement the first destroy waits to compare the
	// total; without one, the first destroy over the limit waits to report
	// the total.
	waits := (b.ack != nil && n == 1) || (b.ack == nil && n == b.limit+1)
	b.mu.Unlock()
	if !waits {
		return nil
	}
	b.waitForQuiet(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.decided = true
	return b.judgeLocked()
}

func (b *Breaker) judgeLocked() error {
	ok := b.count <= b.limit
	if b.ack != nil {
		ok = b.count == *b.ack
	}
	if ok {
		return nil
	}
	return &Tripped{Count: b.count, Limit: b.limit, Ack: b.ack, First: append([]string(nil), b.first...)}
}

// waitForQuiet returns once no destroy has arrived for the settle window,
// after MaxWait, or when ctx ends.
func (b *Breaker) waitForQuiet(ctx context.Context) {
	deadline := time.NewTimer(b.maxWait)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		arrived := b.arrived
		quietFor := b.now().Sub(b.last)
		b.mu.Unlock()
		if quietFor >= b.settle {
			return
		}
		wait := time.NewTimer(b.settle - quietFor)
		select {
		case <-ctx.Done():
			wait.Stop()
			return
		case <-deadline.C:
			wait.Stop()
			return
		case <-arrived:
			wait.Stop()
		case <-wait.C:
		}
	}
}

// Count is the number of destroys recorded so far.
func (b *Breaker) Count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.count
}
