// Package mdtext escapes untrusted text (account names, reasons, owners)
// for Markdown that GitHub renders in pull-request comments and summaries.
package mdtext

import "strings"

// OneLine replaces control characters (newlines included) with spaces, so a
// value can never forge a new line, row or list item.
func OneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
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
