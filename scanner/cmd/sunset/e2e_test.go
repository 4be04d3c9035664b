package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/report/sariftest"
)

// tfHarness runs the real terraform against the provider built from this
// tree, through a dev_overrides CLI configuration.
type tfHarness struct {
	t   *testing.T
	dir string
	env []string
}

func newTF(t *testing.T, env ...string) *tfHarness {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("end-to-end tests drive real terraform: set TF_ACC=1 (make test does)")
	}
	tfBin, err := exec.LookPath("terraform")
	if err != nil {
		t.Fatal("terraform (1.11+) is not on PATH")
	}
	root := mustAbs(t, "../../..")
	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-C", root, "-o", filepath.Join(bin, "terraform-provider-sunset"), ".").CombinedOutput(); err != nil {
		t.Fatalf("build the provider: %v\n%s", err, out)
	}
	rc := filepath.Join(bin, "terraformrc")
	os.WriteFile(rc, []byte(fmt.Sprintf("provider_installation {\n  dev_overrides { \"sunset-iam/sunset\" = %q }\n  direct {}\n}\n", bin)), 0o600)
	h := &tfHarness{t: t, dir: t.TempDir()}
	h.env = append([]string{"PATH=" + filepath.Dir(tfBin) + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TF_CLI_CONFIG_FILE=" + rc,
		"CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "SUNSET_ACTOR=e2e@test"}, env...)
	return h
}

func (h *tfHarness) write(name, content string) {
	h.t.Helper()
	p := filepath.Join(h.dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

func (h *tfHarness) run(args ...string) string {
	h.t.Helper()
	cmd := exec.Command("terraform", append(args, "-no-color")...)
	cmd.Dir = filepath.Join(h.dir, "infra")
	cmd.Env = h.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		h.t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

const e2eMain = `terraform {
  required_providers {
    sunset = { source = "sunset-iam/sunset" }
  }
}

provider "sunset" {
  evidence = { file = "${path.module}/../evidence/sunset.jsonl" }
  targets = {
    warehouse = { postgres = { dsn_env = "WAREHOUSE_DSN" } }
  }
}

data "sunset_roster" "staff" {
  file = "${path.module}/../hr/roster.csv"
  identities = {
    etl-loader = { kind = "workload", owner = "data-eng@example.com", end_date = "2030-06-30" }
  }
}

resource "sunset_identity" "staff" {
  for_each = data.sunset_roster.staff.active
  name     = each.key
  kind     = each.value.kind
  owner    = each.value.owner
  end_date = each.value.end_date
}

resource "sunset_postgres_role" "staff" {
  for_each    = sunset_identity.staff
  target      = "warehouse"
  name        = replace(each.key, "-", "_")
  identity_id = each.value.id
  expires_at  = each.value.end_date
}
`

// TestEndToEndPostgres is issue 6's scenario with the PostgreSQL target: a
// real apply, out-of-band changes, and the scan a user runs.
func TestEndToEndPostgres(t *testing.T) {
	pg := testenv.NewPostgresForTest(t, testenv.PostgresOptions{})
	h := newTF(t, "WAREHOUSE_DSN="+pg.SuperDSN())
	h.write("infra/main.tf", e2eMain)
	h.write("hr/roster.csv", "name,kind,owner,end_date,status\nalice,human,hr@example.com,2030-03-31,active\nbob,contractor,hr@example.com,2030-01-31,active\ncarol,human,hr@example.com,2030-05-31,active\n")
	os.MkdirAll(filepath.Join(h.dir, "evidence"), 0o755)
	h.write("sunset.yaml", "targets:\n  warehouse:\n    postgres:\n      dsn_env: WAREHOUSE_DSN\npolicy:\n  sla: 1d\n")
	h.run("apply", "-auto-approve")

	scan := func(extra ...string) result {
		t.Helper()
		state := filepath.Join(h.dir, "state.json")
		cmd := exec.Command("terraform", "state", "pull")
		cmd.Dir, cmd.Env = filepath.Join(h.dir, "infra"), h.env
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(state, out, 0o600)
		args := append([]string{"scan", "--config", "sunset.yaml", "--state", "state.json", "--roster", "hr/roster.csv",
			"--ledger", "evidence/sunset.jsonl", "--source-dir", "infra", "--format", "json", "--fail-on", "low"}, extra...)
		return sunset(t, h.dir, []string{"WAREHOUSE_DSN=" + pg.SuperDSN()}, args...)
	}

	// Clean: everything declared, expiries at the end dates.
	if r := scan("--as-of", "2027-01-01T00:00:00Z"); r.code != 0 || len(findingsOf(t, r.stdout)) != 0 {
		t.Fatalf("a clean setup must exit 0 with no findings: %s", r)
	}

	// HR terminates bob; the plan destroys his role and apply revokes it.
	h.write("hr/roster.csv", "name,kind,owner,end_date,status\nalice,human,hr@example.com,2030-03-31,active\nbob,contractor,hr@example.com,2030-01-31,terminated\ncarol,human,hr@example.com,2030-05-31,active\n")
	h.run("apply", "-auto-approve")

	// Out of band: bob's role is re-enabled, an undeclared role appears,
	// one ledger line is edited; and alice's end date passes with no apply.
	psql(t, pg, "ALTER ROLE bob LOGIN; CREATE ROLE mallory LOGIN;")
	ledger := filepath.Join(h.dir, "evidence", "sunset.jsonl")
	data, _ := os.ReadFile(ledger)
	lines := strings.SplitAfter(string(data), "\n")
	lines[1] = strings.Replace(lines[1], `"actor":"e2e@test"`, `"actor":"someone-else"`, 1)
	if strings.Join(lines, "") == string(data) {
		t.Fatalf("the ledger's second line has no actor to edit:\n%s", lines[1])
	}
	os.WriteFile(ledger, []byte(strings.Join(lines, "")), 0o600)

	r := scan("--as-of", "2030-04-05T00:00:00Z", "--output", "sunset.sarif", "--format", "sarif")
	if r.code != 1 {
		t.Fatalf("findings must exit 1: %s", r)
	}
	sarif, _ := os.ReadFile(filepath.Join(h.dir, "sunset.sarif"))
	sariftest.Validate(t, sarif)
	r = scan("--as-of", "2030-04-05T00:00:00Z")
	got := strings.Join(findingsOf(t, r.stdout), "\n")
	want := strings.Join([]string{
		"ledger-tampered evidence/sunset.jsonl @evidence/sunset.jsonl:2",
		"revocation-not-propagated bob @sunset.yaml:2",
		"stale-access alice @infra/main.tf:29",
		"unmanaged-account mallory @sunset.yaml:2",
	}, "\n")
	if got != want {
		t.Fatalf("findings:\n%s\nwant exactly:\n%s\n%s", got, want, r)
	}

	// An unreachable target: exit 2, and the rest is still reported.
	h.write("sunset.yaml", "targets:\n  warehouse:\n    postgres:\n      dsn_env: WAREHOUSE_DSN\n  down:\n    postgres:\n      dsn: ${env:DOWN_DSN}\n")
	r = sunset(t, h.dir, []string{"WAREHOUSE_DSN=" + pg.SuperDSN(), "DOWN_DSN=postgres://x:y@" + closedPort(t) + "/db?connect_timeout=3"},
		"scan", "--config", "sunset.yaml", "--state", "state.json", "--ledger", "evidence/sunset.jsonl", "--format", "json", "--as-of", "2030-04-05T00:00:00Z")
	if r.code != 2 || !strings.Contains(r.stderr, "target down could not be read") || len(findingsOf(t, r.stdout)) != 4 {
		t.Fatalf("unreachable target: %s", r)
	}
}
