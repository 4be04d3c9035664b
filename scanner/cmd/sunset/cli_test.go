package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopSharedPostgres()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// sunsetBin builds the CLI once per test run, as a user gets it.
func sunsetBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "sunset-cli-test-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "sunset")
		if runtime.GOOS == "windows" {
			binPath += ".exe"
		}
		out, err := exec.Command("go", "build", "-ldflags", "-X main.version=9.9.9-test", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type result struct {
	stdout, stderr string
	code           int
}

// sunset runs the binary with a clean environment plus env, in dir.
func sunset(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sunsetBin(t), args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, r.stdout, r.stderr)
}

func TestVersionAndHelp(t *testing.T) {
	dir := t.TempDir()
	for _, arg := range []string{"version", "--version", "-v"} {
		if r := sunset(t, dir, nil, arg); r.code != 0 || r.stdout != "sunset 9.9.9-test\n" {
			t.Fatalf("%s: %s", arg, r)
		}
	}
	for _, args := range [][]string{{"--help"}, {"scan", "--help"}, {"review", "--help"}, {"evidence", "verify", "--help"}, {"evidence", "report", "--help"}} {
		r := sunset(t, dir, nil, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("%v: %s", args, r)
		}
		if len(args) > 1 && !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("%v --help has no example:\n%s", args, r.stdout)
		}
	}
	if r := sunset(t, dir, nil, "scan", "--format", "xml", "--state", "x"); r.code != 2 || !strings.Contains(r.stderr, `--format "xml" is not one of`) {
		t.Errorf("bad format: %s", r)
	}
	if r := sunset(t, dir, nil, "scan", "--nope"); r.code != 2 || !strings.Contains(r.stderr, "unknown flag: --nope") {
		t.Errorf("bad flag: %s", r)
	}
}

// Every flag of every command explains itself with an example.
func TestEveryFlagHasAnExample(t *testing.T) {
	seen := map[*pflag.Flag]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		// Cobra adds --help and --version when a command runs; add them now,
		// so that the flags checked are the flags --help lists, the root's
		// and the inherited persistent ones included.
		c.InitDefaultHelpFlag()
		c.InitDefaultVersionFlag()
		check := func(f *pflag.Flag) {
			if seen[f] {
				return
			}
			seen[f] = true
			if f.Name != "help" && !strings.Contains(f.Usage, "e.g.") {
				t.Errorf("%s --%s: usage %q has no example", c.CommandPath(), f.Name, f.Usage)
			}
			if strings.Contains(f.Usage, "`") {
				t.Errorf("%s --%s: a backquote in the usage becomes the value's name in --help", c.CommandPath(), f.Name)
			}
		}
		c.LocalFlags().VisitAll(check)
		c.InheritedFlags().VisitAll(check)
		if c.Runnable() && c.Example == "" && c.Name() != "version" {
			t.Errorf("%s has no example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	root := newRoot(&bytes.Buffer{}, &bytes.Buffer{})
	walk(root)
	if f := root.Flags().Lookup("version"); f == nil || !seen[f] || f.Shorthand != "v" {
		t.Errorf("the root's -v/--version was not checked: %v", f)
	}
}

func writeLedger(t *testing.T, dir string, n int) string {
	t.Helper()
	p := filepath.Join(dir, "sunset.jsonl")
	l, err := evidence.Open(p, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	removed := time.Date(2027, 1, 3, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		if _, err := l.Append(context.Background(), evidence.Record{
			Event: evidence.EventCredentialRevoked, Target: "warehouse", System: "postgresql", Account: fmt.Sprintf("user%d", i),
			Identity: &evidence.IdentityRef{Name: fmt.Sprintf("user%d", i), EndDate: "2027-01-01"}, RemovedAt: &removed,
		}); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestEvidenceVerify(t *testing.T) {
	dir := t.TempDir()
	// A ledger the real provider wrote during `terraform apply`.
	if r := sunset(t, dir, nil, "evidence", "verify", filepath.Join(mustAbs(t, "testdata"), "provider-ledger.jsonl")); r.code != 0 || !strings.Contains(r.stdout, "is intact: 4 records, head 4:") {
		t.Fatalf("intact: %s", r)
	}
	p := writeLedger(t, dir, 5)
	data, _ := os.ReadFile(p)
	lines := strings.SplitAfter(string(data), "\n")
	lines[3] = strings.Replace(lines[3], `"account":"user3"`, `"account":"user9"`, 1)
	os.WriteFile(p, []byte(strings.Join(lines, "")), 0o600)
	if r := sunset(t, dir, nil, "evidence", "verify", p); r.code != 1 || !strings.Contains(r.stderr, "is TAMPERED: line 4:") || !strings.Contains(r.stderr, "3 valid records before it") {
		t.Fatalf("tampered: %s", r)
	}
	if r := sunset(t, dir, []string{"SUNSET_EVIDENCE_KEY=k3y"}, "evidence", "verify", filepath.Join(mustAbs(t, "testdata"), "provider-ledger.jsonl")); r.code != 1 || !strings.Contains(r.stderr, "line 1") {
		t.Fatalf("a ledger without HMACs must not verify under a key: %s", r)
	}
	if r := sunset(t, dir, nil, "evidence", "verify", filepath.Join(dir, "missing.jsonl")); r.code != 2 || !strings.Contains(r.stderr, "cannot read the ledger") {
		t.Fatalf("missing: %s", r)
	}
	if r := sunset(t, dir, nil, "evidence", "verify", dir); r.code != 2 {
		t.Fatalf("a directory: %s", r)
	}
	if r := sunset(t, dir, nil, "evidence", "verify"); r.code != 2 {
		t.Fatalf("no argument: %s", r)
	}
}

func TestEvidenceReport(t *testing.T) {
	dir := t.TempDir()
	p := writeLedger(t, dir, 3)
	r := sunset(t, dir, nil, "evidence", "report", p, "--sla", "1d", "--format", "csv")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 4 || !strings.Contains(r.stdout, ",1d,86400,yes,") {
		t.Fatalf("csv: %s", r)
	}
	r = sunset(t, dir, nil, "evidence", "report", p, "--sla", "12h", "--since", "2027-01-02")
	if r.code != 0 || !strings.Contains(r.stdout, "| 3 | 3 | 1d | 1d | 1d | 0 (0.0%) |") {
		t.Fatalf("markdown: %s", r)
	}
	r = sunset(t, dir, nil, "evidence", "report", p, "--since", "2027-02-01", "--format", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"count": 0`) {
		t.Fatalf("since filters: %s", r)
	}
	data, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(data, []byte("user1"), []byte("userX"), 1), 0o600)
	if r := sunset(t, dir, nil, "evidence", "report", p); r.code != 1 || !strings.Contains(r.stderr, "does not verify") || !strings.Contains(r.stderr, "line 2") {
		t.Fatalf("tampered: %s", r)
	}
	if r := sunset(t, dir, nil, "evidence", "report", p, "--sla", "soon"); r.code != 2 {
		t.Fatalf("bad sla: %s", r)
	}
}

// The plan JSON is `terraform show -json` of a real plan made with the
// sunset provider (see scanner/review/testdata).
func TestReview(t *testing.T) {
	dir := t.TempDir()
	plan := filepath.Join(mustAbs(t, "../../review/testdata"), "identities-plan.json")
	r := sunset(t, dir, nil, "review", plan)
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, want := range []string{"### Revocations", "### New grants", "### End-date extensions", "### Exceptions held by the roster",
		"identity ended: terminated in source", "2030-06-30 → 2030-12-31 | +184.0", "litigation 17"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("review lacks %q:\n%s", want, r.stdout)
		}
	}
	r = sunset(t, dir, nil, "review", plan, "--format", "json", "--max-grant", "30d")
	var s struct {
		Flagged int `json:"flagged"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &s) != nil || s.Flagged != 2 {
		t.Fatalf("json review: %s", r)
	}
	if r := sunset(t, dir, nil, "review", filepath.Join(dir, "nope.json")); r.code != 2 || !strings.Contains(r.stderr, "plan:") {
		t.Fatalf("missing plan: %s", r)
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
