// Command sunset is the companion CLI of the sunset provider: drift scans,
// plan reviews and evidence checks.
//
// Exit codes: 0 nothing at or above --fail-on, 1 findings (or a tampered
// ledger), 2 an error or an incomplete scan.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// version is set by the release build through -ldflags "-X main.version=...".
var version = "dev"

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exit(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

// quiet is an exit code whose reason was already printed.
type quiet int

func (q quiet) Error() string { return fmt.Sprintf("exit %d", int(q)) }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var q quiet
	if errors.As(err, &q) {
		return int(q)
	}
	var ee *exitError
	if errors.As(err, &ee) {
		fmt.Fprintln(stderr, "sunset:", ee.err)
		return ee.code
	}
	// Cobra's own errors (unknown flag, missing argument) are usage errors.
	fmt.Fprintln(stderr, "sunset:", err)
	return 2
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "sunset",
		Short: "Drift scans, plan reviews and evidence checks for the sunset Terraform provider",
		Long: `sunset compares what Terraform declares about identities and their
credentials (state, the roster, the evidence ledger) with what is live in
each target system, reviews plans for the access they grant and revoke, and
verifies and reports on the evidence ledger.

Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 an error or an
incomplete scan.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	// Declared here rather than left to cobra, so that its help has an example.
	root.Flags().BoolP("version", "v", false, "print the version and exit, e.g. sunset --version")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("sunset {{.Version}}\n")
	root.AddCommand(newScan(stdout, stderr), newReview(stdout), newEvidence(stdout, stderr), &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintln(stdout, "sunset", version)
			return nil
		},
	})
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return exit(2, "%v (see `%s --help`)", err, c.CommandPath())
	})
	return root
}
