package state

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
)

// walker checks one JSON value in full, in a single pass over the bytes
// (RFC 8259: structure, string escapes and control characters, literals,
// numbers, nesting depth), and records where the members of the objects
// the state reader looks into are. Nothing is copied or decoded on the way:
// the reader then turns only the few members it needs into Go strings.
//
// Its methods take the bytes and the index and return the index after
// what they walked, so that the index lives in a register rather than in
// the walker: this loop is where a large state's bytes go by. Every index
// is bounds-checked, so a walk never panics whatever it is given. Running
// out of bytes is errShort when more input may follow (the lexer then
// reads more and walks the value again from its start), and a syntax error
// when the bytes are all there is (final).
type walker struct {
	depth int
	final bool
	// keys, when set, remembers the keys of the objects walked before.
	keys *keyCache
	// nestedBase is where object's nested members start: the members of
	// an earlier object named nestedKey are dropped from there.
	nestedBase int
}

// span is where a value (or an object key) lies in the walked bytes:
// b[start:end], a string with its quotes. esc says a string holds escapes
// (and must be decoded rather than sliced).
type span struct {
	start, end int32
	esc        bool
}

func (s span) empty() bool { return s.end <= s.start }

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
func (w *walker) short(b []byte) error {
	if w.final {
		return w.fail(len(b), "unexpected end of JSON input")
	}
	return errShort
}

// plain marks the bytes a string may hold as they are: all but '"', '\\'
// and the control characters: one table look-up per byte.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// ws returns the index of the first byte at or after i that is not
// whitespace.
func ws(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' {
		switch b[i] {
		case ' ', '\n', '\r', '\t':
			i++
		default:
			return i
		}
	}
	return i
}

// The bytes of a string that need attention, eight at a time: each byte
// of a 64-bit word that is '"', '\\' or a control character gets its high
// bit set in special's result. A borrow may also set bits above the first
// such byte, never below it: the lowest set bit is exact, and it is the
// only one used.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

func special(x uint64) uint64 {
	q := x ^ (ones * '"')
	bs := x ^ (ones * '\\')
	return ((q-ones)&^q | (bs-ones)&^bs | (x-ones*0x20)&^x) & highs
}

// str walks the string at b[i] == '"'.
func (w *walker) str(b []byte, i int) (end int, esc bool, err error) {
	i++
	for {
		for {
			if i+8 > len(b) {
				for i < len(b) && plain[b[i]] {
					i++
				}
				break
			}
			if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			return 0, false, w.short(b)
		}
		switch b[i] {
		case '"':
			return i + 1, esc, nil
		case '\\':
			esc = true
			if i+1 >= len(b) {
				return 0, false, w.short(b)
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= len(b) {
						return 0, false, w.short(b)
					}
					if !isHex(b[k]) {
						return 0, false, w.fail(k, "invalid \\u escape in a string")
					}
				}
				i += 6
			default:
				return 0, false, w.fail(i+1, "invalid escape %q in a string", "\\"+string(b[i+1]))
			}
		default:
			return 0, false, w.fail(i, "control character in a string")
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// value walks any value at b[i] (after optional whitespace).
func (w *walker) value(b []byte, i int) (int, error) {
	i = ws(b, i)
	if i >= len(b) {
		return 0, w.short(b)
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := w.str(b, i)
		return end, err
	case c == '{':
		return w.object(b, i, nil, "", nil)
	case c == '[':
		return w.array(b, i)
	case c == 't':
		return w.lit(b, i, "true")
	case c == 'f':
		return w.lit(b, i, "false")
	case c == 'n':
		return w.lit(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return w.num(b, i)
	case c == '}' || c == ']':
		return 0, w.fail(i, "unbalanced %q where a value should be", c)
	default:
		return 0, w.fail(i, "invalid character %q looking for a value", c)
	}
}

func (w *walker) lit(b []byte, i int, want string) (int, error) {
	have := b[i:]
	n := min(len(have), len(want))
	if string(have[:n]) != want[:n] {
		return 0, w.fail(i, "invalid literal (want %s)", want)
	}
	if n < len(want) {
		return 0, w.short(b)
	}
	return i + len(want), nil
}

// digits walks at least one digit at b[i].
func (w *walker) digits(b []byte, i int) (int, error) {
	j := i
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == i {
		if j >= len(b) {
			return 0, w.short(b)
		}
		return 0, w.fail(j, "invalid number: want a digit, found %q", b[j])
	}
	return j, nil
}

// num walks a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (w *walker) num(b []byte, i int) (int, error) {
	var err error
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return 0, w.short(b)
	case b[i] == '0':
		i++
	default:
		if i, err = w.digits(b, i); err != nil {
			return 0, err
		}
	}
	if i < len(b) && b[i] == '.' {
		if i, err = w.digits(b, i+1); err != nil {
			return 0, err
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i, err = w.digits(b, i); err != nil {
			return 0, err
		}
	}
	if i >= len(b) && !w.final {
		return 0, errShort // the number may go on
	}
	return i, nil
}

// array walks the array at b[i] == '['.
func (w *walker) array(b []byte, i int) (int, error) {
	if w.depth++; w.depth > maxDepth {
		return 0, w.fail(i, "nested more than %d deep", maxDepth)
	}
	i = ws(b, i+1)
	if i >= len(b) {
		return 0, w.short(b)
	}
	if b[i] == ']' {
		w.depth--
		return i + 1, nil
	}
	for {
		var err error
		if i, err = w.value(b, i); err != nil {
			return 0, err
		}
		i = ws(b, i)
		if i >= len(b) {
			return 0, w.short(b)
		}
		switch b[i] {
		case ',':
			i = ws(b, i+1)
			if i < len(b) && b[i] == ']' {
				return 0, w.fail(i, "trailing comma before ']'")
			}
		case ']':
			w.depth--
			return i + 1, nil
		default:
			return 0, w.fail(i, "want ',' or ']' after an array element, found %q", b[i])
		}
	}
}

// object walks the object at b[i] == '{'. When top is not nil the
// object's members are appended to it in order (duplicates included: the
// last one counts, as with encoding/json). When nested is not nil and a
// member named nestedKey holds an object, that object's members are
// appended to nested from w.nestedBase on (those of the last such member).
func (w *walker) object(b []byte, i int, top *[]member, nestedKey string, nested *[]member) (int, error) {
	if w.depth++; w.depth > maxDepth {
		return 0, w.fail(i, "nested more than %d deep", maxDepth)
	}
	var ms []member // appended to locally: a slice behind a pointer is slower
	if top != nil {
		ms = *top
	}
	i = ws(b, i+1)
	if i >= len(b) {
		return 0, w.short(b)
	}
	if b[i] == '}' {
		w.depth--
		return i + 1, nil
	}
	for m := 0; ; m++ {
		if b[i] != '"' {
			return 0, w.fail(i, "want an object key, found %q", b[i])
		}
		ks := i
		var kesc, vesc bool
		var err error
		if k := w.keys.at(w.depth, m); k != nil && k.match(b, i) {
			i += int(k.n)
		} else {
			if i, kesc, err = w.str(b, i); err != nil {
				return 0, err
			}
			if k != nil && !kesc {
				k.set(b[ks:i])
			}
		}
		key := span{int32(ks), int32(i), kesc}
		i = ws(b, i)
		if i >= len(b) {
			return 0, w.short(b)
		}
		if b[i] != ':' {
			return 0, w.fail(i, "want ':' after an object key, found %q", b[i])
		}
		i = ws(b, i+1)
		if i >= len(b) {
			return 0, w.short(b)
		}
		vs := i
		switch {
		case b[vs] == '"':
			i, vesc, err = w.str(b, i)
		case b[vs] == '{' && nested != nil && keyIs(b, key, nestedKey):
			*nested = (*nested)[:w.nestedBase]
			i, err = w.object(b, i, nested, "", nil)
		default:
			i, err = w.value(b, i)
		}
		if err != nil {
			return 0, err
		}
		if top != nil {
			ms = append(ms, member{key, span{int32(vs), int32(i), vesc}})
		}
		i = ws(b, i)
		if i >= len(b) {
			return 0, w.short(b)
		}
		switch b[i] {
		case ',':
			i = ws(b, i+1)
			if i >= len(b) {
				return 0, w.short(b)
			}
			if b[i] == '}' {
				return 0, w.fail(i, "trailing comma before '}'")
			}
		case '}':
			w.depth--
			if top != nil {
				*top = ms
			}
			return i + 1, nil
		default:
			return 0, w.fail(i, "want ',' or '}' after an object member, found %q", b[i])
		}
	}
}

// keyCache remembers, per depth and position in an object, the last key
// walked there: the objects of a state come in a few shapes repeated many
// times (every instance of a resource has the same keys in the same
// order), and a key that is byte for byte the one walked last at its place
// is a whole string, without escapes, of a known length: it is compared as
// up to three words rather than walked byte by byte. Keys are more than
// half the strings of a state.
type keyCache struct {
	keys [keyCacheDepth][keyCacheWidth]cachedKey
}

const (
	keyCacheDepth = 8
	keyCacheWidth = 32
)

// cachedKey is a key of up to 24 bytes (quotes included) as three words
// and the masks of its bytes in them.
type cachedKey struct {
	n    int32
	w, m [3]uint64
}

// at is the entry for member m of an object at depth (1 for the value
// walked), nil when the cache is off or does not reach that far.
func (c *keyCache) at(depth, m int) *cachedKey {
	if c == nil || depth > keyCacheDepth || m >= keyCacheWidth {
		return nil
	}
	return &c.keys[depth-1][m]
}

// match reports whether b[i:] starts with the key; false too when fewer
// than 24 bytes follow i.
func (k *cachedKey) match(b []byte, i int) bool {
	if i+24 > len(b) || k.n == 0 {
		return false
	}
	b = b[i : i+24]
	return binary.LittleEndian.Uint64(b)&k.m[0] == k.w[0] &&
		binary.LittleEndian.Uint64(b[8:])&k.m[1] == k.w[1] &&
		binary.LittleEndian.Uint64(b[16:])&k.m[2] == k.w[2]
}

// set remembers key, a walked string without escapes (quotes included).
func (k *cachedKey) set(key []byte) {
	if len(key) > 24 {
		k.n = 0
		return
	}
	var w, m [24]byte
	copy(w[:], key)
	for j := range key {
		m[j] = 0xff
	}
	for j := range 3 {
		k.w[j] = binary.LittleEndian.Uint64(w[8*j:])
		k.m[j] = binary.LittleEndian.Uint64(m[8*j:])
	}
	k.n = int32(len(key))
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
// be an object, appending to top and nested as the lexer's Object does.
func walkObject(b []byte, top *[]member, nestedKey string, nested *[]member) error {
	w := walker{final: true}
	i := ws(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errNotObject
	}
	if nested != nil {
		w.nestedBase = len(*nested)
	}
	i, err := w.object(b, i, top, nestedKey, nested)
	if err != nil {
		return err
	}
	if ws(b, i) != len(b) {
		return errors.New("data after the value")
	}
	return nil
}

var errNotObject = errors.New("not an object")
