// Package sariftest validates SARIF output against the OASIS SARIF 2.1.0
// JSON schema, for tests.
//
// The schema is OASIS's document, not this project's, so it is not committed
// here. Tests read it from SUNSET_SARIF_SCHEMA when set, otherwise from the
// public-domain github.com/owenrumney/go-sarif/v3 module, which embeds the
// official schema and which `go mod download` fetches from the Go module
// proxy like any dependency, otherwise from shared/sarif/ beside the
// repository. Without it the test fails when CI=true and is skipped otherwise.
package sariftest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	// Keeps the module holding the official schema in go.mod, so that CI's
	// `go mod download` fetches it.
	_ "github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
)

// sarifModule embeds the OASIS schema in schemaFile as a Go raw string.
const (
	sarifModule = "github.com/owenrumney/go-sarif/v3"
	schemaFile  = "pkg/report/v210/sarif/schema.go"
)

// moduleSchema reads the schema out of the go-sarif module's source in the
// module cache.
func moduleSchema() ([]byte, string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", sarifModule).Output()
	if err != nil {
		return nil, "", err
	}
	p := filepath.Join(strings.TrimSpace(string(out)), schemaFile)
	src, err := os.ReadFile(p)
	if err != nil {
		return nil, "", err
	}
	start := bytes.Index(src, []byte("= `"))
	end := bytes.LastIndexByte(src, '`')
	if start < 0 || end <= start+3 {
		return nil, "", errors.New(p + " does not hold the schema as a raw string")
	}
	return src[start+3 : end], p, nil
}

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
	var data []byte
	p := os.Getenv("SUNSET_SARIF_SCHEMA")
	if p == "" {
		var err error
		if data, p, err = moduleSchema(); err != nil {
			p = SchemaPath()
			data = nil
		}
	}
	if data == nil {
		if p == "" {
			msg := "the SARIF 2.1.0 schema was not found: run `go mod download` (module " + sarifModule + "), set SUNSET_SARIF_SCHEMA or provide ../" + rel
			// CI and `make test` must not pass by skipping.
			if os.Getenv("CI") == "true" || os.Getenv("SUNSET_REQUIRE_SERVERS") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		var err error
		if data, err = os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
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
