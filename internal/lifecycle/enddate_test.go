package lifecycle

import (
	"strings"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func TestParseEndDateEndsAt(t *testing.T) {
	cases := []struct {
		name, in, zone string
		want           string // RFC 3339 of EndsAt
	}{
		{"calendar date in UTC ends at next midnight", "2027-03-31", "UTC", "2027-04-01T00:00:00Z"},
		{"calendar date in Tokyo ends at Tokyo midnight", "2027-03-31", "Asia/Tokyo", "2027-03-31T15:00:00Z"},
		{"calendar date in Los Angeles ends at LA midnight", "2027-03-31", "America/Los_Angeles", "2027-04-01T07:00:00Z"},
		{"calendar date in Kathmandu (+05:45)", "2027-01-15", "Asia/Kathmandu", "2027-01-15T18:15:00Z"},
		{"leap day ends at 1 March", "2028-02-29", "UTC", "2028-03-01T00:00:00Z"},
		{"end of year rolls into next year", "2027-12-31", "UTC", "2028-01-01T00:00:00Z"},
		{"day before spring-forward in New York is 24h long but ends at midnight", "2027-03-13", "America/New_York", "2027-03-14T05:00:00Z"},
		{"spring-forward day in New York is 23h long", "2027-03-14", "America/New_York", "2027-03-15T04:00:00Z"},
		{"fall-back day in Berlin is 25h long", "2027-10-31", "Europe/Berlin", "2027-10-31T23:00:00Z"},
		{"timestamp is the instant itself", "2027-03-31T18:00:00Z", "Asia/Tokyo", "2027-03-31T18:00:00Z"},
		{"timestamp with offset", "2027-03-31T18:00:00+02:00", "UTC", "2027-03-31T16:00:00Z"},
		{"timestamp with fraction", "2027-03-31T18:00:00.5Z", "UTC", "2027-03-31T18:00:00.5Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := ParseEndDate(c.in, mustLoc(t, c.zone))
			if err != nil {
				t.Fatalf("ParseEndDate(%q): %v", c.in, err)
			}
			if got := e.EndsAt().UTC().Format(time.RFC3339Nano); got != c.want {
				t.Fatalf("EndsAt = %s, want %s", got, c.want)
			}
			if e.String() != c.in {
				t.Fatalf("String() = %q, want the input %q", e.String(), c.in)
			}
		})
	}
}

func TestEndDatePassedAtDayBoundaries(t *testing.T) {
	cases := []struct {
		name, end, zone, now string
		passed               bool
	}{
		{"last second of the day in UTC", "2027-03-31", "UTC", "2027-03-31T23:59:59Z", false},
		{"midnight UTC", "2027-03-31", "UTC", "2027-04-01T00:00:00Z", true},
		{"Tokyo midnight has passed while UTC is still on the day", "2027-03-31", "Asia/Tokyo", "2027-03-31T15:00:00Z", true},
		{"one second before Tokyo midnight", "2027-03-31", "Asia/Tokyo", "2027-03-31T14:59:59Z", false},
		{"UTC next day is still the end day in Los Angeles", "2027-03-31", "America/Los_Angeles", "2027-04-01T06:59:59Z", false},
		{"LA midnight", "2027-03-31", "America/Los_Angeles", "2027-04-01T07:00:00Z", true},
		{"leap day still usable at its last second", "2028-02-29", "UTC", "2028-02-29T23:59:59Z", false},
		{"leap day over on 1 March", "2028-02-29", "UTC", "2028-03-01T00:00:00Z", true},
		{"NY spring-forward: 23:59 local is still the day", "2027-03-14", "America/New_York", "2027-03-15T03:59:00Z", false},
		{"NY spring-forward: next local midnight", "2027-03-14", "America/New_York", "2027-03-15T04:00:00Z", true},
		{"Berlin fall-back: the 25th hour is still the day", "2027-10-31", "Europe/Berlin", "2027-10-31T22:30:00Z", false},
		{"Berlin fall-back: next local midnight", "2027-10-31", "Europe/Berlin", "2027-10-31T23:00:00Z", true},
		{"timestamp: one nanosecond before", "2027-03-31T18:00:00Z", "UTC", "2027-03-31T17:59:59.999999999Z", false},
		{"timestamp: exactly at", "2027-03-31T18:00:00Z", "UTC", "2027-03-31T18:00:00Z", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := ParseEndDate(c.end, mustLoc(t, c.zone))
			if err != nil {
				t.Fatal(err)
			}
			now, err := time.Parse(time.RFC3339Nano, c.now)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Passed(now); got != c.passed {
				t.Fatalf("Passed(%s) = %v, want %v (ends at %s)", c.now, got, c.passed, e.EndsAt().UTC())
			}
		})
	}
}

func TestParseEndDateRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"2027-02-29",           // not a leap year
		"2027-13-01",           // month 13
		"2027-04-31",           // April has 30 days
		"2027-3-31",            // not zero padded
		"31/03/2027",           // locale format
		"2027-03-31 18:00:00",  // space instead of T, no zone
		"2027-03-31T18:00:00",  // no zone
		" 2027-03-31",          // leading space
		"tomorrow",             // words
		"2027-03-31T25:00:00Z", // hour 25
		"1711900800",           // epoch seconds
	} {
		if _, err := ParseEndDate(in, time.UTC); err == nil {
			t.Errorf("ParseEndDate(%q) accepted an invalid date", in)
		} else if in != "" && !strings.Contains(err.Error(), in) {
			t.Errorf("error %q does not quote the input %q", err, in)
		}
	}
}

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"14d":  14 * 24 * time.Hour,
		"365d": 365 * 24 * time.Hour,
		"2w":   14 * 24 * time.Hour,
		"36h":  36 * time.Hour,
		"90m":  90 * time.Minute,
	}
	for in, want := range good {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0d", "-3d", "d", "1.5d", "3 days", "-1h", "0s", "99999999d", "1y"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
	if FormatDuration(30*24*time.Hour) != "30d" || FormatDuration(90*time.Minute) != "1h30m0s" {
		t.Errorf("FormatDuration: got %q and %q", FormatDuration(30*24*time.Hour), FormatDuration(90*time.Minute))
	}
}
