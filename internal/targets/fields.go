package targets

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/ldap"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/scim"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
)

// The Fields types are a target block's settings as the provider's HCL and
// the scanner's YAML both write them, with environment variables already
// read. Mapping them onto the connectors' configurations here keeps the
// two front ends from drifting apart.

// MaxSCIMAttempts bounds scim.max_attempts: beyond it a dead service would
// hold a run for many minutes per request.
const MaxSCIMAttempts = 20

// SCIMFields is the scim block.
type SCIMFields struct {
	URL, Token, Deprovision string
	CAFile                  string
	InsecureHTTP            bool
	Timeout, RetryWaitMax   string // durations as lifecycle.ParseDuration reads them
	MaxAttempts             int    // 0: the connector's default
}

// Config maps the block onto the connector's configuration, reading
// ca_file. userAgent names the caller in requests.
func (f SCIMFields) Config(userAgent string) (scim.Config, error) {
	cfg := scim.Config{URL: f.URL, Token: f.Token, Deprovision: f.Deprovision, AllowInsecureHTTP: f.InsecureHTTP, UserAgent: userAgent}
	if f.MaxAttempts < 0 || f.MaxAttempts > MaxSCIMAttempts {
		return cfg, fmt.Errorf("scim.max_attempts %d must be between 1 and %d", f.MaxAttempts, MaxSCIMAttempts)
	}
	cfg.MaxAttempts = f.MaxAttempts
	var err error
	if f.Timeout != "" {
		if cfg.Timeout, err = lifecycle.ParseDuration(f.Timeout); err != nil {
			return cfg, fmt.Errorf("scim.timeout: %v", err)
		}
	}
	if f.RetryWaitMax != "" {
		if cfg.RetryWaitMax, err = lifecycle.ParseDuration(f.RetryWaitMax); err != nil {
			return cfg, fmt.Errorf("scim.retry_wait_max: %v", err)
		}
		// The minimum wait must not exceed the maximum one.
		cfg.RetryWaitMin = min(scim.DefaultRetryWaitMin, cfg.RetryWaitMax)
	}
	if f.CAFile != "" {
		pem, err := readCAFile("scim.ca_file", f.CAFile)
		if err != nil {
			return cfg, err
		}
		cfg.CACertPEM = pem
	}
	return cfg, nil
}

// MaxCAFileBytes bounds a ca_file. A CA bundle is a few KiB of PEM (the
// whole Mozilla root store is about 200 KiB); a path such as /dev/zero, or
// a wrong multi-gigabyte file, must be an error, not a hang at parse time.
const MaxCAFileBytes = 1 << 20

// readCAFile reads at most MaxCAFileBytes of path; field names it in errors.
func readCAFile(field, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", field, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxCAFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", field, err)
	}
	if len(b) > MaxCAFileBytes {
		return nil, fmt.Errorf("%s: %s is larger than %d MiB, which no CA bundle is; name the PEM file of the CA that signs the server's certificate", field, path, MaxCAFileBytes>>20)
	}
	return b, nil
}

// LDAPFields is the ldap block.
type LDAPFields struct {
	URL, BindDN, BindPassword, BaseDN string
	Flavor                            string
	Insecure, StartTLS                bool
	CAFile                            string
	GroupBaseDN, EmptyGroupMember     string
	Timeout                           string // a duration; "": the connector's default
}

// Config maps the block onto the connector's configuration; ldap.New
// validates the rest.
func (f LDAPFields) Config() (ldap.Config, error) {
	cfg := ldap.Config{
		URL: f.URL, BindDN: f.BindDN, BindPassword: f.BindPassword, BaseDN: f.BaseDN,
		Flavor: ldap.Flavor(f.Flavor), Insecure: f.Insecure, StartTLS: f.StartTLS, CAFile: f.CAFile,
		GroupBaseDN: f.GroupBaseDN, EmptyGroupMember: f.EmptyGroupMember,
	}
	if f.Timeout != "" {
		d, err := lifecycle.ParseDuration(f.Timeout)
		if err != nil {
			return cfg, fmt.Errorf("ldap.timeout: %v", err)
		}
		cfg.Timeout = d
	}
	return cfg, nil
}

// PostgresTimeout reads a postgres block's timeout; "": DefaultTimeout.
func PostgresTimeout(s string) (time.Duration, error) {
	if s == "" {
		return DefaultTimeout, nil
	}
	d, err := lifecycle.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("postgres.timeout: %v", err)
	}
	return d, nil
}
