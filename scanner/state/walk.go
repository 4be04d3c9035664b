package state

import (
	"encoding/json"
	"errors"
	"fmt"
)

// walker checks one JSON value in full, in a single pass over the bytes
// (RFC 8259: structure, string escapes and control characters, literals,
// numbers, nesting depth), and records where the members of the objects
// the state reader looks into are. Nothing is copied or decoded on the way:
// the reader then turns only the few members it needs into Go strings.
//
// Every index is bounds-checked, so a walk never panics whatever it is
// given. Running out of bytes is errShort when more input may follow (the
// lexer then reads more and walks the value again from its start), and a
// syntax error when the buffer is all there is (final).
type walker struct {
	b     []byte
	i     int
	depth int
	final bool
}

// span is where a value (or an object key) lies in the walked bytes:
// b[start:end], a string with its quotes. esc says a string holds escapes
// (and must be decoded rather than sliced).
type span struct {
	start, end int32
	esc        bool
}

func (s span) empty() bool { return s.end <= s.start }

// of is the span's bytes in b.
func (s span) of(b []byte) []byte { return b[s.start:s.end] }

// member is one member of an object.
type member struct{ key, val span }

// maxDepth bounds nesting, as encoding/json does; it also bounds the
// walker's recursion.
const maxDepth = 10000

var errShort = errors.New("the value continues past the bytes read so far")

// walkError is a syntax error at an offset of the walked bytes.
type walkError struct {
	off int
	msg string
}

func (e *walkError) Error() string { return e.msg }

func (w *walker) fail(at int, format string, args ...any) error {
	return &walkError{off: at, msg: fmt.Sprintf(format, args...)}
}

// short is what running out of bytes means.
func (w *walker) short() error {
	if w.final {
		return w.fail(len(w.b), "unexpected end of JSON input")
	}
	return errShort
}

// plain marks the bytes a string may hold as they are: all but '"', '\\'
// and the control characters. The string loop is where a state's bytes go
// by, so it is one table look-up per byte.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (w *walker) ws() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\n', '\r', '\t':
			w.i++
		default:
			return
		}
	}
}

// str walks the string at w.b[w.i] == '"'.
func (w *walker) str() (esc bool, err error) {
	b := w.b
	i := w.i + 1
	for {
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i >= len(b) {
			return false, w.short()
		}
		switch b[i] {
		case '"':
			w.i = i + 1
			return esc, nil
		case '\\':
			esc = true
			if i+1 >= len(b) {
				return false, w.short()
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= len(b) {
						return false, w.short()
					}
					if !isHex(b[k]) {
						return false, w.fail(k, "invalid \\u escape in a string")
					}
				}
				i += 6
			default:
				return false, w.fail(i+1, "invalid escape %q in a string", "\\"+string(b[i+1]))
			}
		default:
			return false, w.fail(i, "control character in a string")
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// value walks any value, after optional whitespace.
func (w *walker) value() error {
	w.ws()
	if w.i >= len(w.b) {
		return w.short()
	}
	switch c := w.b[w.i]; {
	case c == '"':
		_, err := w.str()
		return err
	case c == '{':
		return w.object(nil, "", nil)
	case c == '[':
		return w.array()
	case c == 't':
		return w.lit("true")
	case c == 'f':
		return w.lit("false")
	case c == 'n':
		return w.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return w.num()
	case c == '}' || c == ']':
		return w.fail(w.i, "unbalanced %q where a value should be", c)
	default:
		return w.fail(w.i, "invalid character %q looking for a value", c)
	}
}

func (w *walker) lit(want string) error {
	have := w.b[w.i:]
	n := min(len(have), len(want))
	if string(have[:n]) != want[:n] {
		return w.fail(w.i, "invalid literal (want %s)", want)
	}
	if n < len(want) {
		return w.short()
	}
	w.i += len(want)
	return nil
}

// num walks a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (w *walker) num() error {
	b, i := w.b, w.i
	digits := func() (int, error) { // at least one digit from i
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == i {
			if j >= len(b) {
				return j, w.short()
			}
			return j, w.fail(j, "invalid number: want a digit, found %q", b[j])
		}
		return j, nil
	}
	var err error
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return w.short()
	case b[i] == '0':
		i++
	default:
		if i, err = digits(); err != nil {
			return err
		}
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i, err = digits(); err != nil {
			return err
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i, err = digits(); err != nil {
			return err
		}
	}
	if i >= len(b) && !w.final {
		return errShort // the number may go on
	}
	w.i = i
	return nil
}

func (w *walker) array() error {
	if w.depth++; w.depth > maxDepth {
		return w.fail(w.i, "nested more than %d deep", maxDepth)
	}
	w.i++ // '['
	w.ws()
	if w.i >= len(w.b) {
		return w.short()
	}
	if w.b[w.i] == ']' {
		w.i++
		w.depth--
		return nil
	}
	for {
		if err := w.value(); err != nil {
			return err
		}
		w.ws()
		if w.i >= len(w.b) {
			return w.short()
		}
		switch w.b[w.i] {
		case ',':
			w.i++
			w.ws()
			if w.i < len(w.b) && w.b[w.i] == ']' {
				return w.fail(w.i, "trailing comma before ']'")
			}
		case ']':
			w.i++
			w.depth--
			return nil
		default:
			return w.fail(w.i, "want ',' or ']' after an array element, found %q", w.b[w.i])
		}
	}
}

// object walks the object at w.b[w.i] == '{'. When top is not nil it
// receives the object's members in order (duplicates included: the last
// one counts, as with encoding/json). When nested is not nil and a member
// named nestedKey holds an object, nested receives that object's members
// (those of the last such member).
func (w *walker) object(top *[]member, nestedKey string, nested *[]member) error {
	if w.depth++; w.depth > maxDepth {
		return w.fail(w.i, "nested more than %d deep", maxDepth)
	}
	b := w.b
	var ms []member // appended to locally: a slice behind a pointer is slower
	if top != nil {
		ms = *top
	}
	w.i++ // '{'
	w.ws()
	if w.i >= len(b) {
		return w.short()
	}
	if b[w.i] == '}' {
		w.i++
		w.depth--
		return nil
	}
	for {
		if b[w.i] != '"' {
			return w.fail(w.i, "want an object key, found %q", b[w.i])
		}
		ks := w.i
		kesc, err := w.str()
		if err != nil {
			return err
		}
		key := span{int32(ks), int32(w.i), kesc}
		w.ws()
		if w.i >= len(b) {
			return w.short()
		}
		if b[w.i] != ':' {
			return w.fail(w.i, "want ':' after an object key, found %q", b[w.i])
		}
		w.i++
		w.ws()
		if w.i >= len(b) {
			return w.short()
		}
		vs := w.i
		var vesc bool
		switch {
		case b[vs] == '"':
			vesc, err = w.str()
		case b[vs] == '{' && nested != nil && keyIs(b, key, nestedKey):
			*nested = (*nested)[:0]
			err = w.object(nested, "", nil)
		default:
			err = w.value()
		}
		if err != nil {
			return err
		}
		if top != nil {
			ms = append(ms, member{key, span{int32(vs), int32(w.i), vesc}})
		}
		w.ws()
		if w.i >= len(b) {
			return w.short()
		}
		switch b[w.i] {
		case ',':
			w.i++
			w.ws()
			if w.i >= len(b) {
				return w.short()
			}
			if b[w.i] == '}' {
				return w.fail(w.i, "trailing comma before '}'")
			}
		case '}':
			w.i++
			w.depth--
			if top != nil {
				*top = ms
			}
			return nil
		default:
			return w.fail(w.i, "want ',' or '}' after an object member, found %q", b[w.i])
		}
	}
}

// keyIs reports whether the key (a walked string) is name.
func keyIs(b []byte, key span, name string) bool {
	if !key.esc {
		return string(b[key.start+1:key.end-1]) == name
	}
	var s string
	return json.Unmarshal(b[key.start:key.end], &s) == nil && s == name
}

// keyText is a walked key as text; escapes are decoded.
func keyText(b []byte, key span) string {
	if !key.esc {
		return string(b[key.start+1 : key.end-1])
	}
	var s string
	if json.Unmarshal(b[key.start:key.end], &s) != nil {
		return string(b[key.start:key.end])
	}
	return s
}

// find returns the last member named name.
func find(b []byte, ms []member, name string) (span, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if keyIs(b, ms[i].key, name) {
			return ms[i].val, true
		}
	}
	return span{}, false
}

// walkObject walks a complete value (nothing more will come) that should
// be an object, as the lexer's Object does.
func walkObject(b []byte, top *[]member, nestedKey string, nested *[]member) error {
	w := walker{b: b, final: true}
	w.ws()
	if w.i >= len(b) || b[w.i] != '{' {
		return errNotObject
	}
	*top = (*top)[:0]
	if nested != nil {
		*nested = (*nested)[:0]
	}
	if err := w.object(top, nestedKey, nested); err != nil {
		return err
	}
	w.ws()
	if w.i != len(b) {
		return errors.New("data after the value")
	}
	return nil
}

var errNotObject = errors.New("not an object")
