// Package evidencereport turns the evidence ledger into the revocation
// report an auditor asks for: for each revocation, when the identity's
// access should have ended, when it was actually removed, the delay, and
// whether the SLA was met; then the distribution of delays.
package evidencereport

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/internal/mdtext"
)

// Revocation is one credential.revoked record.
type Revocation struct {
	Line     int    `json:"line"`
	Seq      uint64 `json:"seq"`
	Target   string `json:"target"`
	System   string `json:"system,omitempty"`
	Account  string `json:"account"`
	Identity string `json:"identity,omitempty"`
	Owner    string `json:"owner,omitempty"`
	Trigger  string `json:"trigger,omitempty"`
	// EndDate is the identity's end date as recorded; EndsAt its instant.
	EndDate   string     `json:"end_date,omitempty"`
	EndsAt    *time.Time `json:"ends_at,omitempty"`
	RemovedAt time.Time  `json:"removed_at"`
	// Delay is RemovedAt - EndsAt, floored at zero (removed early counts
	// as on time); nil without an end date.
	Delay        *time.Duration `json:"-"`
	DelaySeconds *int64         `json:"delay_seconds,omitempty"`
	// SLAMet is nil when there is no end date to measure from.
	SLAMet       *bool  `json:"sla_met,omitempty"`
	Verification string `json:"verification,omitempty"`
	Actor        string `json:"actor,omitempty"`
}

// Summary is the distribution of delays over revocations with an end date.
type Summary struct {
	Count        int     `json:"count"`
	WithEndDate  int     `json:"with_end_date"`
	Median       string  `json:"median"`
	P95          string  `json:"p95"`
	Max          string  `json:"max"`
	WithinSLA    int     `json:"within_sla"`
	PctWithinSLA float64 `json:"pct_within_sla"`
}

// Report is the whole report.
type Report struct {
	Ledger      string       `json:"ledger"`
	Since       *time.Time   `json:"since,omitempty"`
	SLA         string       `json:"sla"`
	Records     int          `json:"records"`
	Revocations []Revocation `json:"revocations"`
	Summary     Summary      `json:"summary"`
}

// Options selects and judges revocations.
type Options struct {
	Since    time.Time // only revocations removed at or after it; zero: all
	SLA      time.Duration
	Location *time.Location // for calendar end dates; nil is UTC
}

// ErrTampered is returned (wrapped, as *evidence.LineError too) when the
// ledger does not verify: a report from altered evidence is not evidence.
var ErrTampered = errors.New("the ledger does not verify")

// Build reads the ledger at path and builds the report. It first verifies
// the whole chain (with key, when set) and refuses a broken ledger.
func Build(path string, key []byte, opts Options) (*Report, error) {
	rep, err := evidence.VerifyFile(path, key)
	if err != nil {
		return nil, err
	}
	if rep.FirstBad != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrTampered, path, rep.FirstBad)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	r := &Report{Ledger: path, SLA: lifecycle.FormatDuration(opts.SLA), Revocations: []Revocation{}}
	if !opts.Since.IsZero() {
		s := opts.Since.UTC()
		r.Since = &s
	}
	err = evidence.Scan(f, func(line int, rec evidence.Record) error {
		r.Records++
		if rec.Event != evidence.EventCredentialRevoked {
			return nil
		}
		rv := Revocation{Line: line, Seq: rec.Seq, Target: rec.Target, System: rec.System, Account: rec.Account,
			Trigger: string(rec.Trigger), Verification: rec.Verification, Actor: rec.Actor, RemovedAt: rec.Time.UTC()}
		switch {
		case rec.RemovedAt != nil:
			rv.RemovedAt = rec.RemovedAt.UTC()
		case rec.VerifiedAt != nil:
			rv.RemovedAt = rec.VerifiedAt.UTC()
		}
		if !opts.Since.IsZero() && rv.RemovedAt.Before(opts.Since) {
			return nil
		}
		if id := rec.Identity; id != nil {
			rv.Identity, rv.Owner, rv.EndDate = id.Name, id.Owner, id.EndDate
		}
		if rv.EndDate != "" {
			if e, err := lifecycle.ParseEndDate(rv.EndDate, loc); err == nil {
				ends := e.EndsAt().UTC()
				rv.EndsAt = &ends
				d := max(rv.RemovedAt.Sub(ends), 0)
				secs := int64(d / time.Second)
				met := d <= opts.SLA
				rv.Delay, rv.DelaySeconds, rv.SLAMet = &d, &secs, &met
			}
		}
		r.Revocations = append(r.Revocations, rv)
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.Summary = summarize(r.Revocations)
	return r, nil
}

func summarize(rs []Revocation) Summary {
	s := Summary{Count: len(rs), Median: "-", P95: "-", Max: "-"}
	var delays []time.Duration
	for _, r := range rs {
		if r.Delay == nil {
			continue
		}
		delays = append(delays, *r.Delay)
		if *r.SLAMet {
			s.WithinSLA++
		}
	}
	s.WithEndDate = len(delays)
	if len(delays) == 0 {
		return s
	}
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	s.Median = FormatDelay(percentile(delays, 50))
	s.P95 = FormatDelay(percentile(delays, 95))
	s.Max = FormatDelay(delays[len(delays)-1])
	s.PctWithinSLA = math.Round(float64(s.WithinSLA)/float64(len(delays))*1000) / 10
	return s
}

// percentile is the nearest-rank percentile of sorted delays: the smallest
// value with at least p% of the values at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// FormatDelay writes a delay as days, hours, minutes and seconds, largest
// units first, at most two of them: "2d3h", "4h12m", "35s", "0s".
func FormatDelay(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	units := []struct {
		n    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	var parts []string
	for _, u := range units {
		if d >= u.n {
			parts = append(parts, strconv.FormatInt(int64(d/u.n), 10)+u.name)
			d %= u.n
		}
		if len(parts) == 2 {
			break
		}
	}
	if len(parts) == 0 {
		return "<1s"
	}
	return strings.Join(parts, "")
}

// Formats lists what Write takes.
var Formats = []string{"markdown", "csv", "json"}

// Write writes the report.
func Write(w io.Writer, format string, r *Report) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "csv":
		return writeCSV(w, r)
	case "markdown":
		return writeMarkdown(w, r)
	}
	return fmt.Errorf("format %q is not one of %s", format, strings.Join(Formats, ", "))
}

func delayCells(rv Revocation) (ends, delay, met string) {
	ends, delay, met = "", "", "n/a"
	if rv.EndsAt != nil {
		ends = rv.EndsAt.Format(time.RFC3339)
	}
	if rv.Delay != nil {
		delay = FormatDelay(*rv.Delay)
		met = "no"
		if *rv.SLAMet {
			met = "yes"
		}
	}
	return ends, delay, met
}

// csvSafe defuses spreadsheet formulas in untrusted cells.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func writeCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"seq", "line", "target", "system", "account", "identity", "owner", "trigger", "end_date", "ends_at", "removed_at", "delay", "delay_seconds", "sla_met", "verification", "actor"})
	for _, rv := range r.Revocations {
		ends, delay, met := delayCells(rv)
		secs := ""
		if rv.DelaySeconds != nil {
			secs = strconv.FormatInt(*rv.DelaySeconds, 10)
		}
		cw.Write([]string{strconv.FormatUint(rv.Seq, 10), strconv.Itoa(rv.Line), csvSafe(rv.Target), csvSafe(rv.System), csvSafe(rv.Account),
			csvSafe(rv.Identity), csvSafe(rv.Owner), csvSafe(rv.Trigger), csvSafe(rv.EndDate), ends, rv.RemovedAt.Format(time.RFC3339), delay, secs, met,
			csvSafe(rv.Verification), csvSafe(rv.Actor)})
	}
	cw.Flush()
	return cw.Error()
}

func writeMarkdown(w io.Writer, r *Report) error {
	c := mdtext.Cell
	s := r.Summary
	fmt.Fprintf(w, "## Revocation evidence: %s\n\n", c(r.Ledger))
	scope := "all records"
	if r.Since != nil {
		scope = "revocations since " + r.Since.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "The ledger's hash chain verifies (%d records). Scope: %s. SLA: %s.\n\n", r.Records, scope, r.SLA)
	fmt.Fprintln(w, "| Revocations | With an end date | Median delay | p95 | Max | Within SLA |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	fmt.Fprintf(w, "| %d | %d | %s | %s | %s | %d (%.1f%%) |\n\n", s.Count, s.WithEndDate, s.Median, s.P95, s.Max, s.WithinSLA, s.PctWithinSLA)
	if len(r.Revocations) == 0 {
		fmt.Fprintln(w, "No revocations in scope.")
		return nil
	}
	fmt.Fprintln(w, "| # | Target | Account | Identity | Owner | End date | Removed at | Delay | SLA met | Verified |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, rv := range r.Revocations {
		_, delay, met := delayCells(rv)
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", rv.Seq, c(rv.Target), c(rv.Account), c(rv.Identity), c(rv.Owner),
			c(rv.EndDate), rv.RemovedAt.Format(time.RFC3339), c(delay), met, c(rv.Verification))
	}
	return nil
}
