package targets

import (
	"fmt"
	"github.com/sunset-iam/terraform-provider-sunset/internal/pemfile"
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
		pem, err := pemfile.Read("scim.ca_file", f.CAFile)
		if err != nil {
			return cfg, err
		}
		cfg.CACertPEM = pem
	}
	return cfg, nil
}

// MaxCAFileBytes bounds a ca_file; see pemfile.MaxBytes.
const MaxCAFileBytes = pemfile.MaxBytes

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
