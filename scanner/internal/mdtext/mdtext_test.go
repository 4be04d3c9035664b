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
