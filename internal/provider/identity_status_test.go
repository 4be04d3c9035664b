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
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
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
	body := func(end string) string {
		return fmt.Sprintf(`  name     = "etl-loader"
  kind     = "workload"
  owner    = "data-eng@example.com"
  end_date = %q`, end)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: clock.factories(),
		Steps: []resource.TestStep{
			{
				// Create: ends tomorrow, applied three days later.
				Config: identityConfig(ledger, "", body(day(1))),
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
				Config: identityConfig(ledger, "", body(day(4))),
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
