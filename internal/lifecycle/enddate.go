package lifecycle

import (
	"fmt"
	"strings"
	"time"
)

// dateLayout is the calendar-date form of an end date.
const dateLayout = "2006-01-02"

// EndDate is a parsed end date. A calendar date means the identity may work
// through that whole day in the policy's zone and is ended from the next
// midnight; an RFC 3339 timestamp means it is ended from that instant.
type EndDate struct {
	raw      string
	endsAt   time.Time
	dateOnly bool
}

// ParseEndDate parses an end date. loc is the zone for calendar dates; nil
// means UTC.
func ParseEndDate(s string, loc *time.Location) (EndDate, error) {
	day, ts, dateOnly, err := parseDateOrTimestamp(s, loc)
	if err != nil {
		return EndDate{}, err
	}
	if !dateOnly {
		return EndDate{raw: s, endsAt: ts}, nil
	}
	// The next midnight, computed on the calendar rather than by adding 24h,
	// so a day with a DST change still ends at midnight local time.
	next := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, day.Location())
	return EndDate{raw: s, endsAt: next, dateOnly: true}, nil
}

// ParseStartDate parses a start date: a calendar date starts at its own
// midnight in loc, a timestamp at that instant.
func ParseStartDate(s string, loc *time.Location) (time.Time, error) {
	day, ts, dateOnly, err := parseDateOrTimestamp(s, loc)
	if err != nil {
		return time.Time{}, err
	}
	if dateOnly {
		return day, nil
	}
	return ts, nil
}

func parseDateOrTimestamp(s string, loc *time.Location) (day, ts time.Time, dateOnly bool, err error) {
	if loc == nil {
		loc = time.UTC
	}
	if s == "" {
		return time.Time{}, time.Time{}, false, fmt.Errorf("empty date: want YYYY-MM-DD or an RFC 3339 timestamp")
	}
	if s != strings.TrimSpace(s) {
		return time.Time{}, time.Time{}, false, fmt.Errorf("date %q has surrounding spaces", s)
	}
	if len(s) == len(dateLayout) {
		d, perr := time.ParseInLocation(dateLayout, s, loc)
		if perr != nil {
			return time.Time{}, time.Time{}, false, fmt.Errorf("date %q is not a valid calendar date (YYYY-MM-DD)", s)
		}
		return d, time.Time{}, true, nil
	}
	t, perr := time.Parse(time.RFC3339, s)
	if perr != nil {
		return time.Time{}, time.Time{}, false, fmt.Errorf("date %q is neither YYYY-MM-DD nor an RFC 3339 timestamp (e.g. 2027-03-31T18:00:00Z)", s)
	}
	return time.Time{}, t, false, nil
}

// String returns the date as it was written.
func (e EndDate) String() string { return e.raw }

// IsZero reports whether no end date was set.
func (e EndDate) IsZero() bool { return e.raw == "" }

// DateOnly reports whether the end date was a calendar date.
func (e EndDate) DateOnly() bool { return e.dateOnly }

// EndsAt is the first instant at which the identity is ended. It is also the
// target-side expiry a credential bound to this identity gets.
func (e EndDate) EndsAt() time.Time { return e.endsAt }

// Passed reports whether the identity is ended at now.
func (e EndDate) Passed(now time.Time) bool {
	return !e.IsZero() && !now.Before(e.endsAt)
}
