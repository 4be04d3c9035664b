package lifecycle

import (
	"sort"
	"strings"
	"time"
)

// Status is where an identity stands at the evaluation instant.
type Status string

// The statuses. Expiring and excepted identities are still active: they keep
// their credentials and appear in Result.Active too.
const (
	StatusActive   Status = "active"
	StatusExpiring Status = "expiring"
	StatusExcepted Status = "excepted"
	StatusEnded    Status = "ended"
)

// Reason says why an identity is ended, or for an excepted identity why it
// would be ended without its exception.
type Reason string

// The reasons an identity ends.
const (
	ReasonEndDateReached     Reason = "end_date_reached"
	ReasonTerminatedInSource Reason = "terminated_in_source"
	ReasonExceptionExpired   Reason = "exception_expired"
)

// Evaluated is an identity with its standing at the evaluation instant.
type Evaluated struct {
	Identity
	Status Status
	Reason Reason
	// EndsAt is the instant the identity ends or ended: the end date's end,
	// or the exception's expiry for an excepted identity. Zero when the
	// identity has no end at all.
	EndsAt time.Time
	// ExceptionProblem says why the identity's exception did not hold it:
	// "expired on 2027-06-01", "has no approver, so it is not honoured".
	// Empty without an exception, or while a valid one is in force.
	ExceptionProblem string
}

// Result splits identities by standing. Every identity is in exactly one of
// Active and Ended; Expiring and Exceptions are subsets of Active. Each list
// is sorted by name.
type Result struct {
	Active     []Evaluated
	Ended      []Evaluated
	Expiring   []Evaluated
	Exceptions []Evaluated
}

// Evaluate judges every identity at now. It refuses the whole set if any
// identity is invalid or a name is declared twice, returning Problems: a gate
// that guessed about a malformed declaration could end the wrong access or
// keep the wrong access alive.
func Evaluate(ids []Identity, now time.Time, p Policy) (Result, error) {
	var problems Problems
	seen := make(map[string]string, len(ids))
	for _, id := range ids {
		if prev, dup := seen[id.Name]; dup && id.Name != "" {
			problems = append(problems, Problem{Identity: id.Name, Field: "name",
				Message: "is declared twice (" + sourceName(prev) + " and " + sourceName(id.Source) + ")"})
		}
		seen[id.Name] = id.Source
		problems = append(problems, Validate(id, now, p)...)
	}
	if len(problems) > 0 {
		return Result{}, problems
	}

	var res Result
	for _, id := range ids {
		ev := Judge(id, now, p)
		if ev.Status == StatusEnded {
			res.Ended = append(res.Ended, ev)
			continue
		}
		res.Active = append(res.Active, ev)
		if ev.Status == StatusExcepted {
			res.Exceptions = append(res.Exceptions, ev)
		}
		if p.ExpiringWithin > 0 && !ev.EndsAt.IsZero() && ev.EndsAt.Sub(now) <= p.ExpiringWithin {
			res.Expiring = append(res.Expiring, ev)
		}
	}
	for _, list := range [][]Evaluated{res.Active, res.Ended, res.Expiring, res.Exceptions} {
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	}
	return res, nil
}

// Judge decides one identity's standing at now. Evaluate judges every
// identity of a valid set with it; the scanner judges with it identities it
// merged from state, rosters and the ledger, which nobody validated as a
// set. So Judge settles itself what an invalid exception means: an exception
// without an approver, or without a readable expiry, is no exception. It
// holds nothing, and Evaluated.ExceptionProblem says why (Validate reports
// the same exception as an error). An end date that cannot be read counts
// as none; Validate is what reports it.
//
// The order matters: an expired exception ends the identity whatever else
// holds, so that an exception is never left in place as the control itself.
func Judge(id Identity, now time.Time, p Policy) Evaluated {
	var end EndDate
	if id.EndDate != "" {
		end, _ = ParseEndDate(id.EndDate, p.location())
	}
	return JudgeParsed(id, end, now, p)
}

// JudgeParsed is Judge for a caller that has parsed the end date already:
// end stands for id.EndDate, which JudgeParsed does not read. The scanner
// judges identities by the hundred thousand and parses each distinct date
// once.
func JudgeParsed(id Identity, end EndDate, now time.Time, p Policy) Evaluated {
	ev := Evaluated{Identity: id, Status: StatusActive, EndsAt: end.EndsAt()}

	var would Reason
	switch {
	case id.SourceStatus == SourceTerminated:
		would = ReasonTerminatedInSource
	case end.Passed(now):
		would = ReasonEndDateReached
	}

	if ex := id.Exception; ex != nil {
		exp, problem := exceptionExpiry(ex, p.location())
		switch {
		case problem != "":
			ev.ExceptionProblem = problem // judged as if it had none
		case exp.Passed(now):
			ev.Status, ev.Reason, ev.EndsAt = StatusEnded, ReasonExceptionExpired, exp.EndsAt()
			ev.ExceptionProblem = "expired on " + ex.Expires
			return ev
		case would != "" || end.IsZero():
			// Held by the exception: it ends when the exception does.
			ev.Status, ev.Reason, ev.EndsAt = StatusExcepted, would, exp.EndsAt()
			return ev
		}
	}

	if would != "" {
		ev.Status, ev.Reason = StatusEnded, would
		if would == ReasonTerminatedInSource && (ev.EndsAt.IsZero() || ev.EndsAt.After(now)) {
			ev.EndsAt = now
		}
		return ev
	}
	if p.ExpiringWithin > 0 && !ev.EndsAt.IsZero() && ev.EndsAt.Sub(now) <= p.ExpiringWithin {
		ev.Status = StatusExpiring
	}
	return ev
}

// exceptionExpiry parses an exception's expiry, or says why the exception
// cannot be honoured: it has no approver, or no readable expiry.
func exceptionExpiry(ex *Exception, loc *time.Location) (EndDate, string) {
	if strings.TrimSpace(ex.ApprovedBy) == "" {
		return EndDate{}, "has no approver, so it is not honoured"
	}
	if ex.Expires == "" {
		return EndDate{}, "has no expiry, so it is not honoured"
	}
	exp, err := ParseEndDate(ex.Expires, loc)
	if err != nil {
		return EndDate{}, "has an unreadable expiry (" + err.Error() + "), so it is not honoured"
	}
	return exp, ""
}

func sourceName(s string) string {
	if s == "" {
		return "inline"
	}
	return s
}
