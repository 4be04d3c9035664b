package scanner

import (
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
)

// The scanner judges an identity as the provider's roster does, with
// lifecycle's own judgement; only the ledger's offboarding and the recorded
// time of a termination are its own.
func TestScannerJudgesAsTheRoster(t *testing.T) {
	now := time.Date(2027, 6, 15, 12, 0, 0, 0, time.UTC)
	ex := func(approver, expires string) *lifecycle.Exception {
		return &lifecycle.Exception{Kind: lifecycle.ExceptionLegalHold, Reason: "case 7", ApprovedBy: approver, Expires: expires}
	}
	roster := []lifecycle.Identity{
		{Name: "active", EndDate: "2027-09-01"},
		{Name: "ended", EndDate: "2027-06-01"},
		{Name: "no-end"},
		{Name: "terminated", EndDate: "2027-09-01", SourceStatus: lifecycle.SourceTerminated},
		{Name: "held", EndDate: "2027-06-01", Exception: ex("ciso@example.com", "2027-12-31")},
		{Name: "held-no-end", Exception: ex("ciso@example.com", "2027-12-31")},
		{Name: "lapsed", EndDate: "2027-09-01", Exception: ex("ciso@example.com", "2027-06-10T08:00:00Z")},
		{Name: "unapproved", EndDate: "2027-06-01", Exception: ex("", "2027-12-31")},
		{Name: "bad-expiry", EndDate: "2027-06-01", Exception: ex("ciso@example.com", "31/12/2027")},
	}
	ids := newIdentities(time.UTC)
	for _, r := range roster {
		r.Kind, r.Owner = lifecycle.KindBot, "o@example.com"
		ids.fromRosterFile(r)
	}
	for _, r := range roster {
		id := ids.byName[r.Name]
		problem := id.judge(now, time.UTC)
		want := lifecycle.Judge(r, now, lifecycle.Policy{Location: time.UTC})
		if id.ended != (want.Status == lifecycle.StatusEnded) || id.excepted != (want.Status == lifecycle.StatusExcepted) ||
			!id.judgedEnd.Equal(want.EndsAt) || problem != want.ExceptionProblem {
			t.Errorf("%s: scanner ended=%v excepted=%v until %s problem %q; lifecycle %s until %s problem %q", r.Name,
				id.ended, id.excepted, id.judgedEnd, problem, want.Status, want.EndsAt, want.ExceptionProblem)
		}
	}
	if id := ids.byName["unapproved"]; !id.ended || id.judgedEnd != time.Date(2027, 6, 2, 0, 0, 0, 0, time.UTC) {
		t.Errorf("an exception without an approver must hold nothing: ended=%v at %s", id.ended, id.judgedEnd)
	}

	// The ledger's offboarding ends an identity at the time it was recorded,
	// as does a termination a plan saw; an exception still holds either.
	off := time.Date(2027, 5, 3, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name     string
		setup    func(*identity)
		ended    bool
		end      time.Time
		excepted bool
	}{
		{"offboarded", func(id *identity) { id.setMore().offboardedAt = off }, true, off, false},
		{"terminated-at", func(id *identity) { id.terminated, id.setMore().terminatedAt = true, off }, true, off, false},
		{"offboarded-held", func(id *identity) {
			id.setMore().offboardedAt = off
			id.setMore().exception = ex("ciso@example.com", "2027-12-31")
		}, false,
			time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC), true},
	} {
		id := ids.get(c.name)
		ids.addEnd(id, "2027-09-01")
		c.setup(id)
		id.judge(now, time.UTC)
		if id.ended != c.ended || id.excepted != c.excepted || !id.judgedEnd.Equal(c.end) {
			t.Errorf("%s: ended=%v excepted=%v at %s, want ended=%v at %s", c.name, id.ended, id.excepted, id.judgedEnd, c.ended, c.end)
		}
	}
}
