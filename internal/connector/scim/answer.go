package scim

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Two checks on what a server answers, found by fuzzing the decoders.
//
// An attribute spelled twice ({"active":true,"Active":false}) is one
// attribute given two values: names are case-insensitive (RFC 7643 §2.1).
// Reading it by map order would make Verify answer differently from one
// call to the next, so such an answer is malformed.
//
// A resource that holds the bearer token (a server or proxy that echoes
// request headers into what it returns) would carry the token into
// Terraform state, the ledger and reports; it is refused, never stored.

// foldDuplicate reports a key that appears twice, ignoring case, in any
// object within v.
func foldDuplicate(v any) (string, bool) {
	switch v := v.(type) {
	case map[string]any:
		if k, dup := foldDuplicateKey(v); dup {
			return k, true
		}
		for _, e := range v {
			if k, dup := foldDuplicate(e); dup {
				return k, true
			}
		}
	case []any:
		for _, e := range v {
			if k, dup := foldDuplicate(e); dup {
				return k, true
			}
		}
	}
	return "", false
}

func foldDuplicateKey(m map[string]any) (string, bool) {
	if len(m) <= 16 {
		keys := make([]string, 0, 16)
		for k := range m {
			for _, seen := range keys {
				if strings.EqualFold(k, seen) {
					return k, true
				}
			}
			keys = append(keys, k)
		}
		return "", false
	}
	seen := make(map[string]struct{}, len(m))
	for k := range m {
		f := foldKey(k)
		if _, dup := seen[f]; dup {
			return k, true
		}
		seen[f] = struct{}{}
	}
	return "", false
}

// foldKey maps every string strings.EqualFold calls equal to one key: each
// rune becomes the smallest rune of its simple-folding orbit (for ASCII
// letters, the upper case: K's orbit holds the Kelvin sign, s's the long s).
func foldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(s)
	}
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, s)
}

// holdsToken reports whether the token is in any string, key or number of
// a decoded answer.
func (c *Client) holdsToken(v any) bool {
	if len(c.token) < minRedactLen {
		return false
	}
	switch v := v.(type) {
	case string:
		return strings.Contains(v, c.token)
	case json.Number:
		return strings.Contains(string(v), c.token)
	case map[string]any:
		for k, e := range v {
			if strings.Contains(k, c.token) || c.holdsToken(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if c.holdsToken(e) {
				return true
			}
		}
	case []string:
		for _, e := range v {
			if strings.Contains(e, c.token) {
				return true
			}
		}
	}
	return false
}
