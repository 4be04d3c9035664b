// Package safeguard holds the mass-revocation breaker: the check that stops
// an unattended run from revoking everyone because a source came back
// truncated. Microsoft Entra ID's "accidental deletions" threshold is the
// model: past a limit, nothing is removed until a person acknowledges the
// exact number.
//
// Terraform plans each resource instance separately and never tells a
// provider how many destroys a plan holds, so the breaker counts the
// destroys (and replacements, which destroy the old object) planned by one
// provider process. To report (and compare against an acknowledgement) the
// plan's total rather than a running count, one planned destroy waits until
// arrivals settle before giving the verdict; the others return at once. A
// plan that fails on the breaker applies nothing.
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
// graph; a pause of Settle means the walk has moved past them. MaxWait caps
// the wait, including the wait for the rest of an acknowledged plan whose
// destroys arrive slowly.
const (
	DefaultSettle  = 1500 * time.Millisecond
	DefaultMaxWait = 60 * time.Second
	// DefaultAckName is how messages name the acknowledgement.
	DefaultAckName = "acknowledge_revocations"
	// shownAddresses is how many destroyed resources an error names.
	shownAddresses = 8
)

// Breaker counts planned destroys. Its zero value is not usable: use New.
type Breaker struct {
	limit   int
	ack     *int
	ackName string
	settle  time.Duration
	maxWait time.Duration
	now     func() time.Time

	mu      sync.Mutex
	count   int
	first   []string
	last    time.Time
	arrived chan struct{} // closed and replaced on every arrival
	// waiting is set while one destroy waits to judge the plan's total;
	// the destroys arriving meanwhile return at once and are in its total.
	waiting bool
	// judged is set once a verdict has been given; judgedOver once one has
	// been given on a count above the limit. A count that first settles
	// within the limit may still grow past it (slow reads), and then the
	// destroy that crosses the limit waits and judges again.
	judged, judgedOver bool
}

// Options tune a Breaker. Zero values take the defaults.
type Options struct {
	Settle  time.Duration
	MaxWait time.Duration
	Now     func() time.Time
	// AckName names the acknowledgement in messages, such as
	// "SUNSET_ACKNOWLEDGE_REVOCATIONS" when it came from the environment.
	AckName string
}

// New returns a breaker that lets a plan destroy at most limit resources,
// or, above the limit, exactly *ack when ack is set.
func New(limit int, ack *int, opts Options) *Breaker {
	b := &Breaker{limit: limit, ack: ack, ackName: opts.AckName, settle: opts.Settle, maxWait: opts.MaxWait, now: opts.Now, arrived: make(chan struct{})}
	if b.settle <= 0 {
		b.settle = DefaultSettle
	}
	if b.maxWait <= 0 {
		b.maxWait = DefaultMaxWait
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.ackName == "" {
		b.ackName = DefaultAckName
	}
	return b
}

// Tripped is the breaker's error: the plan destroys more than allowed, and
// not exactly the acknowledged number.
type Tripped struct {
	Count   int
	Limit   int
	Ack     *int
	AckName string
	// Waited is how long the breaker waited for more destroys when the
	// count stayed below the acknowledgement; zero otherwise.
	Waited time.Duration
	First  []string
}

func (t *Tripped) Error() string {
	var b strings.Builder
	if t.Ack != nil {
		fmt.Fprintf(&b, "This plan would destroy %d sunset resources, but %s is %d. ", t.Count, t.AckName, *t.Ack)
		fmt.Fprintf(&b, "Above safeguards.max_revocations (%d), an acknowledgement covers exactly one plan of exactly that size, so that it cannot silently cover a larger one later. Nothing has been revoked.", t.Limit)
		if t.Waited > 0 {
			fmt.Fprintf(&b, " (The breaker waited %s for more destroys to be planned.)", t.Waited.Round(time.Second))
		}
	} else {
		fmt.Fprintf(&b, "This plan would destroy %d sunset resources, more than safeguards.max_revocations (%d). Nothing has been revoked.", t.Count, t.Limit)
	}
	b.WriteString("\n\nFirst resources planned for destroy (type and id; Terraform does not tell a provider their addresses):\n")
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

// Unneeded is the breaker's warning: an acknowledgement is set, but the
// plan destroys no more than the limit, which needs none.
type Unneeded struct {
	Count   int
	Limit   int
	Ack     int
	AckName string
}

func (u *Unneeded) String() string {
	setting := fmt.Sprintf("%s = %d", u.AckName, u.Ack)
	if u.AckName == strings.ToUpper(u.AckName) {
		setting = fmt.Sprintf("%s=%d", u.AckName, u.Ack) // an environment variable
	}
	resources := "resources"
	if u.Count == 1 {
		resources = "resource"
	}
	return fmt.Sprintf("%s was not needed: this plan destroys %d sunset %s, within safeguards.max_revocations (%d), which needs no acknowledgement. "+
		"Remove it, so that it cannot later let a plan of exactly %d destroys through unchecked.", setting, u.Count, resources, u.Limit, u.Ack)
}

// Destroy records one planned destroy of the resource named by address
// (its type and id) and says whether the plan may go on; a non-nil
// Unneeded is a warning for the plan. It may block for the settle window,
// and at most MaxWait, while the rest of the plan's destroys arrive.
func (b *Breaker) Destroy(ctx context.Context, address string) (*Unneeded, error) {
	b.mu.Lock()
	b.count++
	n := b.count
	if len(b.first) < shownAddresses {
		b.first = append(b.first, address)
	}
	b.last = b.now()
	close(b.arrived)
	b.arrived = make(chan struct{})
	if b.waiting {
		// The waiting destroy judges the total, this one included.
		b.mu.Unlock()
		return nil, nil
	}
	// Who waits: with an acknowledgement, the first destroy (to compare
	// the total, or to say the acknowledgement was not needed); and the
	// first destroy over the limit, to report or compare the total.
	var waits bool
	if n <= b.limit {
		waits = b.ack != nil && !b.judged
	} else {
		waits = !b.judgedOver
	}
	if !waits {
		// Arrived after the verdict: judge this one on the running count.
		defer b.mu.Unlock()
		if n <= b.limit || (b.ack != nil && n == *b.ack) {
			return nil, nil
		}
		return nil, b.trippedLocked(0)
	}
	b.waiting = true
	b.mu.Unlock()
	return b.waitAndJudge(ctx)
}

// waitAndJudge waits for a quiet moment and gives the verdict on the total.
// With an acknowledgement, a total above the limit but below the
// acknowledged number is not final: destroys that arrive slowly (a refresh
// retrying a SCIM call, a remote database) may still be on their way, so it
// waits for more, up to MaxWait, before tripping. A total above the
// acknowledgement trips at once.
func (b *Breaker) waitAndJudge(ctx context.Context) (*Unneeded, error) {
	start := time.Now()
	deadline := time.NewTimer(b.maxWait)
	defer deadline.Stop()
	timedOut := false
	for !timedOut {
		if !b.waitForQuiet(ctx, deadline.C) {
			timedOut = true
			break
		}
		b.mu.Lock()
		short := b.ack != nil && b.count > b.limit && b.count < *b.ack
		arrived := b.arrived
		b.mu.Unlock()
		if !short {
			break
		}
		select {
		case <-arrived:
		case <-ctx.Done():
			timedOut = true
		case <-deadline.C:
			timedOut = true
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waiting = false
	b.judged = true
	c := b.count
	if c <= b.limit {
		if b.ack != nil {
			return &Unneeded{Count: c, Limit: b.limit, Ack: *b.ack, AckName: b.ackName}, nil
		}
		return nil, nil
	}
	b.judgedOver = true
	if b.ack != nil && c == *b.ack {
		return nil, nil
	}
	var waited time.Duration
	if timedOut && b.ack != nil && c < *b.ack {
		waited = time.Since(start)
	}
	return nil, b.trippedLocked(waited)
}

func (b *Breaker) trippedLocked(waited time.Duration) *Tripped {
	return &Tripped{Count: b.count, Limit: b.limit, Ack: b.ack, AckName: b.ackName, Waited: waited, First: append([]string(nil), b.first...)}
}

// waitForQuiet returns true once no destroy has arrived for the settle
// window, and false when deadline fires or ctx ends first.
func (b *Breaker) waitForQuiet(ctx context.Context, deadline <-chan time.Time) bool {
	for {
		b.mu.Lock()
		arrived := b.arrived
		quietFor := b.now().Sub(b.last)
		b.mu.Unlock()
		if quietFor >= b.settle {
			return true
		}
		wait := time.NewTimer(b.settle - quietFor)
		select {
		case <-ctx.Done():
			wait.Stop()
			return false
		case <-deadline:
			wait.Stop()
			return false
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
