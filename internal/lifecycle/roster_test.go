package lifecycle

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRosterJSON(t *testing.T) {
	in := `{"identities": [
  {"name": "alice", "owner": "hr@example.com", "email": "alice@example.com", "end_date": "2027-03-31",
   "status": "Active", "department": "finance", "employee_id": 1042, "manager": {"id": 7}},
  {"name": "etl", "kind": "workload", "owner": "data@example.com", "end_date": "2027-06-30",
   "labels": {"team": "data"},
   "exception": {"kind": "legal_hold", "reason": "case 17", "approved_by": "legal@example.com", "expires": "2027-12-31"}}
]}`
	ids, err := ParseRosterJSON(strings.NewReader(in), "hr.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 {
		t.Fatalf("got %d identities", len(ids))
	}
	a := ids[0]
	if a.Name != "alice" || a.Kind != KindHuman || a.SourceStatus != "active" || a.Email != "alice@example.com" || a.Source != "file" {
		t.Errorf("alice = %+v", a)
	}
	if a.Attributes["department"] != "finance" || a.Attributes["employee_id"] != "1042" || a.Attributes["manager"] != `{"id":7}` {
		t.Errorf("alice attributes = %v", a.Attributes)
	}
	if a.SourceLine != 2 || ids[1].SourceLine != 4 {
		t.Errorf("lines = %d, %d; want 2, 4", a.SourceLine, ids[1].SourceLine)
	}
	e := ids[1]
	if e.Kind != KindWorkload || e.Labels["team"] != "data" || e.Exception == nil || e.Exception.ApprovedBy != "legal@example.com" {
		t.Errorf("etl = %+v", e)
	}
}

func TestParseRosterJSONArray(t *testing.T) {
	ids, err := ParseRosterJSON(strings.NewReader(`[{"name":"a","owner":"o"},{"name":"b","owner":"o","status":"terminated"}]`), "x.json")
	if err != nil || len(ids) != 2 || ids[1].SourceStatus != SourceTerminated {
		t.Fatalf("ids=%+v err=%v", ids, err)
	}
}

func TestParseRosterJSONRefuses(t *testing.T) {
	cases := map[string]string{
		"empty array":          `[]`,
		"empty identities":     `{"identities": []}`,
		"empty file":           ``,
		"not json":             `name,owner`,
		"wrong member":         `{"people": []}`,
		"number as name":       `[{"name": 7}]`,
		"truncated":            `[{"name":"a","owner":"o"},{"name":"b"`,
		"trailing garbage":     `[{"name":"a","owner":"o"}] x`,
		"labels not strings":   `[{"name":"a","labels":{"x":1}}]`,
		"exception not object": `[{"name":"a","exception":"yes"}]`,
	}
	for name, in := range cases {
		if _, err := ParseRosterJSON(strings.NewReader(in), "bad.json"); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "bad.json") {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	_, err := ParseRosterJSON(strings.NewReader(`[]`), "e.json")
	if !errors.Is(err, ErrEmptyRoster) {
		t.Errorf("empty export: want ErrEmptyRoster, got %v", err)
	}
}

func TestParseRosterCSV(t *testing.T) {
	in := "\xef\xbb\xbfName,Kind,Owner,End_Date,Status,Start_Date,Email,Cost Center\n" +
		"alice,human,hr@example.com,2027-03-31,active,2024-01-01,alice@example.com,CC-1\n" +
		"\"o'brien, \"\"bob\"\"\",contractor,hr@example.com,2027-01-31,TERMINATED,,,\n"
	ids, err := ParseRosterCSV(strings.NewReader(in), "hr.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 {
		t.Fatalf("got %d", len(ids))
	}
	if ids[0].Attributes["cost center"] != "CC-1" || ids[0].StartDate != "2024-01-01" || ids[0].SourceLine != 2 {
		t.Errorf("alice = %+v", ids[0])
	}
	if ids[1].Name != `o'brien, "bob"` || ids[1].SourceStatus != SourceTerminated || ids[1].Kind != KindContractor || ids[1].SourceLine != 3 {
		t.Errorf("bob = %+v", ids[1])
	}
}

func TestParseRosterCSVRefuses(t *testing.T) {
	cases := map[string]string{
		"empty":            "",
		"header only":      "name,owner\n",
		"no name column":   "owner,kind\nx,human\n",
		"duplicate column": "name,name\na,b\n",
		"ragged row":       "name,owner\na,o,extra\n",
		"bare quote":       "name,owner\na\"b,o\n",
	}
	for name, in := range cases {
		if _, err := ParseRosterCSV(strings.NewReader(in), "bad.csv"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestReadRosterFileByExtension(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "hr.CSV")
	if err := os.WriteFile(p, []byte("name,owner\na,o\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ids, err := ReadRosterFile(p); err != nil || len(ids) != 1 {
		t.Fatalf("ids=%v err=%v", ids, err)
	}
	if _, err := ReadRosterFile(filepath.Join(dir, "hr.xlsx")); err == nil {
		t.Fatal("accepted a missing .xlsx")
	}
	if _, err := ReadRosterFile(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("accepted a missing file")
	}
}
