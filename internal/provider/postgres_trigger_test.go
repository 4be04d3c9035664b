package provider

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
)

// A role declared without expires_at whose identity's end date passes is
// revoked with the trigger end_date_reached: the identity's end date, not
// the credential's own expiry, says why access ended.
func TestAccPostgresRoleTriggerFromIdentityEndDate(t *testing.T) {
	_, dsn := adminDSN(t)
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	clock := &scimClock{}
	role := fmt.Sprintf("trig_%d", time.Now().UnixNano())
	config := pgProvider(ledger, dsn) + gatedIdentities(inlineRoster(workload(role, day(1)), "")) + `
resource "sunset_postgres_role" "staff" {
  for_each    = sunset_identity.staff
  target      = "warehouse"
  name        = each.key
  identity_id = each.value.id
}
`
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: clock.factories(),
		Steps: []tfresource.TestStep{
			{Config: config},
			{
				// Three days on, the identity has ended: the gate drops it.
				PreConfig: func() { clock.Advance(72 * time.Hour) },
				Config:    config,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(fmt.Sprintf("sunset_postgres_role.staff[%q]", role), plancheck.ResourceActionDestroy),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					ledgerCheck(func() error {
						return expectLedgerEvents(ledger, []string{
							"identity.declared:" + role,
							"credential.issued:warehouse/" + role,
							"credential.revoked:warehouse/" + role + ":end_date_reached",
							"identity.offboarded:" + role + ":end_date_reached",
						})
					}),
				},
			},
		},
	})
}
