// Package mdtext escapes untrusted text (account names, reasons, owners)
// for Markdown that GitHub renders in pull-request comments and summaries.
package mdtext

import "strings"

// OneLine replaces control characters (newlines included, and the C1
// controls such as NEL), the Unicode line and paragraph separators and the
// bidirectional formatting characters with spaces, so a value can never
// forge a new line, row or list item, nor make a cell display text in an
// order other than it holds.
func OneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unsafe(r) {
			return ' '
		}
		return r
	}, s)
}

func unsafe(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f, r == '\u2028', r == '\u2029',
		r == '\u061c', r == '\u200e', r == '\u200f', r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

var cell = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "<", "&lt;", ">", "&gt;", "&", "&amp;", "`", "\\`",
	"[", `\[`, "]", `\]`, "*", `\*`, "_", `\_`, "@", "&#64;", "#", `\#`, "~", `\~`,
)

// Cell escapes s for a table cell or inline text: no row or column breaks,
// no HTML, no links, no emphasis, no @-mentions. Empty becomes "-".
func Cell(s string) string {
	if s == "" {
		return "-"
	}
	return cell.Replace(OneLine(s))
}
