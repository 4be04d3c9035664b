package provider

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// protoV6ProviderFactories serves the provider in-process to the real
// terraform binary that terraform-plugin-testing drives.
var protoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"sunset": providerserver.NewProtocol6WithError(New("test")()),
}

// TestMain makes a missing terraform binary a loud failure rather than a
// silent skip or a download attempt on a machine with no network.
func TestMain(m *testing.M) {
	if os.Getenv("TF_ACC") == "" && os.Getenv("CI") != "" {
		fmt.Fprintln(os.Stderr, "CI is set but TF_ACC is not: acceptance tests would be skipped. Run `make test` (which sets TF_ACC=1).")
		os.Exit(1)
	}
	if os.Getenv("TF_ACC") != "" {
		if err := ensureTerraform(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	// The PostgreSQL resource's tests share one real server per package run.
	testenv.StopSharedPostgres()
	os.Exit(code)
}

func ensureTerraform() error {
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("TF_ACC_TERRAFORM_PATH=%s: %v. Acceptance tests need Terraform 1.11 or later.", p, err)
		}
		return nil
	}
	p, err := exec.LookPath("terraform")
	if err != nil {
		return fmt.Errorf("acceptance tests need the terraform binary (1.11 or later): none on PATH and TF_ACC_TERRAFORM_PATH is unset. Install terraform or set TF_ACC_TERRAFORM_PATH.")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return err
	}
	// terraform-plugin-testing would otherwise try to download terraform.
	os.Setenv("TF_ACC_TERRAFORM_PATH", abs)
	os.Setenv("CHECKPOINT_DISABLE", "1")
	return nil
}

// day returns a calendar date relative to today (UTC), as end dates are written.
func day(offset int) string {
	return time.Now().UTC().AddDate(0, 0, offset).Format("2006-01-02")
}

// providerConfig is the provider block every acceptance test starts from,
// writing evidence to the test's own ledger.
func providerConfig(ledger string, extra string) string {
	return fmt.Sprintf(`
provider "sunset" {
  evidence = { file = %q }
  actor    = "acceptance-test"
  %s
}
`, ledger, extra)
}
