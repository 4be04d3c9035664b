package review

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/sunset-iam/terraform-provider-sunset/scanner/internal/mdtext"
)

// Formats lists what Write takes.
var Formats = []string{"markdown", "json"}

// Write writes the summary as markdown (a pull-request comment) or json.
func Write(w io.Writer, format string, s *Summary) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	case "markdown":
		return writeMarkdown(w, s)
	}
	return fmt.Errorf("format %q is not one of %s", format, strings.Join(Formats, ", "))
}

// Marker lets a CI job find and update its own earlier comment.
const Marker = "<!-- sunset-review -->"

func c(s string) string { return mdtext.Cell(s) }

func writeMarkdown(w io.Writer, s *Summary) error {
	fmt.Fprintln(w, Marker)
	fmt.Fprintf(w, "## sunset review: %d revocation(s), %d new grant(s), %d end-date change(s), %d exception(s)\n\n",
		len(s.Revocations), len(s.Grants), len(s.Extensions), len(s.Exceptions))
	if s.PlannedAt != "" {
		fmt.Fprintf(w, "Plan made at %s", c(s.PlannedAt))
		if s.Terraform != "" {
			fmt.Fprintf(w, " by Terraform %s", c(s.Terraform))
		}
		fmt.Fprint(w, ".")
	}
	if s.Flagged > 0 {
		fmt.Fprintf(w, " **%d item(s) flagged for review** (⚠).", s.Flagged)
	}
	fmt.Fprint(w, "\n\n")

	fmt.Fprintln(w, "### Revocations")
	fmt.Fprintln(w)
	if len(s.Revocations) == 0 {
		fmt.Fprintln(w, "None: nobody loses access in this plan.")
	} else {
		fmt.Fprintln(w, "| Resource | Identity | Owner | End date | Target | Action | Why |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
		for _, r := range s.Revocations {
			target := r.Target
			if r.Account != "" {
				target += "/" + r.Account
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", c(r.Address), c(r.Identity), c(r.Owner), c(r.EndDate), c(target), c(r.Action), c(r.Why))
		}
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "### New grants")
	fmt.Fprintln(w)
	if len(s.Grants) == 0 {
		fmt.Fprintln(w, "None.")
	} else {
		fmt.Fprintln(w, "| Resource | Identity | Owner | Target | Expires | Lifetime | |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
		for _, g := range s.Grants {
			life := ""
			if g.LifetimeDays != nil {
				life = fmt.Sprintf("%.1f days", *g.LifetimeDays)
			}
			flag := ""
			if g.Flag != "" {
				flag = "⚠ " + c(g.Flag)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", c(g.Address), c(g.Identity), c(g.Owner), c(g.Target), c(g.Expires), c(life), flag)
		}
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "### End-date extensions")
	fmt.Fprintln(w)
	if len(s.Extensions) == 0 {
		fmt.Fprintln(w, "None.")
	} else {
		fmt.Fprintln(w, "| Resource | Identity | Owner | Field | Old → new | Days | |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
		for _, x := range s.Extensions {
			d := fmt.Sprintf("%+.1f", x.Days)
			if x.Old == "" || x.New == "" {
				d = "-"
			}
			flag := ""
			if x.Flag != "" {
				flag = "⚠ " + c(x.Flag)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s → %s | %s | %s |\n", c(x.Address), c(x.Identity), c(x.Owner), c(x.Field), c(x.Old), c(x.New), d, flag)
		}
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "### Exceptions held by the roster")
	fmt.Fprintln(w)
	if len(s.Exceptions) == 0 {
		fmt.Fprintln(w, "None.")
	} else {
		fmt.Fprintln(w, "| Identity | Owner | End date | Kind | Reason | Approved by | Expires |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
		for _, x := range s.Exceptions {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", c(x.Identity), c(x.Owner), c(x.EndDate), c(x.Kind), c(x.Reason), c(x.ApprovedBy), c(x.Expires))
		}
	}
	return nil
}
