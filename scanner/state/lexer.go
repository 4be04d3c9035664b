package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// lexer reads JSON tokens and values from a stream, like json.Decoder's
// Token, More and Decode, many times faster on large states. The top of a
// state (its keys, the resources' names) goes through Token and Decode;
// the instances, and every value skipped, go through Object and Skip, which
// walk the value once, in place in the buffer (walk.go), checking it in
// full without copying it. Structure (objects, arrays, separators) is
// checked as strictly as json.Decoder does.
type lexer struct {
	r     io.Reader
	buf   []byte
	pos   int   // next unread byte in buf
	base  int64 // stream offset of buf[0]
	eof   bool
	rerr  error
	stack []level
	// handoff, when set, is given the buffer whenever more input is
	// needed, and returns an empty one of at least size bytes to go on
	// in: the bytes already read are never moved or overwritten, so that
	// another goroutine may still be decoding them (see pipeline.go).
	handoff func(old []byte, size int) ([]byte, error)
	// topAt and nestedAt are where the last Object's members start in top
	// and nested.
	topAt, nestedAt int
	keys            keyCache
}

type level struct {
	obj        bool
	expectKey  bool // object: the next token is a key (or '}')
	afterKey   bool // object: a key was read; ':' then a value follow
	afterValue bool // a member or element is complete; ',' or the close follows
	afterComma bool // a ',' was read; a close now is a trailing comma
}

// maxValueBytes bounds one raw value held in memory at once.
const maxValueBytes = 512 << 20

// newLexer reads r through a buffer of size bytes to begin with; it grows
// only for a single value larger than that.
func newLexer(r io.Reader, size int) *lexer { return &lexer{r: r, buf: make([]byte, 0, size)} }

// InputOffset is the stream offset of the next unread byte.
func (l *lexer) InputOffset() int64 { return l.base + int64(l.pos) }

// more reads more input into buf, keeping buf[l.pos:]. keep is an index
// into buf that must stay valid (it is shifted along); it returns the
// shifted keep.
func (l *lexer) more(keep int) (int, error) {
	if l.eof {
		if l.rerr != nil {
			return keep, l.rerr
		}
		return keep, io.ErrUnexpectedEOF
	}
	switch {
	case l.handoff != nil && keep > 0 && len(l.buf) == cap(l.buf):
		// Bytes before keep may be in use: carry what is kept over into
		// another buffer, twice the size when it fills half of this one
		// (a value larger than the buffer).
		size := cap(l.buf)
		if len(l.buf)-keep >= size/2 {
			size *= 2
		}
		if size > maxValueBytes {
			return keep, fmt.Errorf("a single JSON value is larger than %d MiB", maxValueBytes>>20)
		}
		nb, err := l.handoff(l.buf, size)
		if err != nil {
			// For good: the buffer was handed over, it must not be again.
			l.eof, l.rerr = true, err
			return keep, err
		}
		nb = append(nb[:0], l.buf[keep:]...)
		l.base += int64(keep)
		l.pos -= keep
		l.buf = nb
		keep = 0
	case l.handoff == nil && keep > 0 && keep >= len(l.buf)/2:
		n := copy(l.buf, l.buf[keep:])
		l.base += int64(keep)
		l.buf = l.buf[:n]
		l.pos -= keep
		keep = 0
	}
	if len(l.buf) == cap(l.buf) {
		if cap(l.buf) >= maxValueBytes {
			return keep, fmt.Errorf("a single JSON value is larger than %d MiB", maxValueBytes>>20)
		}
		nb := make([]byte, len(l.buf), 2*cap(l.buf))
		copy(nb, l.buf)
		l.buf = nb
	}
	n, err := l.r.Read(l.buf[len(l.buf):cap(l.buf)])
	l.buf = l.buf[:len(l.buf)+n]
	if err != nil {
		l.eof = true
		if !errors.Is(err, io.EOF) {
			l.rerr = err
		}
		if n == 0 {
			return l.more(keep)
		}
	}
	return keep, nil
}

// peek skips whitespace and returns the next byte.
func (l *lexer) peek() (byte, error) {
	for {
		for l.pos < len(l.buf) {
			switch c := l.buf[l.pos]; c {
			case ' ', '\n', '\r', '\t':
				l.pos++
			default:
				return c, nil
			}
		}
		if _, err := l.more(l.pos); err != nil {
			return 0, err
		}
	}
}

func (l *lexer) top() *level {
	if len(l.stack) == 0 {
		return nil
	}
	return &l.stack[len(l.stack)-1]
}

// prep consumes the separator due before the next token.
func (l *lexer) prep() (byte, error) {
	c, err := l.peek()
	if err != nil {
		return 0, err
	}
	t := l.top()
	if t == nil {
		return c, nil
	}
	switch {
	case t.obj && t.afterKey:
		if c != ':' {
			return 0, l.syntax("want ':' after an object key, found %q", c)
		}
		l.pos++
		t.afterKey = false
		return l.peek()
	case t.afterValue:
		switch {
		case c == ',':
			l.pos++
			t.afterValue, t.afterComma = false, true
			if t.obj {
				t.expectKey = true
			}
			return l.peek()
		case (t.obj && c == '}') || (!t.obj && c == ']'):
			return c, nil
		}
		return 0, l.syntax("want ',' or a close after a value, found %q", c)
	}
	return c, nil
}

func (l *lexer) syntax(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at byte %d: %s", l.InputOffset(), fmt.Sprintf(format, args...))
}

// valueDone marks the value in the current container complete.
func (l *lexer) valueDone() {
	if t := l.top(); t != nil {
		t.afterValue, t.afterComma = true, false
	}
}

// More reports whether the current object or array has another member.
func (l *lexer) More() bool {
	c, err := l.prep()
	return err == nil && c != ']' && c != '}'
}

// Token returns the next token: json.Delim, string, json.Number, bool or nil.
func (l *lexer) Token() (json.Token, error) {
	c, err := l.prep()
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) && len(l.stack) == 0 {
			return nil, io.EOF
		}
		return nil, err
	}
	t := l.top()
	switch c {
	case '{', '[':
		if t != nil && t.obj && t.expectKey {
			return nil, l.syntax("want an object key, found %q", c)
		}
		l.pos++
		l.stack = append(l.stack, level{obj: c == '{', expectKey: c == '{'})
		return json.Delim(c), nil
	case '}', ']':
		if t == nil || t.obj != (c == '}') {
			return nil, l.syntax("unexpected %q", c)
		}
		if t.afterComma {
			return nil, l.syntax("trailing comma before %q", c)
		}
		l.pos++
		l.stack = l.stack[:len(l.stack)-1]
		l.valueDone()
		return json.Delim(c), nil
	}
	raw, err := l.raw()
	if err != nil {
		return nil, err
	}
	if t != nil && t.obj && t.expectKey {
		if raw[0] != '"' {
			return nil, l.syntax("want an object key, found %.20s", raw)
		}
		s, _, err := stringValue(raw)
		if err != nil {
			return nil, l.syntax("%v", err)
		}
		t.expectKey, t.afterKey, t.afterComma = false, true, false
		return s, nil
	}
	l.valueDone()
	switch raw[0] {
	case '"':
		s, _, err := stringValue(raw)
		return s, err
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case 'n':
		return nil, nil
	}
	return json.Number(raw), nil
}

// Decode reads the next value into v; a *json.RawMessage gets the raw bytes.
func (l *lexer) Decode(v any) error {
	c, err := l.prep()
	if err != nil {
		return err
	}
	if t := l.top(); t != nil && t.obj && t.expectKey {
		return l.syntax("want an object key, found %q", c)
	}
	if c == '}' || c == ']' {
		return l.syntax("want a value, found %q", c)
	}
	raw, err := l.raw()
	if err != nil {
		return err
	}
	l.valueDone()
	if rm, ok := v.(*json.RawMessage); ok {
		*rm = append((*rm)[:0], raw...)
		return nil
	}
	return json.Unmarshal(raw, v)
}

// Object reads the next value, which must be an object, checking it in
// full in one pass (walker), and appends its members to top and, when a
// member named nestedKey holds an object, that object's members to nested
// (see walker.object). Spans index Bytes() and are valid until the next
// read (with a handoff, for as long as the buffer is not reused). A value
// that is not an object is checked, consumed, and refused with
// errNotObject; what was appended is then undefined.
func (l *lexer) Object(top *[]member, nestedKey string, nested *[]member) error {
	c, err := l.prep()
	if err != nil {
		return err
	}
	if c != '{' {
		if err := l.Skip(); err != nil {
			return err
		}
		return errNotObject
	}
	return l.walk(top, nestedKey, nested)
}

// Skip consumes the next value, checked in full, without copying it.
func (l *lexer) Skip() error {
	c, err := l.prep()
	if err != nil {
		return err
	}
	if t := l.top(); t != nil && t.obj && t.expectKey {
		return l.syntax("want an object key, found %q", c)
	}
	if c == '}' || c == ']' {
		return l.syntax("want a value, found %q", c)
	}
	return l.walk(nil, "", nil)
}

// Bytes is the buffer the spans of the last Object index.
func (l *lexer) Bytes() []byte { return l.buf }

// walk walks the value at l.pos (an object into top when top is set, see
// walker.object), reading more input and walking again from the value's
// start while the value goes on past the buffer.
func (l *lexer) walk(top *[]member, nestedKey string, nested *[]member) error {
	var topBase, nestedBase int
	for {
		w := walker{keys: &l.keys}
		var end int
		var err error
		if top != nil {
			topBase = len(*top)
			if nested != nil {
				nestedBase = len(*nested)
			}
			w.nestedBase = nestedBase
			end, err = w.object(l.buf, l.pos, top, nestedKey, nested)
		} else {
			end, err = w.value(l.buf, l.pos)
		}
		if top != nil && err != nil {
			// Walked again from the start, or refused: what this walk
			// appended goes. (A handoff may give top and nested other
			// backing arrays: their lengths are taken again.)
			*top = (*top)[:topBase]
			if nested != nil {
				*nested = (*nested)[:nestedBase]
			}
		}
		if err == errShort {
			// Read until there is at least twice as much of the value as
			// was walked, so that a large value arriving in small reads is
			// walked O(size) times in all, not once per read.
			have := len(l.buf) - l.pos
			for len(l.buf)-l.pos < 2*have {
				if _, err := l.more(l.pos); err != nil {
					if len(l.buf)-l.pos > have {
						break // walk what did arrive: it may be complete
					}
					return err
				}
			}
			continue
		}
		if err != nil {
			if we, ok := err.(*walkError); ok {
				return fmt.Errorf("invalid JSON at byte %d: %s", l.base+int64(we.off), we.msg)
			}
			return err
		}
		l.pos = end
		l.valueDone()
		l.topAt, l.nestedAt = topBase, nestedBase
		return nil
	}
}

// raw cuts the next whole value out of the buffer (reading more as needed)
// and consumes it. The slice is valid until the next read.
func (l *lexer) raw() ([]byte, error) {
	start := l.pos
	j := start
	at := func() (byte, bool, error) {
		for j >= len(l.buf) {
			var err error
			old := start
			if start, err = l.more(start); err != nil {
				return 0, false, err
			}
			j -= old - start
		}
		return l.buf[j], true, nil
	}
	c, _, err := at()
	if err != nil {
		return nil, err
	}
	switch {
	case c == '"' || c == '{' || c == '[':
		// A tight loop over the buffer: this is where a large state's
		// bytes go by.
		var stack []byte
		inStr := false
		for {
			b := l.buf
			for j < len(b) {
				c := b[j]
				if inStr {
					switch {
					case c == '\\':
						j += 2
						continue
					case c == '"':
						inStr = false
						j++
						if len(stack) == 0 {
							goto done
						}
						continue
					case c < 0x20:
						return nil, l.syntax("control character in a string")
					}
					j++
					continue
				}
				switch c {
				case '"':
					inStr = true
				case '{', '[':
					stack = append(stack, c)
				case '}', ']':
					if len(stack) == 0 || (stack[len(stack)-1] == '{') != (c == '}') {
						return nil, l.syntax("unbalanced %q", c)
					}
					stack = stack[:len(stack)-1]
					if len(stack) == 0 {
						j++
						goto done
					}
				}
				j++
			}
			old := start
			if start, err = l.more(start); err != nil {
				return nil, err
			}
			j -= old - start
		}
	done:
		l.pos = j
		return l.buf[start:j], nil
	default:
		for {
			c, _, err := at()
			if errors.Is(err, io.ErrUnexpectedEOF) && j > start {
				break
			}
			if err != nil {
				return nil, err
			}
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == ':' {
				break
			}
			j++
		}
		lit := string(l.buf[start:j])
		switch lit {
		case "true", "false", "null":
		default:
			if _, err := strconv.ParseFloat(lit, 64); err != nil || lit[0] == '+' || lit[0] == '.' || (len(lit) > 1 && lit[0] == '0' && lit[1] != '.' && lit[1] != 'e' && lit[1] != 'E') {
				return nil, l.syntax("invalid literal %.20q", lit)
			}
		}
	}
	l.pos = j
	return l.buf[start:j], nil
}
