package state

import (
	"errors"
	"sync/atomic"
)

// A state is read by two goroutines at once. One (the decoder) reads the
// file, checks all of it and walks each instance of a sunset resource,
// recording where its members lie; the other (the emitter) turns what was
// walked into declarations and hands them to the Visitor, in file order.
// The decoder passes items on in batches, and the bytes they point into
// stay where they are: the lexer never moves or overwrites what it has
// read but carries on in another buffer (lexer.handoff), and the emitter
// gives each buffer back once it is done with every item in it.
//
// The first error in file order is the one returned. An error of the
// emitter (or of the Visitor) is about an item the decoder read before
// whatever it stopped at, so it wins; the decoder stops at its next batch.

// item is one walked instance of a raw state (mode, module, typ, name:
// its resource) or one resource of `terraform show -json` (show; module:
// the module's address; name: what names it in errors). Its members and
// attributes' members are top and attrs of its batch; b is what they index.
type item struct {
	show                    bool
	mode, module, typ, name string
	b                       []byte
	top, attrs              [2]int // ranges of the batch's top and attrs
	off                     int64  // the stream offset after it, for errors
}

// batch is items in file order, with their members.
type batch struct {
	items      []item
	top, attrs []member
	// buf, when set, is a lexer buffer that no later batch points into:
	// it is given back once the batch is emitted.
	buf []byte
}

const batchItems = 512

// errStopped stops the decoder once the emitter has failed.
var errStopped = errors.New("stopped: the emitter failed")

// add appends the walked item whose members start at top[t0] and
// attrs[a0], and passes the batch on when it is full.
func (d *decoder) add(it item, t0, a0 int) error {
	it.top = [2]int{t0, len(d.top)}
	it.attrs = [2]int{a0, len(d.attrs)}
	it.off = d.dec.InputOffset()
	d.items = append(d.items, it)
	if len(d.items) >= batchItems {
		return d.push()
	}
	return nil
}

// pipeline reads the document with the decoder on this goroutine and the
// emitter on another.
func pipeline(l *lexer, e *emitter) (Form, error) {
	full := make(chan *batch, 2)
	free := make(chan *batch, 4)
	bufs := make(chan []byte, 2)
	var failed atomic.Bool
	var emitErr error
	var emitForm Form
	var panicked any // a Visitor's panic, raised again on the caller's goroutine
	emitBatch := func(b *batch) {
		defer func() {
			if p := recover(); p != nil {
				panicked = p
				failed.Store(true)
			}
		}()
		for i := range b.items {
			it := &b.items[i]
			e.top, e.attrs, e.off = b.top[it.top[0]:it.top[1]], b.attrs[it.attrs[0]:it.attrs[1]], it.off
			var err error
			if it.show {
				err = e.showResource(it.name, it.module, it.b)
			} else {
				err = e.instance(it.mode, it.module, it.typ, it.name, it.b)
			}
			if err != nil {
				emitErr, emitForm = err, FormRaw
				if it.show {
					emitForm = FormShowJSON
				}
				failed.Store(true)
				return
			}
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range full {
			if !failed.Load() {
				emitBatch(b)
			}
			clear(b.items) // let go of the buffers and strings
			if b.buf != nil {
				select {
				case bufs <- b.buf[:0]:
				default: // enough spare buffers
				}
			}
			b.items, b.top, b.attrs, b.buf = b.items[:0], b.top[:0], b.attrs[:0], nil
			select {
			case free <- b:
			default:
			}
		}
	}()
	d := &decoder{dec: l}
	send := func(buf []byte) error {
		b := &batch{}
		select {
		case b = <-free:
		default:
		}
		// The filled slices go with the batch; the decoder goes on in the
		// recycled batch's.
		b.items, d.items = d.items, b.items
		b.top, d.top = d.top, b.top
		b.attrs, d.attrs = d.attrs, b.attrs
		b.buf = buf
		full <- b
		if failed.Load() {
			return errStopped
		}
		return nil
	}
	d.push = func() error { return send(nil) }
	l.handoff = func(old []byte, size int) ([]byte, error) {
		// Every item so far points into old, or into bytes of its own.
		if err := send(old); err != nil {
			return nil, err
		}
		// A buffer given back, or a new one. Buffers in use are bounded
		// by the batches queued (full): the lexer's, those queued, the
		// emitter's, and the spare ones in bufs.
		select {
		case nb := <-bufs:
			if cap(nb) >= size {
				return nb, nil
			}
		default:
		}
		return make([]byte, 0, size), nil
	}
	form, err := d.document()
	if len(d.items) > 0 && !errors.Is(err, errStopped) {
		if serr := send(nil); serr != nil && err == nil {
			err = serr
		}
	}
	close(full)
	<-done
	if panicked != nil {
		panic(panicked)
	}
	if emitErr != nil {
		return emitForm, emitErr
	}
	return form, err
}
