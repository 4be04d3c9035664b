package mdtext

import "testing"

func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "-",
		"alice":                     "alice",
		"a|b":                       `a\|b`,
		"line\nbreak\r| x |":        `line break \| x \|`,
		"<img src=x onerror=alert>": "&lt;img src=x onerror=alert&gt;",
		"[click](javascript:x)":     `\[click\](javascript:x)`,
		"`code` *bold* _it_ ~s~":    "\\`code\\` \\*bold\\* \\_it\\_ \\~s\\~",
		"@org/team":                 "&#64;org/team",
		"# heading":                 `\# heading`,
		`back\slash`:                `back\\slash`,
		"&amp;":                     "&amp;amp;",
	} {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}

// Found by fuzzing the review: NEL (U+0085), U+2028 and a right-to-left
// override came through OneLine untouched.
func TestOneLineUnicodeBreaksAndBidi(t *testing.T) {
	for in, want := range map[string]string{
		"a\u0085b":         "a b",
		"a\u2028b\u2029c":  "a b c",
		"gnp.\u202eexe":    "gnp. exe",
		"x\u2066y\u2069z":  "x y z",
		"\u200fRLM \u061c": " RLM  ",
		"Zoë \u00a0 ok":    "Zoë \u00a0 ok",
	} {
		if got := OneLine(in); got != want {
			t.Errorf("OneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
