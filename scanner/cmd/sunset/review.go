package main

import (
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/config"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/review"
)

func newReview(stdout io.Writer) *cobra.Command {
	var format, maxGrant, cfgFile string
	c := &cobra.Command{
		Use:   "review PLAN_JSON",
		Short: "Summarise a plan's revocations, new grants, end-date extensions and exceptions",
		Long: `review reads the JSON of a saved plan (terraform show -json PLANFILE) and
writes what a reviewer needs to approve it: who loses access (and why), who
gets access and until when (a grant with no expiry, or beyond policy, is
flagged), whose end date moves and by how many days, and which exceptions the
roster holds. Markdown is made for a pull-request comment.`,
		Example: `  terraform plan -out plan.tfplan
  terraform show -json plan.tfplan > plan.json
  sunset review plan.json > review.md                 # markdown for a PR comment
  sunset review plan.json --format json --max-grant 365d
  sunset review plan.json --config sunset.yaml        # max_grant from policy.max_grant`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if format != "markdown" && format != "json" {
				return exit(2, "--format %q is not one of %s", format, strings.Join(review.Formats, ", "))
			}
			opts := review.Options{Location: time.UTC}
			if cfgFile != "" {
				cfg, err := config.Load(cfgFile, func(string) string { return "" })
				if err != nil {
					return exit(2, "%v", err)
				}
				opts.MaxGrant, opts.Location = cfg.Policy.MaxGrant, cfg.Policy.Location
			}
			if maxGrant != "" {
				d, err := lifecycle.ParseDuration(maxGrant)
				if err != nil {
					return exit(2, "--max-grant: %v", err)
				}
				opts.MaxGrant = d
			}
			s, err := review.ReadFile(args[0], opts)
			if err != nil {
				return exit(2, "%v", err)
			}
			if err := review.Write(stdout, format, s); err != nil {
				return exit(2, "%v", err)
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "markdown", "markdown or json, e.g. --format json")
	c.Flags().StringVar(&maxGrant, "max-grant", "", "flag new grants and extensions whose end is further away than this, e.g. --max-grant 365d")
	c.Flags().StringVar(&cfgFile, "config", "", "scan configuration whose policy.max_grant and policy.timezone apply (targets are not contacted), e.g. --config sunset.yaml")
	return c
}
