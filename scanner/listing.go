package scanner

import (
	"context"
	"sync"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

// A scan lists every target while it reads the declarations: the listing
// is mostly the target's time (a server query, an API's pages) and the
// state read is mostly ours, so the two overlap. What a target lists before
// the declarations are read is buffered in compact form (liveAccount, a few
// strings and numbers per account) and judged once they are; from then on
// batches are judged as they arrive and their memory is reused, so a slow
// target costs no more memory than a fast one.

// maxConcurrentListings bounds how many targets are listed at once.
const maxConcurrentListings = 4

// liveAccount is a connector.Account as the scan keeps it until it is
// judged.
type liveAccount struct {
	key, name, state string
	groups           []string // nil when none
	expSec           int64
	expNsec          int32
	sessions         int32
	hasExp, usable   bool
}

func compact(a connector.Account) liveAccount {
	l := liveAccount{key: a.Key, name: a.Name, state: a.State, usable: a.Usable, sessions: int32(a.Sessions)}
	if len(a.Groups) > 0 {
		l.groups = a.Groups
	}
	if a.ExpiresAt != nil {
		l.hasExp, l.expSec, l.expNsec = true, a.ExpiresAt.Unix(), int32(a.ExpiresAt.Nanosecond())
	}
	return l
}

// account rebuilds the Account; ExpiresAt points at *exp, which the
// caller owns (the judgement keeps no reference to the Account).
func (l *liveAccount) account(exp *time.Time) connector.Account {
	a := connector.Account{Key: l.key, Name: l.name, Usable: l.usable, Groups: l.groups, Sessions: int(l.sessions), State: l.state}
	if a.Groups == nil {
		a.Groups = []string{}
	}
	if l.hasExp {
		*exp = time.Unix(l.expSec, int64(l.expNsec)).UTC()
		a.ExpiresAt = exp
	}
	return a
}

const batchSize = 1024

// listing is one target's inventory running in the background.
type listing struct {
	spec  TargetSpec
	start time.Time

	// Set by the listing goroutine before done is closed.
	target  connector.Target // nil when Open failed
	desc    connector.Description
	openErr error
	err     error // Inventory's error
	n       int
	took    time.Duration
	done    chan struct{}

	mu     sync.Mutex
	ready  chan struct{} // signalled (non-blocking) when a batch is queued
	queue  [][]liveAccount
	free   [][]liveAccount
	states map[string]string // interned State texts
	last   string            // the last account's, interned
}

// startListings starts listing every target, at most
// maxConcurrentListings at once. Each listing ends before its done closes;
// the caller reads them in order with next, then finishes each.
func startListings(ctx context.Context, specs []TargetSpec) []*listing {
	sem := make(chan struct{}, maxConcurrentListings)
	out := make([]*listing, len(specs))
	for i, s := range specs {
		l := &listing{spec: s, done: make(chan struct{}), ready: make(chan struct{}, 1), states: map[string]string{}}
		out[i] = l
		go func() {
			defer close(l.done)
			sem <- struct{}{}
			defer func() { <-sem }()
			l.run(ctx)
		}()
	}
	return out
}

func (l *listing) run(ctx context.Context) {
	l.start = time.Now()
	defer func() { l.took = time.Since(l.start) }()
	t, err := l.spec.Open(ctx)
	if err != nil {
		l.openErr = err
		return
	}
	l.target, l.desc = t, t.Describe()
	batch := l.batch()
	l.err = t.Inventory(ctx, func(a connector.Account) error {
		l.n++
		la := compact(a)
		la.state = l.intern(la.state)
		batch = append(batch, la)
		if len(batch) == cap(batch) {
			l.push(batch)
			batch = l.batch()
		}
		return nil
	})
	if len(batch) > 0 {
		l.push(batch)
	}
}

// intern keeps one copy of each State text: most accounts of a target are
// in one of a few states. Called only from the listing goroutine.
func (l *listing) intern(s string) string {
	if s == l.last {
		return l.last // the usual case: the same state as the last account
	}
	if v, ok := l.states[s]; ok {
		l.last = v
		return v
	}
	if len(l.states) < 4096 {
		l.states[s] = s
	}
	l.last = s
	return s
}

func (l *listing) batch() []liveAccount {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.free); n > 0 {
		b := l.free[n-1]
		l.free = l.free[:n-1]
		return b
	}
	return make([]liveAccount, 0, batchSize)
}

func (l *listing) push(b []liveAccount) {
	l.mu.Lock()
	l.queue = append(l.queue, b)
	l.mu.Unlock()
	select {
	case l.ready <- struct{}{}:
	default:
	}
}

// next returns the next batch, waiting for one; nil when the listing is
// over and every batch was taken. recycle gives a judged batch back.
func (l *listing) next() []liveAccount {
	for {
		l.mu.Lock()
		if len(l.queue) > 0 {
			b := l.queue[0]
			l.queue[0] = nil
			l.queue = l.queue[1:]
			l.mu.Unlock()
			return b
		}
		l.mu.Unlock()
		select {
		case <-l.ready:
		case <-l.done:
			l.mu.Lock()
			empty := len(l.queue) == 0
			l.mu.Unlock()
			if empty {
				return nil
			}
		}
	}
}

func (l *listing) recycle(b []liveAccount) {
	clear(b) // let the judged accounts' strings go
	l.mu.Lock()
	l.free = append(l.free, b[:0])
	l.mu.Unlock()
}

// drain waits for the listing to end and closes its target: for a scan
// that stops early.
func (l *listing) drain() {
	<-l.done
	if l.target != nil {
		l.target.Close()
	}
}
