package baseline

import (
	"strings"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/scanner"
)

func TestApply(t *testing.T) {
	fp := func(acct string) string { return scanner.Fingerprint("unmanaged-account", "w", acct, "") }
	b, err := Parse([]byte(`accepted:
  - fingerprint: `+fp("vendor")+`
    rule: unmanaged-account
    reason: vendor appliance
    approved_by: ciso@example.com
    expires: 2027-12-31
  - fingerprint: `+strings.ToUpper(fp("old"))+`
    reason: migration
    approved_by: ciso@example.com
    expires: 2027-06-01
  - fingerprint: `+fp("gone")+`
    reason: long gone
    approved_by: ciso@example.com
    expires: 2027-01-01
  - fingerprint: `+fp("fixed")+`
    reason: decommissioned next week
    approved_by: ciso@example.com
    expires: 2027-12-31
`), "baseline.yaml", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	var fs []scanner.Finding
	for _, a := range []string{"vendor", "old", "new"} {
		fs = append(fs, scanner.Finding{Rule: "unmanaged-account", Target: "w", Account: a, Fingerprint: fp(a)})
	}
	now := time.Date(2027, 6, 15, 0, 0, 0, 0, time.UTC)
	kept, supp, notices := b.Apply(fs, now)
	if len(supp) != 1 || supp[0].Account != "vendor" || len(kept) != 2 || kept[0].Account != "old" || kept[1].Account != "new" {
		t.Fatalf("kept %v suppressed %v", kept, supp)
	}
	all := strings.Join(notices, "\n")
	// One line per entry that needs attention, in the file's order: the
	// expired ones, and the unexpired one that no finding matches any more.
	want := []string{
		"baseline baseline.yaml:7: the acceptance of " + fp("old") + " (unmanaged-account w/old, \"migration\") expired on 2027-06-01; the finding is reported again",
		"baseline baseline.yaml:11: the acceptance of " + fp("gone") + " expired on 2027-01-01; remove the entry",
		"baseline baseline.yaml:15: the acceptance of " + fp("fixed") + " (\"decommissioned next week\", until 2027-12-31) matches no finding of this scan; remove the entry if what it accepted is gone",
	}
	if all != strings.Join(want, "\n") {
		t.Fatalf("notices:\n%s\nwant:\n%s", all, strings.Join(want, "\n"))
	}
	// The last day of an entry still suppresses; the next midnight does not.
	if _, s, _ := b.Apply(fs[1:2], time.Date(2027, 6, 1, 23, 59, 0, 0, time.UTC)); len(s) != 1 {
		t.Error("an entry must suppress through its expiry day")
	}
	var nilB *Baseline
	if k, _, _ := nilB.Apply(fs, now); len(k) != 3 {
		t.Error("no baseline must keep everything")
	}
}

func TestParseRejects(t *testing.T) {
	fp := scanner.Fingerprint("a", "b", "c", "d")
	for _, c := range []struct{ in, want string }{
		{"accepted:\n  - {fingerprint: abc, reason: r, approved_by: a, expires: 2027-01-01}\n", "is not 32 hex digits"},
		{"accepted:\n  - {fingerprint: " + fp + ", approved_by: a, expires: 2027-01-01}\n", "b.yaml:2: entry " + fp + " needs reason"},
		{"accepted:\n  - {fingerprint: " + fp + ", reason: r, expires: 2027-01-01}\n", "needs approved_by"},
		{"accepted:\n  - {fingerprint: " + fp + ", reason: r, approved_by: a}\n", "needs expires"},
		{"accepted:\n  - {fingerprint: " + fp + ", reason: r, approved_by: a, expires: never}\n", "expires: date \"never\""},
		{"accepted:\n  - {fingerprint: " + fp + ", reason: r, approved_by: a, expires: 2027-01-01, rule: made-up}\n", "rule \"made-up\""},
		{"accepted:\n  - {fingerprint: " + fp + ", reason: r, approved_by: a, expires: 2027-01-01, note: x}\n", "unknown field \"note\""},
		{"accepted:\n  - {fingerprint: " + fp + ", reason: r, approved_by: a, expires: 2027-01-01}\n  - {fingerprint: " + fp + ", reason: r, approved_by: a, expires: 2027-01-01}\n", "already accepted at line 2"},
		{"accept: []\n", "unknown field \"accept\""},
		{"[1]\n", "want a mapping"},
		{"accepted: [\n", "not YAML"},
	} {
		if _, err := Parse([]byte(c.in), "b.yaml", time.UTC); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want %q", c.in, err, c.want)
		}
	}
	if b, err := Parse(nil, "empty.yaml", time.UTC); err != nil || len(b.Entries) != 0 {
		t.Errorf("an empty baseline: %v %v", b, err)
	}
}
