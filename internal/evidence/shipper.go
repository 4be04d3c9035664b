package evidence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/gofrs/flock"
)

// Shipper delivers a ledger's records to an HTTP collector; see the
// design notes in sink.go. It is safe for concurrent use, and several
// processes may deliver the same ledger: one delivers at a time, in order.
type Shipper struct {
	ledger     string
	cursorPath string
	lockPath   string
	cfg        SinkConfig
	post       *poster
	sem        chan struct{} // in-process delivery lock, shared per cursor path

	mu      sync.Mutex
	retryAt time.Time // cooldown after a failed delivery
	lastErr string
}

// NewShipper returns a Shipper for the ledger at path (which need not
// exist yet). It checks cfg and makes no request.
func NewShipper(path string, cfg SinkConfig) (*Shipper, error) {
	if path == "" {
		return nil, errors.New("evidence: the ledger path is empty")
	}
	cfg = cfg.withDefaults()
	u, err := parseCollectorURL(cfg.URL, cfg.AllowInsecureHTTP)
	if err != nil {
		return nil, err
	}
	if strings.IndexFunc(cfg.Token, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
		return nil, errors.New("evidence: the collector token must be one word, with no spaces or control characters")
	}
	cp := cursorPath(path)
	return &Shipper{
		ledger:     path,
		cursorPath: cp,
		lockPath:   deliveryLockPath(path),
		cfg:        cfg,
		post:       newPoster(u, cfg),
		sem:        semFor(cp),
	}, nil
}

// String names the ledger and the collector, never the token.
func (s *Shipper) String() string {
	return fmt.Sprintf("evidence.Shipper{%q -> %s}", s.ledger, s.post.endpoint)
}

// GoString keeps the token out of %#v.
func (s *Shipper) GoString() string { return s.String() }

// Collector is the endpoint as scheme://host/path.
func (s *Shipper) Collector() string { return s.post.endpoint }

// Close releases idle connections. Undelivered records stay in the ledger
// for the next Shipper.
func (s *Shipper) Close() error {
	s.post.close()
	return nil
}

// Deliver sends the ledger's records that the collector has not
// acknowledged, in order, until none is left, one fails, or the budget
// (SinkConfig.Budget, or ctx) runs out. It never returns an error and never
// waits for another deliverer: everything it has to say is in the report,
// whose Warning() the caller shows. Call it after appending (the provider:
// after each record it writes) and once per run, so that records left by
// an earlier run go out even when this one writes none.
func (s *Shipper) Deliver(ctx context.Context) DeliveryReport {
	rep := DeliveryReport{Collector: s.post.endpoint}
	if until, why := s.cooling(); why != "" {
		rep.Skipped = true
		rep.Problem = fmt.Sprintf("%s; the next attempt is after %s", why, until.UTC().Format(time.RFC3339))
		s.fillStatus(&rep)
		return rep
	}
	select {
	case s.sem <- struct{}{}:
	default:
		rep.Busy = true
		s.fillStatus(&rep)
		return rep
	}
	defer func() { <-s.sem }()
	lk := flock.New(s.lockPath)
	ok, err := lk.TryLock()
	if err != nil {
		rep.Problem = fmt.Sprintf("the delivery lock %s cannot be taken (%v)", s.lockPath, err)
		s.fillStatus(&rep)
		return rep
	}
	if !ok {
		rep.Busy = true
		s.fillStatus(&rep)
		return rep
	}
	defer lk.Unlock()

	collectorFailed := s.deliverLocked(ctx, s.cfg.Now().Add(s.cfg.Budget), &rep)
	if collectorFailed {
		s.trip(rep.Problem)
		if l := s.cfg.Logger; l != nil {
			l.Warn("evidence: delivery stopped", "collector", rep.Collector, "problem", rep.Problem, "pending", rep.Pending)
		}
	} else if rep.Problem == "" {
		s.trip("")
	}
	return rep
}

// cooling returns the end of the cooldown and the failure that started
// it, or "" when the collector may be tried.
func (s *Shipper) cooling() (time.Time, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastErr != "" && s.cfg.Now().Before(s.retryAt) {
		return s.retryAt, s.lastErr
	}
	return time.Time{}, ""
}

// trip starts a cooldown after a failure (why != "") or clears it.
func (s *Shipper) trip(why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastErr = why
	s.retryAt = time.Time{}
	if why != "" && s.cfg.Cooldown > 0 {
		s.retryAt = s.cfg.Now().Add(s.cfg.Cooldown)
	}
}

// Status reports what the collector has acknowledged and how many records
// wait, without sending anything or taking a lock (e.g. for a plan-time
// warning).
func (s *Shipper) Status() DeliveryReport {
	rep := DeliveryReport{Collector: s.post.endpoint}
	s.fillStatus(&rep)
	return rep
}

// fillStatus fills Acked and Pending from the cursor and the ledger's tail.
func (s *Shipper) fillStatus(rep *DeliveryReport) {
	c, err := readCursor(s.cursorPath)
	if err != nil || c.Collector != s.post.endpoint {
		c = cursor{}
	}
	rep.Acked = c.head()
	f, err := os.Open(s.ledger)
	if err != nil {
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return
	}
	if head, err := ledgerHeadSeq(f, st.Size()); err == nil && head > c.Seq {
		rep.Pending = int(head - c.Seq)
	}
}

// maxRounds bounds how often one Deliver goes back for records appended
// while it delivered. Without a bound, one caller would deliver for every
// other appender, for as long as appends kept coming (up to the budget);
// with it, the work passes on to the next caller. A record appended during
// the last round by a caller who found the lock taken waits for the next
// Deliver (the next run at worst), as the design allows.
const maxRounds = 3

// errStop ends an engine run on purpose; the report says why.
var errStop = errors.New("delivery stopped")

// deliverLocked is Deliver under the delivery lock. It reports whether the
// collector (not the ledger or the disk) is why delivery stopped.
func (s *Shipper) deliverLocked(ctx context.Context, deadline time.Time, rep *DeliveryReport) (collectorFailed bool) {
	cur, err := readCursor(s.cursorPath)
	switch {
	case errors.Is(err, errNoCursor):
		cur = cursor{}
	case err != nil:
		rep.Restarted = fmt.Sprintf("The delivery cursor %s is unreadable (%v): the ledger is delivered again from its first record", s.cursorPath, err)
		cur = cursor{}
	case cur.Collector != s.post.endpoint:
		rep.Restarted = fmt.Sprintf("The collector changed (records up to %s went to %s): the ledger is delivered to %s from its first record", cur.head(), cur.Collector, s.post.endpoint)
		cur = cursor{}
	}
	defer func() { rep.Acked = cur.head() }()

	f, err := os.Open(s.ledger)
	if errors.Is(err, fs.ErrNotExist) {
		if cur.Seq > 0 {
			rep.Problem = fmt.Sprintf("the ledger %s does not exist, but the collector has acknowledged its records up to %s: it was deleted or moved", s.ledger, cur.head())
		}
		return false
	}
	if err != nil {
		rep.Problem = fmt.Sprintf("the ledger cannot be read (%v)", err)
		return false
	}
	defer f.Close()
	cw := &cursorWriter{path: s.cursorPath}
	defer func() {
		if err := cw.close(); err != nil && rep.Problem == "" {
			rep.Problem = cursorError(s.ledger, err)
		}
	}()

	checked := false
	for round := 0; round < maxRounds; round++ {
		size, err := stableSize(s.ledger, f)
		if err != nil {
			rep.Problem = fmt.Sprintf("the ledger cannot be read (%v)", err)
			return false
		}
		if !checked {
			holds, err := cursorHolds(f, size, cur)
			if err != nil {
				rep.Problem = fmt.Sprintf("the ledger cannot be read (%v)", err)
				return false
			}
			if !holds {
				rep.Restarted = fmt.Sprintf("The ledger %s no longer holds record %s, which the collector acknowledged on %s: it was truncated or rewritten since (sunset evidence verify %s --head %s). The ledger is delivered again from its first record, so that the collector holds both versions",
					filepath.Base(s.ledger), cur.head(), cur.Time.UTC().Format(time.RFC3339), s.ledger, cur.head())
				cur = cursor{Collector: s.post.endpoint}
			}
			checked = true
		}
		if cur.Offset >= size {
			break
		}
		before := rep.Delivered
		stop, collector := s.ship(ctx, deadline, f, size, &cur, cw, rep)
		if stop {
			collectorFailed = collector
			break
		}
		if rep.Delivered == before {
			break // only non-records (a torn tail) after the cursor
		}
		// Records appended while we delivered, by callers who found us
		// busy: another round picks them up.
	}
	if head, err := ledgerHeadSeq(f, mustSize(f)); err == nil && head > cur.Seq {
		rep.Pending = int(head - cur.Seq)
	}
	return collectorFailed
}

func mustSize(f *os.File) int64 {
	st, err := f.Stat()
	if err != nil {
		return 0
	}
	return st.Size()
}

// ship delivers the records between the cursor and size. stop says the
// run ended early (rep.Problem says why), collector that the collector is
// to blame. The budget (deadline) is checked between records, not during
// a POST: cutting off a POST the collector has already taken would only
// make it receive that record twice. A POST is bounded by its attempts.
func (s *Shipper) ship(ctx context.Context, deadline time.Time, f *os.File, size int64, cur *cursor, cw *cursorWriter, rep *DeliveryReport) (stop, collector bool) {
	base := cur.Offset
	var sendErr *sendError
	var localErr string
	er, err := run(io.NewSectionReader(f, base, size-base), nil, func(e *emitted) error {
		// The budget spent or the run cancelled: the collector is not to blame.
		if err := ctx.Err(); err != nil {
			localErr = fmt.Sprintf("delivery was cancelled before record %d (%v)", e.rec.Seq, err)
			return errStop
		}
		if !s.cfg.Now().Before(deadline) {
			localErr = fmt.Sprintf("the delivery time budget (%s) ran out before record %d", s.cfg.Budget, e.rec.Seq)
			return errStop
		}
		if err := s.post.post(ctx, e.rec.Seq, e.rec.Hash, e.raw); err != nil {
			errors.As(err, &sendErr)
			return errStop
		}
		next := cursor{
			Collector: s.post.endpoint, Seq: e.rec.Seq, Hash: e.rec.Hash,
			Offset: base + e.end, Line: e.line, Time: s.cfg.Now().UTC(),
		}
		if err := cw.write(next); err != nil {
			localErr = cursorError(s.ledger, err)
			return errStop
		}
		*cur = next
		rep.Delivered++
		if l := s.cfg.Logger; l != nil {
			l.Debug("evidence: delivered", "collector", s.post.endpoint, "seq", e.rec.Seq, "event", string(e.rec.Event))
		}
		return nil
	}, engineConfig{raw: true, from: cur.chainPoint()})
	switch {
	case sendErr != nil:
		rep.Problem = sendErr.Error()
		return true, true
	case localErr != "":
		rep.Problem = localErr
		return true, false
	case err != nil:
		rep.Problem = fmt.Sprintf("the ledger cannot be read (%v)", err)
		return true, false
	case er.FirstBad != nil:
		if s.tornTail(f, size, er.FirstBad.Line) {
			// A crash left the last line torn; the next Append recovers it
			// with a ledger.recovered record, which is delivered then.
			return true, false
		}
		rep.Problem = fmt.Sprintf("the ledger does not verify at line %d (%s); records after it are not delivered: check it with sunset evidence verify", er.FirstBad.Line, er.FirstBad.Reason)
		return true, false
	}
	return false, false
}

// tornTail reports whether line is the ledger's last line and one that the
// next Append will treat as torn.
func (s *Shipper) tornTail(f *os.File, size int64, line int) bool {
	st, err := readTail(f, size)
	return err == nil && st.torn != nil && st.torn.line == line
}
