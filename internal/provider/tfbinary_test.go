//go:build linux

package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The leak audit and the fault matrix run the provider as users do: the
// binary built from this tree, started by the real terraform through a
// dev_overrides CLI configuration, one provider process per command (the
// pattern of crash_test.go). Unlike the in-process acceptance framework,
// this captures terraform's stdout, stderr and TRACE log of each command,
// and puts a watchdog on each one, so that a hang is a test failure that
// says so rather than a stuck test binary.

// tfBinary is a provider binary and the CLI configuration that makes
// terraform use it.
type tfBinary struct {
	provider string // absolute path, symlinks resolved
	rc       string // TF_CLI_CONFIG_FILE
}

// buildProviderBinary builds the provider from this tree into a test
// temporary directory.
func buildProviderBinary(t *testing.T) *tfBinary {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		// Under CI, TestMain already failed the run when TF_ACC is unset.
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	provider := filepath.Join(bin, "terraform-provider-sunset")
	if out, err := exec.Command("go", "build", "-C", root, "-o", provider, ".").CombinedOutput(); err != nil {
		t.Fatalf("build the provider: %v\n%s", err, out)
	}
	if provider, err = filepath.EvalSymlinks(provider); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(bin, "terraformrc")
	cfg := fmt.Sprintf("provider_installation {\n  dev_overrides { \"sunset-iam/sunset\" = %q }\n  direct {}\n}\n", filepath.Dir(provider))
	if err := os.WriteFile(rc, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tfBinary{provider: provider, rc: rc}
}

// requiredSunset opens every configuration run against the built binary:
// the dev_overrides of the CLI configuration replace this source with it.
const requiredSunset = `terraform {
  required_providers {
    sunset = { source = "sunset-iam/sunset" }
  }
}
`

// tfDir is one terraform working directory.
type tfDir struct {
	t   *testing.T
	bin *tfBinary
	dir string
	env []string
	// logDir, when set, receives a TRACE log (terraform core and the
	// provider) of every command, one file each.
	logDir string
	runs   []*tfRun
}

// tfRun is what one terraform command left behind.
type tfRun struct {
	Args           []string
	Stdout, Stderr string
	Log            string // path of its TRACE log, "" when not tracing
	Err            error
	Hung           bool // killed by the watchdog
	Took           time.Duration
}

// Output is stdout then stderr, as a terminal would show them.
func (r *tfRun) Output() string { return r.Stdout + r.Stderr }

func (r *tfRun) String() string { return "terraform " + strings.Join(r.Args, " ") }

// newTFDir makes a working directory whose commands see a clean
// environment: no TF_LOG, SUNSET_* or credentials from the caller, a
// private HOME and TMPDIR, plus env ("NAME=value").
func newTFDir(t *testing.T, bin *tfBinary, env ...string) *tfDir {
	t.Helper()
	d := &tfDir{t: t, bin: bin, dir: t.TempDir()}
	d.env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir(),
		"TF_CLI_CONFIG_FILE=" + bin.rc, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1",
	}, env...)
	return d
}

// trace makes every later command log at TRACE (core and provider) into
// its own file under a fresh directory.
func (d *tfDir) trace() {
	d.logDir = d.t.TempDir()
}

func (d *tfDir) path(name string) string { return filepath.Join(d.dir, name) }

func (d *tfDir) write(name, content string) {
	d.t.Helper()
	if err := os.WriteFile(d.path(name), []byte(content), 0o600); err != nil {
		d.t.Fatal(err)
	}
}

// tfWatchdog bounds every command: far above what any of them needs on a
// loaded machine, far below "forever".
const tfWatchdog = 3 * time.Minute

// start begins a command in its own process group (so that the watchdog
// can end terraform and the provider it started, and nothing else) and
// returns a function that waits for it, at most limit.
func (d *tfDir) start(limit time.Duration, args ...string) func() *tfRun {
	d.t.Helper()
	args = append(slices.Clone(args), "-no-color")
	r := &tfRun{Args: args}
	cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), args...)
	cmd.Dir = d.dir
	cmd.Env = slices.Clone(d.env)
	if d.logDir != "" {
		r.Log = filepath.Join(d.logDir, fmt.Sprintf("%02d-%s.log", len(d.runs)+1, args[0]))
		cmd.Env = append(cmd.Env, "TF_LOG=TRACE", "TF_LOG_PROVIDER=TRACE", "TF_LOG_PATH="+r.Log)
	}
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		d.t.Fatalf("%s: %v", r, err)
	}
	d.runs = append(d.runs, r)
	var mu sync.Mutex
	reaped := false
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		mu.Lock()
		reaped = true
		mu.Unlock()
		exited <- err
	}()
	// killGroup ends terraform and the provider it started, unless
	// terraform has exited and been reaped (its group id could be reused).
	killGroup := func() {
		mu.Lock()
		defer mu.Unlock()
		if !reaped {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	d.t.Cleanup(killGroup) // a test that fails while the command runs
	return func() *tfRun {
		select {
		case r.Err = <-exited:
		case <-time.After(limit):
			r.Hung = true
			killGroup()
			<-exited
			r.Err = fmt.Errorf("did not finish within %s: killed", limit)
		}
		r.Took = time.Since(began)
		r.Stdout, r.Stderr = stdout.String(), stderr.String()
		return r
	}
}

// run runs a command to its end (or the watchdog's).
func (d *tfDir) run(args ...string) *tfRun {
	d.t.Helper()
	return d.start(tfWatchdog, args...)()
}

// ok runs a command that must succeed.
func (d *tfDir) ok(args ...string) *tfRun {
	d.t.Helper()
	r := d.run(args...)
	if r.Err != nil {
		d.t.Fatalf("%s: %v\n%s", r, r.Err, r.Output())
	}
	return r
}

// stateAddresses lists the resource instances in the state.
func (d *tfDir) stateAddresses() []string {
	d.t.Helper()
	r := d.ok("state", "list")
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// stateAttributes returns the attributes of one resource instance, from
// `terraform state pull`.
func (d *tfDir) stateAttributes(resourceType, name string) map[string]any {
	d.t.Helper()
	r := d.ok("state", "pull")
	var st struct {
		Resources []struct {
			Type, Name string
			Instances  []struct {
				Attributes map[string]any `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.NewDecoder(bytes.NewReader([]byte(r.Stdout))).Decode(&st); err != nil {
		d.t.Fatalf("state pull: %v", err)
	}
	for _, res := range st.Resources {
		if res.Type == resourceType && res.Name == name && len(res.Instances) == 1 {
			return res.Instances[0].Attributes
		}
	}
	d.t.Fatalf("no single instance of %s.%s in the state:\n%s", resourceType, name, r.Stdout)
	return nil
}
