package evidencereport

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
)

func at(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func ledger(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ledger.jsonl")
	l, err := evidence.Open(p, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	add := func(r evidence.Record) {
		if _, err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	rev := func(acct, end, removed string) evidence.Record {
		return evidence.Record{Event: evidence.EventCredentialRevoked, Target: "warehouse", System: "postgresql", Account: acct,
			Identity: &evidence.IdentityRef{Name: acct, Owner: "hr@example.com", EndDate: end}, RemovedAt: at(removed),
			Verification: "rolcanlogin=false, 0 memberships, 0 sessions", Trigger: evidence.TriggerEndDateReached}
	}
	add(evidence.Record{Event: evidence.EventIdentityDeclared, Identity: &evidence.IdentityRef{Name: "a"}})
	add(rev("a", "2027-01-01", "2027-01-02T00:30:00Z"))                 // 30m after the end (ends 01-02T00:00)
	add(rev("b", "2027-01-01", "2027-01-03T00:00:00Z"))                 // 1d
	add(rev("c", "2027-01-01", "2027-01-01T12:00:00Z"))                 // early: 0
	add(rev("=HYPERLINK(\"x\")", "2027-01-01", "2027-01-06T00:00:00Z")) // 4d, hostile account
	add(rev("e", "", "2027-01-02T00:00:00Z"))                           // no end date
	add(rev("f", "2027-02-01", "2027-02-02T02:00:00Z"))                 // 2h
	return p
}

func TestReport(t *testing.T) {
	r, err := Build(ledger(t), nil, Options{SLA: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Summary
	// Delays with an end date, sorted: 0, 30m, 2h, 1d, 4d.
	if s.Count != 6 || s.WithEndDate != 5 || s.Median != "2h" || s.P95 != "4d" || s.Max != "4d" || s.WithinSLA != 4 || s.PctWithinSLA != 80 {
		t.Fatalf("summary = %+v", s)
	}
	if r.Records != 7 {
		t.Errorf("records = %d", r.Records)
	}
	b := r.Revocations[1]
	if b.Account != "b" || *b.Delay != 24*time.Hour || !*b.SLAMet || b.EndsAt.Format(time.RFC3339) != "2027-01-02T00:00:00Z" {
		t.Errorf("b = %+v", b)
	}
	if e := r.Revocations[4]; e.Delay != nil || e.SLAMet != nil {
		t.Errorf("no end date must mean no delay: %+v", e)
	}

	since, _ := Build(ledger(t), nil, Options{SLA: time.Hour, Since: *at("2027-01-03T00:00:00Z")})
	if since.Summary.Count != 3 || since.Summary.WithinSLA != 0 || since.Summary.PctWithinSLA != 0 {
		t.Errorf("since: %+v", since.Summary)
	}

	var out bytes.Buffer
	if err := Write(&out, "csv", r); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(rows) != 7 || rows[0][11] != "delay" {
		t.Fatalf("csv: %v %v", rows, err)
	}
	if rows[4][4] != `'=HYPERLINK("x")` {
		t.Errorf("formula not defused: %q", rows[4][4])
	}
	if rows[2][11] != "1d" || rows[2][13] != "yes" || rows[5][13] != "n/a" || rows[4][13] != "no" {
		t.Errorf("rows: %v", rows)
	}
	out.Reset()
	Write(&out, "markdown", r)
	md := out.String()
	for _, want := range []string{"| 6 | 5 | 2h | 4d | 4d | 4 (80.0%) |", "The ledger's hash chain verifies (7 records)"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	out.Reset()
	if err := Write(&out, "json", r); err != nil || !strings.Contains(out.String(), `"pct_within_sla": 80`) {
		t.Errorf("json: %v %s", err, out.String())
	}
}

func TestRefusesATamperedLedger(t *testing.T) {
	p := ledger(t)
	data, _ := os.ReadFile(p)
	lines := strings.SplitAfter(string(data), "\n")
	lines[2] = strings.Replace(lines[2], `"account":"b"`, `"account":"B"`, 1)
	os.WriteFile(p, []byte(strings.Join(lines, "")), 0o600)
	_, err := Build(p, nil, Options{})
	var le *evidence.LineError
	if !errors.Is(err, ErrTampered) || !errors.As(err, &le) || le.Line != 3 {
		t.Fatalf("err = %v", err)
	}
}

func TestPercentileAndFormat(t *testing.T) {
	ds := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	if percentile(ds, 95) != 19 || percentile(ds, 50) != 10 || percentile(ds[:1], 95) != 1 {
		t.Error("nearest-rank percentile")
	}
	for d, want := range map[time.Duration]string{0: "0s", 90 * time.Second: "1m30s", 26*time.Hour + 5*time.Minute: "1d2h", 500 * time.Millisecond: "<1s"} {
		if got := FormatDelay(d); got != want {
			t.Errorf("FormatDelay(%s) = %s, want %s", d, got, want)
		}
	}
}
