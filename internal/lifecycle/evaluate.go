package lifecycle

import (
	"sort"
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
		ev := judge(id, now, p)
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

// judge decides one valid identity's standing. The order matters: an expired
// exception ends the identity whatever else holds, so that an exception is
// never left in place as the control itself.
func judge(id Identity, now time.Time, p Policy) Evaluated {
	loc := p.location()
	ev := Evaluated{Identity: id, Status: StatusActive}
	var end EndDate
	if id.EndDate != "" {
		end, _ = ParseEndDate(id.EndDate, loc) // validated already
		ev.EndsAt = end.EndsAt()
	}

	var would Reason
	switch {
	case id.SourceStatus == SourceTerminated:
		would = ReasonTerminatedInSource
	case end.Passed(now):
		would = ReasonEndDateReached
	}

	if ex := id.Exception; ex != nil {
		exp, _ := ParseEndDate(ex.Expires, loc) // validated already
		if exp.Passed(now) {
			ev.Status, ev.Reason, ev.EndsAt = StatusEnded, ReasonExceptionExpired, exp.EndsAt()
			return ev
		}
		if would != "" || id.EndDate == "" {
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

func sourceName(s string) string {
	if s == "" {
		return "inline"
	}
	return s
}
