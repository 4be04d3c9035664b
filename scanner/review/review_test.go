package review

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// identities-plan.json is `terraform show -json` of a real plan (terraform
// 1.11.4, the sunset provider) in which bob is terminated in the HR export,
// carol is added and etl-loader's end date moves from 2030-06-30 to
// 2030-12-31; old-bot is held by a legal-hold exception.
func TestRealPlan(t *testing.T) {
	s, err := ReadFile("testdata/identities-plan.json", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Revocations) != 1 || len(s.Grants) != 1 || len(s.Extensions) != 1 || len(s.Exceptions) != 1 {
		t.Fatalf("%+v", s)
	}
	r := s.Revocations[0]
	if r.Address != `sunset_identity.staff["bob"]` || r.Identity != "bob" || r.Owner != "hr@example.com" || r.EndDate != "2030-01-31" ||
		r.Action != "destroy" || r.Why != "identity ended: terminated in source (data.sunset_roster.staff)" {
		t.Errorf("revocation = %+v", r)
	}
	g := s.Grants[0]
	if g.Identity != "carol" || g.Expires != "2031-05-31" || g.Flag != "" || g.LifetimeDays == nil {
		t.Errorf("grant = %+v", g)
	}
	x := s.Extensions[0]
	if x.Identity != "etl-loader" || x.Old != "2030-06-30" || x.New != "2030-12-31" || x.Days != 184 || x.Field != "end_date" {
		t.Errorf("extension = %+v", x)
	}
	e := s.Exceptions[0]
	if e.Identity != "old-bot" || e.Kind != "legal_hold" || e.ApprovedBy != "ciso@example.com" || e.Expires != "2031-01-01" || e.Reason != "litigation 17" {
		t.Errorf("exception = %+v", e)
	}
}

func TestCredentialsAndPolicy(t *testing.T) {
	s, err := ReadFile("testdata/credentials-plan.json", Options{MaxGrant: 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]Grant{}
	for _, g := range s.Grants {
		by[g.Address] = g
	}
	if g := by[`sunset_postgres_role.staff["carol"]`]; g.Target != "warehouse" || g.Expires != "2031-05-31" || !strings.Contains(g.Flag, "exceeds policy max_grant of 365d") || g.Owner != "hr@example.com" {
		t.Errorf("carol = %+v", g)
	}
	if g := by[`sunset_postgres_role.adhoc["x|<b>evil</b>"]`]; !strings.HasPrefix(g.Flag, "no expires_at") {
		t.Errorf("a grant without expiry must be flagged: %+v", g)
	}
	var revoked []string
	for _, r := range s.Revocations {
		revoked = append(revoked, r.Address+" "+r.Action+" "+r.Target+"/"+r.Account)
	}
	if got := strings.Join(revoked, "\n"); got != strings.Join([]string{
		`sunset_identity.staff["bob"] destroy /`,
		`sunset_postgres_role.replace["alice"] replace warehouse/alice`,
		`sunset_postgres_role.staff["bob"] destroy warehouse/bob`,
	}, "\n") {
		t.Errorf("revocations:\n%s", got)
	}
	var ext []string
	for _, x := range s.Extensions {
		ext = append(ext, x.Address+" "+x.Field)
	}
	if strings.Join(ext, ",") != `sunset_identity.staff["etl-loader"] end_date,sunset_postgres_role.staff["etl-loader"] expires_at` {
		t.Errorf("extensions: %v", ext)
	}
	if s.Flagged < 3 {
		t.Errorf("flagged = %d", s.Flagged)
	}

	var md bytes.Buffer
	if err := Write(&md, "markdown", s); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	if strings.Contains(out, "<b>") || !strings.HasPrefix(out, Marker) {
		t.Fatalf("markdown:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "| sunset") && strings.Count(strings.ReplaceAll(l, `\|`, ""), "|") != 8 {
			t.Errorf("row broken by a hostile name: %s", l)
		}
	}
	var js bytes.Buffer
	if err := Write(&js, "json", s); err != nil {
		t.Fatal(err)
	}
	var back Summary
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Grants) != len(s.Grants) {
		t.Fatalf("json round trip: %v", err)
	}
	if Write(&js, "html", s) == nil {
		t.Error("unknown format accepted")
	}
}

func TestRejectsWhatIsNotAPlan(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct{ in, want string }{
		"truncated": {`{"format_version":"1.2","resource_changes":[`, "not JSON"},
		"state":     {mustRead(t, "../state/testdata/identities-show.json"), "a state's show -json is not a plan"},
		"array":     {`[]`, "not a plan"},
		"empty":     {``, "not JSON"},
	} {
		p := filepath.Join(dir, name+".json")
		os.WriteFile(p, []byte(c.in), 0o600)
		if _, err := ReadFile(p, Options{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.json"), Options{}); err == nil {
		t.Error("missing file accepted")
	}
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// postgres-plan.json is `terraform show -json` of a real plan: bob is
// terminated in the HR export (his identity and role are destroyed) and
// carol's end date moves a year out (identity and role expiry follow).
func TestRealPostgresPlan(t *testing.T) {
	s, err := ReadFile("testdata/postgres-plan.json", Options{MaxGrant: 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var rev []string
	for _, r := range s.Revocations {
		rev = append(rev, fmt.Sprintf("%s|%s|%s|%s|%s/%s|%s|%s", r.Address, r.Identity, r.Owner, r.EndDate, r.Target, r.Account, r.Action, r.Why))
	}
	want := []string{
		`sunset_identity.staff["bob"]|bob|hr@example.com|2030-01-31|/|destroy|identity ended: terminated in source (data.sunset_roster.staff)`,
		`sunset_postgres_role.staff["bob"]|bob|hr@example.com|2030-01-31|warehouse/bob|destroy|identity ended: terminated in source (data.sunset_roster.staff)`,
	}
	if strings.Join(rev, "\n") != strings.Join(want, "\n") {
		t.Errorf("revocations:\n%s\nwant:\n%s", strings.Join(rev, "\n"), strings.Join(want, "\n"))
	}
	var ext []string
	for _, x := range s.Extensions {
		ext = append(ext, fmt.Sprintf("%s %s %s→%s %+.1f flag=%q", x.Address, x.Field, x.Old, x.New, x.Days, x.Flag))
	}
	if len(ext) != 2 || !strings.Contains(ext[0], `sunset_identity.staff["carol"] end_date 2030-05-31→2031-05-31 +365.0`) ||
		!strings.Contains(ext[1], `sunset_postgres_role.staff["carol"] expires_at 2030-05-31→2031-05-31 +365.0`) {
		t.Errorf("extensions:\n%s", strings.Join(ext, "\n"))
	}
	if len(s.Grants) != 0 || len(s.Exceptions) != 0 {
		t.Errorf("grants %v exceptions %v", s.Grants, s.Exceptions)
	}
}

// Exceptions are listed by roster, then identity, the same way every time.
// Roster and identity concatenated used to be the key: roster a's "bcd",
// roster ab's "cd" and roster abc's "d" all read "...abcd" (and the sort,
// unstable past 12 elements, printed such ties in map order), and roster
// a's "z" ("...az") sorted after roster ab's "a" ("...aba").
func TestExceptionsOrderedByRosterThenIdentity(t *testing.T) {
	rosters := map[string][]string{
		"a":   {"bc", "z", "b", "bcd", "a"},
		"ab":  {"c", "zz", "cd", "a", "b"},
		"abc": {"d", "zz", "a"},
		"b":   {"y", "x"},
	}
	want := []string{
		"a a", "a b", "a bc", "a bcd", "a z",
		"ab a", "ab b", "ab c", "ab cd", "ab zz",
		"abc a", "abc d", "abc zz",
		"b x", "b y",
	}
	var resources []any
	for name, ids := range rosters {
		ex := map[string]any{}
		for _, id := range ids {
			ex[id] = map[string]any{"owner": "o@example.com", "end_date": "2026-01-01",
				"exception": map[string]any{"kind": "legal_hold", "reason": "r", "approved_by": "ciso@example.com", "expires": "2031-01-01"}}
		}
		resources = append(resources, map[string]any{"address": "data.sunset_roster." + name, "mode": "data", "type": "sunset_roster",
			"name": name, "provider_name": "registry.terraform.io/sunset-iam/sunset", "schema_version": 0,
			"values": map[string]any{"exceptions": ex}})
	}
	plan, err := json.Marshal(map[string]any{"format_version": "1.2", "terraform_version": "1.11.4", "timestamp": "2026-03-01T08:00:00Z",
		"planned_values": map[string]any{"root_module": map[string]any{}},
		"prior_state":    map[string]any{"format_version": "1.0", "values": map[string]any{"root_module": map[string]any{"resources": resources}}}})
	if err != nil {
		t.Fatal(err)
	}
	// Map order differs from run to run: read the plan many times.
	for range 30 {
		s, err := Review(plan, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range s.Exceptions {
			got = append(got, strings.TrimPrefix(e.Roster, "data.sunset_roster.")+" "+e.Identity)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("exceptions in order:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
