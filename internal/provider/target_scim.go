package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/scim"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
	"github.com/sunset-iam/terraform-provider-sunset/internal/targets"
)

// systemSCIM names the system in evidence records, as the connector's
// Describe does.
const systemSCIM = "scim"

// maxSCIMAttempts bounds max_attempts: beyond it a dead service would hold
// an apply for many minutes per request.
const maxSCIMAttempts = 20

// validateSCIMTarget checks the scim block's connection settings where they
// are known, so that `terraform validate` reports them on the attribute.
func validateSCIMTarget(at path.Path, m *scimTargetModel, diags *diag.Diagnostics) {
	for _, f := range []struct {
		name string
		v    types.String
	}{{"timeout", m.Timeout}, {"retry_wait_max", m.RetryWaitMax}} {
		if !known(f.v) {
			continue
		}
		if d, err := lifecycle.ParseDuration(f.v.ValueString()); err != nil {
			diags.AddAttributeError(at.AtName(f.name), "Invalid "+f.name, err.Error())
		} else if d <= 0 {
			diags.AddAttributeError(at.AtName(f.name), "Invalid "+f.name, fmt.Sprintf("%s must be longer than zero.", f.name))
		}
	}
	if known(m.MaxAttempts) {
		if n := m.MaxAttempts.ValueInt64(); n < 1 || n > maxSCIMAttempts {
			diags.AddAttributeError(at.AtName("max_attempts"), "Invalid max_attempts",
				fmt.Sprintf("max_attempts %d must be between 1 and %d.", n, maxSCIMAttempts))
		}
	}
}

// scimConfig maps the target block (environment variables already read) onto
// the connector's configuration. It reads ca_file.
func (t *target) scimConfig() (scim.Config, error) {
	m := t.scim
	fields := targets.SCIMFields{
		URL: m.URL.ValueString(), Token: m.Token.ValueString(), Deprovision: m.Deprovision.ValueString(),
		CAFile: m.CAFile.ValueString(), InsecureHTTP: m.InsecureHTTP.ValueBool(),
		Timeout: m.Timeout.ValueString(), RetryWaitMax: m.RetryWaitMax.ValueString(),
		MaxAttempts: int(m.MaxAttempts.ValueInt64()),
	}
	if fields.URL == "" {
		return scim.Config{}, fmt.Errorf("target %q has no URL: set scim.url, or scim.url_env to the name of a non-empty environment variable", t.name)
	}
	if fields.Token == "" {
		return scim.Config{}, fmt.Errorf("target %q has no token: set scim.token, or scim.token_env to the name of a non-empty environment variable", t.name)
	}
	cfg, err := fields.Config("terraform-provider-sunset")
	if err != nil {
		return cfg, fmt.Errorf("target %q: %v", t.name, err)
	}
	return cfg, nil
}

// scimClient returns the target's SCIM client, built on first use. Building
// it makes no request, so it is safe at plan time; it checks the URL
// (https, or http only to loopback), the token and the CA file. A
// configuration error is not cached: it is cheap to find again. Errors never
// carry the token (the connector's String and errors redact it); callers
// still pass them through runtime.redact.
func (t *target) scimClient() (*scim.Client, error) {
	if t.scim == nil {
		return nil, fmt.Errorf("target %q is a %s target, not scim", t.name, t.kind)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.conn.(*scim.Client); ok {
		return c, nil
	}
	cfg, err := t.scimConfig()
	if err != nil {
		return nil, err
	}
	c, err := scim.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", t.name, err)
	}
	t.conn = c
	return c, nil
}

// scimDeprovision is the target's default deprovisioning mode.
func (t *target) scimDeprovision() string {
	if t.scim != nil {
		if v := t.scim.Deprovision.ValueString(); v != "" {
			return v
		}
	}
	return scim.DeprovisionDeactivate
}
