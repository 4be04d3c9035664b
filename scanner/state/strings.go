package state

import (
	"encoding/json"
	"errors"
	"fmt"
)

// The decoder hands each instance over as a json.RawMessage, which the
// json.Decoder has already checked to be valid JSON. Walking it by hand
// here, instead of decoding it again through reflection, is what makes a
// state with a hundred thousand credentials read in a fraction of a second.
// Every index is still bounds-checked: a walk never panics, whatever it is
// given.

var errMalformed = errors.New("malformed JSON")

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"',
// and whether it holds an escape.
func skipString(b []byte, i int) (int, bool, error) {
	escaped := false
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped, nil
		}
	}
	return 0, false, errMalformed
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return 0, errMalformed
	}
	switch b[i] {
	case '"':
		j, _, err := skipString(b, i)
		return j, err
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errMalformed
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
			j++
		}
		if j == i {
			return 0, errMalformed
		}
		return j, nil
	}
}

// members calls fn with each top-level member of the object in b: its raw
// key (without quotes, escapes kept) and its raw value.
func members(b []byte, fn func(key, val []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errors.New("not an object")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for i < len(b) {
		if b[i] != '"' {
			return errMalformed
		}
		end, _, err := skipString(b, i)
		if err != nil {
			return err
		}
		key := b[i+1 : end-1]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return errMalformed
		}
		start := skipSpace(b, i+1)
		stop, err := skipValue(b, start)
		if err != nil {
			return err
		}
		if err := fn(key, b[start:stop]); err != nil {
			return err
		}
		i = skipSpace(b, stop)
		if i >= len(b) {
			return errMalformed
		}
		if b[i] == '}' {
			return nil
		}
		if b[i] != ',' {
			return errMalformed
		}
		i = skipSpace(b, i+1)
	}
	return errMalformed
}

// stringValue reads a raw JSON value that must be a string or null.
func stringValue(v []byte) (string, bool, error) {
	if len(v) == 4 && string(v) == "null" {
		return "", false, nil
	}
	if len(v) < 2 || v[0] != '"' {
		return "", false, fmt.Errorf("want a string, found %.20s", v)
	}
	end, escaped, err := skipString(v, 0)
	if err != nil || end != len(v) {
		return "", false, errMalformed
	}
	if !escaped {
		return string(v[1 : len(v)-1]), true, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false, err
	}
	return s, true, nil
}

// stringFields fills, for each top-level member of the object in b for
// which dst returns a pointer, that pointer with the member's string value.
// A wanted member that is neither a string nor null is an error naming it.
func stringFields(b []byte, dst func(key []byte) *string) error {
	return members(b, func(key, val []byte) error {
		p := dst(key)
		if p == nil {
			return nil
		}
		s, _, err := stringValue(val)
		if err != nil {
			return fmt.Errorf("%q must be a string: %v", key, err)
		}
		*p = s
		return nil
	})
}
