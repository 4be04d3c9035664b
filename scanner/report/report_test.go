package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/scanner"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/locate"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/report/sariftest"
)

func sample() Report {
	hostile := "evil|name`<script>alert(1)</script>\n| forged | row |"
	fs := []scanner.Finding{
		{Rule: scanner.RuleStaleAccess, Target: "warehouse", System: "postgresql", Account: "bob", Identity: "bob", Owner: "hr@example.com",
			EndDate: "2027-06-01", Overdue: 13*24*time.Hour + 12*time.Hour, Checked: "rolcanlogin=true, 1 session",
			Location: locate.Location{File: "infra/roles.tf", Line: 12}, Address: `sunset_postgres_role.staff["bob"]`, Message: "bob is still usable"},
		{Rule: scanner.RuleUnmanagedAccount, Target: "warehouse", System: "postgresql", Account: hostile, Checked: "rolcanlogin=true",
			Location: locate.Location{File: "sunset.yaml", Line: 3}, Message: "Account " + hostile + " is usable"},
		{Rule: scanner.RuleLedgerTampered, Account: "/var/lib/sunset/ledger with space.jsonl", Location: locate.Location{File: "/var/lib/sunset/ledger with space.jsonl", Line: 2}, Message: "broken"},
		{Rule: scanner.RulePendingRevocation, Target: "slack", Account: "u-1", Identity: "carol", Location: locate.Location{File: "roster.csv"}, Message: "pending"},
	}
	for i := range fs {
		fs[i].Severity = fs[i].RuleInfo().Severity
		fs[i].Fingerprint = scanner.Fingerprint(fs[i].Rule, fs[i].Target, fs[i].Account, fs[i].Identity)
	}
	return Report{Version: "1.2.3", Result: &scanner.Result{
		Now: time.Date(2027, 6, 15, 12, 0, 0, 0, time.UTC), SLA: 24 * time.Hour, Findings: fs,
		Incomplete: []scanner.Problem{{Target: "crm", Message: "target crm could not be read: connection refused"}},
	}}
}

func render(t *testing.T, format string, r Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, format, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestSARIFValidatesAndCarriesWhatGitHubNeeds(t *testing.T) {
	out := render(t, "sarif", sample())
	sariftest.Validate(t, []byte(out))
	var log map[string]any
	json.Unmarshal([]byte(out), &log)
	run := log["runs"].([]any)[0].(map[string]any)
	rules := run["tool"].(map[string]any)["driver"].(map[string]any)["rules"].([]any)
	if len(rules) != len(scanner.Rules) {
		t.Fatalf("%d rules", len(rules))
	}
	stale := rules[0].(map[string]any)
	if stale["id"] != "stale-access" || stale["properties"].(map[string]any)["security-severity"] != "9.5" {
		t.Errorf("first rule = %v", stale)
	}
	results := run["results"].([]any)
	first := results[0].(map[string]any)
	loc := first["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)
	if loc["artifactLocation"].(map[string]any)["uri"] != "infra/roles.tf" || loc["region"].(map[string]any)["startLine"].(float64) != 12 {
		t.Errorf("location = %v", loc)
	}
	if first["partialFingerprints"].(map[string]any)[FingerprintKey] != scanner.Fingerprint("stale-access", "warehouse", "bob", "bob") || first["level"] != "error" {
		t.Errorf("result = %v", first)
	}
	abs := results[2].(map[string]any)["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)["artifactLocation"].(map[string]any)
	if abs["uri"] != "file:///var/lib/sunset/ledger%20with%20space.jsonl" {
		t.Errorf("absolute uri = %v", abs)
	}
	noLine := results[3].(map[string]any)["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)
	if _, ok := noLine["region"]; ok {
		t.Errorf("a location without a line must have no region: %v", noLine)
	}
	inv := run["invocations"].([]any)[0].(map[string]any)
	if inv["executionSuccessful"] != false || !strings.Contains(out, "connection refused") {
		t.Errorf("an incomplete scan must say so: %v", inv)
	}
}

func TestSARIFOfACleanScanValidates(t *testing.T) {
	out := render(t, "sarif", Report{Result: &scanner.Result{Now: time.Now()}, Version: "dev"})
	sariftest.Validate(t, []byte(out))
	if !strings.Contains(out, `"results": []`) {
		t.Errorf("a clean scan must have an empty results array:\n%s", out)
	}
}

func TestMarkdownEscapesHostileNames(t *testing.T) {
	out := render(t, "markdown", sample())
	if strings.Contains(out, "<script>") || strings.Contains(out, "| forged | row |") {
		t.Fatalf("hostile account name not escaped:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| critical") || strings.HasPrefix(line, "| high") {
			if n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"); n != 11 {
				t.Errorf("row has %d cell separators, want 11: %s", n, line)
			}
		}
	}
	for _, want := range []string{"## sunset scan: 4 findings, 2 critical, 1 high, 1 low", "**Incomplete scan.**", "NHI1:2025 Improper Offboarding | PR.AA-05", "13d12h", "infra/roles.tf:12",
		"| Severity | Rule | Target | System | Account | Identity | Owner | End date | Overdue | Location |",
		"| critical | `stale-access` | warehouse | postgresql | bob | bob | hr&#64;example.com | 2027-06-01 | 13d12h | infra/roles.tf:12 |",
		"- **stale-access** bob is still usable (checked: rolcanlogin=true, 1 session).\n",
		"- **ledger-tampered** broken.\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

// The list of what was checked joins a message that ends a sentence and a
// check without doubling or misplacing the period.
func TestMarkdownCheckedLine(t *testing.T) {
	for _, c := range []struct{ msg, checked, want string }{
		{"The exception of identity x expired on 2031-01-01.", "exception expires 2031-01-01",
			"The exception of identity x expired on 2031-01-01 (checked: exception expires 2031-01-01)."},
		{"no period", "a check.", "no period (checked: a check)."},
		{"Only a message.", "", "Only a message."},
		{"", "only a check", "Checked: only a check."},
		{"", "", "-"},
	} {
		if got := checkedLine(scanner.Finding{Message: c.msg, Checked: c.checked}); got != c.want {
			t.Errorf("%q + %q = %q, want %q", c.msg, c.checked, got, c.want)
		}
	}
}

func TestTableIsAligned(t *testing.T) {
	out := render(t, "table", sample())
	lines := strings.Split(out, "\n")
	header := lines[0]
	if got, want := strings.Join(strings.Fields(header), " "), "SEVERITY RULE TARGET SYSTEM ACCOUNT IDENTITY OWNER END DATE OVERDUE LOCATION"; got != want {
		t.Errorf("header = %q, want the columns %q", got, want)
	}
	// Each row, then what was checked for it (when anything was) indented
	// under it; the checks do not break the rows' alignment.
	rows := []string{lines[1], lines[3], lines[5], lines[6]}
	for _, name := range []string{"SYSTEM", "ACCOUNT", "END DATE", "LOCATION"} {
		col := strings.Index(header, name)
		for _, l := range rows {
			if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
				t.Errorf("column %s not aligned at %d in %q", name, col, l)
			}
		}
	}
	for i, want := range map[int]string{2: "    checked: rolcanlogin=true, 1 session", 4: "    checked: rolcanlogin=true"} {
		if lines[i] != want {
			t.Errorf("line %d = %q, want %q", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[1], "postgresql") || !strings.Contains(lines[1], "2027-06-01") || !strings.Contains(lines[1], "13d12h") {
		t.Errorf("row lacks the system, end date or overdue time: %q", lines[1])
	}
	if strings.Count(out, "\n") != 11 || !strings.Contains(out, "INCOMPLETE scan") || !strings.Contains(out, "4 findings, 2 critical, 1 high, 1 low at 2027-06-15T12:00:00Z (SLA 1d)") {
		t.Errorf("table:\n%s", out)
	}
}

func TestJSON(t *testing.T) {
	r := sample()
	r.Suppressed = []scanner.Finding{r.Result.Findings[3]}
	out := render(t, "json", r)
	var got struct {
		Complete   bool
		Summary    map[string]int
		Findings   []map[string]any
		Suppressed []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	f := got.Findings[0]
	if got.Complete || got.Summary["critical"] != 2 || f["overdue"] != "13d12h" || f["overdue_seconds"].(float64) != 1166400 ||
		f["location"] != "infra/roles.tf:12" || f["owasp_nhi"] != "NHI1:2025 Improper Offboarding" || f["nist_csf"] != "PR.AA-05" || len(got.Suppressed) != 1 {
		t.Errorf("json = %s", out)
	}
	if err := Write(&bytes.Buffer{}, "xml", r); err == nil {
		t.Error("unknown format accepted")
	}
}

// The validator must be able to fail, or the test above proves nothing.
func TestSchemaRejectsBrokenSARIF(t *testing.T) {
	s := sariftest.Schema(t)
	out := render(t, "sarif", sample())
	for _, broken := range []string{
		strings.Replace(out, `"level": "error"`, `"level": "fatal"`, 1),
		strings.Replace(out, `"startLine": 12`, `"startLine": 0`, 1),
		strings.Replace(out, `"version": "2.1.0"`, `"version": "2.0.0"`, 1),
	} {
		var inst any
		json.Unmarshal([]byte(broken), &inst)
		if err := s.Validate(inst); err == nil {
			t.Errorf("broken SARIF validated")
		}
	}
}
