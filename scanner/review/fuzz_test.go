package review

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// FuzzReviewPlan: any bytes are a plan that is reviewed or refused with a
// short, one-line error; nothing that is not a plan from `terraform show -json`
// reads as an empty review. A review writes as JSON that reads back the
// same, and as Markdown whose tables keep their shape and that holds no
// control character, HTML or @-mention, whatever the names in the plan.
// The seeds are real plans (testdata/*.json) and, under testdata/fuzz,
// plans with hostile names.
func FuzzReviewPlan(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"format_version":"1.2","resource_changes":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{MaxGrant: 365 * 24 * time.Hour, Location: time.UTC}
		s, err := Review(data, opts)
		if err != nil {
			if s != nil {
				t.Fatalf("a summary with the error %v", err)
			}
			if len(err.Error()) > 1024 || strings.ContainsFunc(err.Error(), unicode.IsControl) {
				t.Fatalf("a %d-byte error: %.200q…", len(err.Error()), err)
			}
			return
		}
		if !looksLikePlan(data) {
			t.Fatalf("reviewed something that is not a plan: %.300q", data)
		}
		var md bytes.Buffer
		if err := Write(&md, "markdown", s); err != nil {
			t.Fatal(err)
		}
		checkMarkdown(t, md.String(), s)
		var js bytes.Buffer
		if err := Write(&js, "json", s); err != nil {
			t.Fatal(err)
		}
		var back Summary
		if err := json.Unmarshal(js.Bytes(), &back); err != nil || !reflect.DeepEqual(&back, s) {
			t.Fatalf("the JSON review reads back as %+v (%v), not %+v", back, err, s)
		}
		// The same plan gives the same comment, byte for byte.
		again, _ := Review(data, opts)
		var md2 bytes.Buffer
		_ = Write(&md2, "markdown", again)
		if md2.String() != md.String() {
			t.Fatalf("two reviews of one plan differ:\n%s\n---\n%s", md.String(), md2.String())
		}
	})
}

// looksLikePlan: one JSON object with a format_version and some of the
// keys only a plan has. Keys match ignoring case, as encoding/json (and so
// terraform-json) reads them.
func looksLikePlan(data []byte) bool {
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return false
	}
	has := func(name string, ok func(any) bool) bool {
		for k, v := range m {
			if strings.EqualFold(k, name) && ok(v) {
				return true
			}
		}
		return false
	}
	set := func(v any) bool { return v != nil }
	return has("format_version", func(v any) bool { s, _ := v.(string); return s != "" }) &&
		(has("resource_changes", set) || has("planned_values", set) || has("prior_state", set))
}

func checkMarkdown(t *testing.T, md string, s *Summary) {
	t.Helper()
	if !utf8.ValidString(md) {
		t.Fatalf("markdown is not UTF-8: %q", md)
	}
	for _, r := range md {
		if r != '\n' && unsafeInMarkdown(r) {
			t.Fatalf("markdown holds %U:\n%q", r, md)
		}
	}
	lines := strings.Split(md, "\n")
	if lines[0] != Marker {
		t.Fatalf("first line %q", lines[0])
	}
	rows := 0
	for _, l := range lines[1:] {
		if strings.ContainsAny(l, "<>@") {
			t.Fatalf("raw HTML or mention in %q", l)
		}
		if strings.HasPrefix(l, "|") {
			if n := unescapedPipes(l); n != 8 {
				t.Fatalf("a row with %d cell borders, not 8: %q", n, l)
			}
			rows++
			continue
		}
		if l != "" && !strings.HasPrefix(l, "## sunset review: ") && !strings.HasPrefix(l, "### ") && !strings.HasPrefix(l, "None") &&
			!strings.HasPrefix(l, "Plan made at ") && !strings.HasPrefix(l, " **") {
			t.Fatalf("a line the layout does not have: %q", l)
		}
	}
	want := 0
	for _, n := range []int{len(s.Revocations), len(s.Grants), len(s.Extensions), len(s.Exceptions)} {
		if n > 0 {
			want += n + 2 // header and delimiter rows
		}
	}
	if rows != want {
		t.Fatalf("%d table rows, want %d:\n%s", rows, want, md)
	}
}

// unsafeInMarkdown: control characters (C0, DEL, C1), line and paragraph
// separators, and the bidirectional formatting characters that can make a
// cell display text other than it holds.
func unsafeInMarkdown(r rune) bool {
	switch {
	case unicode.IsControl(r), r == '\u2028', r == '\u2029', r == '\u061c', r == '\u200e', r == '\u200f',
		r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// unescapedPipes counts the '|' not escaped by a backslash (one preceded
// by an even number of backslashes is a cell border).
func unescapedPipes(line string) int {
	n, backslashes := 0, 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			backslashes++
			continue
		case '|':
			if backslashes%2 == 0 {
				n++
			}
		}
		backslashes = 0
	}
	return n
}
