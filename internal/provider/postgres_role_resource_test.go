package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// adminPassword is the DSN password of the role the provider connects as in
// these tests: recognisable, so a leak into state, ledger or error output
// can be searched for.
const adminPassword = "Dsn-Secret-Pw-7QzX"

var adminOnce sync.Once

// adminDSN returns the shared server and the DSN of a superuser whose
// password is adminPassword.
func adminDSN(t *testing.T) (*testenv.Postgres, string) {
	t.Helper()
	pg := testenv.PostgresForTest(t)
	var err error
	var out []byte
	adminOnce.Do(func() {
		out, err = pg.Psql([]byte(`DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sunset_admin') THEN
    CREATE ROLE sunset_admin SUPERUSER LOGIN PASSWORD '` + adminPassword + `';
  END IF;
END $$;`))
	})
	if err != nil {
		t.Fatalf("create sunset_admin: %v\n%s", err, out)
	}
	return pg, pg.DSN("sunset_admin", adminPassword, "")
}

// pgProvider is the provider block with one postgres target, "warehouse".
func pgProvider(ledger, dsn string) string {
	return providerConfig(ledger, fmt.Sprintf(`targets = { warehouse = { postgres = { dsn = %q } } }`, dsn))
}

// gatedPostgresConfig is DESIGN.md's configuration: identities from the
// roster's active set, and one role per identity.
func gatedPostgresConfig(ledger, dsn, identities, extraRoster string) string {
	return pgProvider(ledger, dsn) + gatedIdentities(inlineRoster(identities, extraRoster)) + `
resource "sunset_postgres_role" "staff" {
  for_each            = sunset_identity.staff
  target              = "warehouse"
  name                = each.key
  identity_id         = each.value.id
  expires_at          = each.value.end_date
  password_wo         = "pw-${each.key}-S3cret"
  password_wo_version = 1
}
`
}

// --- PostgreSQL helpers: facts read as the superuser, outside the code under test.

func pgCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// superExec runs SQL as the superuser.
func superExec(pg *testenv.Postgres, sql string, args ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.SuperDSN())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// roleFacts is a role as pg_roles reports it.
type roleFacts struct {
	exists, canLogin bool
	validUntil       *time.Time
	connLimit        int
	memberOf         []string
}

func readRole(pg *testenv.Postgres, name string) (roleFacts, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.SuperDSN())
	if err != nil {
		return roleFacts{}, err
	}
	defer conn.Close(ctx)
	var f roleFacts
	err = conn.QueryRow(ctx, `SELECT rolcanlogin, rolvaliduntil, rolconnlimit,
		ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1)
		FROM pg_roles r WHERE rolname = $1`, name).Scan(&f.canLogin, &f.validUntil, &f.connLimit, &f.memberOf)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, nil
	}
	f.exists = err == nil
	return f, err
}

func mustReadRole(t *testing.T, pg *testenv.Postgres, name string) roleFacts {
	t.Helper()
	f, err := readRole(pg, name)
	if err != nil {
		t.Fatalf("read role %q: %v", name, err)
	}
	return f
}

// login opens a session as role with password.
func login(pg *testenv.Postgres, role, password string) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return pgx.Connect(ctx, pg.DSN(role, password, ""))
}

// canLoginWith says whether a fresh password login succeeds.
func canLoginWith(pg *testenv.Postgres, role, password string) error {
	conn, err := login(pg, role, password)
	if err != nil {
		return err
	}
	return conn.Close(context.Background())
}

// endsAt is the VALID UNTIL a calendar end date becomes (UTC provider).
func endsAt(t *testing.T, date string) string {
	t.Helper()
	e, err := lifecycle.ParseEndDate(date, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return formatValidUntil(e.EndsAt())
}

func findRecord(recs []evidence.Record, event evidence.Event, account string) *evidence.Record {
	for i := range recs {
		if recs[i].Event == event && recs[i].Account == account {
			return &recs[i]
		}
	}
	return nil
}

// traceLog makes this test's terraform and in-process provider log at TRACE
// into a file, and returns a check that no secret is in any log entry. The
// test framework's own dump of the test configuration (which holds the DSN,
// as a user's .tf file would) is the one entry skipped.
func traceLog(t *testing.T, secrets ...string) func() error {
	path := filepath.Join(t.TempDir(), "trace.log")
	t.Setenv("TF_ACC_LOG_PATH", path)
	t.Setenv("TF_LOG", "TRACE")
	return func() error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		entries := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT`).Split(string(b), -1)
		providerEntries := 0
		for _, e := range entries {
			if strings.Contains(e, "sdk.helper_resource: Setting Terraform configuration") {
				continue
			}
			if strings.Contains(e, "tf_resource_type=sunset_postgres_role") {
				providerEntries++
			}
			if err := noSecretsIn("log entry", e, secrets...); err != nil {
				return fmt.Errorf("%v: %.300s", err, e)
			}
		}
		if providerEntries == 0 {
			return fmt.Errorf("the trace log %s holds no entry of the provider: the check would prove nothing", path)
		}
		return nil
	}
}

// --- End to end ------------------------------------------------------------

func TestAccPostgresRoleEndToEndEndDatePasses(t *testing.T) {
	pg, dsn := adminDSN(t)
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	ids := workload("pg-e2e-etl", day(1)) + workload("pg-e2e-report", day(30))
	etl, report := `sunset_postgres_role.staff["pg-e2e-etl"]`, `sunset_postgres_role.staff["pg-e2e-report"]`
	etlPW := "pw-pg-e2e-etl-S3cret"
	asOf := time.Now().UTC().Add(72 * time.Hour).Format(time.RFC3339)

	// held is a session opened as the role before the destroy.
	var held *pgx.Conn
	t.Cleanup(func() {
		if held != nil {
			held.Close(context.Background())
		}
	})

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config: gatedPostgresConfig(ledger, dsn, ids, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(etl, tfjsonpath.New("id"), knownvalue.StringExact("warehouse/pg-e2e-etl")),
					statecheck.ExpectKnownValue(etl, tfjsonpath.New("valid_until"), knownvalue.StringExact(endsAt(t, day(1)))),
					statecheck.ExpectKnownValue(etl, tfjsonpath.New("can_login"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(etl, tfjsonpath.New("connection_limit"), knownvalue.Int64Exact(-1)),
					statecheck.ExpectKnownValue(report, tfjsonpath.New("valid_until"), knownvalue.StringExact(endsAt(t, day(30)))),
					stateHasNoSecrets{adminPassword, etlPW},
					ledgerCheck(func() error {
						f, err := readRole(pg, "pg-e2e-etl")
						if err != nil {
							return err
						}
						if !f.exists || !f.canLogin || f.validUntil == nil || formatValidUntil(*f.validUntil) != endsAt(t, day(1)) {
							return fmt.Errorf("pg_roles after create: %+v, want LOGIN VALID UNTIL %s", f, endsAt(t, day(1)))
						}
						// The password set through password_wo works; keep
						// the session open across the destroy.
						if held, err = login(pg, "pg-e2e-etl", etlPW); err != nil {
							return fmt.Errorf("login with the password_wo password: %v", err)
						}
						return expectLedgerEventSet(ledger, []string{
							"identity.declared:pg-e2e-etl", "identity.declared:pg-e2e-report",
							"credential.issued:warehouse/pg-e2e-etl", "credential.issued:warehouse/pg-e2e-report",
						})
					}),
				},
			},
			{
				// Evaluated three days ahead, etl's end date has passed: the
				// plan destroys its role and identity, nothing else.
				Config: gatedPostgresConfig(ledger, dsn, ids, fmt.Sprintf("as_of = %q", asOf)),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(etl, plancheck.ResourceActionDestroy),
						plancheck.ExpectResourceAction(`sunset_identity.staff["pg-e2e-etl"]`, plancheck.ResourceActionDestroy),
						plancheck.ExpectResourceAction(report, plancheck.ResourceActionNoop),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					ledgerCheck(func() error {
						// A new login with the right password fails.
						err := canLoginWith(pg, "pg-e2e-etl", etlPW)
						var pgErr *pgconn.PgError
						if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "28000" {
							return fmt.Errorf("login after revocation: %v, want SQLSTATE 28000 (role is not permitted to log in)", err)
						}
						// The session opened before the destroy was terminated.
						_, err = held.Exec(context.Background(), "SELECT 1")
						if err == nil {
							return errors.New("the session opened before the destroy still answers queries")
						}
						if !errors.As(err, &pgErr) || pgErr.Code != "57P01" {
							if !held.IsClosed() {
								return fmt.Errorf("query on the old session: %v, want it terminated (57P01)", err)
							}
						}
						f, err := readRole(pg, "pg-e2e-etl")
						if err != nil || !f.exists || f.canLogin {
							return fmt.Errorf("pg_roles after revocation: %+v %v, want the role present with NOLOGIN", f, err)
						}
						if f, err := readRole(pg, "pg-e2e-report"); err != nil || !f.canLogin {
							return fmt.Errorf("report's role was touched: %+v %v", f, err)
						}
						if err := canLoginWith(pg, "pg-e2e-report", "pw-pg-e2e-report-S3cret"); err != nil {
							return fmt.Errorf("report can no longer log in: %v", err)
						}

						// The ledger (whose chain ledgerEvents verifies)
						// holds the verified revocation.
						if err := expectLedgerEventSet(ledger, []string{
							"identity.declared:pg-e2e-etl", "identity.declared:pg-e2e-report",
							"credential.issued:warehouse/pg-e2e-etl", "credential.issued:warehouse/pg-e2e-report",
							"credential.revoked:warehouse/pg-e2e-etl:removed_from_configuration",
							"identity.offboarded:pg-e2e-etl:removed_from_configuration",
						}); err != nil {
							return err
						}
						_, recs, err := ledgerEvents(ledger)
						if err != nil {
							return err
						}
						rev := findRecord(recs, evidence.EventCredentialRevoked, "pg-e2e-etl")
						switch {
						case rev.RemovedAt == nil || rev.VerifiedAt == nil || rev.RequestedAt == nil:
							return fmt.Errorf("revoked record lacks times: %+v", rev)
						case rev.RemovedAt.After(*rev.VerifiedAt) || rev.RemovedAt.Before(rev.RequestedAt.Add(-time.Minute)):
							return fmt.Errorf("revoked record times out of order: requested %s removed %s verified %s", rev.RequestedAt, rev.RemovedAt, rev.VerifiedAt)
						case rev.Verification != "rolcanlogin=false, 0 memberships, 0 sessions":
							return fmt.Errorf("verification %q", rev.Verification)
						case rev.Details["sessions_terminated"] != "1":
							return fmt.Errorf("details %v, want the one held session terminated", rev.Details)
						case rev.System != "postgresql" || rev.Action != "disable" || rev.Actor != "acceptance-test":
							return fmt.Errorf("revoked record %+v", rev)
						case rev.Identity == nil || rev.Identity.ID != "pg-e2e-etl" || rev.Identity.EndDate != day(1):
							return fmt.Errorf("revoked record identity %+v", rev.Identity)
						}
						return nil
					}),
				},
			},
			{
				Config: gatedPostgresConfig(ledger, dsn, ids, allEnded),
				ConfigStateChecks: []statecheck.StateCheck{
					ledgerCheck(func() error {
						if f, err := readRole(pg, "pg-e2e-report"); err != nil || f.canLogin {
							return fmt.Errorf("report after its end: %+v %v", f, err)
						}
						_, recs, err := ledgerEvents(ledger)
						if err != nil {
							return err
						}
						if findRecord(recs, evidence.EventCredentialRevoked, "pg-e2e-report") == nil {
							return errors.New("no credential.revoked for report")
						}
						return noSecretsIn("ledger", readText(ledger), adminPassword, etlPW)
					}),
				},
			},
		},
	})
}

// --- Extension, rotation and drift --------------------------------------------

func extensionConfig(ledger, dsn, end, password string, version int, extra string) string {
	return pgProvider(ledger, dsn) + fmt.Sprintf(`
resource "sunset_identity" "etl" {
  name     = "pg-ext-etl"
  kind     = "workload"
  owner    = "data-eng@example.com"
  end_date = %q
}

resource "sunset_postgres_role" "etl" {
  target              = "warehouse"
  name                = sunset_identity.etl.name
  identity_id         = sunset_identity.etl.id
  expires_at          = sunset_identity.etl.end_date
  member_of           = ["sx_ext_readers"]
  password_wo         = %q
  password_wo_version = %d
  %s
}
`, end, password, version, extra)
}

func TestAccPostgresRoleExtensionRotationAndDrift(t *testing.T) {
	pg, dsn := adminDSN(t)
	if err := superExec(pg, `CREATE ROLE sx_ext_readers`); err != nil {
		t.Fatal(err)
	}
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	first, extended := day(30), day(90)
	role := "sunset_postgres_role.etl"
	pw1, pw2 := "first-Pw-One", "second-Pw-Two"

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config: extensionConfig(ledger, dsn, first, pw1, 1, ""),
				Check: func(*terraform.State) error {
					f, err := readRole(pg, "pg-ext-etl")
					if err != nil || f.validUntil == nil || formatValidUntil(*f.validUntil) != endsAt(t, first) || !slices.Equal(f.memberOf, []string{"sx_ext_readers"}) {
						return fmt.Errorf("after create: %+v %v", f, err)
					}
					return canLoginWith(pg, "pg-ext-etl", pw1)
				},
			},
			{
				// The end date is extended and the password rotated.
				Config: extensionConfig(ledger, dsn, extended, pw2, 2, ""),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(role, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(role, tfjsonpath.New("valid_until"), knownvalue.StringExact(endsAt(t, extended))),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(role, tfjsonpath.New("valid_until"), knownvalue.StringExact(endsAt(t, extended))),
					stateHasNoSecrets{adminPassword, pw1, pw2},
				},
				Check: func(*terraform.State) error {
					f, err := readRole(pg, "pg-ext-etl")
					if err != nil || f.validUntil == nil || formatValidUntil(*f.validUntil) != endsAt(t, extended) {
						return fmt.Errorf("rolvaliduntil after extension: %+v %v, want %s", f, err, endsAt(t, extended))
					}
					if err := canLoginWith(pg, "pg-ext-etl", pw2); err != nil {
						return fmt.Errorf("new password: %v", err)
					}
					if err := canLoginWith(pg, "pg-ext-etl", pw1); err == nil {
						return errors.New("the old password still works after rotation")
					}
					if err := expectLedgerEvents(ledger, []string{
						"identity.declared:pg-ext-etl", "credential.issued:warehouse/pg-ext-etl",
						"identity.changed:pg-ext-etl", "credential.changed:warehouse/pg-ext-etl",
					}); err != nil {
						return err
					}
					_, recs, err := ledgerEvents(ledger)
					if err != nil {
						return err
					}
					ch := recs[3]
					if c := ch.Changes["expires_at"]; c.Old != first || c.New != extended {
						return fmt.Errorf("credential.changed expires_at = %+v, want %s -> %s", c, first, extended)
					}
					if c := ch.Changes["password_wo_version"]; c.Old != "1" || c.New != "2" {
						return fmt.Errorf("credential.changed password_wo_version = %+v", c)
					}
					if ch.Details["end_date_change"] != "extended" || ch.Details["end_date_change_days"] != "60" {
						return fmt.Errorf("credential.changed details = %v", ch.Details)
					}
					return noSecretsIn("ledger", readText(ledger), pw1, pw2, adminPassword)
				},
			},
			{
				// A DBA changes expiry, membership and limit by hand: the
				// plan shows it and the apply puts the declaration back.
				PreConfig: func() {
					if err := superExec(pg, `ALTER ROLE "pg-ext-etl" VALID UNTIL '2099-01-01 00:00:00+00' CONNECTION LIMIT 3; REVOKE sx_ext_readers FROM "pg-ext-etl"`); err != nil {
						t.Fatal(err)
					}
				},
				Config: extensionConfig(ledger, dsn, extended, pw2, 2, ""),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(role, plancheck.ResourceActionUpdate)},
				},
				Check: func(*terraform.State) error {
					f, err := readRole(pg, "pg-ext-etl")
					if err != nil || f.validUntil == nil || formatValidUntil(*f.validUntil) != endsAt(t, extended) ||
						f.connLimit != -1 || !slices.Equal(f.memberOf, []string{"sx_ext_readers"}) {
						return fmt.Errorf("after correcting drift: %+v %v", f, err)
					}
					_, recs, err := ledgerEvents(ledger)
					if err != nil {
						return err
					}
					ch := recs[len(recs)-1]
					if ch.Event != evidence.EventCredentialChanged || ch.Changes["expires_at"].Old != "2099-01-01T00:00:00Z" ||
						ch.Changes["member_of"].Old != "[]" || ch.Changes["connection_limit"].Old != "3" {
						return fmt.Errorf("drift correction record: %+v", ch)
					}
					return nil
				},
			},
			{
				// A DBA disables the login by hand: state shows it, and
				// sunset does not turn it back on.
				PreConfig: func() {
					if err := superExec(pg, `ALTER ROLE "pg-ext-etl" NOLOGIN`); err != nil {
						t.Fatal(err)
					}
				},
				Config:            extensionConfig(ledger, dsn, extended, pw2, 2, `connection_limit = 5`),
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(role, tfjsonpath.New("can_login"), knownvalue.Bool(false))},
				Check: func(*terraform.State) error {
					f, err := readRole(pg, "pg-ext-etl")
					if err != nil || f.canLogin || f.connLimit != 5 {
						return fmt.Errorf("after an update of a disabled role: %+v %v, want NOLOGIN kept and limit 5", f, err)
					}
					return nil
				},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			_, recs, err := ledgerEvents(ledger)
			if err != nil {
				return err
			}
			rev := findRecord(recs, evidence.EventCredentialRevoked, "pg-ext-etl")
			if rev == nil || rev.Details["memberships_revoked"] != "sx_ext_readers" {
				return fmt.Errorf("revocation record %+v", rev)
			}
			f, err := readRole(pg, "pg-ext-etl")
			if err != nil || f.canLogin || len(f.memberOf) != 0 {
				return fmt.Errorf("after destroy: %+v %v", f, err)
			}
			return nil
		},
	})
}

// --- Out-of-band drop ------------------------------------------------------

func simpleRoleConfig(ledger, dsn, name, extra string) string {
	return pgProvider(ledger, dsn) + fmt.Sprintf(`
resource "sunset_postgres_role" "r" {
  target      = "warehouse"
  name        = %q
  identity_id = "svc-%s"
  expires_at  = %q
  %s
}
`, name, name, day(30), extra)
}

func TestAccPostgresRoleDroppedOutOfBand(t *testing.T) {
	pg, dsn := adminDSN(t)
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	cfg := simpleRoleConfig(ledger, dsn, "sx_oob", "")
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{Config: cfg},
			{
				PreConfig: func() {
					if err := superExec(pg, `DROP ROLE sx_oob`); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("sunset_postgres_role.r", plancheck.ResourceActionCreate)},
				},
				Check: func(*terraform.State) error {
					if f, err := readRole(pg, "sx_oob"); err != nil || !f.exists || !f.canLogin {
						return fmt.Errorf("role not recreated: %+v %v", f, err)
					}
					return expectLedgerEvents(ledger, []string{"credential.issued:warehouse/sx_oob", "credential.issued:warehouse/sx_oob"})
				},
			},
		},
	})
}

// --- Server down during destroy ----------------------------------------------

func TestAccPostgresRoleServerDownDuringDestroy(t *testing.T) {
	pg := testenv.NewPostgresForTest(t, testenv.PostgresOptions{})
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	withRole := simpleRoleConfig(ledger, pg.SuperDSN(), "sx_down", "")
	without := pgProvider(ledger, pg.SuperDSN())
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{Config: withRole},
			{
				// The role leaves the configuration while the server is down.
				PreConfig: func() {
					if err := pg.Kill(); err != nil {
						t.Fatal(err)
					}
				},
				Config:      without,
				ExpectError: wrapped(`Revocation failed`, `Revoking sx_down in target "warehouse"`, `The resource stays in state; the next apply retries the revocation`),
			},
			{
				PreConfig: func() {
					if err := expectLedgerEvents(ledger, []string{
						"credential.issued:warehouse/sx_down",
						"credential.revoke_failed:warehouse/sx_down:removed_from_configuration",
					}); err != nil {
						t.Fatal(err)
					}
					if err := pg.Restart(); err != nil {
						t.Fatal(err)
					}
					// Still live while the server was down and after it.
					if f := mustReadRole(t, pg, "sx_down"); !f.canLogin {
						t.Fatalf("role changed while the server was down: %+v", f)
					}
				},
				Config: without,
				// The role is still in state: this apply destroys it.
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("sunset_postgres_role.r", plancheck.ResourceActionDestroy)},
				},
				Check: func(*terraform.State) error {
					if f, err := readRole(pg, "sx_down"); err != nil || f.canLogin {
						return fmt.Errorf("after the retry: %+v %v", f, err)
					}
					if err := expectLedgerEvents(ledger, []string{
						"credential.issued:warehouse/sx_down",
						"credential.revoke_failed:warehouse/sx_down:removed_from_configuration",
						"credential.revoked:warehouse/sx_down:removed_from_configuration",
					}); err != nil {
						return err
					}
					_, recs, err := ledgerEvents(ledger)
					if err != nil {
						return err
					}
					if failed := recs[1]; failed.Error == "" || strings.Contains(failed.Error, pg.SuperPassword) {
						return fmt.Errorf("revoke_failed record error %q: want a reason, without the DSN password", failed.Error)
					}
					return nil
				},
			},
		},
	})
}

// A revocation that failed, and whose role then disappeared (dropped by a
// DBA, or by the failed attempt itself before its verification could
// answer), is not silently forgotten at the next refresh: the role stays in
// state, and the pending destroy verifies the removal and records it.
func TestAccPostgresRoleGoneAfterFailedRevocationIsRecorded(t *testing.T) {
	pg := testenv.NewPostgresForTest(t, testenv.PostgresOptions{})
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	withRole := simpleRoleConfig(ledger, pg.SuperDSN(), "sx_gone", "")
	without := pgProvider(ledger, pg.SuperDSN())
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{Config: withRole},
			{
				PreConfig: func() {
					if err := pg.Kill(); err != nil {
						t.Fatal(err)
					}
				},
				Config:      without,
				ExpectError: wrapped(`Revocation failed`, `The resource stays in state`),
			},
			{
				PreConfig: func() {
					if err := pg.Restart(); err != nil {
						t.Fatal(err)
					}
					if _, err := pg.Psql(nil, "-c", `DROP ROLE "sx_gone"`); err != nil {
						t.Fatal(err)
					}
				},
				Config: without,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("sunset_postgres_role.r", plancheck.ResourceActionDestroy)},
				},
				Check: func(*terraform.State) error {
					if err := expectLedgerEvents(ledger, []string{
						"credential.issued:warehouse/sx_gone",
						"credential.revoke_failed:warehouse/sx_gone:removed_from_configuration",
						"credential.revoked:warehouse/sx_gone:removed_from_configuration",
					}); err != nil {
						return err
					}
					rec, err := ledgerRecord(ledger, evidence.EventCredentialRevoked, "sx_gone")
					if err != nil {
						return err
					}
					if rec.Verification != "role absent" {
						return fmt.Errorf("verification %q, want the role checked absent", rec.Verification)
					}
					return nil
				},
			},
		},
	})
}

// --- Hostile names ---------------------------------------------------------

func hostileConfig(ledger, dsn string, names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = hclString(n)
	}
	return pgProvider(ledger, dsn) + fmt.Sprintf(`
resource "sunset_postgres_role" "h" {
  for_each    = toset([%s])
  target      = "warehouse"
  name        = each.key
  identity_id = "hostile"
  expires_at  = %q
}
`, strings.Join(quoted, ", "), day(30))
}

func TestAccPostgresRoleHostileNames(t *testing.T) {
	pg, dsn := adminDSN(t)
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	names := []string{
		`quote"d`,
		`x"; DROP ROLE postgres; --`,
		`o'brien'); DROP ROLE sunset_admin; --`,
		`back\slash\`,
		`Ünïcødé-角色-🔑`,
		`semi;colon and space`,
		`${not_interpolated}%{x}`,
		`MixedCase`,
		strings.Repeat("é", 31) + "x", // 63 bytes: the longest allowed
	}
	checkAll := func(wantLogin bool) error {
		for _, n := range names {
			f, err := readRole(pg, n)
			if err != nil || !f.exists || f.canLogin != wantLogin {
				return fmt.Errorf("role %q: %+v %v (want exists, login=%t)", n, f, err, wantLogin)
			}
		}
		// Nothing was injected: both superusers are untouched.
		for _, su := range []string{"postgres", "sunset_admin"} {
			if f, err := readRole(pg, su); err != nil || !f.exists || !f.canLogin {
				return fmt.Errorf("superuser %s: %+v %v", su, f, err)
			}
		}
		return nil
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config: hostileConfig(ledger, dsn, names),
				ConfigStateChecks: []statecheck.StateCheck{ledgerCheck(func() error {
					if err := checkAll(true); err != nil {
						return err
					}
					var want []string
					for _, n := range names {
						want = append(want, "credential.issued:warehouse/"+n)
					}
					return expectLedgerEventSet(ledger, want)
				})},
			},
			{
				Config: hostileConfig(ledger, dsn, nil),
				ConfigStateChecks: []statecheck.StateCheck{ledgerCheck(func() error {
					if err := checkAll(false); err != nil {
						return err
					}
					_, recs, err := ledgerEvents(ledger)
					if err != nil {
						return err
					}
					for _, n := range names {
						if r := findRecord(recs, evidence.EventCredentialRevoked, n); r == nil || r.Verification != "rolcanlogin=false, 0 memberships, 0 sessions" {
							return fmt.Errorf("revocation of %q: %+v", n, r)
						}
					}
					return nil
				})},
			},
		},
	})
}

func TestAccPostgresRoleInvalidConfig(t *testing.T) {
	_, dsn := adminDSN(t)
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	cases := []struct {
		name, roleName, extra string
		want                  wantAttrError
	}{
		{"64 ASCII bytes", strings.Repeat("a", 64), "", onAttr("Invalid name", "name", "is 64 bytes; PostgreSQL's limit is 63 bytes")},
		{"64 bytes in 32 characters", strings.Repeat("é", 32), "", onAttr("Invalid name", "name", "is 64 bytes")},
		{"NUL byte", "a\x00b", "", onAttr("Invalid name", "name", "contains a NUL byte")},
		{"empty name", "", "", onAttr("Invalid name", "name", "the role name is empty")},
		{"reserved prefix", "pg_sunset", "", onAttr("Invalid name", "name", `names starting with "pg_" are reserved`)},
		{"drop without reassign_to", "sx_inv", `on_destroy = "drop"`, onNested("Missing reassign_to", "reassign_to", "DROP OWNED without it would delete")},
		{"unknown on_destroy", "sx_inv", `on_destroy = "delete"`, onAttr("Invalid Attribute Value Match", "on_destroy", "value must be one of")},
		{"connection limit below -1", "sx_inv", `connection_limit = -2`, onAttr("Invalid connection_limit", "connection_limit", "use -1 for unlimited")},
		{"malformed expires_at", "sx_inv", `expires_at = "31/12/2027"`, onAttr("Invalid expires_at", "expires_at", "is not a valid calendar date")},
		{"password without version", "sx_inv", `password_wo = "abcdef"`, onNested("Missing password_wo_version", "password_wo_version")},
		{"version without password", "sx_inv", `password_wo_version = 1`, onNested("Missing password_wo", "password_wo", "there is no password to set")},
		{"member of itself", "sx_inv", `member_of = ["sx_inv"]`, onAttr("Invalid member_of", "member_of", "cannot be a member of itself")},
		{"member_of name too long", "sx_inv", `member_of = ["` + strings.Repeat("g", 64) + `"]`, onAttr("Invalid member_of", "member_of", "is 64 bytes")},
		{"reassign_to is the role", "sx_inv", `on_destroy = "drop"
  reassign_to = "sx_inv"`, onAttr("Invalid reassign_to", "reassign_to", "names the role being dropped")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := fmt.Sprintf(`
resource "sunset_postgres_role" "r" {
  target      = "warehouse"
  name        = %s
  identity_id = "x"
  %s
}
`, hclString(c.roleName), c.extra)
			if !strings.Contains(c.extra, "expires_at") {
				body = strings.Replace(body, `identity_id = "x"`, `identity_id = "x"`+"\n  expires_at = \""+day(10)+`"`, 1)
			}
			testAttrError(t, tfresource.TestStep{Config: pgProvider(ledger, dsn) + body, PlanOnly: true}, c.want)
		})
	}
}

// --- Import, unknown target, secrets ------------------------------------------

func TestAccPostgresRoleImport(t *testing.T) {
	pg, dsn := adminDSN(t)
	if err := superExec(pg, `CREATE ROLE sx_imp_grp`); err != nil {
		t.Fatal(err)
	}
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	cfg := pgProvider(ledger, dsn) + `
resource "sunset_postgres_role" "r" {
  target           = "warehouse"
  name             = "sx_import_me"
  identity_id      = "svc-import"
  expires_at       = "2031-01-01T00:00:00Z"
  member_of        = ["sx_imp_grp"]
  connection_limit = 5
}
`
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{Config: cfg},
			{
				ResourceName:            "sunset_postgres_role.r",
				ImportState:             true,
				ImportStateId:           "warehouse/sx_import_me",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"identity_id"},
			},
			{
				ResourceName:  "sunset_postgres_role.r",
				ImportState:   true,
				ImportStateId: "nowhere/sx_import_me",
				ExpectError:   wrapped(`target "nowhere" is not defined in the provider's targets (defined: warehouse)`),
			},
			{
				ResourceName:  "sunset_postgres_role.r",
				ImportState:   true,
				ImportStateId: "warehouse/sx_no_such_role",
				ExpectError:   wrapped(`Cannot import role`, `role "sx_no_such_role"`, `account not found`),
			},
			{
				ResourceName:  "sunset_postgres_role.r",
				ImportState:   true,
				ImportStateId: "sx_import_me",
				ExpectError:   wrapped(`Invalid import id`, `is not of the form TARGET/ACCOUNT`),
			},
		},
	})
}

func TestAccPostgresRoleUnknownTarget(t *testing.T) {
	_, dsn := adminDSN(t)
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{{
			Config:      strings.Replace(simpleRoleConfig(ledger, dsn, "sx_unknown_target", ""), `target      = "warehouse"`, `target      = "wharehouse"`, 1),
			ExpectError: wrapped(`Invalid target`, `target "wharehouse" is not defined in the provider's targets (defined: warehouse)`),
		}},
	})
}

// TestAccPostgresRoleErrorsHideDSNPassword makes the connection fail in
// ways whose errors could quote the DSN, and checks the password is not in
// what terraform prints.
func TestAccPostgresRoleErrorsHideDSNPassword(t *testing.T) {
	pg, _ := adminDSN(t)
	const leaky = "Leaky-DSN-Pw-93Kq"
	cases := map[string]string{
		"wrong password":   pg.DSN("sunset_admin", leaky, ""),
		"nothing listens":  fmt.Sprintf("postgres://sunset_admin:%s@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=3", leaky),
		"unparsable port":  fmt.Sprintf("postgres://sunset_admin:%s@127.0.0.1:notaport/postgres", leaky),
		"key=value form":   fmt.Sprintf("host=127.0.0.1 port=1 user=sunset_admin password=%s dbname=postgres sslmode=disable connect_timeout=3", leaky),
		"unknown database": fmt.Sprintf("postgres://sunset_admin:%s@127.0.0.1:%d/no_such_db?sslmode=disable", adminPassword, pg.Port),
	}
	for name, dsn := range cases {
		t.Run(name, func(t *testing.T) {
			ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
			sawError := false
			tfresource.Test(t, tfresource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				// ExpectError can only say what an error holds, not what it
				// lacks: ErrorCheck sees the whole text.
				ErrorCheck: func(err error) error {
					sawError = true
					t.Logf("error output: %s", err)
					if !wrapped(`Cannot connect to the target`).MatchString(err.Error()) {
						return err
					}
					return noSecretsIn("error output", err.Error(), leaky, adminPassword)
				},
				Steps: []tfresource.TestStep{{Config: simpleRoleConfig(ledger, dsn, "sx_leak", "")}},
			})
			if !sawError {
				t.Fatal("the apply succeeded; want a connection error")
			}
			if err := noSecretsIn("ledger", readText(ledger), leaky, adminPassword); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// --- The ledger cannot be written --------------------------------------------

func TestAccPostgresRoleLedgerFailureLeavesNoUnrecordedRole(t *testing.T) {
	pg, dsn := adminDSN(t)

	t.Run("ledger cannot be opened: nothing is created", func(t *testing.T) {
		ledger := filepath.Join(t.TempDir(), "no-such-dir", "evidence.jsonl")
		tfresource.Test(t, tfresource.TestCase{
			ProtoV6ProviderFactories: protoV6ProviderFactories,
			Steps: []tfresource.TestStep{{
				Config:      simpleRoleConfig(ledger, dsn, "sx_ledger_closed", ""),
				ExpectError: wrapped(`Cannot open the evidence ledger`, `No role was created`),
			}},
		})
		if f := mustReadRole(t, pg, "sx_ledger_closed"); f.exists {
			t.Fatalf("role exists without evidence: %+v", f)
		}
	})

	t.Run("append fails after the role exists: it is dropped again", func(t *testing.T) {
		// A dangling symlink opens (the directory exists) but cannot be
		// appended to: the failure comes after the CREATE ROLE.
		dir := t.TempDir()
		ledger := filepath.Join(dir, "evidence.jsonl")
		if err := os.Symlink(filepath.Join(dir, "gone", "evidence.jsonl"), ledger); err != nil {
			t.Fatal(err)
		}
		tfresource.Test(t, tfresource.TestCase{
			ProtoV6ProviderFactories: protoV6ProviderFactories,
			Steps: []tfresource.TestStep{{
				Config:      simpleRoleConfig(ledger, dsn, "sx_ledger_broken", ""),
				ExpectError: wrapped(`Cannot record the new credential`, `so it was dropped again`),
			}},
		})
		if f := mustReadRole(t, pg, "sx_ledger_broken"); f.exists {
			t.Fatalf("an unrecorded role is live: %+v", f)
		}
	})
}

// --- Drop mode -----------------------------------------------------------------

func TestAccPostgresRoleDropReassignsOwnedObjects(t *testing.T) {
	pg, dsn := adminDSN(t)
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	cfg := simpleRoleConfig(ledger, dsn, "sx_dropme", `on_destroy = "drop"
  reassign_to = "sunset_admin"`)
	logHasNoSecrets := traceLog(t, adminPassword)
	t.Cleanup(func() {
		if t.Skipped() {
			return // nothing ran, so there is no log to check
		}
		if err := logHasNoSecrets(); err != nil {
			t.Error(err)
		}
	})
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config: cfg,
				Check: func(*terraform.State) error {
					return superExec(pg, `CREATE TABLE pg_dropme_data (x int); ALTER TABLE pg_dropme_data OWNER TO sx_dropme`)
				},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			if f, err := readRole(pg, "sx_dropme"); err != nil || f.exists {
				return fmt.Errorf("role after drop: %+v %v", f, err)
			}
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, pg.SuperDSN())
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			var owner string
			if err := conn.QueryRow(ctx, `SELECT tableowner FROM pg_tables WHERE tablename = 'pg_dropme_data'`).Scan(&owner); err != nil || owner != "sunset_admin" {
				return fmt.Errorf("table owner after drop: %q %v, want reassigned to sunset_admin", owner, err)
			}
			_, recs, err := ledgerEvents(ledger)
			if err != nil {
				return err
			}
			rev := findRecord(recs, evidence.EventCredentialRevoked, "sx_dropme")
			if rev == nil || rev.Action != "drop" || rev.Verification != "role absent" || rev.Details["dropped"] != "true" {
				return fmt.Errorf("drop record %+v", rev)
			}
			return nil
		},
	})
}

// --- Plan-time warnings (ModifyPlan, without terraform) -----------------------

func planWarnings(t *testing.T, rt *runtime, m postgresRoleModel) []string {
	t.Helper()
	ctx := context.Background()
	r := &postgresRoleResource{providerRuntime{rt}}
	var sr resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &sr)
	typ := sr.Schema.Type().TerraformType(ctx)
	plan := tfsdk.Plan{Schema: sr.Schema, Raw: tftypes.NewValue(typ, nil)}
	if d := plan.Set(ctx, &m); d.HasError() {
		t.Fatal(d)
	}
	req := resource.ModifyPlanRequest{Plan: plan, State: tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(typ, nil)}}
	resp := resource.ModifyPlanResponse{Plan: plan}
	r.ModifyPlan(ctx, req, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatalf("ModifyPlan: %v", resp.Diagnostics)
	}
	var out []string
	for _, d := range resp.Diagnostics.Warnings() {
		out = append(out, d.Summary()+": "+d.Detail())
	}
	return out
}

func TestPostgresRolePlanWarnings(t *testing.T) {
	targets, _ := resolveTargets(map[string]targetModel{
		"warehouse": {Postgres: &postgresTargetModel{DSN: types.StringValue("postgres://u:pw@db/x"), DSNEnv: types.StringNull()}},
	}, envOf(nil))
	rt := &runtime{now: time.Now, policy: lifecycle.DefaultPolicy(), targets: targets}
	rt.rememberEndDate("etl", day(10))
	rt.rememberEndDate("forever", "")
	model := func(identity, expires string) postgresRoleModel {
		m := postgresRoleModel{
			ID: types.StringUnknown(), Target: types.StringValue("warehouse"), Name: types.StringValue("etl"),
			IdentityID: types.StringValue(identity), ExpiresAt: types.StringNull(),
			MemberOf: types.SetValueMust(types.StringType, nil), ConnectionLimit: types.Int64Value(-1),
			PasswordWO: types.StringNull(), PasswordWOVersion: types.Int64Null(),
			OnDestroy: types.StringValue("disable"), ReassignTo: types.StringNull(),
			ValidUntil: types.StringUnknown(), CanLogin: types.BoolUnknown(),
		}
		if expires != "" {
			m.ExpiresAt = types.StringValue(expires)
		}
		return m
	}
	cases := []struct {
		name, identity, expires string
		want                    []string // substrings, one warning each; nil: no warning
	}{
		{"expiry missing", "etl", "", []string{"No target-side expiry: Role \"etl\" gets no VALID UNTIL"}},
		{"expiry after the identity's end", "etl", day(20), []string{fmt.Sprintf("Credential outlives its identity: Role \"etl\" expires at %s (expires_at %s), after identity \"etl\" ends at %s (end_date %s)", endsAt(t, day(20)), day(20), endsAt(t, day(10)), day(10))}},
		{"expiry at the identity's end", "etl", day(10), nil},
		{"expiry before the identity's end", "etl", day(5), nil},
		{"identity without an end", "forever", day(20), nil},
		{"identity not seen in this run", "unseen", day(20), nil},
		{"expiry already passed", "unseen", day(-2), []string{"expires_at has passed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := planWarnings(t, rt, model(c.identity, c.expires))
			if len(got) != len(c.want) {
				t.Fatalf("warnings %q, want %d matching %q", got, len(c.want), c.want)
			}
			for i := range got {
				if !strings.Contains(got[i], c.want[i]) {
					t.Errorf("warning %q, want it to contain %q", got[i], c.want[i])
				}
			}
		})
	}
}

// --- Mass-revocation breaker -----------------------------------------------------

func breakerConfig(ledger, dsn, safeguards string, names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = hclString(n)
	}
	return providerConfig(ledger, fmt.Sprintf(`targets = { warehouse = { postgres = { dsn = %q } } }
  %s`, dsn, safeguards)) + fmt.Sprintf(`
resource "sunset_postgres_role" "r" {
  for_each    = toset([%s])
  target      = "warehouse"
  name        = each.key
  identity_id = "svc-${each.key}"
  expires_at  = %q
}
`, strings.Join(quoted, ", "), day(30))
}

// TestAccPostgresRoleCountedByMassRevocationBreaker: role destroys count
// against safeguards.max_revocations like identity destroys do.
func TestAccPostgresRoleCountedByMassRevocationBreaker(t *testing.T) {
	pg, dsn := adminDSN(t)
	ledger := filepath.Join(t.TempDir(), "evidence.jsonl")
	names := []string{"sx_brk_1", "sx_brk_2", "sx_brk_3", "sx_brk_4"}
	limit := `safeguards = { max_revocations = 3 }`
	allLogin := func(want bool) error {
		for _, n := range names {
			if f, err := readRole(pg, n); err != nil || f.canLogin != want {
				return fmt.Errorf("role %s: %+v %v, want login=%t", n, f, err, want)
			}
		}
		return nil
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{Config: breakerConfig(ledger, dsn, limit, names)},
			{
				Config:      breakerConfig(ledger, dsn, limit, nil),
				ExpectError: wrapped(`Mass-revocation safeguard`, `would destroy 4 sunset resources, more than safeguards.max_revocations (3)`),
			},
			{
				PreConfig: func() {
					// The failed plan revoked nothing.
					if err := allLogin(true); err != nil {
						t.Fatal(err)
					}
				},
				Config: breakerConfig(ledger, dsn, `safeguards = { max_revocations = 3, acknowledge_revocations = 4 }`, nil),
				ConfigStateChecks: []statecheck.StateCheck{ledgerCheck(func() error {
					return allLogin(false)
				})},
			},
		},
	})
}
