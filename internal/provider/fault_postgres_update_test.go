//go:build linux

package provider

import (
	"fmt"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// An update (password_wo_version bump) whose ALTER ROLE waits on a lock
// held by another session: the target's timeout should end it.
func TestAccFaultPostgresUpdateBlocked(t *testing.T) {
	bin := buildProviderBinary(t)
	pg := testenv.NewPostgresForTest(t, testenv.PostgresOptions{})
	d := newTFDir(t, bin, faultPGEnv+"="+pg.SuperDSN())
	cfg := func(v int) string {
		return faultConfig(fmt.Sprintf(`warehouse = { postgres = { dsn_env = %q, timeout = "3s" } }`, faultPGEnv),
			fmt.Sprintf(`resource "sunset_postgres_role" "r" {
  count               = var.present ? 1 : 0
  target              = "warehouse"
  name                = "fm_upd"
  identity_id         = "svc-upd"
  expires_at          = %q
  password_wo         = "pw-%d-Xx"
  password_wo_version = %d
}`, day(30), v, v))
	}
	d.write("main.tf", cfg(1))
	d.ok("apply", "-auto-approve", "-var", "present=true")
	d.write("main.tf", cfg(2))
	pgHoldRoleLock(t, pg, "fm_upd")
	r := d.start(45*time.Second, "apply", "-auto-approve", "-var", "present=true")()
	t.Logf("hung=%t err=%v took=%s\n%s", r.Hung, r.Err, r.Took, r.Output())
	if r.Hung {
		t.Fatal("the update hung past 45s with the target's timeout at 3s")
	}
}
