package scanner

import (
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/locate"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/state"
)

// identity is one declared identity, merged from every source that names
// it: the roster export (--roster), sunset_identity in state, the roster
// data source's maps in state, and the ledger's last declaration.
type identity struct {
	name, kind, owner, email string
	// endDate is the earliest end any source gives: access must end by the
	// earliest date anyone declared. end is the same, parsed.
	endDate string
	end     lifecycle.EndDate
	loc     locate.Location
	address string
	// more is what only some identities have (an exception, a recorded
	// termination or offboarding): nil for the others, which are most of a
	// large state.
	more       *identityMore
	seq        int32 // in identities.order
	terminated bool
	fromLedger bool

	// Judged at now:
	ended     bool
	excepted  bool
	judgedEnd time.Time // when it ended, or will end (zero: no end)
}

type identityMore struct {
	// terminatedAt is when a plan first saw the termination (the roster
	// data source's ends_at in its ended map), zero if unknown.
	terminatedAt time.Time
	exception    *lifecycle.Exception
	// exceptionLoc is where the exception is declared.
	exceptionLoc locate.Location
	// offboardedAt is when the ledger recorded identity.offboarded and no
	// later declaration, zero otherwise.
	offboardedAt time.Time
}

// noMore is the identityMore of an identity without one.
var noMore identityMore

// x is id.more for reading: never nil.
func (id *identity) x() *identityMore {
	if id.more == nil {
		return &noMore
	}
	return id.more
}

// setMore is id.more for writing: made when first needed.
func (id *identity) setMore() *identityMore {
	if id.more == nil {
		id.more = &identityMore{}
	}
	return id.more
}

type identities struct {
	byName map[string]*identity
	order  []*identity
	loc    *time.Location
	// ends remembers parsed end dates: a roster repeats a few dates many
	// times, and often in a row (lastEnd).
	ends    map[string]lifecycle.EndDate
	lastEnd lifecycle.EndDate
	slab    slab[identity]
	next    int // in order: where find looks first
}

// slab hands out pointers to values allocated a block at a time: a state
// declares identities and credentials by the hundred thousand, and one
// allocation per block is much cheaper than one per value.
type slab[T any] struct{ free []T }

func (s *slab[T]) new() *T {
	if len(s.free) == 0 {
		s.free = make([]T, 256)
	}
	p := &s.free[0]
	s.free = s.free[1:]
	return p
}

func newIdentities(loc *time.Location) *identities {
	return &identities{byName: map[string]*identity{}, loc: loc, ends: map[string]lifecycle.EndDate{}}
}

func (ids *identities) get(name string) *identity {
	id := ids.byName[name]
	if id == nil {
		id = ids.slab.new()
		id.name, id.seq = name, int32(len(ids.order))
		ids.byName[name] = id
		ids.order = append(ids.order, id)
	}
	return id
}

// find returns the identity named name, nil if there is none. Credentials
// usually name their identities in the order the state declares them (both
// are for_each over the same keys, which state sorts), so the one after the
// last found is tried before the map.
func (ids *identities) find(name string) *identity {
	if i := ids.next; i < len(ids.order) && ids.order[i].name == name {
		ids.next++
		return ids.order[i]
	}
	id := ids.byName[name]
	if id != nil {
		ids.next = int(id.seq) + 1
	}
	return id
}

// addEnd keeps the earliest end date.
func (ids *identities) addEnd(id *identity, endDate string) {
	if endDate == "" {
		return
	}
	end, ok := ids.lastEnd, endDate == ids.lastEnd.String()
	if !ok {
		end, ok = ids.ends[endDate]
	}
	if !ok {
		e, err := lifecycle.ParseEndDate(endDate, ids.loc)
		if err != nil {
			return // sources validate end dates before they get here
		}
		end = e
		if len(ids.ends) < 4096 {
			ids.ends[endDate] = end
		}
	}
	ids.lastEnd = end
	if id.endDate == "" || end.EndsAt().Before(id.end.EndsAt()) {
		id.endDate, id.end = endDate, end
	}
}

func fill(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// fromRosterFile adds an identity from the HR export; it takes precedence
// for owner, kind and location.
func (ids *identities) fromRosterFile(r lifecycle.Identity) {
	id := ids.get(r.Name)
	id.kind, id.owner, id.email = string(r.Kind), r.Owner, r.Email
	ids.addEnd(id, r.EndDate)
	if r.SourceStatus == lifecycle.SourceTerminated {
		id.terminated = true
	}
	if r.SourceFile != "" {
		id.loc = locate.Location{File: r.SourceFile, Line: r.SourceLine}
	}
	if r.Exception != nil {
		m := id.setMore()
		m.exception, m.exceptionLoc = r.Exception, id.loc
	}
}

func (ids *identities) fromState(s *state.Identity, loc locate.Location) {
	id := ids.get(s.Name)
	fill(&id.kind, s.Kind)
	fill(&id.owner, s.Owner)
	ids.addEnd(id, s.EndDate)
	if id.address == "" {
		id.address = s.Address
	}
	if id.loc.IsZero() {
		id.loc = loc
	}
}

func (ids *identities) fromRosterEntry(e *state.RosterEntry, loc locate.Location) {
	id := ids.get(e.Name)
	fill(&id.kind, e.Kind)
	fill(&id.owner, e.Owner)
	fill(&id.email, e.Email)
	ids.addEnd(id, e.EndDate)
	if e.Map == "ended" && e.Reason == string(lifecycle.ReasonTerminatedInSource) {
		id.terminated = true
		if t, err := time.Parse(time.RFC3339, e.EndsAt); err == nil && (id.x().terminatedAt.IsZero() || t.Before(id.x().terminatedAt)) {
			id.setMore().terminatedAt = t
		}
	}
	if id.x().exception == nil && e.Exception != nil {
		m := id.setMore()
		m.exception, m.exceptionLoc = e.Exception, loc
	}
	if id.loc.IsZero() {
		id.loc = loc
	}
}

// judge decides an identity's standing at now with lifecycle's own
// judgement, the one the provider's roster makes: an exception holds an
// ended identity until its own expiry, an expired one ends it, and one
// without an approver or a readable expiry holds nothing. What only the
// scanner knows is added around it: an offboarding the ledger recorded ends
// the identity as a termination in the source does, and the end of a
// terminated or offboarded identity is when that was first recorded, where
// known, rather than now. It returns the exception's problem ("" if none)
// for an expired-exception finding.
func (id *identity) judge(now time.Time, loc *time.Location) (problem string) {
	m := id.x()
	li := lifecycle.Identity{Name: id.name, EndDate: id.endDate, Exception: m.exception}
	if id.terminated || !m.offboardedAt.IsZero() {
		li.SourceStatus = lifecycle.SourceTerminated
	}
	ev := lifecycle.JudgeParsed(li, id.end, now, lifecycle.Policy{Location: loc})
	id.ended = ev.Status == lifecycle.StatusEnded
	id.excepted = ev.Status == lifecycle.StatusExcepted
	id.judgedEnd = ev.EndsAt
	if ev.Reason == lifecycle.ReasonTerminatedInSource && id.ended {
		for _, t := range [...]time.Time{m.terminatedAt, m.offboardedAt} {
			if !t.IsZero() && t.Before(id.judgedEnd) {
				id.judgedEnd = t
			}
		}
	}
	return ev.ExceptionProblem
}
