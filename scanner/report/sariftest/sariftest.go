// Package sariftest validates SARIF output against the OASIS SARIF 2.1.0
// JSON schema, for tests.
//
// The schema is OASIS's file, not this project's: it is not committed here
// but read from the team's shared data (shared/sarif/sarif-schema-2.1.0.json
// beside the repository, as CI lays it out), or from SUNSET_SARIF_SCHEMA.
// Without it the test fails when CI=true and is skipped otherwise.
package sariftest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaID is the schema's own id, under which it is registered.
const SchemaID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

const rel = "shared/sarif/sarif-schema-2.1.0.json"

// SchemaPath finds the schema file, "" if there is none.
func SchemaPath() string {
	if p := os.Getenv("SUNSET_SARIF_SCHEMA"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err == nil {
		for {
			if p := filepath.Join(dir, rel); fileExists(p) {
				return p
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if p := filepath.Join("/work", rel); fileExists(p) {
		return p
	}
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// Schema compiles the SARIF 2.1.0 schema, failing (CI) or skipping the test
// when it cannot be found.
func Schema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	p := SchemaPath()
	if p == "" {
		msg := "the SARIF 2.1.0 schema was not found: set SUNSET_SARIF_SCHEMA or provide ../" + rel
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("schema %s: %v", p, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatalf("compile %s: %v", p, err)
	}
	return s
}

// Validate checks data against the schema and the parts of GitHub code
// scanning's requirements the schema does not express: every result has a
// physical location with a URI and a partial fingerprint, and every rule a
// help text and a numeric security-severity.
func Validate(t testing.TB, data []byte) {
	t.Helper()
	s := Schema(t)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("SARIF is not JSON: %v", err)
	}
	if err := s.Validate(inst); err != nil {
		t.Fatalf("SARIF does not validate against the 2.1.0 schema: %v", err)
	}
	CheckGitHub(t, data)
}

// CheckGitHub checks code scanning's requirements without the schema.
func CheckGitHub(t testing.TB, data []byte) {
	t.Helper()
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID   string `json:"id"`
						Help struct {
							Text string `json:"text"`
						} `json:"help"`
						Properties map[string]any `json:"properties"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region *struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("version %q, %d runs", log.Version, len(log.Runs))
	}
	for _, r := range log.Runs[0].Tool.Driver.Rules {
		sev, _ := r.Properties["security-severity"].(string)
		if strings.TrimSpace(r.Help.Text) == "" || sev == "" || strings.Trim(sev, "0123456789.") != "" {
			t.Errorf("rule %s: help %q, security-severity %q", r.ID, r.Help.Text, sev)
		}
	}
	for i, r := range log.Runs[0].Results {
		if len(r.Locations) == 0 || r.Locations[0].PhysicalLocation.ArtifactLocation.URI == "" {
			t.Errorf("result %d (%s) has no physical location", i, r.RuleID)
		}
		if len(r.PartialFingerprints) == 0 {
			t.Errorf("result %d (%s) has no partialFingerprints", i, r.RuleID)
		}
		if _, ok := r.PartialFingerprints["primaryLocationLineHash"]; ok {
			t.Errorf("result %d sets primaryLocationLineHash, which GitHub computes itself", i)
		}
	}
}
