package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// Progress goes to stderr, a line per target, only when stderr is a
// terminal: a CI log gets the report and the exit code, nothing extra.
func TestProgressOnlyOnATerminal(t *testing.T) {
	pg := testenv.PostgresForTest(t)
	psql(t, pg, `DROP ROLE IF EXISTS cli_progress; CREATE ROLE cli_progress LOGIN VALID UNTIL '2030-04-01 00:00:00+00';`)
	// The server is shared: other tests count its roles.
	t.Cleanup(func() { psql(t, pg, `DROP ROLE IF EXISTS cli_progress;`) })
	dir := t.TempDir()
	for name, content := range map[string]string{
		"state.json":  stateJSON(map[string]string{"progress": "2030-03-31"}, map[string]string{"cli_progress": "progress"}),
		"sunset.yaml": "targets:\n  warehouse:\n    postgres:\n      dsn_env: WAREHOUSE_DSN\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"WAREHOUSE_DSN=" + pg.SuperDSN()}
	// --fail-on none: whatever else the shared server holds, the scan
	// exits 0 and has no reason to write to stderr but progress.
	args := []string{"scan", "--config", "sunset.yaml", "--state", "state.json", "--format", "json", "--fail-on", "none", "--as-of", "2027-06-15T12:00:00Z"}
	const progress = "sunset: warehouse (postgresql): "

	// stderr a pipe, as in CI.
	r := sunset(t, dir, env, args...)
	if r.code != 0 || !strings.Contains(r.stdout, `"complete": true`) {
		t.Fatalf("scan: %s", r)
	}
	if r.stderr != "" {
		t.Errorf("stderr is not a terminal, yet the scan wrote to it:\n%s", r.stderr)
	}

	// stderr a terminal: the same scan says what it read, target by target,
	// which shows the check above can fail.
	master, slave, err := openPTY()
	if err != nil {
		t.Skipf("no pseudo-terminal to check the terminal case: %v", err)
	}
	defer master.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sunsetBin(t), args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, slave
	var tty bytes.Buffer
	read := make(chan error, 1)
	go func() {
		_, err := io.Copy(&tty, master)
		read <- err
	}()
	err = cmd.Run()
	slave.Close() // the reader sees EIO once no one holds the terminal open
	<-read
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(tty.String(), progress) || !strings.Contains(stdout.String(), `"complete": true`) {
		t.Errorf("on a terminal: exit %d, stderr %q, want a line starting %q", code, tty.String(), progress)
	}
}
