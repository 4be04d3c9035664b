package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
	"github.com/sunset-iam/terraform-provider-sunset/internal/targets"
	"github.com/sunset-iam/terraform-provider-sunset/scanner"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/baseline"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/config"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/locate"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/report"
)

type scanFlags struct {
	config, roster, ledger, sourceDir, format, output, failOn, baseline, sla, asOf string
	states                                                                         []string
	timeout                                                                        time.Duration
}

func newScan(stdout, stderr io.Writer) *cobra.Command {
	var f scanFlags
	c := &cobra.Command{
		Use:   "scan",
		Short: "Report access that outlives its declared lifecycle",
		Long: `scan reads what was declared (Terraform state, the roster export, the
evidence ledger), lists every account live in each target of the
configuration, and reports findings: stale-access, pending-revocation,
revocation-not-propagated, unmanaged-account, outlives-lifecycle,
orphaned-owner, expired-exception, missing-evidence and ledger-tampered.

It only reads from targets. A target that cannot be read makes the scan
incomplete (exit 2) and the rest is still scanned and reported; an inventory
that comes back empty where state declares accounts is suspect, not clean.

Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 an error or an
incomplete scan.`,
		Example: `  # Nightly in CI: every workspace's state, SARIF for code scanning
  terraform -chdir=infra state pull > state.json
  sunset scan --config sunset.yaml --state state.json --roster hr/roster.csv \
    --ledger evidence/sunset.jsonl --source-dir infra --format sarif --output sunset.sarif

  # On a terminal: a table of everything at medium or above
  sunset scan --config sunset.yaml --state state.json --fail-on medium`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runScan(cmd.Context(), f, stdout, stderr)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.config, "config", "", "scan configuration (YAML: targets and policy), e.g. --config sunset.yaml")
	fl.StringArrayVar(&f.states, "state", nil, "Terraform state FILE, raw (from terraform state pull) or the output of terraform show -json; repeat for every workspace, e.g. --state prod.json --state staging.json")
	fl.StringVar(&f.roster, "roster", "", "HR export the roster reads (.csv or .json), e.g. --roster hr/roster.csv")
	fl.StringVar(&f.ledger, "ledger", "", "evidence ledger (JSONL); its chain is verified, with SUNSET_EVIDENCE_KEY when set, e.g. --ledger evidence/sunset.jsonl")
	fl.StringVar(&f.sourceDir, "source-dir", "", "Terraform sources, to point findings at the .tf line that declares them, e.g. --source-dir infra")
	fl.StringVar(&f.format, "format", "", "table, json, sarif or markdown; default: table on a terminal, else from --output's extension (.sarif, .md, .json), else json; e.g. --format sarif")
	fl.StringVar(&f.output, "output", "", "write the report to this file instead of stdout, e.g. --output sunset.sarif")
	fl.StringVar(&f.failOn, "fail-on", "high", "lowest severity that makes the exit code 1: critical, high, medium, low or none, e.g. --fail-on medium")
	fl.StringVar(&f.baseline, "baseline", "", "accepted findings (YAML: fingerprint, reason, approved_by, expires); expired entries stop suppressing, e.g. --baseline sunset-baseline.yaml")
	fl.StringVar(&f.sla, "sla", "", "grace between an identity's end and its revocation before pending-revocation becomes stale-access; overrides policy.sla (default 1d), e.g. --sla 3d")
	fl.StringVar(&f.asOf, "as-of", "", "judge as of this RFC 3339 instant instead of now, e.g. --as-of 2027-01-01T00:00:00Z")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Minute, "give up on the whole scan after this long, e.g. --timeout 10m")
	return c
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func chooseFormat(f scanFlags, stdout io.Writer) (string, error) {
	if f.format != "" {
		for _, ok := range report.Formats {
			if f.format == ok {
				return f.format, nil
			}
		}
		return "", exit(2, "--format %q is not one of %s", f.format, strings.Join(report.Formats, ", "))
	}
	if f.output != "" {
		switch strings.ToLower(filepath.Ext(f.output)) {
		case ".sarif":
			return "sarif", nil
		case ".md", ".markdown":
			return "markdown", nil
		case ".txt":
			return "table", nil
		}
		return "json", nil
	}
	if isTerminal(stdout) {
		return "table", nil
	}
	return "json", nil
}

func runScan(ctx context.Context, f scanFlags, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	failOn, err := scanner.ParseSeverity(f.failOn)
	if err != nil {
		return exit(2, "--fail-on: %v", err)
	}
	format, err := chooseFormat(f, stdout)
	if err != nil {
		return err
	}
	if f.config == "" && len(f.states) == 0 && f.ledger == "" && f.roster == "" {
		return exit(2, "nothing to scan: give --config with targets, and --state, --roster or --ledger (see `sunset scan --help`)")
	}
	now := time.Now().UTC()
	if f.asOf != "" {
		if now, err = time.Parse(time.RFC3339, f.asOf); err != nil {
			return exit(2, "--as-of %q is not an RFC 3339 instant such as 2027-01-01T00:00:00Z", f.asOf)
		}
	}

	in := scanner.Input{Now: now, States: f.states, Roster: f.roster, Ledger: f.ledger, LedgerKey: evidence.KeyFromEnv(), SLA: config.DefaultSLA}
	in.Policy.Location = time.UTC
	if f.config != "" {
		cfg, err := config.Load(f.config, nil)
		if err != nil {
			return exit(2, "%v", err)
		}
		in.ConfigFile, in.Policy, in.SLA = cfg.File, cfg.Policy, cfg.Policy.SLA
		for _, t := range cfg.Targets {
			in.Targets = append(in.Targets, targetSpec(t))
		}
	}
	if f.sla != "" {
		if in.SLA, err = lifecycle.ParseDuration(f.sla); err != nil {
			return exit(2, "--sla: %v", err)
		}
	}
	var bl *baseline.Baseline
	if f.baseline != "" {
		if bl, err = baseline.Load(f.baseline, in.Policy.Location); err != nil {
			return exit(2, "%v", err)
		}
	}
	if f.sourceDir != "" {
		if in.Source, err = locate.Scan(f.sourceDir); err != nil {
			return exit(2, "--source-dir: %v", err)
		}
	}
	if isTerminal(stderr) {
		in.Progress = func(line string) { fmt.Fprintln(stderr, "sunset:", line) }
	}

	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	collectFromFloor()
	res, err := scanner.Scan(ctx, in)
	if err != nil {
		return exit(2, "%v", err)
	}
	kept, suppressed, notices := bl.Apply(res.Findings, now)
	for _, n := range notices {
		fmt.Fprintln(stderr, "sunset:", n)
	}
	res.Findings = kept

	var buf bytes.Buffer
	if err := report.Write(&buf, format, report.Report{Result: res, Suppressed: suppressed, Version: version}); err != nil {
		return exit(2, "%v", err)
	}
	if f.output != "" {
		if err := os.WriteFile(f.output, buf.Bytes(), 0o644); err != nil {
			return exit(2, "--output: %v", err)
		}
	} else if _, err := stdout.Write(buf.Bytes()); err != nil {
		return exit(2, "writing the report: %v", err)
	}

	if !res.Complete() {
		for _, p := range res.Incomplete {
			fmt.Fprintln(stderr, "sunset: INCOMPLETE:", p.Message)
		}
		fmt.Fprintf(stderr, "sunset: the scan is incomplete (%d problem(s)); %d finding(s) were reported from what could be read\n", len(res.Incomplete), len(res.Findings))
		return quiet(2)
	}
	if res.AtOrAbove(failOn) {
		if f.output != "" || format != "table" {
			fmt.Fprintf(stderr, "sunset: %d finding(s), at least one at or above %s\n", len(res.Findings), failOn)
		}
		return quiet(1)
	}
	return nil
}

// targetSpec opens a configured target, or reports why it cannot be.
func targetSpec(t config.Target) scanner.TargetSpec {
	return scanner.TargetSpec{Name: t.Name, Line: t.Line, Open: func(ctx context.Context) (connector.Target, error) {
		if t.Err != nil {
			return nil, t.Err
		}
		conn, err := targets.Open(ctx, t.Config)
		if err != nil {
			return nil, err
		}
		return conn, nil
	}}
}
