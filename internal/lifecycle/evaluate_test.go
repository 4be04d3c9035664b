package lifecycle

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func names(evs []Evaluated) string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Name
	}
	return strings.Join(out, ",")
}

func find(evs []Evaluated, name string) (Evaluated, bool) {
	for _, e := range evs {
		if e.Name == name {
			return e, true
		}
	}
	return Evaluated{}, false
}

func svc(name, end string) Identity {
	return Identity{Name: name, Kind: KindServiceAccount, Owner: "team@example.com", EndDate: end}
}

func TestEvaluateSplitsAtNow(t *testing.T) {
	now := at(t, "2027-06-15T12:00:00Z")
	ids := []Identity{
		svc("ended-yesterday", "2027-06-14"),
		svc("ends-today", "2027-06-15"), // usable through today
		svc("ends-tomorrow", "2027-06-16"),
		svc("ends-next-year", "2028-06-16"),
		{Name: "alice", Kind: KindHuman, Owner: "hr@example.com"}, // humans need no end date by default
		{Name: "bob", Kind: KindHuman, Owner: "hr@example.com", EndDate: "2030-01-01", SourceStatus: SourceTerminated},
		svc("ended-at-instant", "2027-06-15T11:59:59Z"),
	}
	res, err := Evaluate(ids, now, DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(res.Active), "alice,ends-next-year,ends-today,ends-tomorrow"; got != want {
		t.Errorf("active = %s, want %s", got, want)
	}
	if got, want := names(res.Ended), "bob,ended-at-instant,ended-yesterday"; got != want {
		t.Errorf("ended = %s, want %s", got, want)
	}
	if got, want := names(res.Expiring), "ends-today,ends-tomorrow"; got != want {
		t.Errorf("expiring = %s, want %s", got, want)
	}
	bob, _ := find(res.Ended, "bob")
	if bob.Reason != ReasonTerminatedInSource {
		t.Errorf("bob reason = %s, want terminated_in_source", bob.Reason)
	}
	y, _ := find(res.Ended, "ended-yesterday")
	if y.Reason != ReasonEndDateReached || !y.EndsAt.Equal(at(t, "2027-06-15T00:00:00Z")) {
		t.Errorf("ended-yesterday = %s at %s", y.Reason, y.EndsAt)
	}
	today, _ := find(res.Active, "ends-today")
	if today.Status != StatusExpiring {
		t.Errorf("ends-today status = %s, want expiring", today.Status)
	}
	alice, _ := find(res.Active, "alice")
	if alice.Status != StatusActive || !alice.EndsAt.IsZero() {
		t.Errorf("alice = %s ends %s", alice.Status, alice.EndsAt)
	}
}

func TestEvaluateTimeZoneDecidesTheDay(t *testing.T) {
	ids := []Identity{svc("etl", "2027-03-31")}
	// 2027-03-31T20:00Z is already 1 April in Tokyo and still 31 March in New York.
	now := at(t, "2027-03-31T20:00:00Z")
	for zone, ended := range map[string]bool{"Asia/Tokyo": true, "UTC": false, "America/New_York": false} {
		p := DefaultPolicy()
		p.Location = mustLoc(t, zone)
		res, err := Evaluate(ids, now, p)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(res.Ended) == 1; got != ended {
			t.Errorf("%s: ended = %v, want %v", zone, got, ended)
		}
	}
}

func TestEvaluateExceptions(t *testing.T) {
	now := at(t, "2027-06-15T12:00:00Z")
	held := svc("held", "2027-01-01")
	held.Exception = &Exception{Kind: ExceptionLegalHold, Reason: "litigation 2027-17", ApprovedBy: "ciso@example.com", Expires: "2027-12-31"}
	lapsed := svc("lapsed", "2027-01-01")
	lapsed.Exception = &Exception{Kind: ExceptionBreakGlass, Reason: "incident", ApprovedBy: "ciso@example.com", Expires: "2027-06-01"}
	// An expired exception ends the identity even before its end date: an
	// exception is never left in place as the control.
	stale := svc("stale", "2029-01-01")
	stale.Exception = &Exception{Kind: ExceptionNoAPI, Reason: "legacy app", ApprovedBy: "it@example.com", Expires: "2027-06-14"}
	shared := Identity{Name: "shared-ops", Kind: KindServiceAccount, Owner: "ops@example.com",
		Exception: &Exception{Kind: ExceptionSharedAccount, Reason: "vendor console", ApprovedBy: "ciso@example.com", Expires: "2027-06-20"}}
	terminated := Identity{Name: "carol", Kind: KindHuman, Owner: "hr@example.com", SourceStatus: SourceTerminated,
		Exception: &Exception{Kind: ExceptionLegalHold, Reason: "mailbox hold", ApprovedBy: "legal@example.com", Expires: "2027-09-01"}}

	res, err := Evaluate([]Identity{held, lapsed, stale, shared, terminated}, now, DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(res.Exceptions), "carol,held,shared-ops"; got != want {
		t.Errorf("exceptions = %s, want %s", got, want)
	}
	if got, want := names(res.Active), "carol,held,shared-ops"; got != want {
		t.Errorf("active = %s, want %s", got, want)
	}
	if got, want := names(res.Ended), "lapsed,stale"; got != want {
		t.Errorf("ended = %s, want %s", got, want)
	}
	for _, n := range []string{"lapsed", "stale"} {
		e, _ := find(res.Ended, n)
		if e.Reason != ReasonExceptionExpired {
			t.Errorf("%s reason = %s, want exception_expired", n, e.Reason)
		}
	}
	h, _ := find(res.Active, "held")
	if h.Status != StatusExcepted || h.Reason != ReasonEndDateReached || !h.EndsAt.Equal(at(t, "2028-01-01T00:00:00Z")) {
		t.Errorf("held = %s/%s until %s", h.Status, h.Reason, h.EndsAt)
	}
	c, _ := find(res.Active, "carol")
	if c.Reason != ReasonTerminatedInSource {
		t.Errorf("carol reason = %s", c.Reason)
	}
	if got, want := names(res.Expiring), "shared-ops"; got != want {
		t.Errorf("expiring = %s, want %s (its exception ends within 14d)", got, want)
	}
}

func TestEvaluateRefusesInvalidInput(t *testing.T) {
	now := at(t, "2027-06-15T12:00:00Z")
	noApprover := svc("no-approver", "2027-01-01")
	noApprover.Exception = &Exception{Kind: ExceptionLegalHold, Reason: "hold", Expires: "2027-12-31"}
	noExpiry := svc("no-expiry", "2027-01-01")
	noExpiry.Exception = &Exception{Kind: ExceptionLegalHold, Reason: "hold", ApprovedBy: "x@example.com"}
	badKind := svc("bad-exception", "2027-01-01")
	badKind.Exception = &Exception{Kind: "forever", Reason: "hold", ApprovedBy: "x@example.com", Expires: "2027-12-31"}

	capped := DefaultPolicy()
	capped.MaxLifetime = map[Kind]time.Duration{KindAPIClient: 90 * 24 * time.Hour}

	cases := []struct {
		name   string
		id     Identity
		policy Policy
		field  string
		msg    string
	}{
		{"invalid calendar date", svc("a", "2027-02-29"), DefaultPolicy(), "end_date", "2027-02-29"},
		{"invalid start date", Identity{Name: "a", Kind: KindHuman, Owner: "o", StartDate: "yesterday"}, DefaultPolicy(), "start_date", "yesterday"},
		{"end before start", Identity{Name: "a", Kind: KindHuman, Owner: "o", StartDate: "2027-05-01", EndDate: "2027-04-01"}, DefaultPolicy(), "end_date", "not after start_date"},
		{"end on the instant of start", Identity{Name: "a", Kind: KindHuman, Owner: "o", StartDate: "2027-05-01T00:00:00Z", EndDate: "2027-05-01T00:00:00Z"}, DefaultPolicy(), "end_date", "not after"},
		{"exception with no approver", noApprover, DefaultPolicy(), "exception.approved_by", "approver"},
		{"exception with no expiry", noExpiry, DefaultPolicy(), "exception.expires", "expiry"},
		{"exception of unknown kind", badKind, DefaultPolicy(), "exception.kind", "forever"},
		{"missing end date for a non-human kind", Identity{Name: "a", Kind: KindWorkload, Owner: "o"}, DefaultPolicy(), "end_date", "required for kind \"workload\""},
		{"empty owner", Identity{Name: "a", Kind: KindHuman, Owner: " "}, DefaultPolicy(), "owner", "owner"},
		{"unknown kind", Identity{Name: "a", Kind: "robot", Owner: "o"}, DefaultPolicy(), "kind", "robot"},
		{"empty name", Identity{Kind: KindHuman, Owner: "o"}, DefaultPolicy(), "name", "empty"},
		{"control character in name", Identity{Name: "a\nb", Kind: KindHuman, Owner: "o"}, DefaultPolicy(), "name", "control"},
		{"unknown source status", Identity{Name: "a", Kind: KindHuman, Owner: "o", SourceStatus: "gone"}, DefaultPolicy(), "status", "gone"},
		{"lifetime beyond max_lifetime", Identity{Name: "a", Kind: KindAPIClient, Owner: "o", EndDate: "2027-12-31"}, capped, "end_date", "max_lifetime"},
		{"max_lifetime counts from start_date", Identity{Name: "a", Kind: KindAPIClient, Owner: "o", StartDate: "2027-01-01", EndDate: "2027-07-01"}, capped, "end_date", "start_date 2027-01-01"},
		{"max_lifetime needs an end date", Identity{Name: "a", Kind: KindAPIClient, Owner: "o", Exception: &Exception{Kind: ExceptionNoAPI, Reason: "r", ApprovedBy: "x", Expires: "2027-07-01"}}, capped, "end_date", "max_lifetime"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Evaluate([]Identity{c.id}, now, c.policy)
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("want Problems, got %v", err)
			}
			for _, p := range ps {
				if p.Field == c.field && strings.Contains(p.Message, c.msg) {
					return
				}
			}
			t.Fatalf("no problem on %s mentioning %q in %v", c.field, c.msg, ps)
		})
	}
}

func TestEvaluateWithinMaxLifetimeIsFine(t *testing.T) {
	now := at(t, "2027-06-15T12:00:00Z")
	p := DefaultPolicy()
	p.MaxLifetime = map[Kind]time.Duration{KindAPIClient: 90 * 24 * time.Hour}
	id := Identity{Name: "ci-client", Kind: KindAPIClient, Owner: "o", EndDate: "2027-08-01"}
	if _, err := Evaluate([]Identity{id}, now, p); err != nil {
		t.Fatal(err)
	}
}

func TestEvaluateRefusesDuplicateNames(t *testing.T) {
	now := at(t, "2027-06-15T12:00:00Z")
	a := svc("etl", "2028-01-01")
	a.Source = "inline"
	b := svc("etl", "2028-01-01")
	b.Source = "file"
	_, err := Evaluate([]Identity{a, b}, now, DefaultPolicy())
	if err == nil || !strings.Contains(err.Error(), "declared twice (inline and file)") {
		t.Fatalf("want duplicate error, got %v", err)
	}
}

func TestRequireEndDateCanBeRelaxed(t *testing.T) {
	now := at(t, "2027-06-15T12:00:00Z")
	p := DefaultPolicy()
	p.RequireEndDate = map[Kind]bool{}
	if _, err := Evaluate([]Identity{{Name: "w", Kind: KindWorkload, Owner: "o"}}, now, p); err != nil {
		t.Fatal(err)
	}
}

// Judge is what Evaluate runs for each identity, and what the scanner runs
// for identities nobody validated: an exception without an approver or a
// readable expiry holds nothing there, and says why.
func TestJudgeExceptionsThatHoldNothing(t *testing.T) {
	now := at(t, "2027-06-15T12:00:00Z")
	p := DefaultPolicy()
	p.ExpiringWithin = 0
	for _, c := range []struct {
		name, end string
		ex        Exception
		status    Status
		reason    Reason
		endsAt    string
		problem   string
	}{
		{"unapproved, ended", "2027-01-01", Exception{Kind: ExceptionBreakGlass, Reason: "oncall", Expires: "2027-12-31"},
			StatusEnded, ReasonEndDateReached, "2027-01-02T00:00:00Z", "has no approver, so it is not honoured"},
		{"unapproved, active", "2027-09-01", Exception{Kind: ExceptionBreakGlass, Reason: "oncall", ApprovedBy: " ", Expires: "2027-12-31"},
			StatusActive, "", "2027-09-02T00:00:00Z", "has no approver, so it is not honoured"},
		{"no expiry", "2027-01-01", Exception{Kind: ExceptionLegalHold, Reason: "case", ApprovedBy: "ciso@example.com"},
			StatusEnded, ReasonEndDateReached, "2027-01-02T00:00:00Z", "has no expiry, so it is not honoured"},
		{"unreadable expiry", "2027-01-01", Exception{Kind: ExceptionLegalHold, Reason: "case", ApprovedBy: "ciso@example.com", Expires: "soon"},
			StatusEnded, ReasonEndDateReached, "2027-01-02T00:00:00Z", `has an unreadable expiry (date "soon" is neither`},
		{"expired", "2029-01-01", Exception{Kind: ExceptionNoAPI, Reason: "legacy", ApprovedBy: "it@example.com", Expires: "2027-06-14"},
			StatusEnded, ReasonExceptionExpired, "2027-06-15T00:00:00Z", "expired on 2027-06-14"},
		{"held", "2027-01-01", Exception{Kind: ExceptionLegalHold, Reason: "case", ApprovedBy: "ciso@example.com", Expires: "2027-12-31"},
			StatusExcepted, ReasonEndDateReached, "2028-01-01T00:00:00Z", ""},
	} {
		id := svc("x", c.end)
		ex := c.ex
		id.Exception = &ex
		ev := Judge(id, now, p)
		if ev.Status != c.status || ev.Reason != c.reason || !ev.EndsAt.Equal(at(t, c.endsAt)) ||
			!strings.HasPrefix(ev.ExceptionProblem, c.problem) || (c.problem == "") != (ev.ExceptionProblem == "") {
			t.Errorf("%s: %s/%s until %s, problem %q; want %s/%s until %s, problem %q", c.name,
				ev.Status, ev.Reason, ev.EndsAt.Format(time.RFC3339), ev.ExceptionProblem, c.status, c.reason, c.endsAt, c.problem)
		}
		// A caller that parsed the end date gets the same judgement.
		end, _ := ParseEndDate(c.end, p.Location)
		id.EndDate = ""
		if got := JudgeParsed(id, end, now, p); got.Status != ev.Status || !got.EndsAt.Equal(ev.EndsAt) || got.ExceptionProblem != ev.ExceptionProblem {
			t.Errorf("%s: JudgeParsed %+v, Judge %+v", c.name, got, ev)
		}
	}
}
