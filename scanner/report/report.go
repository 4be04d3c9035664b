// Package report writes a scan's findings as a table, JSON, SARIF 2.1.0
// (as GitHub code scanning accepts it) or Markdown.
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
	"github.com/sunset-iam/terraform-provider-sunset/scanner"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/internal/mdtext"
)

// Formats lists the formats Write takes.
var Formats = []string{"table", "json", "sarif", "markdown"}

// Report is what is written: the scan's result, the findings a baseline
// suppressed, and the tool's version.
type Report struct {
	Result     *scanner.Result
	Suppressed []scanner.Finding
	Version    string
}

// Write writes r in format to w.
func Write(w io.Writer, format string, r Report) error {
	switch format {
	case "table":
		return writeTable(w, r)
	case "json":
		return writeJSON(w, r)
	case "sarif":
		return writeSARIF(w, r)
	case "markdown":
		return writeMarkdown(w, r)
	}
	return fmt.Errorf("format %q is not one of %s", format, strings.Join(Formats, ", "))
}

func oneLine(s string) string { return mdtext.OneLine(s) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func summaryLine(r Report) string {
	c := r.Result.Counts()
	parts := []string{fmt.Sprintf("%d findings", len(r.Result.Findings))}
	for _, s := range []scanner.Severity{scanner.SeverityCritical, scanner.SeverityHigh, scanner.SeverityMedium, scanner.SeverityLow} {
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[s], s))
		}
	}
	line := strings.Join(parts, ", ")
	if n := len(r.Suppressed); n > 0 {
		line += fmt.Sprintf(" (%d suppressed by the baseline)", n)
	}
	return line
}

// writeTable writes one aligned row per finding with what was checked on
// the line under it, indented: the check is often long, and a column of it
// would push every other column off a terminal's width.
func writeTable(w io.Writer, r Report) error {
	if fs := r.Result.Findings; len(fs) > 0 {
		// The rows are aligned together first: a line without cells between
		// them would end tabwriter's column block.
		var rows bytes.Buffer
		tw := tabwriter.NewWriter(&rows, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEVERITY\tRULE\tTARGET\tSYSTEM\tACCOUNT\tIDENTITY\tOWNER\tEND DATE\tOVERDUE\tLOCATION")
		for _, f := range fs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Severity, f.Rule, orDash(oneLine(f.Target)), orDash(oneLine(f.System)),
				orDash(oneLine(f.Account)), orDash(oneLine(f.Identity)), orDash(oneLine(f.Owner)), orDash(oneLine(f.EndDate)),
				orDash(scanner.FormatOverdue(f.Overdue)), orDash(oneLine(f.Location.String())))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		lines := bytes.SplitAfter(rows.Bytes(), []byte("\n"))
		w.Write(lines[0])
		for i, f := range fs {
			w.Write(lines[i+1])
			if f.Checked != "" {
				fmt.Fprintf(w, "    checked: %s\n", oneLine(f.Checked))
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%s at %s (SLA %s).\n", summaryLine(r), r.Result.Now.UTC().Format(time.RFC3339), lifecycle.FormatDuration(r.Result.SLA))
	if !r.Result.Complete() {
		fmt.Fprintln(w, "INCOMPLETE scan: what could not be read is not clean:")
		for _, p := range r.Result.Incomplete {
			fmt.Fprintf(w, "  - %s\n", oneLine(p.Message))
		}
	}
	return nil
}

type jsonReport struct {
	Tool                string                  `json:"tool"`
	Version             string                  `json:"version"`
	ScannedAt           string                  `json:"scanned_at"`
	SLA                 string                  `json:"sla"`
	Complete            bool                    `json:"complete"`
	Incomplete          []scanner.Problem       `json:"incomplete"`
	Targets             []scanner.TargetSummary `json:"targets"`
	DeclaredIdentities  int                     `json:"declared_identities"`
	DeclaredCredentials int                     `json:"declared_credentials"`
	ReadDeclaredNS      int64                   `json:"read_declared_ns"`
	ReadLedgerNS        int64                   `json:"read_ledger_ns"`
	Summary             map[string]int          `json:"summary"`
	Findings            []scanner.Finding       `json:"findings"`
	Suppressed          []scanner.Finding       `json:"suppressed"`
}

func writeJSON(w io.Writer, r Report) error {
	res := r.Result
	sum := map[string]int{}
	for s, n := range res.Counts() {
		sum[s.String()] = n
	}
	out := jsonReport{
		Tool: "sunset", Version: r.Version, ScannedAt: res.Now.UTC().Format(time.RFC3339), SLA: lifecycle.FormatDuration(res.SLA),
		Complete: res.Complete(), Incomplete: nonNil(res.Incomplete), Targets: nonNil(res.Targets),
		DeclaredIdentities: res.DeclaredIdentities, DeclaredCredentials: res.DeclaredCredentials,
		ReadDeclaredNS: int64(res.ReadDeclared), ReadLedgerNS: int64(res.ReadLedger),
		Summary: sum, Findings: nonNil(res.Findings), Suppressed: nonNil(r.Suppressed),
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func md(s string) string { return mdtext.Cell(s) }

// checkedLine is a finding's message and what was checked, escaped for a
// Markdown list item: "… expired on 2031-01-01 (checked: exception expires
// 2031-01-01)."
func checkedLine(f scanner.Finding) string {
	msg := strings.TrimRight(strings.TrimSpace(oneLine(f.Message)), ".")
	checked := strings.TrimRight(strings.TrimSpace(oneLine(f.Checked)), ".")
	switch {
	case msg == "" && checked == "":
		return "-"
	case checked == "":
		return md(msg) + "."
	case msg == "":
		return "Checked: " + md(checked) + "."
	}
	return md(msg) + " (checked: " + md(checked) + ")."
}

func writeMarkdown(w io.Writer, r Report) error {
	res := r.Result
	fmt.Fprintf(w, "## sunset scan: %s\n\n", summaryLine(r))
	fmt.Fprintf(w, "Scanned at %s with an SLA of %s.", res.Now.UTC().Format(time.RFC3339), lifecycle.FormatDuration(res.SLA))
	if res.Complete() {
		fmt.Fprintf(w, " Every target was read.\n\n")
	} else {
		fmt.Fprintf(w, "\n\n> [!WARNING]\n> **Incomplete scan.** What could not be read is not clean:\n")
		for _, p := range res.Incomplete {
			fmt.Fprintf(w, "> - %s\n", md(p.Message))
		}
		fmt.Fprintln(w)
	}
	if len(res.Findings) == 0 {
		fmt.Fprintln(w, "No findings.")
		return nil
	}
	fmt.Fprintln(w, "| Severity | Rule | Target | System | Account | Identity | Owner | End date | Overdue | Location |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, f := range res.Findings {
		fmt.Fprintf(w, "| %s | `%s` | %s | %s | %s | %s | %s | %s | %s | %s |\n", f.Severity, f.Rule, md(f.Target), md(f.System), md(f.Account), md(f.Identity),
			md(f.Owner), md(f.EndDate), md(scanner.FormatOverdue(f.Overdue)), md(f.Location.String()))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "<details><summary>What was checked</summary>")
	fmt.Fprintln(w)
	for _, f := range res.Findings {
		fmt.Fprintf(w, "- **%s** %s\n", f.Rule, checkedLine(f))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "</details>")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| Rule | OWASP NHI Top 10 (2025) | NIST CSF 2.0 |")
	fmt.Fprintln(w, "|---|---|---|")
	seen := map[string]bool{}
	var ids []string
	for _, f := range res.Findings {
		if !seen[f.Rule] {
			seen[f.Rule] = true
			ids = append(ids, f.Rule)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		rule, _ := scanner.RuleByID(id)
		fmt.Fprintf(w, "| `%s` | %s | %s |\n", id, rule.OWASP, rule.NIST)
	}
	return nil
}
