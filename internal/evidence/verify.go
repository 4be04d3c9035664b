package evidence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// LineError names the first line that breaks the ledger and what is wrong
// with it.
type LineError struct {
	Line   int // 1-based
	Reason string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// Recovery is a torn line that the ledger.recovered record right after it
// accounts for: the chain continues past it and an auditor can see it.
type Recovery struct {
	TornLine       int
	RecoveredBySeq uint64
	Reason         string // what was wrong with the line when Append found it
}

// Report is what Verify found.
type Report struct {
	Records     int        // valid records, ledger.recovered ones included
	Head        Head       // last valid record; 0:ZeroHash for an empty ledger
	FirstBad    *LineError // nil when intact
	Recovered   []Recovery // torn lines a following ledger.recovered record accounts for
	HMACChecked bool
}

// OK reports whether every line verified (recovered torn lines allowed).
func (r Report) OK() bool { return r.FirstBad == nil }

// Verify reads a whole ledger and checks, line by line: the fixed fields
// parse, sha256(body) equals hash, the body is JSON, prev equals the previous
// record's hash, seq is one more than the previous seq, and, when key is not
// nil, the HMAC (a record without one is bad). It stops at the first bad
// line, which it reports in FirstBad. A damaged line is accepted, and listed
// in Recovered, only when the very next line is a valid ledger.recovered
// record naming that line and its sha256 and length and chaining to the
// record before it. (That includes a line that verifies on its own but that
// Append found without its "\n": torn is torn, it is not counted as a record.)
//
// The error is only for reading errors; a broken ledger is a Report with
// FirstBad set. Lines are checked in parallel; the first bad line is exact.
func Verify(rd io.Reader, key []byte) (Report, error) {
	return run(rd, key, nil, engineConfig{})
}

// VerifyFile verifies the ledger at path. When the ledger's lock file
// exists it is taken briefly to read a size at which no append is half
// written, and only that prefix is verified, so verifying a live ledger does
// not report a torn line that a concurrent Append is still writing.
func VerifyFile(path string, key []byte) (Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return Report{}, fmt.Errorf("evidence: verify %q: %w", path, err)
	}
	defer f.Close()
	size, err := stableSize(path, f)
	if err != nil {
		return Report{}, fmt.Errorf("evidence: verify %q: %w", path, err)
	}
	rep, err := run(io.NewSectionReader(f, 0, size), key, nil, engineConfig{})
	if err != nil {
		return rep, fmt.Errorf("evidence: verify %q: %w", path, err)
	}
	return rep, nil
}

// stableSize returns f's size read under a shared lock on the ledger's lock
// file, or without a lock when there is none (a copy, a read-only place) or
// a writer holds it for longer than lockWaitForVerify (a hung process must
// not hang verification; the worst case is a torn tail reported).
func stableSize(path string, f *os.File) (int64, error) {
	lk := flock.New(lockPath(path), flock.SetFlag(os.O_RDONLY)) // never creates it
	ctx, cancel := context.WithTimeout(context.Background(), lockWaitForVerify)
	defer cancel()
	if ok, err := lk.TryRLockContext(ctx, 5*time.Millisecond); ok && err == nil {
		defer lk.Unlock()
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// lockWaitForVerify is a variable so that a test can shorten it.
var lockWaitForVerify = 5 * time.Second

// Scan streams the ledger's valid records to fn in order, with their line
// numbers, checking the chain as Verify does (but no HMAC: use Verify with
// the key for that). It stops at the first bad line and returns it as a
// *LineError after fn has seen every record before it; a broken line is
// never skipped in silence. A torn line that a ledger.recovered record
// accounts for is not passed to fn; that record is. An error from fn stops
// the scan and is returned as is.
func Scan(rd io.Reader, fn func(line int, r Record) error) error {
	rep, err := run(rd, nil, func(e *emitted) error { return fn(e.line, *e.rec) }, engineConfig{})
	if err != nil {
		return err
	}
	if rep.FirstBad != nil {
		return rep.FirstBad
	}
	return nil
}

// ReadAll returns the ledger's records as Scan sees them. On a bad line it
// returns the records before it and the *LineError.
func ReadAll(rd io.Reader) ([]Record, error) {
	var out []Record
	err := Scan(rd, func(_ int, r Record) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// engineConfig tunes the pipeline; the zero value is the production setting.
// Tests shrink the chunk and the worker count to exercise chunk boundaries.
type engineConfig struct {
	chunk   int // bytes read per chunk (lines are never split across chunks)
	workers int
	// raw hands emit each record's line as written, "\n" included (a copy).
	raw bool
	// from resumes the chain after a record already checked: rd starts
	// right after that record's line, and line numbers continue from it.
	from *chainPoint
	// watch, when set, notes the record with watch.seq (VerifyHead).
	watch *headWatch
}

// emitFunc receives the valid records in order.
type emitFunc func(e *emitted) error

// emitted is one valid record as the engine hands it on.
type emitted struct {
	line int
	rec  *Record
	raw  []byte // nil unless engineConfig.raw
	end  int64  // offset in the input just after the line's "\n"
}

// headWatch is what the engine found at one seq.
type headWatch struct {
	seq   uint64
	found bool
	line  int
	hash  hexSum
}

const defaultChunk = 1 << 20

// chunk is a run of whole lines handed to one worker.
type chunk struct {
	buf   []byte // backing buffer, recycled with infos
	off   int64  // offset of data in the input
	data  []byte // whole lines; in the final chunk the last may lack "\n"
	infos []lineInfo
	last  tornSum // sha256 and length of the last line in data
	long  bool    // a line longer than maxLineBytes starts after data; reading stopped
	err   error   // read error after the lines in data
	done  chan struct{}
}

// run is Verify's and Scan's engine: a reader cuts the input into chunks of
// whole lines, workers check lines on their own (hash, JSON, HMAC, the
// fields by position), and this goroutine walks the results in order to
// check the chain and find the first bad line, so the answer is exact
// however the work was split.
func run(rd io.Reader, key []byte, fn emitFunc, cfg engineConfig) (Report, error) {
	if cfg.chunk <= 0 {
		cfg.chunk = defaultChunk
	}
	if cfg.workers <= 0 {
		cfg.workers = runtime.GOMAXPROCS(0)
	}
	stop := make(chan struct{})
	work := make(chan *chunk)
	order := make(chan *chunk, 2*cfg.workers)
	free := make(chan *chunk, 2*cfg.workers+2)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(order)
		defer close(work)
		readChunks(rd, cfg.chunk, free, func(c *chunk) bool {
			select {
			case order <- c:
			case <-stop:
				return false
			}
			select {
			case work <- c:
				return true
			case <-stop:
				close(c.done)
				return false
			}
		})
	}()
	for range cfg.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ck := newChecker(key, fn != nil)
			for c := range work {
				checkChunk(ck, c, cfg.raw && fn != nil)
				close(c.done)
			}
		}()
	}

	s := sequencer{fn: fn, watch: cfg.watch}
	s.last.hash, s.before.hash = zeroHex, zeroHex
	if f := cfg.from; f != nil {
		s.last, s.line, s.floor = *f, f.line, f.line
	}
	s.rep.HMACChecked = key != nil
	var err error
	stopped := false
	for c := range order {
		<-c.done
		if !stopped {
			err = s.chunk(c)
			if err != nil || s.rep.FirstBad != nil {
				stopped = true
				close(stop) // then drain, so the reader and workers finish
				continue
			}
		}
		c.data, c.err = nil, nil
		select {
		case free <- c:
		default:
		}
	}
	wg.Wait()
	if err == nil && s.rep.FirstBad == nil && s.pending != nil {
		s.fail(s.pendLine, s.pending.reason) // a broken last line nothing recovered
	}
	if err == nil && s.fn != nil {
		err = s.flush()
	}
	s.rep.Head = Head{Seq: s.last.seq, Hash: string(s.last.hash[:])}
	return s.rep, err
}

// readChunks reads rd into chunks of whole lines and hands them to emit in
// order until EOF, a read error, or emit returning false.
func readChunks(rd io.Reader, size int, free chan *chunk, emit func(*chunk) bool) {
	// Buffers start small and double up to size, so a small ledger costs
	// little while a big one is read in big chunks.
	next := min(size, 64<<10)
	get := func() *chunk {
		select {
		case c := <-free:
			c.done = make(chan struct{})
			return c
		default:
			b := make([]byte, next)
			next = min(2*next, size)
			return &chunk{buf: b, done: make(chan struct{})}
		}
	}
	c := get()
	carry := 0
	var off int64 // input offset of c.buf[0]
	for {
		n, err := io.ReadFull(rd, c.buf[carry:])
		end := carry + n
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			if end > 0 {
				c.data, c.off = c.buf[:end], off
				emit(c)
			}
			return
		case err != nil:
			// Check the whole lines read so far, then report the error.
			c.data = c.buf[:bytes.LastIndexByte(c.buf[:end], '\n')+1]
			c.off, c.err = off, err
			emit(c)
			return
		}
		cut := bytes.LastIndexByte(c.buf[:end], '\n') + 1
		if cut == 0 {
			// One line fills the buffer: grow it, up to the line limit.
			if len(c.buf) > maxLineBytes {
				c.data, c.off, c.long = c.buf[:0], off, true
				emit(c)
				return
			}
			bigger := make([]byte, min(2*len(c.buf), maxLineBytes+1))
			copy(bigger, c.buf[:end])
			c.buf = bigger
			carry = end
			continue
		}
		nc := get()
		if len(nc.buf) < 2*(end-cut) {
			nc.buf = make([]byte, max(2*(end-cut), len(nc.buf)))
		}
		carry = copy(nc.buf, c.buf[cut:end])
		c.data, c.off = c.buf[:cut], off
		if !emit(c) {
			return
		}
		c, off = nc, off+int64(cut)
	}
}

// checkChunk checks every line of c. For a ledger.recovered record it also
// hashes the line before it (when that line is in this chunk; the sequencer
// supplies it otherwise from c.last of the chunk before), because the torn
// line a recovery names may happen to be a whole record that lost only its
// "\n".
func checkChunk(ck *checker, c *chunk, keepRaw bool) {
	infos := c.infos[:0]
	data := c.data
	var prev []byte
	pos := c.off
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		line, complete := data, false
		if i >= 0 {
			line, complete, data = data[:i], true, data[i+1:]
		} else {
			data = nil
		}
		infos = append(infos, lineInfo{})
		li := &infos[len(infos)-1]
		ck.check(line, complete, li)
		pos += int64(len(line))
		if complete {
			pos++
		}
		li.end = pos
		if keepRaw && li.kind == lineOK {
			// A copy: the chunk's buffer is reused before a held record is emitted.
			li.raw = append(make([]byte, 0, len(line)+1), line...)
			li.raw = append(li.raw, '\n')
		}
		if li.claim != nil && len(infos) > 1 {
			li.claim.before = &tornSum{sum: sha256.Sum256(prev), n: int64(len(prev))}
		}
		prev = line
	}
	if len(infos) > 0 {
		c.last = tornSum{sum: sha256.Sum256(prev), n: int64(len(prev))}
	}
	c.infos = infos
}

// sequencer walks line results in order and checks what needs order: seq
// and prev against the previous valid record, and torn-line recovery.
type sequencer struct {
	rep       Report
	fn        emitFunc
	watch     *headWatch
	line      int        // lines seen
	floor     int        // the line a resumed run starts after: never retracted
	last      chainPoint // the last valid record (line 0: none)
	before    chainPoint // the valid record before last
	pending   *lineInfo  // a broken line waiting for its recovery record (a copy)
	pendLine  int
	chunkLast tornSum // the last line of the previous chunk
	// Scan's records go to fn one line late, because a ledger.recovered
	// record can show that the record before it was torn after all.
	held emitted // held.rec == nil: nothing held
}

type chainPoint struct {
	line int
	seq  uint64
	hash hexSum
}

func (s *sequencer) chunk(c *chunk) error {
	for i := range c.infos {
		li := &c.infos[i]
		if i == 0 && li.claim != nil && s.line > 0 {
			before := s.chunkLast
			li.claim.before = &before
		}
		if err := s.take(li); err != nil || s.rep.FirstBad != nil {
			return err
		}
	}
	s.chunkLast = c.last
	if c.long {
		s.line++
		s.fail(s.line, fmt.Sprintf("line longer than %d bytes", maxLineBytes))
		return nil
	}
	return c.err
}

func (s *sequencer) fail(line int, reason string) {
	s.rep.FirstBad = &LineError{Line: line, Reason: reason}
}

func (s *sequencer) take(li *lineInfo) error {
	s.line++
	n := s.line
	if p := s.pending; p != nil {
		s.pending = nil
		if why := s.recovers(p, li, n); why != "" {
			s.fail(s.pendLine, p.reason+"; "+why)
			return nil
		}
		s.rep.Recovered = append(s.rep.Recovered, Recovery{TornLine: s.pendLine, RecoveredBySeq: li.seq, Reason: li.claim.reason})
		return s.accept(li, n)
	}
	switch li.kind {
	case lineBroken:
		p := *li
		s.pending, s.pendLine = &p, n
		return nil
	case lineRejected:
		s.fail(n, li.reason)
		return nil
	}
	if li.claim != nil && s.recoversWholeLine(li, n) {
		// Line n-1 verified on its own but had no "\n" when Append found it:
		// it was torn after all, and is not a record.
		s.rep.Records--
		s.last, s.held = s.before, emitted{}
		if w := s.watch; w != nil && w.found && w.line == n-1 {
			w.found = false
		}
		s.rep.Recovered = append(s.rep.Recovered, Recovery{TornLine: n - 1, RecoveredBySeq: li.seq, Reason: li.claim.reason})
		return s.accept(li, n)
	}
	if li.seq != s.last.seq+1 {
		if s.last.line == 0 {
			s.fail(n, fmt.Sprintf("first record has seq %d, want 1", li.seq))
		} else {
			s.fail(n, fmt.Sprintf("seq %d follows %d", li.seq, s.last.seq))
		}
		return nil
	}
	if li.prev != s.last.hash {
		if s.last.line == 0 {
			s.fail(n, "prev of the first record is not the zero hash")
		} else {
			s.fail(n, fmt.Sprintf("prev does not match line %d's hash", s.last.line))
		}
		return nil
	}
	if li.claim != nil {
		s.fail(n, "ledger.recovered record does not follow a torn line")
		return nil
	}
	return s.accept(li, n)
}

// recovers says why li (at line n) does not account for the broken line p,
// or "" when it does.
func (s *sequencer) recovers(p, li *lineInfo, n int) string {
	switch {
	case li.kind != lineOK:
		return fmt.Sprintf("line %d, next, is no valid ledger.recovered record (%s)", n, li.reason)
	case li.claim == nil:
		return fmt.Sprintf("line %d, next, is no ledger.recovered record", n)
	case li.claim.problem != "":
		return fmt.Sprintf("line %d's ledger.recovered record is unusable: %s", n, li.claim.problem)
	case li.claim.line != s.pendLine:
		return fmt.Sprintf("line %d's ledger.recovered record names line %d", n, li.claim.line)
	case li.claim.sum != p.torn.sum || li.claim.n != p.torn.n:
		return fmt.Sprintf("line %d's ledger.recovered record names other bytes (sha256 or length differ)", n)
	case li.seq != s.last.seq+1:
		return fmt.Sprintf("line %d's ledger.recovered record has seq %d, want %d", n, li.seq, s.last.seq+1)
	case li.prev != s.last.hash:
		return fmt.Sprintf("line %d's ledger.recovered record does not chain to %s", n, lineRef(s.last.line))
	}
	return ""
}

// recoversWholeLine reports whether the recovery record li (line n) names
// the valid-looking line just before it and chains past it.
func (s *sequencer) recoversWholeLine(li *lineInfo, n int) bool {
	cl := li.claim
	return cl.problem == "" && cl.line == n-1 && n-1 > s.floor && s.last.line == n-1 && cl.before != nil &&
		cl.before.sum == cl.sum && cl.before.n == cl.n &&
		li.seq == s.before.seq+1 && li.prev == s.before.hash
}

func (s *sequencer) accept(li *lineInfo, n int) error {
	s.rep.Records++
	s.before, s.last = s.last, chainPoint{line: n, seq: li.seq, hash: li.hash}
	if w := s.watch; w != nil && li.seq == w.seq {
		w.found, w.line, w.hash = true, n, li.hash
	}
	if s.fn == nil {
		return nil
	}
	err := s.flush()
	s.held = emitted{line: n, rec: li.rec, raw: li.raw, end: li.end}
	return err
}

// flush hands the held record to fn.
func (s *sequencer) flush() error {
	if s.held.rec == nil {
		return nil
	}
	e := s.held
	s.held = emitted{}
	return s.fn(&e)
}
