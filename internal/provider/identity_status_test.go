package provider

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
)

// advanceClock is a plan check that moves the provider's clock between plan
// and apply: the plan made on a pull request, applied days after merge.
type advanceClock struct {
	clock *scimClock
	by    time.Duration
}

func (a advanceClock) CheckPlan(context.Context, plancheck.CheckPlanRequest, *plancheck.CheckPlanResponse) {
	a.clock.Advance(a.by)
}

// An identity whose end date passes between plan and apply must still
// apply: status is left unknown at plan time and set from the clock at
// apply, rather than promised "active" and then contradicted.
func TestAccIdentityStatusSetAtApplyWhenEndDatePassesAfterPlan(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	clock := &scimClock{}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: clock.factories(),
		Steps: []resource.TestStep{
			{
				// Create: ends tomorrow, applied three days later.
				Config: identityConfig(ledger, "", etlLoaderBody(day(1))),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue("sunset_identity.etl", tfjsonpath.New("status")),
					advanceClock{clock, 72 * time.Hour},
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("sunset_identity.etl", tfjsonpath.New("status"), knownvalue.StringExact("ended")),
				},
			},
			{
				// Update: extended to a date that, too, passes before apply.
				Config: identityConfig(ledger, "", etlLoaderBody(day(4))),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("sunset_identity.etl", plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue("sunset_identity.etl", tfjsonpath.New("status")),
					advanceClock{clock, 72 * time.Hour},
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("sunset_identity.etl", tfjsonpath.New("status"), knownvalue.StringExact("ended")),
				},
			},
		},
	})
}

// An exception on the identity holds it past its end date (status
// excepted, at plan and apply alike), lands in the ledger with its approver
// and expiry, and once it expires the offboarding says exception_expired.
func TestAccIdentityExceptionHoldsAndExpires(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	clock := &scimClock{}
	config := identityConfig(ledger, "", fmt.Sprintf(`  name     = "vendor-console"
  kind     = "service_account"
  owner    = "it@example.com"
  end_date = %q
  exception = {
    kind        = "no_api"
    reason      = "vendor console has no API"
    approved_by = "ciso@example.com"
    expires     = %q
  }`, day(-10), day(5)))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: clock.factories(),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("sunset_identity.etl", tfjsonpath.New("status"), knownvalue.StringExact("excepted")),
					ledgerCheck(func() error {
						rec, err := ledgerRecord(ledger, evidence.EventIdentityDeclared, "")
						if err != nil {
							return err
						}
						want := fmt.Sprintf("no_api until %s, approved by ciso@example.com: vendor console has no API", day(5))
						if rec.Details["exception"] != want {
							return fmt.Errorf("declared with exception %q, want %q", rec.Details["exception"], want)
						}
						return nil
					}),
				},
			},
			{
				// A week on, the exception has expired: the identity has
				// ended, and removing it records why.
				PreConfig: func() { clock.Advance(7 * 24 * time.Hour) },
				Config:    config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("sunset_identity.etl", tfjsonpath.New("status"), knownvalue.StringExact("ended")),
				},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			return expectLedgerEvents(ledger, []string{"identity.declared:vendor-console", "identity.offboarded:vendor-console:exception_expired"})
		},
	})
}
