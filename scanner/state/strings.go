package state

import (
	"encoding/json"
	"errors"
	"fmt"
)

var errMalformed = errors.New("malformed JSON")

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
