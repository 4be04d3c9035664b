// Package provider is the Terraform glue of sunset: the provider, its
// resources and its data sources. The decisions live elsewhere: lifecycle
// judges identities, evidence keeps the ledger, and the connectors talk to
// target systems. This package maps Terraform values onto them and their
// answers back onto diagnostics that name the attribute at fault.
package provider

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
	"github.com/sunset-iam/terraform-provider-sunset/internal/safeguard"
)

// DefaultLedgerFile is where evidence goes when the configuration does not say.
const DefaultLedgerFile = "sunset-evidence.jsonl"

var _ provider.ProviderWithValidateConfig = (*sunsetProvider)(nil)

type sunsetProvider struct {
	version string
	// now is the clock. Tests of plan-time decisions inject one; everything
	// else reads the wall clock through it.
	now    func() time.Time
	getenv func(string) string
}

// New returns a constructor for the provider, as providerserver wants it.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &sunsetProvider{version: version, now: time.Now, getenv: os.Getenv}
	}
}

type providerModel struct {
	Evidence   *evidenceModel         `tfsdk:"evidence"`
	Actor      types.String           `tfsdk:"actor"`
	Timezone   types.String           `tfsdk:"timezone"`
	Policy     *policyModel           `tfsdk:"policy"`
	Targets    map[string]targetModel `tfsdk:"targets"`
	Safeguards *safeguardsModel       `tfsdk:"safeguards"`
}

type safeguardsModel struct {
	MaxRevocations         types.Int64 `tfsdk:"max_revocations"`
	AcknowledgeRevocations types.Int64 `tfsdk:"acknowledge_revocations"`
}

type evidenceModel struct {
	File     types.String `tfsdk:"file"`
	URL      types.String `tfsdk:"url"`
	Token    types.String `tfsdk:"token"`
	TokenEnv types.String `tfsdk:"token_env"`
}

type policyModel struct {
	MaxLifetime    map[string]types.String `tfsdk:"max_lifetime"`
	RequireEndDate []types.String          `tfsdk:"require_end_date"`
}

func (p *sunsetProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "sunset"
	resp.Version = p.version
}

func (p *sunsetProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Ends access when an identity's life ends: declares identities with owners and end dates, gates credentials on them at plan time, revokes and verifies removal in target systems, and keeps a hash-chained evidence ledger.",
		Attributes: map[string]schema.Attribute{
			"evidence": schema.SingleNestedAttribute{
				Optional:            true,
				MarkdownDescription: "Where evidence records go. Every declaration, end-date change, issue and verified revocation is appended to a hash-chained JSON Lines ledger.",
				Attributes: map[string]schema.Attribute{
					"file": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Path of the ledger file. Default `" + DefaultLedgerFile + "` in the working directory. Its directory must exist. Set `SUNSET_EVIDENCE_KEY` to add an HMAC to every record.",
					},
					"url": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "A collector (such as a SIEM webhook) that receives a copy of every record: each ledger line is POSTed as `application/json`, in order, at least once (deduplicate on `seq` + `hash`, also sent as `Idempotency-Key`). `https`, or `http` to loopback. While the collector is down, records wait in the ledger itself and are delivered in order on the next run; a down collector never blocks or fails a revocation, it produces a warning.",
					},
					"token": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: "Bearer token for `url`. Never logged or recorded.",
					},
					"token_env": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Name of an environment variable holding the token, used when `token` is not set.",
					},
				},
			},
			"actor": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Who is acting, for evidence records. Default: `SUNSET_ACTOR`, then `GITHUB_ACTOR`, then `GITLAB_USER_LOGIN`, then `user@host`.",
			},
			"timezone": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "IANA time zone (such as `Europe/Berlin`) in which calendar-date end dates are read: `2027-03-31` ends at the next midnight in this zone. Default `UTC`.",
			},
			"policy": schema.SingleNestedAttribute{
				Optional:            true,
				MarkdownDescription: "Lifecycle policy applied at plan time to every identity.",
				Attributes: map[string]schema.Attribute{
					"max_lifetime": schema.MapAttribute{
						Optional:            true,
						ElementType:         types.StringType,
						MarkdownDescription: "Longest allowed lifetime (end date minus start date, or minus now) per kind, such as `{ api_client = \"90d\" }`. Durations take `d`, `w`, `h`, `m`. A kind with a cap must have an end date.",
					},
					"require_end_date": schema.ListAttribute{
						Optional:            true,
						ElementType:         types.StringType,
						MarkdownDescription: "Kinds that must carry an end date. Default: every non-human kind (`service_account`, `workload`, `api_client`, `bot`). Set `[]` to require none.",
					},
				},
			},
			"targets": targetsSchema(),
			"safeguards": schema.SingleNestedAttribute{
				Optional:            true,
				MarkdownDescription: "Protection against mass revocation by accident, such as a truncated HR export. A plan that would destroy more sunset identity and credential resources than `max_revocations` fails until someone acknowledges the exact number. A replacement counts as a destroy: it revokes the old credential.",
				Attributes: map[string]schema.Attribute{
					"max_revocations": schema.Int64Attribute{
						Optional:            true,
						MarkdownDescription: fmt.Sprintf("Most sunset resources one plan may destroy or replace without an acknowledgement. Default %d.", safeguard.DefaultLimit),
					},
					"acknowledge_revocations": schema.Int64Attribute{
						Optional:            true,
						MarkdownDescription: "The exact number of sunset resources the plan destroys or replaces, acknowledged after checking the plan. A plan above `max_revocations` of any other size fails; a plan within `max_revocations` needs no acknowledgement and passes with a warning that this one was not needed. Also read from `SUNSET_ACKNOWLEDGE_REVOCATIONS`. Remove it after the apply.",
					},
				},
			},
		},
	}
}

func (p *sunsetProvider) ValidateConfig(ctx context.Context, req provider.ValidateConfigRequest, resp *provider.ValidateConfigResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !cfg.Timezone.IsNull() && !cfg.Timezone.IsUnknown() {
		if _, err := loadTimezone(cfg.Timezone.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("timezone"), "Invalid timezone", err.Error())
		}
	}
	if cfg.Policy != nil {
		if _, err := policyFromModel(cfg.Policy, nil); err != nil {
			resp.Diagnostics.AddAttributeError(err.path, "Invalid policy", err.msg)
		}
	}
	validateTargets(cfg.Targets, &resp.Diagnostics)
}

func (p *sunsetProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}

	loc := time.UTC
	if tz := cfg.Timezone.ValueString(); tz != "" {
		l, err := loadTimezone(tz)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("timezone"), "Invalid timezone", err.Error())
			return
		}
		loc = l
	}
	policy, perr := policyFromModel(cfg.Policy, loc)
	if perr != nil {
		resp.Diagnostics.AddAttributeError(perr.path, "Invalid policy", perr.msg)
		return
	}

	ledgerFile := DefaultLedgerFile
	if cfg.Evidence != nil && cfg.Evidence.File.ValueString() != "" {
		ledgerFile = cfg.Evidence.File.ValueString()
	}
	actor := cfg.Actor.ValueString()
	if actor == "" {
		actor = defaultActor(p.getenv)
	}

	targets, diags := resolveTargets(cfg.Targets, p.getenv)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}

	breaker, berr := breakerFromConfig(cfg.Safeguards, p.getenv)
	if berr != nil {
		resp.Diagnostics.AddAttributeError(berr.path, "Invalid safeguards", berr.msg)
		return
	}

	shipper, sinkToken, serr := shipperFromConfig(cfg.Evidence, ledgerFile, p.getenv)
	if serr != nil {
		resp.Diagnostics.AddAttributeError(serr.path, "Invalid evidence collector", serr.msg)
		return
	}

	rt := &runtime{
		breaker:    breaker,
		shipper:    shipper,
		now:        p.now,
		policy:     policy,
		actor:      actor,
		run:        runURL(p.getenv),
		ledgerFile: ledgerFile,
		ledgerOpts: evidence.Options{Key: evidence.KeyFromEnv(), Now: p.now},
		targets:    targets,
		secrets:    append(collectSecrets(targets), nonEmpty(sinkToken)...),
	}
	resp.DataSourceData = rt
	resp.ResourceData = rt
}

func (p *sunsetProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewIdentityResource,
		NewPostgresRoleResource,
		NewSCIMUserResource,
		NewSCIMGroupMembershipResource,
		NewLDAPAccountResource,
	}
}

func (p *sunsetProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewRosterDataSource,
	}
}

func loadTimezone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		// "Local" would make a plan depend on the machine it runs on.
		return nil, errString("timezone must be an IANA name such as \"UTC\" or \"Europe/Berlin\"; \"Local\" and empty are not allowed")
	}
	return time.LoadLocation(name)
}

type errString string

func (e errString) Error() string { return string(e) }

// attrError is an error tied to the attribute it is about.
type attrError struct {
	path path.Path
	msg  string
}

// policyFromModel turns the policy block into the lifecycle policy. loc may
// be nil during validation.
func policyFromModel(m *policyModel, loc *time.Location) (lifecycle.Policy, *attrError) {
	pol := lifecycle.DefaultPolicy()
	pol.Location = loc
	if m == nil {
		return pol, nil
	}
	if m.MaxLifetime != nil {
		pol.MaxLifetime = map[lifecycle.Kind]time.Duration{}
		for kind, v := range m.MaxLifetime {
			at := path.Root("policy").AtName("max_lifetime").AtMapKey(kind)
			k, err := lifecycle.ParseKind(kind)
			if err != nil {
				return pol, &attrError{at, err.Error()}
			}
			if v.IsUnknown() || v.IsNull() {
				continue
			}
			d, err := lifecycle.ParseDuration(v.ValueString())
			if err != nil {
				return pol, &attrError{at, err.Error()}
			}
			pol.MaxLifetime[k] = d
		}
	}
	if m.RequireEndDate != nil {
		pol.RequireEndDate = map[lifecycle.Kind]bool{}
		for i, v := range m.RequireEndDate {
			if v.IsUnknown() || v.IsNull() {
				continue
			}
			k, err := lifecycle.ParseKind(v.ValueString())
			if err != nil {
				return pol, &attrError{path.Root("policy").AtName("require_end_date").AtListIndex(i), err.Error()}
			}
			pol.RequireEndDate[k] = true
		}
	}
	return pol, nil
}

// AcknowledgeEnv names the environment variable that acknowledges a mass
// revocation, for pipelines that cannot edit the provider block.
const AcknowledgeEnv = "SUNSET_ACKNOWLEDGE_REVOCATIONS"

// breakerFromConfig builds the mass-revocation breaker from the safeguards
// block and the environment.
func breakerFromConfig(m *safeguardsModel, getenv func(string) string) (*safeguard.Breaker, *attrError) {
	limit := safeguard.DefaultLimit
	var ack *int
	at := path.Root("safeguards")
	if m != nil {
		if v := m.MaxRevocations; !v.IsNull() && !v.IsUnknown() {
			if v.ValueInt64() < 0 {
				return nil, &attrError{at.AtName("max_revocations"), "max_revocations may not be negative"}
			}
			limit = int(v.ValueInt64())
		}
		if v := m.AcknowledgeRevocations; !v.IsNull() && !v.IsUnknown() {
			if v.ValueInt64() < 1 {
				return nil, &attrError{at.AtName("acknowledge_revocations"), "acknowledge_revocations is the exact number of destroys acknowledged, at least 1"}
			}
			n := int(v.ValueInt64())
			ack = &n
		}
	}
	opts := safeguard.Options{AckName: "safeguards.acknowledge_revocations"}
	if s := getenv(AcknowledgeEnv); s != "" && ack == nil {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, &attrError{at.AtName("acknowledge_revocations"), fmt.Sprintf("%s=%q is not a positive whole number", AcknowledgeEnv, s)}
		}
		ack = &n
		opts.AckName = AcknowledgeEnv
	}
	return safeguard.New(limit, ack, opts), nil
}

// shipperFromConfig sets up delivery of evidence to a collector when
// evidence.url is set. It returns the token so it can be scrubbed.
func shipperFromConfig(m *evidenceModel, ledgerFile string, getenv func(string) string) (*evidence.Shipper, string, *attrError) {
	if m == nil || m.URL.IsNull() || m.URL.IsUnknown() || m.URL.ValueString() == "" {
		return nil, "", nil
	}
	token := m.Token.ValueString()
	if token == "" && m.TokenEnv.ValueString() != "" {
		token = getenv(m.TokenEnv.ValueString())
	}
	s, err := evidence.NewShipper(ledgerFile, evidence.SinkConfig{URL: m.URL.ValueString(), Token: token})
	if err != nil {
		return nil, token, &attrError{path.Root("evidence").AtName("url"), err.Error()}
	}
	return s, token, nil
}

func nonEmpty(s string) []string {
	if len(s) < minSecretLen {
		return nil
	}
	return []string{s}
}
