package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
)

// A hash chain proves that no record was changed in place, but a ledger
// cut short, or rewritten and re-chained from some record on, verifies on
// its own. A head (SEQ:HASH of the last record) kept outside the ledger (a
// CI artifact, a ticket, the collector) closes that gap: `evidence head`
// prints it, `evidence verify --head` checks the ledger still holds it.

const headExample = `  # Print the head of the ledger
  sunset evidence head evidence/sunset.jsonl

  # In CI: check the ledger against the head saved by the previous run,
  # then save the new head as this run's artifact
  sunset evidence verify evidence/sunset.jsonl --head "$(cat previous/ledger-head.txt)"
  sunset evidence head evidence/sunset.jsonl > ledger-head.txt`

func newEvidenceHead(stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "head LEDGER",
		Short: "Print SEQ:HASH of the ledger's last record, to keep outside the ledger",
		Long: `head verifies the ledger (with its HMACs when SUNSET_EVIDENCE_KEY is set)
and prints the sequence number and hash of its last valid record as
SEQ:HASH, and nothing else, on stdout. Keep that line somewhere the ledger's
writers cannot rewrite (a CI artifact, the collector, a ticket): later,
'sunset evidence verify LEDGER --head SEQ:HASH' proves the ledger still
holds that record, which catches a ledger that was truncated, or rewritten
and re-chained, and that the hash chain alone would accept. An empty ledger's
head is 0 and 64 zeros.

A ledger that does not verify has no head worth keeping: head names the first
bad line on stderr and prints nothing on stdout.

Exit codes: 0 the head was printed, 1 the ledger does not verify (the first
bad line is named), 2 the ledger cannot be read.`,
		Example: headExample,
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			rep, err := evidence.VerifyFile(args[0], evidence.KeyFromEnv())
			if err != nil {
				return exit(2, "cannot read the ledger: %v", err)
			}
			noteRecovered(stderr, rep)
			if rep.FirstBad != nil {
				return exit(1, "ledger %s does not verify: line %d: %s (%d valid records before it); no head printed", args[0], rep.FirstBad.Line, rep.FirstBad.Reason, rep.Records)
			}
			fmt.Fprintln(stdout, rep.Head.String())
			return nil
		},
	}
}

// noteRecovered lists torn lines that ledger.recovered records account for.
func noteRecovered(w io.Writer, rep evidence.Report) {
	for _, r := range rep.Recovered {
		fmt.Fprintf(w, "note: line %d was torn (%s) and is accounted for by ledger.recovered record %d\n", r.TornLine, r.Reason, r.RecoveredBySeq)
	}
}

// parseHeadFlag reads --head; its error is a usage error (exit 2).
func parseHeadFlag(s string) (evidence.Head, error) {
	if strings.TrimSpace(s) == "" {
		// Typically a CI job whose previous head was never saved.
		return evidence.Head{}, exit(2, "--head is empty: give SEQ:HASH as sunset evidence head printed it (with no saved head yet, leave --head out)")
	}
	h, err := evidence.ParseHead(strings.TrimSpace(s))
	if err != nil {
		return h, exit(2, "--head %s; print one with: sunset evidence head LEDGER", strings.TrimPrefix(err.Error(), "evidence: head "))
	}
	if h.Seq == 0 && h.Hash != evidence.ZeroHash {
		return h, exit(2, "--head %s names no record: seq 0 is the empty ledger, whose hash is %s", h, evidence.ZeroHash)
	}
	return h, nil
}

// verifyWithHead is `evidence verify LEDGER --head SEQ:HASH`: the normal
// verification, and the saved head must still be in the ledger.
func verifyWithHead(stdout io.Writer, path string, want evidence.Head, key []byte) error {
	rep, err := evidence.VerifyHead(path, want, key)
	var he *evidence.HeadError
	if err != nil && !errors.As(err, &he) {
		return exit(2, "cannot read the ledger: %v", err)
	}
	noteRecovered(stdout, rep)
	also := ""
	if rep.FirstBad != nil {
		also = fmt.Sprintf("; the chain is also broken at line %d: %s", rep.FirstBad.Line, rep.FirstBad.Reason)
	}
	if he != nil {
		switch he.Problem {
		case evidence.HeadTruncated:
			return exit(1, "ledger %s was truncated: it no longer holds record %d (hash %s) that --head names: its last valid record is %s, %d record(s) in all (or it was replaced by an older copy)%s",
				path, want.Seq, want.Hash, he.Got, rep.Records, also)
		case evidence.HeadRewritten:
			return exit(1, "ledger %s was rewritten: record %d on line %d has hash %s, not %s as --head names: that record or one before it was changed and the chain rebuilt after it%s",
				path, want.Seq, he.Line, he.Got.Hash, want.Hash, also)
		default: // unconfirmed: the chain breaks before the head's record
			brk := he.Break
			if brk == nil {
				brk = rep.FirstBad
			}
			return exit(1, "ledger %s is TAMPERED: %v (%d valid records before it), so it cannot show that it still holds record %d that --head names",
				path, brk, rep.Records, want.Seq)
		}
	}
	if rep.FirstBad != nil {
		held := ""
		if want.Seq > 0 {
			held = fmt.Sprintf("; record %s that --head names is still there, before the break", want)
		}
		return exit(1, "ledger %s is TAMPERED: line %d: %s (%d valid records before it)%s",
			path, rep.FirstBad.Line, rep.FirstBad.Reason, rep.Records, held)
	}
	hmac := ""
	if key != nil {
		hmac = ", HMAC checked"
	}
	fmt.Fprintf(stdout, "ledger %s is intact: %d records%s, head %s; it still holds record %s that --head names\n", path, rep.Records, hmac, rep.Head, want)
	return nil
}
