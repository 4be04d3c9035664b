package lifecycle

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func FuzzParseEndDate(f *testing.F) {
	for _, s := range []string{"2027-03-31", "2028-02-29", "2027-03-31T18:00:00Z", "2027-03-31T18:00:00.123+05:45", "2027-02-29", "", "9999-12-31", "0000-01-01", "2027-13-01", "2027-03-31T24:00:00Z"} {
		f.Add(s, "UTC")
		f.Add(s, "America/New_York")
	}
	f.Fuzz(func(t *testing.T, s, zone string) {
		loc, err := time.LoadLocation(zone)
		if err != nil || zone == "" || zone == "Local" {
			loc = time.UTC
		}
		e, err := ParseEndDate(s, loc)
		if err != nil {
			return
		}
		again, err := ParseEndDate(e.String(), loc)
		if err != nil || !again.EndsAt().Equal(e.EndsAt()) {
			t.Fatalf("%q does not round-trip: %v", s, err)
		}
		if e.DateOnly() {
			local := e.EndsAt().In(loc)
			if h, m, sec := local.Clock(); (h != 0 || m != 0 || sec != 0) && !dstGapAtMidnight(local) {
				t.Fatalf("%q in %s ends at %s, not at midnight", s, zone, local)
			}
			if !e.Passed(e.EndsAt()) || e.Passed(e.EndsAt().Add(-time.Nanosecond)) {
				t.Fatalf("%q: Passed is wrong at its boundary", s)
			}
		}
	})
}

// dstGapAtMidnight reports a zone whose clocks jump over midnight, where
// the calendar day starts at 01:00 instead.
func dstGapAtMidnight(t time.Time) bool {
	h, _, _ := t.Clock()
	return h == 1
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"14d", "2w", "36h", "90m", "0d", "-1h", "1.5h", "99999999999d", "1h30m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d <= 0 {
			t.Fatalf("%q parsed to non-positive %v", s, d)
		}
		back, err := ParseDuration(FormatDuration(d))
		if err != nil || back != d {
			t.Fatalf("%q: FormatDuration(%v)=%q does not parse back (%v, %v)", s, d, FormatDuration(d), back, err)
		}
	})
}

func checkRoster(t *testing.T, ids []Identity, err error) {
	if err != nil {
		if len(ids) != 0 {
			t.Fatalf("error %v with %d identities returned", err, len(ids))
		}
		return
	}
	if len(ids) == 0 {
		t.Fatal("an empty roster parsed without ErrEmptyRoster")
	}
	for _, id := range ids {
		if id.Source != "file" || id.SourceLine < 1 {
			t.Fatalf("identity %q lacks its source position: %q line %d", id.Name, id.Source, id.SourceLine)
		}
	}
	// Whatever parses must be judged without panicking.
	_, _ = Evaluate(ids, time.Date(2027, 6, 15, 12, 0, 0, 0, time.UTC), DefaultPolicy())
}

func FuzzParseRosterJSON(f *testing.F) {
	f.Add([]byte(`[{"name":"alice","owner":"hr@example.com","end_date":"2027-03-31","status":"active","dept":"x"}]`))
	f.Add([]byte(`{"identities":[{"name":"etl","kind":"workload","owner":"o","end_date":"2027-06-30","labels":{"a":"b"},"exception":{"kind":"legal_hold","reason":"r","approved_by":"x","expires":"2027-12-31"}}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"name":1}]`))
	f.Add([]byte("\xef\xbb\xbf[{\"name\":\"a\",\"owner\":\"o\"}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ids, err := ParseRosterJSON(bytes.NewReader(data), "fuzz.json")
		checkRoster(t, ids, err)
		if err == nil && len(ids) == 0 {
			t.Fatal("unreachable")
		}
		if errors.Is(err, ErrEmptyRoster) && len(ids) != 0 {
			t.Fatal("ErrEmptyRoster with identities")
		}
	})
}

func FuzzParseRosterCSV(f *testing.F) {
	f.Add([]byte("name,kind,owner,end_date,status\nalice,human,hr@example.com,2027-03-31,active\n"))
	f.Add([]byte("name,owner,extra\n\"a,b\",o,\"x\"\"y\"\n"))
	f.Add([]byte("name\n"))
	f.Add([]byte(""))
	f.Add([]byte("\xef\xbb\xbfName,Owner\r\nbob,o\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ids, err := ParseRosterCSV(bytes.NewReader(data), "fuzz.csv")
		checkRoster(t, ids, err)
	})
}
