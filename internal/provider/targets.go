package provider

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
)

// The connector kinds a target can hold, one block each.
const (
	kindPostgres = "postgres"
	kindSCIM     = "scim"
	kindLDAP     = "ldap"
)

type targetModel struct {
	Postgres *postgresTargetModel `tfsdk:"postgres"`
	SCIM     *scimTargetModel     `tfsdk:"scim"`
	LDAP     *ldapTargetModel     `tfsdk:"ldap"`
}

type postgresTargetModel struct {
	DSN     types.String `tfsdk:"dsn"`
	DSNEnv  types.String `tfsdk:"dsn_env"`
	Timeout types.String `tfsdk:"timeout"`
}

type scimTargetModel struct {
	URL         types.String `tfsdk:"url"`
	URLEnv      types.String `tfsdk:"url_env"`
	Token       types.String `tfsdk:"token"`
	TokenEnv    types.String `tfsdk:"token_env"`
	Deprovision types.String `tfsdk:"deprovision"`
	// Connection settings; see target_scim.go.
	CAFile       types.String `tfsdk:"ca_file"`
	InsecureHTTP types.Bool   `tfsdk:"insecure_http"`
	Timeout      types.String `tfsdk:"timeout"`
	MaxAttempts  types.Int64  `tfsdk:"max_attempts"`
	RetryWaitMax types.String `tfsdk:"retry_wait_max"`
}

type ldapTargetModel struct {
	URL              types.String `tfsdk:"url"`
	BindDN           types.String `tfsdk:"bind_dn"`
	BindPassword     types.String `tfsdk:"bind_password"`
	BindPasswordEnv  types.String `tfsdk:"bind_password_env"`
	BaseDN           types.String `tfsdk:"base_dn"`
	Flavor           types.String `tfsdk:"flavor"`
	Insecure         types.Bool   `tfsdk:"insecure"`
	CAFile           types.String `tfsdk:"ca_file"`
	StartTLS         types.Bool   `tfsdk:"start_tls"`
	GroupBaseDN      types.String `tfsdk:"group_base_dn"`
	EmptyGroupMember types.String `tfsdk:"empty_group_member"`
	Timeout          types.String `tfsdk:"timeout"`
}

func targetsSchema() schema.MapNestedAttribute {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, MarkdownDescription: desc}
	}
	secret := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: desc}
	}
	return schema.MapNestedAttribute{
		Optional:            true,
		MarkdownDescription: "Target systems, by name. Each holds exactly one connector block. Resources name their target; the name is the `TARGET` half of every credential id `TARGET/ACCOUNT`. Names start with a letter and hold letters, digits, `_` and `-`.",
		NestedObject: schema.NestedAttributeObject{
			Attributes: map[string]schema.Attribute{
				kindPostgres: schema.SingleNestedAttribute{
					Optional:            true,
					MarkdownDescription: "A PostgreSQL server whose login roles sunset manages.",
					Attributes: map[string]schema.Attribute{
						"dsn":     secret("Connection string (`postgres://user:password@host:5432/db?sslmode=verify-full`). TLS follows its `sslmode`. Its password never reaches state, logs or evidence."),
						"dsn_env": str("Name of an environment variable holding the DSN, used when `dsn` is not set."),
						"timeout": str("Time limit of each step against the server, such as `30s` (the default) or `2m`: connecting, and on destroy the revocation and then its verification. A server that does not answer in time fails the step instead of holding the apply: a destroy then records `credential.revoke_failed` and stays in state for the next apply."),
					},
				},
				kindSCIM: schema.SingleNestedAttribute{
					Optional:            true,
					MarkdownDescription: "A SCIM 2.0 service provider (RFC 7644): a SaaS application or an identity provider.",
					Attributes: map[string]schema.Attribute{
						"url":            str("Base URL of the SCIM API, such as `https://api.example.com/scim/v2`."),
						"url_env":        str("Name of an environment variable holding the URL, used when `url` is not set."),
						"token":          secret("Bearer token. Never logged or recorded. Prefer `token_env`: a token written into the configuration is stored in saved plan files with the rest of it."),
						"token_env":      str("Name of an environment variable holding the token, used when `token` is not set."),
						"deprovision":    str("How a user is removed: `deactivate` (PATCH `active=false`, the default), `delete`, or `deactivate_then_delete`."),
						"ca_file":        str("PEM file of CA certificates to trust for the service's TLS certificate (instead of the system roots)."),
						"insecure_http":  schema.BoolAttribute{Optional: true, MarkdownDescription: "Allow plain `http://` to a non-loopback host, which sends the token in clear. Default `false`: `http://` is accepted only to loopback."},
						"timeout":        str("Time limit of one HTTP attempt, such as `30s` (the default) or `2m`."),
						"max_attempts":   schema.Int64Attribute{Optional: true, MarkdownDescription: "Attempts per request, the first included (default 10: at a 30% rate of transient faults, a request still fails only 6 times in a million). 429 and 5xx answers, dropped connections and timeouts are retried with jittered exponential backoff (0.25 s doubling up to `retry_wait_max`, default 15 s), honouring `Retry-After`."},
						"retry_wait_max": str("Longest wait between two attempts, such as `15s` (the default). A `Retry-After` from the server is waited out even when longer, up to two minutes."),
					},
				},
				kindLDAP: schema.SingleNestedAttribute{
					Optional:            true,
					MarkdownDescription: "An LDAP directory (OpenLDAP with the ppolicy overlay, or Active Directory).",
					Attributes: map[string]schema.Attribute{
						"url":                str("`ldaps://host:636`, or `ldap://host:389` with `start_tls = true`. Plain, unencrypted LDAP is refused unless the host is loopback or `insecure = true`."),
						"bind_dn":            str("DN to bind as."),
						"bind_password":      secret("Password for `bind_dn`. Never logged or recorded."),
						"bind_password_env":  str("Name of an environment variable holding the bind password, used when `bind_password` is not set."),
						"base_dn":            str("Base DN under which accounts and groups live."),
						"flavor":             str("`openldap` (default: `pwdEndTime` expiry, `pwdAccountLockedTime` lock) or `active_directory` (`accountExpires`, `userAccountControl`)."),
						"insecure":           schema.BoolAttribute{Optional: true, MarkdownDescription: "Allow plain, unencrypted LDAP to a non-loopback host. Default `false`."},
						"ca_file":            str("PEM file of CA certificates to trust for the directory's TLS certificate."),
						"start_tls":          schema.BoolAttribute{Optional: true, MarkdownDescription: "Upgrade an `ldap://` connection with StartTLS before binding. Not with `ldaps://`. Default `false`."},
						"group_base_dn":      str("Where groups are searched for memberships, both for `groups` and for the removal of every membership on destroy. Default: the naming context that holds `base_dn` (so `ou=people` still finds groups in `ou=groups`)."),
						"empty_group_member": str("A placeholder DN put into a `groupOfNames` when the account being removed is its last member (the schema requires one member), such as `cn=nobody,dc=example,dc=org`. Without it, removing a group's last member fails and the destroy stays pending."),
						"timeout":            str("Time limit of connecting (TCP, then TLS or StartTLS), of the bind and of each request, such as `30s` (the default) or `2m`. A directory that does not answer in time fails the operation instead of holding the apply."),
					},
				},
			},
		},
	}
}

// target is a resolved target: its name, which connector it holds, and that
// connector's settings with environment variables read. Connections are
// opened on first use by the resources that need them.
type target struct {
	name     string
	kind     string
	postgres *postgresTargetModel
	scim     *scimTargetModel
	ldap     *ldapTargetModel

	mu   sync.Mutex
	conn any
}

func (t *target) blocks() []string {
	var out []string
	if t.postgres != nil {
		out = append(out, kindPostgres)
	}
	if t.scim != nil {
		out = append(out, kindSCIM)
	}
	if t.ldap != nil {
		out = append(out, kindLDAP)
	}
	return out
}

// validateTargets checks names and that each target holds exactly one block.
func validateTargets(targets map[string]targetModel, diags *diag.Diagnostics) {
	for name, m := range targets {
		at := path.Root("targets").AtMapKey(name)
		if !connector.TargetNamePattern.MatchString(name) {
			diags.AddAttributeError(at, "Invalid target name",
				fmt.Sprintf("Target name %q must start with a letter and hold only letters, digits, '_' and '-' (at most 63 characters): it is the TARGET half of every TARGET/ACCOUNT id.", name))
		}
		t := target{postgres: m.Postgres, scim: m.SCIM, ldap: m.LDAP}
		if n := len(t.blocks()); n != 1 {
			diags.AddAttributeError(at, "Target needs exactly one connector block",
				fmt.Sprintf("Target %q holds %d connector blocks (%s); set exactly one of postgres, scim, ldap.", name, n, strings.Join(t.blocks(), ", ")))
		}
		if m.Postgres != nil {
			validateTimeout(at.AtName(kindPostgres).AtName("timeout"), m.Postgres.Timeout, diags)
		}
		if m.SCIM != nil {
			validateSCIMTarget(at.AtName(kindSCIM), m.SCIM, diags)
			switch v := m.SCIM.Deprovision.ValueString(); v {
			case "", "deactivate", "delete", "deactivate_then_delete":
			default:
				diags.AddAttributeError(at.AtName(kindSCIM).AtName("deprovision"), "Invalid deprovision mode",
					fmt.Sprintf("%q is not one of deactivate, delete, deactivate_then_delete.", v))
			}
		}
		if m.LDAP != nil {
			validateTimeout(at.AtName(kindLDAP).AtName("timeout"), m.LDAP.Timeout, diags)
			switch v := m.LDAP.Flavor.ValueString(); v {
			case "", "openldap", "active_directory":
			default:
				diags.AddAttributeError(at.AtName(kindLDAP).AtName("flavor"), "Invalid LDAP flavor",
					fmt.Sprintf("%q is not one of openldap, active_directory.", v))
			}
		}
	}
}

// resolveTargets validates the targets and reads the environment variables
// their blocks name.
func resolveTargets(targets map[string]targetModel, getenv func(string) string) (map[string]*target, diag.Diagnostics) {
	var diags diag.Diagnostics
	validateTargets(targets, &diags)
	if diags.HasError() {
		return nil, diags
	}
	fromEnv := func(v, env types.String) types.String {
		if !v.IsNull() || env.IsNull() || env.IsUnknown() {
			return v
		}
		if s := getenv(env.ValueString()); s != "" {
			return types.StringValue(s)
		}
		return v
	}
	out := make(map[string]*target, len(targets))
	for name, m := range targets {
		t := &target{name: name, postgres: m.Postgres, scim: m.SCIM, ldap: m.LDAP}
		switch {
		case m.Postgres != nil:
			t.kind = kindPostgres
			m.Postgres.DSN = fromEnv(m.Postgres.DSN, m.Postgres.DSNEnv)
		case m.SCIM != nil:
			t.kind = kindSCIM
			m.SCIM.URL = fromEnv(m.SCIM.URL, m.SCIM.URLEnv)
			m.SCIM.Token = fromEnv(m.SCIM.Token, m.SCIM.TokenEnv)
		case m.LDAP != nil:
			t.kind = kindLDAP
			m.LDAP.BindPassword = fromEnv(m.LDAP.BindPassword, m.LDAP.BindPasswordEnv)
		}
		out[name] = t
	}
	return out, diags
}

// target looks up a target by name for a resource that needs a given kind.
// The error names the known targets so that a typo is easy to fix.
func (rt *runtime) target(name, kind string) (*target, error) {
	t, ok := rt.targets[name]
	if !ok {
		known := make([]string, 0, len(rt.targets))
		for n := range rt.targets {
			known = append(known, n)
		}
		sort.Strings(known)
		if len(known) == 0 {
			return nil, fmt.Errorf("target %q is not defined: the provider configuration has no targets", name)
		}
		return nil, fmt.Errorf("target %q is not defined in the provider's targets (defined: %s)", name, strings.Join(known, ", "))
	}
	if kind != "" && t.kind != kind {
		return nil, fmt.Errorf("target %q is a %s target; this resource needs a %s target", name, t.kind, kind)
	}
	return t, nil
}

// defaultTargetTimeout bounds one step against a postgres target whose
// block sets no timeout (the ldap and scim connectors default to the same).
const defaultTargetTimeout = 30 * time.Second

// validateTimeout checks a target's timeout where it is known.
func validateTimeout(at path.Path, v types.String, diags *diag.Diagnostics) {
	if !known(v) {
		return
	}
	if d, err := lifecycle.ParseDuration(v.ValueString()); err != nil {
		diags.AddAttributeError(at, "Invalid timeout", err.Error())
	} else if d <= 0 {
		diags.AddAttributeError(at, "Invalid timeout", "timeout must be longer than zero.")
	}
}

// timeoutOf reads a validated timeout; def when it is not set.
func timeoutOf(v types.String, def time.Duration) time.Duration {
	if !known(v) {
		return def
	}
	d, err := lifecycle.ParseDuration(v.ValueString())
	if err != nil || d <= 0 {
		return def
	}
	return d
}

// stepTimeout bounds each step of a revocation (the revoke, then the
// verification) on a target whose connector leaves a request unbounded:
// pgx waits for a statement's answer for as long as its context allows, so
// a hung server or a statement stuck behind a lock would hold the destroy
// forever. The ldap and scim connectors bound every request themselves
// (0: no further bound).
func (t *target) stepTimeout() time.Duration {
	if t.postgres != nil {
		return t.postgresTimeout()
	}
	return 0
}
