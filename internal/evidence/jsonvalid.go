package evidence

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// maxJSONDepth matches encoding/json's nesting limit, so validJSON and
// json.Valid agree on deep input too.
const maxJSONDepth = 10000

// space marks JSON whitespace.
var space = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// validJSON reports whether b is one valid JSON value (RFC 8259) in valid
// UTF-8. It answers as json.Valid(b) && utf8.Valid(b) does (a fuzz test holds
// it to that) at several times the speed: Verify runs it on every line.
// Bytes above 0x7f can only be valid inside strings, where scanString
// checks them as UTF-8, so there is no separate UTF-8 pass.
func validJSON(b []byte) bool {
	var stackBuf [16]byte
	stack := stackBuf[:0] // '{' or '[' per open container
	n := len(b)
	i := 0
value:
	for i < n && space[b[i]] {
		i++
	}
	if i >= n {
		return false
	}
	switch b[i] {
	case '{', '[':
		if len(stack) >= maxJSONDepth {
			return false
		}
		open := b[i]
		i++
		for i < n && space[b[i]] {
			i++
		}
		if i < n && b[i] == open+2 { // '}' is '{'+2, ']' is '['+2
			i++
			goto after
		}
		stack = append(stack, open)
		if open == '{' {
			goto key
		}
		goto value
	case '"':
		if i = scanString(b, i+1); i < 0 {
			return false
		}
	case 't':
		if i = scanLiteral(b, i, "true"); i < 0 {
			return false
		}
	case 'f':
		if i = scanLiteral(b, i, "false"); i < 0 {
			return false
		}
	case 'n':
		if i = scanLiteral(b, i, "null"); i < 0 {
			return false
		}
	default:
		if i = scanNumber(b, i); i < 0 {
			return false
		}
	}
after:
	for i < n && space[b[i]] {
		i++
	}
	if len(stack) == 0 {
		return i == n
	}
	if i >= n {
		return false
	}
	switch top := stack[len(stack)-1]; b[i] {
	case ',':
		i++
		if top == '{' {
			goto key
		}
		goto value
	case '}', ']':
		if b[i] != top+2 {
			return false
		}
		stack = stack[:len(stack)-1]
		i++
		goto after
	}
	return false
key:
	for i < n && space[b[i]] {
		i++
	}
	if i >= n || b[i] != '"' {
		return false
	}
	if i = scanString(b, i+1); i < 0 {
		return false
	}
	for i < n && space[b[i]] {
		i++
	}
	if i >= n || b[i] != ':' {
		return false
	}
	i++
	goto value
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// scanString scans a string body starting after its opening quote and
// returns the index after the closing quote, or -1.
func scanString(b []byte, i int) int {
	n := len(b)
	for {
		// Eight bytes at a time until one is '"', '\\', below 0x20 or
		// above 0x7f. The lowest flagged byte of each test is exact
		// (false flags only sit above a true one), so the lowest bit of
		// the mask is the first byte that needs a look.
		for i+8 <= n {
			x := binary.LittleEndian.Uint64(b[i:])
			q := x ^ ('"' * lsb)
			s := x ^ ('\\' * lsb)
			m := ((q-lsb)&^q | (s-lsb)&^s | (x-0x20*lsb)&^x | x) & msb
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto special
			}
			i += 8
		}
		for i < n && b[i] >= 0x20 && b[i] < 0x80 && b[i] != '"' && b[i] != '\\' {
			i++
		}
		if i >= n {
			return -1
		}
	special:
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			i++
			if i >= n {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+4 >= n {
					return -1
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						return -1
					}
				}
				i += 5
			default:
				return -1
			}
		case c < 0x20:
			return -1
		default: // c >= 0x80: one UTF-8 sequence
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return -1
			}
			i += size
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func scanLiteral(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// scanNumber scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? from i.
func scanNumber(b []byte, i int) int {
	n := len(b)
	if i < n && b[i] == '-' {
		i++
	}
	switch {
	case i < n && b[i] == '0':
		i++
	case i < n && '1' <= b[i] && b[i] <= '9':
		for i < n && isDigit(b[i]) {
			i++
		}
	default:
		return -1
	}
	if i < n && b[i] == '.' {
		i++
		if i >= n || !isDigit(b[i]) {
			return -1
		}
		for i < n && isDigit(b[i]) {
			i++
		}
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= n || !isDigit(b[i]) {
			return -1
		}
		for i < n && isDigit(b[i]) {
			i++
		}
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
