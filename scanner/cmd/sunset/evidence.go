package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/evidencereport"
)

func newEvidence(stdout, stderr io.Writer) *cobra.Command {
	c := &cobra.Command{
		Use:   "evidence",
		Short: "Verify the evidence ledger and report on revocations",
		Long:  "Commands on the evidence ledger, the hash-chained JSONL file the provider appends to.",
		Example: `  sunset evidence verify evidence/sunset.jsonl
  sunset evidence head evidence/sunset.jsonl > ledger-head.txt
  sunset evidence verify evidence/sunset.jsonl --head "$(cat ledger-head.txt)"
  sunset evidence report evidence/sunset.jsonl --since 2027-01-01 --sla 1d --format csv`,
	}
	c.AddCommand(newEvidenceVerify(stdout), newEvidenceHead(stdout, stderr), newEvidenceReport(stdout))
	return c
}

func newEvidenceVerify(stdout io.Writer) *cobra.Command {
	var head string
	c := &cobra.Command{
		Use:   "verify LEDGER",
		Short: "Check the ledger's hash chain (and HMAC with SUNSET_EVIDENCE_KEY)",
		Long: `verify reads the whole ledger and checks every record's hash, its link to
the record before it, its sequence number, and its HMAC when
SUNSET_EVIDENCE_KEY is set. A torn line that a later ledger.recovered record
accounts for is accepted and listed.

A chain cut short, or rewritten and re-chained from some record on, still
verifies on its own. With --head SEQ:HASH (saved earlier by 'sunset evidence
head', outside the ledger) verify also checks that the ledger still holds
that record, and says whether it was truncated (it ends before SEQ) or
rewritten (record SEQ, on the line named, has another hash).

Exit codes: 0 intact (and holding --head's record), 1 tampered (the first bad
line is named), truncated or rewritten, 2 the ledger cannot be read or --head
is not SEQ:HASH.`,
		Example: `  sunset evidence verify evidence/sunset.jsonl
  SUNSET_EVIDENCE_KEY=... sunset evidence verify evidence/sunset.jsonl

  # In CI: the head saved by the previous run must still be in the ledger
  sunset evidence verify evidence/sunset.jsonl --head "$(cat previous/ledger-head.txt)"
  sunset evidence head evidence/sunset.jsonl > ledger-head.txt`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key := evidence.KeyFromEnv()
			if cmd.Flags().Changed("head") {
				want, err := parseHeadFlag(head)
				if err != nil {
					return err
				}
				return verifyWithHead(stdout, args[0], want, key)
			}
			rep, err := evidence.VerifyFile(args[0], key)
			if err != nil {
				return exit(2, "cannot read the ledger: %v", err)
			}
			noteRecovered(stdout, rep)
			if rep.FirstBad != nil {
				return exit(1, "ledger %s is TAMPERED: line %d: %s (%d valid records before it)", args[0], rep.FirstBad.Line, rep.FirstBad.Reason, rep.Records)
			}
			hmac := ""
			if key != nil {
				hmac = ", HMAC checked"
			}
			fmt.Fprintf(stdout, "ledger %s is intact: %d records%s, head %s\n", args[0], rep.Records, hmac, rep.Head)
			return nil
		},
	}
	c.Flags().StringVar(&head, "head", "", "SEQ:HASH of a record the ledger must still hold, as sunset evidence head printed it earlier, e.g. --head 42:3f1c...e9 (64 hex digits)")
	return c
}

func newEvidenceReport(stdout io.Writer) *cobra.Command {
	var since, sla, format, tz string
	c := &cobra.Command{
		Use:   "report LEDGER",
		Short: "Report each revocation's delay after the identity's end date, and whether the SLA was met",
		Long: `report verifies the ledger, then lists every credential.revoked record:
the identity's end date, when the access was actually removed (removed_at,
from the target), the delay between the two (zero when removed early), and
whether it was within the SLA; then the count, median, p95 and max delay and
the share within the SLA. A ledger that does not verify is refused (exit 1).`,
		Example: `  sunset evidence report evidence/sunset.jsonl --sla 1d
  sunset evidence report evidence/sunset.jsonl --since 2027-01-01 --format csv > q1.csv
  sunset evidence report evidence/sunset.jsonl --since 2027-04-01T00:00:00Z --sla 4h --format json`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			opts := evidencereport.Options{}
			loc, err := time.LoadLocation(tz)
			if err != nil || tz == "" || tz == "Local" {
				return exit(2, "--timezone %q is not an IANA zone name such as Europe/Berlin", tz)
			}
			opts.Location = loc
			if opts.SLA, err = lifecycle.ParseDuration(sla); err != nil {
				return exit(2, "--sla: %v", err)
			}
			if since != "" {
				if opts.Since, err = lifecycle.ParseStartDate(since, loc); err != nil {
					return exit(2, "--since: %v", err)
				}
			}
			ok := false
			for _, f := range evidencereport.Formats {
				ok = ok || f == format
			}
			if !ok {
				return exit(2, "--format %q is not one of %s", format, strings.Join(evidencereport.Formats, ", "))
			}
			rep, err := evidencereport.Build(args[0], evidence.KeyFromEnv(), opts)
			switch {
			case errors.Is(err, evidencereport.ErrTampered):
				return exit(1, "%v", err)
			case err != nil:
				return exit(2, "cannot read the ledger: %v", err)
			}
			if err := evidencereport.Write(stdout, format, rep); err != nil {
				return exit(2, "%v", err)
			}
			return nil
		},
	}
	c.Flags().StringVar(&since, "since", "", "only revocations removed at or after this date or instant, e.g. --since 2027-01-01")
	c.Flags().StringVar(&sla, "sla", "1d", "the revocation SLA after an identity's end, e.g. --sla 4h")
	c.Flags().StringVar(&format, "format", "markdown", "markdown, csv or json, e.g. --format csv")
	c.Flags().StringVar(&tz, "timezone", "UTC", "zone for calendar end dates and --since, e.g. --timezone Europe/Berlin")
	return c
}
