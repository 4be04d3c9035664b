package evidence

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// KeyEnv names the environment variable that holds the optional HMAC key.
const KeyEnv = "SUNSET_EVIDENCE_KEY"

// KeyFromEnv returns the HMAC key from SUNSET_EVIDENCE_KEY, or nil when the
// variable is unset or empty.
func KeyFromEnv() []byte {
	v := os.Getenv(KeyEnv)
	if v == "" {
		return nil
	}
	return []byte(v)
}

// Options configures a Ledger.
type Options struct {
	// Key, when not nil, adds an HMAC-SHA256 of each record's body, so that
	// records cannot be forged (nor the chain rewritten) without the key.
	Key []byte
	// Now is the clock for Record.Time when a record has none; nil means time.Now.
	Now func() time.Time
	// OnRecovery, when set, is called after an Append that found a torn or
	// corrupt last line and wrote a ledger.recovered record for it, with that
	// record, so the caller can warn. It runs after the locks are released.
	OnRecovery func(Record)
}

// String keeps the key out of logs and errors.
func (o Options) String() string {
	return fmt.Sprintf("evidence.Options{Key: %s, Now: %t, OnRecovery: %t}", keyState(o.Key), o.Now != nil, o.OnRecovery != nil)
}

// GoString keeps the key out of %#v.
func (o Options) GoString() string { return o.String() }

func keyState(k []byte) string {
	if k == nil {
		return "none"
	}
	return "[redacted]"
}

// Ledger appends records to one ledger file. It is safe for concurrent use
// by goroutines, and several processes (or Ledgers) may append to the same
// file at once: every Append runs under an in-process lock and an OS file
// lock. The file is opened per Append, not held open.
type Ledger struct {
	path       string
	lockPath   string
	key        []byte
	now        func() time.Time
	onRecovery func(Record)
	sem        chan struct{} // in-process lock, shared by every Ledger on the same path
}

// lockPath is the sibling file that carries the OS lock. The lock is not
// taken on the ledger itself because on Windows LockFileEx locks are
// mandatory byte-range locks: they would stop our own write through a second
// handle and every concurrent reader (a scan, a verify). A separate file
// also survives nothing being written yet and holds no data, so it never
// needs fsync. Do not delete it while sunset may be running.
func lockPath(ledger string) string { return ledger + ".lock" }

// pathSems gives every Ledger on one path the same in-process lock, so that
// two Ledgers in one process serialize even where the OS lock is per process
// (fcntl-based platforms) rather than per open file.
var pathSems sync.Map

func semFor(path string) chan struct{} {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = filepath.Clean(path)
	}
	v, _ := pathSems.LoadOrStore(abs, make(chan struct{}, 1))
	return v.(chan struct{})
}

// Open returns a Ledger for path. The file is created by the first Append;
// its directory must already exist.
func Open(path string, opts Options) (*Ledger, error) {
	if path == "" {
		return nil, errors.New("evidence: the ledger path is empty")
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("evidence: ledger %q: its directory cannot be used: %w", path, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("evidence: ledger %q: %q is not a directory", path, dir)
	}
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("evidence: ledger %q is not a regular file", path)
	}
	l := &Ledger{
		path:       path,
		lockPath:   lockPath(path),
		now:        opts.Now,
		onRecovery: opts.OnRecovery,
		sem:        semFor(path),
	}
	if opts.Key != nil {
		l.key = append([]byte{}, opts.Key...)
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l, nil
}

// Path is the ledger file's path as given to Open.
func (l *Ledger) Path() string { return l.path }

// String names the ledger without its key.
func (l *Ledger) String() string {
	return fmt.Sprintf("evidence.Ledger{%q, key: %s}", l.path, keyState(l.key))
}

// GoString keeps the key out of %#v.
func (l *Ledger) GoString() string { return l.String() }

// Append writes r as the next record and returns it as written: Seq, Prev,
// Hash and HMAC filled, Time set from the clock when zero and in UTC.
//
// Under the locks it reads only the tail of the file to find the last
// record. A last line that is torn (no "\n") or does not verify on its own
// (not a record, wrong hash, not JSON) is not trusted and does not block:
// Append ends it with "\n" if needed and first writes a ledger.recovered
// record naming it, chained to the last valid record, then r. Everything is
// written with one write call and fsynced (and the directory too when the
// file is new).
//
// r must hold no secrets; see Record. ctx bounds the wait for the locks;
// once writing starts it runs to the end.
func (l *Ledger) Append(ctx context.Context, r Record) (Record, error) {
	switch r.Event {
	case "":
		return Record{}, errors.New("evidence: record has no event")
	case EventLedgerRecovered:
		return Record{}, errors.New("evidence: ledger.recovered records are written by the ledger only")
	}
	if err := ctx.Err(); err != nil {
		return Record{}, fmt.Errorf("evidence: append to %q: %w", l.path, err)
	}
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return Record{}, fmt.Errorf("evidence: append to %q: %w", l.path, ctx.Err())
	}
	lk, err := lockFile(ctx, l.lockPath)
	if err != nil {
		<-l.sem
		return Record{}, fmt.Errorf("evidence: append to %q: lock %q: %w", l.path, l.lockPath, err)
	}
	out, recovered, err := l.appendLocked(r)
	uerr := lk.Unlock()
	<-l.sem
	if err != nil {
		return Record{}, fmt.Errorf("evidence: append to %q: %w", l.path, err)
	}
	if uerr != nil {
		return out, fmt.Errorf("evidence: append to %q: record %d written, but unlocking %q failed: %w", l.path, out.Seq, l.lockPath, uerr)
	}
	if recovered != nil && l.onRecovery != nil {
		l.onRecovery(*recovered)
	}
	return out, nil
}

// lockFile takes the OS lock, waiting in the kernel (fair, no polling) but
// giving up when ctx ends.
func lockFile(ctx context.Context, path string) (*flock.Flock, error) {
	lk := flock.New(path)
	ok, err := lk.TryLock()
	if err != nil {
		return nil, err
	}
	if ok {
		return lk, nil
	}
	got := make(chan error, 1)
	go func() { got <- lk.Lock() }()
	select {
	case err := <-got:
		if err != nil {
			return nil, err
		}
		return lk, nil
	case <-ctx.Done():
		// The kernel wait cannot be cancelled: release the lock when it comes.
		go func() {
			if <-got == nil {
				lk.Unlock()
			}
		}()
		return nil, ctx.Err()
	}
}

// appendLocked does the work of Append; the caller holds both locks.
func (l *Ledger) appendLocked(r Record) (Record, *Record, error) {
	f, created, err := openForAppend(l.path)
	if err != nil {
		return Record{}, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Record{}, nil, err
	}
	size := st.Size()
	tail, err := readTail(f, size)
	if err != nil {
		return Record{}, nil, fmt.Errorf("read the last record: %w", err)
	}

	now := l.now().UTC()
	prev, seq := tail.hash, tail.seq
	var buf []byte
	var recovered *Record
	if t := tail.torn; t != nil {
		rr := Record{
			Seq: seq + 1, Time: now, Event: EventLedgerRecovered,
			Actor: r.Actor, Run: r.Run,
			Details: recoveryDetails(t.line, t.sum, t.reason),
		}
		line, sum, mac, err := encodeLine(&rr, prev, l.key)
		if err != nil {
			return Record{}, nil, err
		}
		if !t.terminated {
			buf = append(buf, '\n')
		}
		buf = append(buf, line...)
		rr.Prev, rr.Hash, rr.HMAC = hex.EncodeToString(prev[:]), hex.EncodeToString(sum[:]), mac
		prev, seq, recovered = sum, seq+1, &rr
	}

	r.Seq = seq + 1
	if r.Time.IsZero() {
		r.Time = now
	} else {
		r.Time = r.Time.UTC()
	}
	line, sum, mac, err := encodeLine(&r, prev, l.key)
	if err != nil {
		return Record{}, nil, err
	}
	buf = append(buf, line...)
	r.Prev, r.Hash, r.HMAC = hex.EncodeToString(prev[:]), hex.EncodeToString(sum[:]), mac

	if n, err := f.Write(buf); err != nil {
		if n > 0 {
			// We hold the lock, so the bytes after size are ours: take the
			// partial write back rather than leave a torn line.
			if terr := f.Truncate(size); terr != nil {
				return Record{}, nil, fmt.Errorf("write: %w (and removing the partial write failed: %v)", err, terr)
			}
		}
		return Record{}, nil, fmt.Errorf("write: %w", err)
	}
	if err := f.Sync(); err != nil {
		return Record{}, nil, fmt.Errorf("fsync: %w", err)
	}
	if created || size == 0 {
		if err := syncDir(filepath.Dir(l.path)); err != nil {
			return Record{}, nil, fmt.Errorf("fsync the directory: %w", err)
		}
	}
	return r, recovered, nil
}

// openForAppend opens the ledger for appending (and reading its tail),
// creating it owner-only when missing and saying whether it did.
func openForAppend(path string) (*os.File, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if !errors.Is(err, fs.ErrNotExist) {
		return f, false, err
	}
	f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	return f, err == nil, err
}

// syncDir makes a new file's directory entry durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be fsynced there; NTFS journals the entry
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
