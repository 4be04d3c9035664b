package lifecycle

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// MaxRosterBytes bounds a roster export. An HR export of a very large
// organisation is a few tens of megabytes; anything bigger is a mistake or an
// attack, and reading it would exhaust memory before it could be judged.
const MaxRosterBytes = 256 << 20

// ErrEmptyRoster is returned (wrapped) when an export holds no identities.
// An empty export must never read as "everyone left".
var ErrEmptyRoster = errors.New("the roster export holds no identities; refusing to treat an empty export as everyone having left")

// The columns an HR export may carry. Any other column goes into Attributes.
var rosterColumns = map[string]bool{
	"name": true, "kind": true, "owner": true, "end_date": true,
	"status": true, "start_date": true, "email": true,
}

// ReadRosterFile reads a JSON or CSV HR export, chosen by the file's
// extension (.json or .csv).
func ReadRosterFile(path string) ([]Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("roster file: %w", err)
	}
	defer f.Close()
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return ParseRosterJSON(f, path)
	case ".csv":
		return ParseRosterCSV(f, path)
	default:
		return nil, fmt.Errorf("roster file %s: want a .json or .csv export", path)
	}
}

func readBounded(r io.Reader, file string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxRosterBytes+1))
	if err != nil {
		return nil, fmt.Errorf("roster file %s: %w", file, err)
	}
	if len(data) > MaxRosterBytes {
		return nil, fmt.Errorf("roster file %s is larger than %d MiB", file, MaxRosterBytes>>20)
	}
	return bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), nil
}

// ParseRosterJSON reads a JSON export: an array of objects, or an object
// whose "identities" member is that array. Each object has the documented
// columns as string members, optional "labels" (an object of strings) and
// "exception" (kind, reason, approved_by, expires); every other member goes
// into Attributes.
func ParseRosterJSON(r io.Reader, file string) ([]Identity, error) {
	data, err := readBounded(r, file)
	if err != nil {
		return nil, err
	}
	lineAt := newLineIndex(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	fail := func(format string, args ...any) ([]Identity, error) {
		return nil, fmt.Errorf("roster file %s: line %d: %s", file, lineAt(dec.InputOffset()), fmt.Sprintf(format, args...))
	}

	tok, err := dec.Token()
	if err != nil {
		return fail("not JSON: %v", err)
	}
	wrapped := tok == json.Delim('{')
	if wrapped {
		// {"identities": [...]}: find the member, refuse anything else.
		found := false
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return fail("not JSON: %v", err)
			}
			if key != "identities" {
				return fail("unexpected member %q: want an array of identities, or {\"identities\": [...]}", key)
			}
			if tok, err = dec.Token(); err != nil {
				return fail("not JSON: %v", err)
			}
			found = true
			break
		}
		if !found {
			return fail("no \"identities\" member")
		}
	}
	if tok != json.Delim('[') {
		return fail("want an array of identities, or {\"identities\": [...]}")
	}

	var out []Identity
	for dec.More() {
		line := lineAt(dec.InputOffset())
		var raw map[string]json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fail("entry %d: %v", len(out)+1, err)
		}
		id, err := identityFromJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("roster file %s: line %d: %w", file, line, err)
		}
		id.Source, id.SourceFile, id.SourceLine = "file", file, line
		out = append(out, id)
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return fail("not JSON: %v", err)
	}
	if wrapped {
		if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
			return fail("want nothing after the \"identities\" array")
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return fail("unexpected data after the identities")
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("roster file %s: %w", file, ErrEmptyRoster)
	}
	return out, nil
}

func identityFromJSON(raw map[string]json.RawMessage) (Identity, error) {
	id := Identity{Kind: KindHuman}
	str := func(key string) (string, error) {
		v, ok := raw[key]
		if !ok || string(v) == "null" {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", fmt.Errorf("%q must be a string", key)
		}
		return s, nil
	}
	fields := map[string]*string{
		"name": &id.Name, "owner": &id.Owner, "end_date": &id.EndDate,
		"status": &id.SourceStatus, "start_date": &id.StartDate, "email": &id.Email,
	}
	for key, dst := range fields {
		s, err := str(key)
		if err != nil {
			return id, err
		}
		*dst = s
	}
	kind, err := str("kind")
	if err != nil {
		return id, err
	}
	if kind != "" {
		id.Kind = Kind(kind)
	}
	id.SourceStatus = strings.ToLower(id.SourceStatus)

	for key, v := range raw {
		switch {
		case rosterColumns[key]:
		case key == "labels":
			if err := json.Unmarshal(v, &id.Labels); err != nil {
				return id, fmt.Errorf("\"labels\" must be an object of strings")
			}
		case key == "exception":
			var ex struct {
				Kind       string `json:"kind"`
				Reason     string `json:"reason"`
				ApprovedBy string `json:"approved_by"`
				Expires    string `json:"expires"`
			}
			if err := json.Unmarshal(v, &ex); err != nil {
				return id, fmt.Errorf("\"exception\" must be an object with string members kind, reason, approved_by, expires")
			}
			id.Exception = &Exception{Kind: ExceptionKind(ex.Kind), Reason: ex.Reason, ApprovedBy: ex.ApprovedBy, Expires: ex.Expires}
		default:
			if id.Attributes == nil {
				id.Attributes = map[string]string{}
			}
			id.Attributes[key] = attributeString(v)
		}
	}
	return id, nil
}

// attributeString keeps strings as they are and any other JSON value as its
// compact JSON text, so nothing in an export is lost or reinterpreted.
func attributeString(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, v) == nil {
		return buf.String()
	}
	return string(v)
}

// ParseRosterCSV reads a CSV export with a header row. Column names are
// matched case-insensitively; unknown columns go into Attributes; empty
// cells are absent values.
func ParseRosterCSV(r io.Reader, file string) ([]Identity, error) {
	data, err := readBounded(r, file)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("roster file %s: %w", file, ErrEmptyRoster)
	}
	if err != nil {
		return nil, fmt.Errorf("roster file %s: %w", file, err)
	}
	cols := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		c := strings.ToLower(strings.TrimSpace(h))
		if c == "" {
			return nil, fmt.Errorf("roster file %s: line 1: column %d has no name", file, i+1)
		}
		if seen[c] {
			return nil, fmt.Errorf("roster file %s: line 1: column %q appears twice", file, c)
		}
		seen[c] = true
		cols[i] = c
	}
	if !seen["name"] {
		return nil, fmt.Errorf("roster file %s: line 1: the header has no \"name\" column", file)
	}

	var out []Identity
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("roster file %s: %w", file, err)
		}
		line, _ := cr.FieldPos(0)
		id := Identity{Kind: KindHuman, Source: "file", SourceFile: file, SourceLine: line}
		for i, v := range rec {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			switch cols[i] {
			case "name":
				id.Name = v
			case "kind":
				id.Kind = Kind(v)
			case "owner":
				id.Owner = v
			case "end_date":
				id.EndDate = v
			case "status":
				id.SourceStatus = strings.ToLower(v)
			case "start_date":
				id.StartDate = v
			case "email":
				id.Email = v
			default:
				if id.Attributes == nil {
					id.Attributes = map[string]string{}
				}
				id.Attributes[cols[i]] = v
			}
		}
		out = append(out, id)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("roster file %s: %w", file, ErrEmptyRoster)
	}
	return out, nil
}

// newLineIndex returns a function from byte offset to 1-based line number.
func newLineIndex(data []byte) func(off int64) int {
	var starts []int64
	for i, b := range data {
		if b == '\n' {
			starts = append(starts, int64(i))
		}
	}
	return func(off int64) int {
		// Skip whitespace so an entry's line is where its '{' is.
		for off < int64(len(data)) && (data[off] == ' ' || data[off] == '\n' || data[off] == '\r' || data[off] == '\t' || data[off] == ',') {
			off++
		}
		return sort.Search(len(starts), func(i int) bool { return starts[i] >= off }) + 1
	}
}
