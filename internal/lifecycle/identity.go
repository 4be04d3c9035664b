// Package lifecycle is sunset's domain: identities with owners and end dates,
// the exceptions that may hold them past their end, the policy they are
// judged by, and the evaluation that splits them into active and ended at a
// given instant.
//
// Nothing here reads the clock: every decision takes "now" as an argument, so
// a plan is judged at the time it was made and tests say exactly when they
// run. Nothing here imports Terraform.
package lifecycle

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Kind is what sort of identity something is.
type Kind string

// The kinds of identity. Contractors are humans with a contract end; the rest
// are non-human identities (OWASP NHI Top 10), which by default must always
// carry an end date.
const (
	KindHuman          Kind = "human"
	KindContractor     Kind = "contractor"
	KindServiceAccount Kind = "service_account"
	KindWorkload       Kind = "workload"
	KindAPIClient      Kind = "api_client"
	KindBot            Kind = "bot"
)

// Kinds lists every kind, in documentation order.
var Kinds = []Kind{KindHuman, KindContractor, KindServiceAccount, KindWorkload, KindAPIClient, KindBot}

// ParseKind checks that s names a kind.
func ParseKind(s string) (Kind, error) {
	k := Kind(s)
	if slices.Contains(Kinds, k) {
		return k, nil
	}
	return "", fmt.Errorf("kind %q is not one of %s", s, joinKinds(Kinds))
}

// IsHuman reports whether the kind is a person.
func (k Kind) IsHuman() bool { return k == KindHuman || k == KindContractor }

func joinKinds(ks []Kind) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = string(k)
	}
	return strings.Join(parts, ", ")
}

// ExceptionKind is why an identity may be held past its end.
type ExceptionKind string

// The kinds of exception.
const (
	ExceptionLegalHold     ExceptionKind = "legal_hold"
	ExceptionBreakGlass    ExceptionKind = "break_glass"
	ExceptionSharedAccount ExceptionKind = "shared_account"
	ExceptionNoAPI         ExceptionKind = "no_api"
)

// ExceptionKinds lists every exception kind.
var ExceptionKinds = []ExceptionKind{ExceptionLegalHold, ExceptionBreakGlass, ExceptionSharedAccount, ExceptionNoAPI}

// Exception is an approved, expiring reason to keep an identity active past
// its end. It is data with an approver, never a ticket.
type Exception struct {
	Kind       ExceptionKind
	Reason     string
	ApprovedBy string
	// Expires is an end date (calendar date or RFC 3339); required.
	Expires string
}

// Source statuses an HR export may give.
const (
	SourceActive     = "active"
	SourceTerminated = "terminated"
)

// Identity is one declared identity: a person, a contractor, a service
// account, a workload, an API client or a bot.
type Identity struct {
	Name  string
	Kind  Kind
	Owner string
	Email string
	// StartDate and EndDate are as written: calendar dates or RFC 3339.
	StartDate string
	EndDate   string
	// Source says where the declaration came from: "inline", "file", "scim".
	Source string
	// SourceFile and SourceLine locate the declaration in an export, so
	// findings can point at the line that declares it. Zero when unknown.
	SourceFile string
	SourceLine int
	// SourceStatus is the status the authoritative source gives: "" or
	// "active", or "terminated", which ends the identity at once.
	SourceStatus string
	Labels       map[string]string
	Attributes   map[string]string
	Exception    *Exception
}

// Problem is one thing wrong with one identity, tied to the field at fault
// so that callers can point at the attribute.
type Problem struct {
	Identity string
	// Field is the identity's field at fault: "end_date",
	// "exception.approved_by", ...
	Field   string
	Message string
}

func (p Problem) Error() string {
	if p.Identity == "" {
		return fmt.Sprintf("%s: %s", p.Field, p.Message)
	}
	return fmt.Sprintf("identity %q: %s: %s", p.Identity, p.Field, p.Message)
}

// Problems is every problem found; it is an error when non-empty.
type Problems []Problem

func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "; ")
}

// Policy is what identities are judged by.
type Policy struct {
	// Location is the zone calendar dates are read in; nil means UTC.
	Location *time.Location
	// MaxLifetime caps end_date minus start_date (or minus now, without a
	// start date) per kind. A kind with a cap must have an end date.
	MaxLifetime map[Kind]time.Duration
	// RequireEndDate lists the kinds that must carry an end date.
	RequireEndDate map[Kind]bool
	// ExpiringWithin is the window in which an active identity counts as
	// expiring; zero reports none as expiring.
	ExpiringWithin time.Duration
}

// DefaultExpiringWithin is the default expiring window: two weeks.
const DefaultExpiringWithin = 14 * 24 * time.Hour

// DefaultPolicy requires an end date of every non-human kind, caps nothing,
// reads calendar dates in UTC and warns two weeks ahead.
func DefaultPolicy() Policy {
	req := map[Kind]bool{}
	for _, k := range Kinds {
		if !k.IsHuman() {
			req[k] = true
		}
	}
	return Policy{Location: time.UTC, RequireEndDate: req, ExpiringWithin: DefaultExpiringWithin}
}

func (p Policy) location() *time.Location {
	if p.Location == nil {
		return time.UTC
	}
	return p.Location
}

// maxNameBytes bounds identity names: they become role names, user names and
// map keys, and nothing legitimate is longer.
const maxNameBytes = 256

// Validate checks one identity against the policy at now and returns every
// problem found. It is what plan-time validation of a single declaration
// runs; Evaluate runs it for every identity.
func Validate(id Identity, now time.Time, p Policy) []Problem {
	var out []Problem
	add := func(field, format string, args ...any) {
		out = append(out, Problem{Identity: id.Name, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	loc := p.location()

	switch {
	case id.Name == "":
		add("name", "must not be empty")
	case len(id.Name) > maxNameBytes:
		add("name", "is %d bytes long; the limit is %d", len(id.Name), maxNameBytes)
	case strings.IndexFunc(id.Name, unicode.IsControl) >= 0:
		add("name", "must not contain control characters")
	}
	if _, err := ParseKind(string(id.Kind)); err != nil {
		add("kind", "%v", err)
	}
	if strings.TrimSpace(id.Owner) == "" {
		add("owner", "must name an accountable owner (a person or team address)")
	}
	switch id.SourceStatus {
	case "", SourceActive, SourceTerminated:
	default:
		add("status", "%q is neither %q nor %q", id.SourceStatus, SourceActive, SourceTerminated)
	}

	var start time.Time
	if id.StartDate != "" {
		s, err := ParseStartDate(id.StartDate, loc)
		if err != nil {
			add("start_date", "%v", err)
		}
		start = s
	}
	var end EndDate
	if id.EndDate != "" {
		e, err := ParseEndDate(id.EndDate, loc)
		if err != nil {
			add("end_date", "%v", err)
		}
		end = e
	}

	exempt := id.Exception != nil
	switch {
	case !end.IsZero() && !start.IsZero() && !end.EndsAt().After(start):
		add("end_date", "%s is not after start_date %s", id.EndDate, id.StartDate)
	case id.EndDate == "" && p.RequireEndDate[id.Kind] && !exempt:
		add("end_date", "is required for kind %q by policy.require_end_date", id.Kind)
	}

	if limit, ok := p.MaxLifetime[id.Kind]; ok && id.EndDate != "" && !end.IsZero() {
		from := start
		if from.IsZero() {
			from = now
		}
		if life := end.EndsAt().Sub(from); life > limit {
			add("end_date", "gives a lifetime of %s from %s; policy.max_lifetime for kind %q is %s",
				approxDays(life), describeFrom(id.StartDate), id.Kind, FormatDuration(limit))
		}
	} else if ok && id.EndDate == "" {
		add("end_date", "is required: policy.max_lifetime caps kind %q at %s", id.Kind, FormatDuration(limit))
	}

	if ex := id.Exception; ex != nil {
		if !slices.Contains(ExceptionKinds, ex.Kind) {
			add("exception.kind", "%q is not one of legal_hold, break_glass, shared_account, no_api", ex.Kind)
		}
		if strings.TrimSpace(ex.ApprovedBy) == "" {
			add("exception.approved_by", "an exception needs an approver; without one it is not an exception")
		}
		if strings.TrimSpace(ex.Reason) == "" {
			add("exception.reason", "must say why the identity is held")
		}
		if ex.Expires == "" {
			add("exception.expires", "an exception needs an expiry")
		} else if _, err := ParseEndDate(ex.Expires, loc); err != nil {
			add("exception.expires", "%v", err)
		}
	}
	return out
}

// approxDays writes a duration as days for messages: "200.2 days".
func approxDays(d time.Duration) string {
	return strconv.FormatFloat(d.Hours()/24, 'f', 1, 64) + " days"
}

func describeFrom(startDate string) string {
	if startDate == "" {
		return "now"
	}
	return "start_date " + startDate
}
