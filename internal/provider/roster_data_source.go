package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
)

var _ datasource.DataSourceWithConfigure = (*rosterDataSource)(nil)

// NewRosterDataSource is the sunset_roster data source: the plan-time gate
// that splits declared identities into active and ended.
func NewRosterDataSource() datasource.DataSource { return &rosterDataSource{} }

type rosterDataSource struct{ rt *runtime }

type rosterModel struct {
	Identities     map[string]inlineIdentityModel `tfsdk:"identities"`
	File           types.String                   `tfsdk:"file"`
	SCIM           *rosterSCIMModel               `tfsdk:"scim"`
	MinIdentities  types.Int64                    `tfsdk:"min_identities"`
	AsOf           types.String                   `tfsdk:"as_of"`
	ExpiringWithin types.String                   `tfsdk:"expiring_within"`
	EvaluatedAt    types.String                   `tfsdk:"evaluated_at"`
	Active         types.Map                      `tfsdk:"active"`
	Ended          types.Map                      `tfsdk:"ended"`
	Expiring       types.Map                      `tfsdk:"expiring"`
	Exceptions     types.Map                      `tfsdk:"exceptions"`
}

type inlineIdentityModel struct {
	Kind       types.String      `tfsdk:"kind"`
	Owner      types.String      `tfsdk:"owner"`
	Email      types.String      `tfsdk:"email"`
	StartDate  types.String      `tfsdk:"start_date"`
	EndDate    types.String      `tfsdk:"end_date"`
	Status     types.String      `tfsdk:"status"`
	Labels     map[string]string `tfsdk:"labels"`
	Attributes map[string]string `tfsdk:"attributes"`
	Exception  *exceptionModel   `tfsdk:"exception"`
}

type exceptionModel struct {
	Kind       types.String `tfsdk:"kind"`
	Reason     types.String `tfsdk:"reason"`
	ApprovedBy types.String `tfsdk:"approved_by"`
	Expires    types.String `tfsdk:"expires"`
}

func (d *rosterDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_roster"
}

func (d *rosterDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	if rt, ok := req.ProviderData.(*runtime); ok {
		d.rt = rt
	}
}

var exceptionSchemaAttrs = map[string]schema.Attribute{
	"kind":        schema.StringAttribute{Required: true, MarkdownDescription: "`legal_hold`, `break_glass`, `shared_account` or `no_api`."},
	"reason":      schema.StringAttribute{Required: true, MarkdownDescription: "Why the identity is held past its end."},
	"approved_by": schema.StringAttribute{Required: true, MarkdownDescription: "Who approved the exception. An exception without an approver is an error."},
	"expires":     schema.StringAttribute{Required: true, MarkdownDescription: "When the exception ends (`YYYY-MM-DD` or RFC 3339). An expired exception ends the identity."},
}

func (d *rosterDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	outDesc := func(what string) schema.MapNestedAttribute {
		return schema.MapNestedAttribute{
			Computed:            true,
			MarkdownDescription: what + " Keyed by name; each value holds the identity's fields plus `status`, `reason` and `ends_at`.",
			NestedObject:        schema.NestedAttributeObject{Attributes: evaluatedIdentitySchema()},
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads identity declarations (inline, from an HR export, from a SCIM directory) and splits them, at plan time, into `active` and `ended`. Create credentials with `for_each = data.sunset_roster.NAME.active`: when an end date passes or the source marks someone terminated, the next plan destroys their credentials.",
		Attributes: map[string]schema.Attribute{
			"identities": schema.MapNestedAttribute{
				Optional:            true,
				MarkdownDescription: "Identities declared inline, keyed by name: typically non-human identities (workloads, service accounts, API clients, bots).",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"kind":       schema.StringAttribute{Required: true, MarkdownDescription: "One of `human`, `contractor`, `service_account`, `workload`, `api_client`, `bot`."},
					"owner":      schema.StringAttribute{Required: true, MarkdownDescription: "Accountable owner: a person or team address."},
					"email":      schema.StringAttribute{Optional: true, MarkdownDescription: "Contact address."},
					"start_date": schema.StringAttribute{Optional: true, MarkdownDescription: "`YYYY-MM-DD` or RFC 3339."},
					"end_date":   schema.StringAttribute{Optional: true, MarkdownDescription: "`YYYY-MM-DD` (usable through that day) or RFC 3339 (ended from that instant)."},
					"status":     schema.StringAttribute{Optional: true, MarkdownDescription: "`active` (default) or `terminated`, which ends the identity at once."},
					"labels":     schema.MapAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Free-form labels."},
					"attributes": schema.MapAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Free-form attributes."},
					"exception": schema.SingleNestedAttribute{
						Optional:            true,
						MarkdownDescription: "An approved, expiring reason to keep the identity active past its end.",
						Attributes:          exceptionSchemaAttrs,
					},
				}},
			},
			"file": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Path of a JSON or CSV export from the HR system of record (chosen by the `.json` or `.csv` extension). Columns: `name`, `kind` (default `human`), `owner`, `end_date`, `status` (`active` or `terminated`), `start_date`, `email`; any other column goes into `attributes`. An empty export is an error, never \"everyone left\".",
			},
			"scim": rosterSCIMSchema(),
			"min_identities": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "Fewest identities the `file` and `scim` sources must return, each on its own. A source that returns fewer is an error, so a truncated export cannot read as people having left. Zero identities from a source is always an error.",
			},
			"as_of": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Evaluate at this RFC 3339 instant instead of now, to forecast. It may not be earlier than the current time: turning the clock back cannot keep ended identities alive.",
			},
			"expiring_within": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Window for `expiring`, such as `14d` (the default), `2w` or `72h`.",
			},
			"evaluated_at": schema.StringAttribute{Computed: true, MarkdownDescription: "The instant the roster was evaluated at (RFC 3339): the plan's time, or `as_of`."},
			"active":       outDesc("Identities that are active at `evaluated_at`, including expiring and excepted ones."),
			"ended":        outDesc("Identities that have ended, with `reason` `end_date_reached`, `terminated_in_source` or `exception_expired`."),
			"expiring":     outDesc("Active identities that end within `expiring_within`."),
			"exceptions":   outDesc("Identities kept active past their end by an approved exception."),
		},
	}
}

func evaluatedIdentitySchema() map[string]schema.Attribute {
	s := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	return map[string]schema.Attribute{
		"name":       s("Identity name."),
		"kind":       s("Kind of identity."),
		"owner":      s("Accountable owner."),
		"email":      s("Contact address."),
		"start_date": s("Start date as declared."),
		"end_date":   s("End date as declared."),
		"source":     s("Where the declaration came from: `inline`, `file` or `scim`."),
		"status":     s("`active`, `expiring`, `excepted` or `ended`."),
		"reason":     s("Why the identity ended (or, when excepted, why it would have): `end_date_reached`, `terminated_in_source`, `exception_expired`."),
		"ends_at":    s("The instant the identity ends or ended (RFC 3339), null if it has no end."),
		"labels":     schema.MapAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Labels."},
		"attributes": schema.MapAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Attributes, including every extra column of the export."},
		"exception": schema.SingleNestedAttribute{Computed: true, MarkdownDescription: "The exception, if any.", Attributes: map[string]schema.Attribute{
			"kind": s("Exception kind."), "reason": s("Reason."), "approved_by": s("Approver."), "expires": s("Expiry."),
		}},
	}
}

var exceptionAttrTypes = map[string]attr.Type{
	"kind": types.StringType, "reason": types.StringType, "approved_by": types.StringType, "expires": types.StringType,
}

var evaluatedIdentityAttrTypes = map[string]attr.Type{
	"name": types.StringType, "kind": types.StringType, "owner": types.StringType, "email": types.StringType,
	"start_date": types.StringType, "end_date": types.StringType, "source": types.StringType,
	"status": types.StringType, "reason": types.StringType, "ends_at": types.StringType,
	"labels":     types.MapType{ElemType: types.StringType},
	"attributes": types.MapType{ElemType: types.StringType},
	"exception":  types.ObjectType{AttrTypes: exceptionAttrTypes},
}

func (d *rosterDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m rosterModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	rt := d.rt
	if rt == nil {
		resp.Diagnostics.AddError("Provider not configured", "sunset_roster needs a configured sunset provider.")
		return
	}

	now := rt.now().UTC()
	at := now
	if s := m.AsOf.ValueString(); s != "" {
		asOf, err := time.Parse(time.RFC3339, s)
		switch {
		case err != nil:
			resp.Diagnostics.AddAttributeError(path.Root("as_of"), "Invalid as_of", fmt.Sprintf("%q is not an RFC 3339 timestamp such as 2027-01-31T00:00:00Z.", s))
			return
		case asOf.Before(now):
			resp.Diagnostics.AddAttributeError(path.Root("as_of"), "as_of is in the past",
				fmt.Sprintf("as_of %s is earlier than the current time %s. as_of only forecasts; it cannot turn the clock back and keep ended identities active.", s, now.Format(time.RFC3339)))
			return
		}
		at = asOf.UTC()
	}

	policy := rt.policy
	if s := m.ExpiringWithin.ValueString(); s != "" {
		d, err := lifecycle.ParseDuration(s)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("expiring_within"), "Invalid expiring_within", err.Error())
			return
		}
		policy.ExpiringWithin = d
	}

	ids := inlineIdentities(m.Identities)
	if f := m.File.ValueString(); f != "" {
		fromFile, err := lifecycle.ReadRosterFile(f)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("file"), "Cannot read the roster file", err.Error())
			return
		}
		if !enoughIdentities(&resp.Diagnostics, path.Root("file"), "roster file "+f, len(fromFile), m.MinIdentities) {
			return
		}
		ids = append(ids, fromFile...)
	}
	if m.SCIM != nil {
		fromSCIM := rt.readSCIMRoster(ctx, m.SCIM, ids, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
		if !enoughIdentities(&resp.Diagnostics, path.Root("scim"), "the SCIM directory", len(fromSCIM), m.MinIdentities) {
			return
		}
		ids = append(ids, fromSCIM...)
	}
	if m.File.IsNull() && len(m.Identities) == 0 && m.SCIM == nil {
		resp.Diagnostics.AddError("Empty roster", "sunset_roster needs `identities`, a `file`, `scim`, or a combination.")
		return
	}

	res, err := lifecycle.Evaluate(ids, at, policy)
	if err != nil {
		addProblems(&resp.Diagnostics, err, ids)
		return
	}

	for _, id := range ids {
		rt.rememberEndDate(id.Name, id.EndDate)
	}
	m.EvaluatedAt = types.StringValue(at.Format(time.RFC3339))
	for _, out := range []struct {
		dst  *types.Map
		list []lifecycle.Evaluated
	}{{&m.Active, res.Active}, {&m.Ended, res.Ended}, {&m.Expiring, res.Expiring}, {&m.Exceptions, res.Exceptions}} {
		v, diags := evaluatedMap(out.list)
		resp.Diagnostics.Append(diags...)
		*out.dst = v
	}
	warnRoster(&resp.Diagnostics, res)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func inlineIdentities(in map[string]inlineIdentityModel) []lifecycle.Identity {
	names := make([]string, 0, len(in))
	for n := range in {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]lifecycle.Identity, 0, len(in))
	for _, n := range names {
		v := in[n]
		id := lifecycle.Identity{
			Name: n, Kind: lifecycle.Kind(v.Kind.ValueString()), Owner: v.Owner.ValueString(),
			Email: v.Email.ValueString(), StartDate: v.StartDate.ValueString(), EndDate: v.EndDate.ValueString(),
			SourceStatus: v.Status.ValueString(), Source: "inline", Labels: v.Labels, Attributes: v.Attributes,
		}
		if e := v.Exception; e != nil {
			id.Exception = &lifecycle.Exception{Kind: lifecycle.ExceptionKind(e.Kind.ValueString()), Reason: e.Reason.ValueString(),
				ApprovedBy: e.ApprovedBy.ValueString(), Expires: e.Expires.ValueString()}
		}
		out = append(out, id)
	}
	return out
}

// addProblems turns lifecycle problems into diagnostics on the attribute at
// fault: identities["name"].field for inline declarations, file for the
// export, the scim input for a directory user.
func addProblems(diags *diag.Diagnostics, err error, ids []lifecycle.Identity) {
	problems, ok := err.(lifecycle.Problems)
	if !ok {
		diags.AddError("Invalid roster", err.Error())
		return
	}
	where := make(map[string]lifecycle.Identity, len(ids))
	for _, id := range ids {
		if _, seen := where[id.Name]; !seen || id.Source == "inline" {
			where[id.Name] = id
		}
	}
	for _, p := range problems {
		id := where[p.Identity]
		if id.Source == "inline" {
			at := path.Root("identities").AtMapKey(p.Identity)
			for _, part := range strings.Split(p.Field, ".") {
				at = at.AtName(part)
			}
			if p.Field == "name" {
				at = path.Root("identities").AtMapKey(p.Identity)
			}
			diags.AddAttributeError(at, "Invalid identity "+p.Field, p.Error())
			continue
		}
		if id.Source == sourceSCIM {
			addSCIMProblem(diags, p, id)
			continue
		}
		diags.AddAttributeError(path.Root("file"), "Invalid identity "+p.Field,
			fmt.Sprintf("%s (%s line %d)", p.Error(), id.SourceFile, id.SourceLine))
	}
}

func evaluatedMap(list []lifecycle.Evaluated) (types.Map, diag.Diagnostics) {
	var diags diag.Diagnostics
	elems := make(map[string]attr.Value, len(list))
	str := func(s string) types.String {
		if s == "" {
			return types.StringNull()
		}
		return types.StringValue(s)
	}
	strMap := func(m map[string]string) types.Map {
		if m == nil {
			return types.MapNull(types.StringType)
		}
		v, d := types.MapValueFrom(context.Background(), types.StringType, m)
		diags.Append(d...)
		return v
	}
	for _, e := range list {
		exc := types.ObjectNull(exceptionAttrTypes)
		if x := e.Exception; x != nil {
			exc = types.ObjectValueMust(exceptionAttrTypes, map[string]attr.Value{
				"kind": str(string(x.Kind)), "reason": str(x.Reason), "approved_by": str(x.ApprovedBy), "expires": str(x.Expires),
			})
		}
		endsAt := types.StringNull()
		if !e.EndsAt.IsZero() {
			endsAt = types.StringValue(e.EndsAt.UTC().Format(time.RFC3339))
		}
		obj, d := types.ObjectValue(evaluatedIdentityAttrTypes, map[string]attr.Value{
			"name": types.StringValue(e.Name), "kind": types.StringValue(string(e.Kind)), "owner": str(e.Owner),
			"email": str(e.Email), "start_date": str(e.StartDate), "end_date": str(e.EndDate),
			"source": str(e.Source), "status": types.StringValue(string(e.Status)), "reason": str(string(e.Reason)),
			"ends_at": endsAt, "labels": strMap(e.Labels), "attributes": strMap(e.Attributes), "exception": exc,
		})
		diags.Append(d...)
		elems[e.Name] = obj
	}
	v, d := types.MapValue(types.ObjectType{AttrTypes: evaluatedIdentityAttrTypes}, elems)
	diags.Append(d...)
	return v, diags
}

// warnListLimit keeps warnings readable on large rosters.
const warnListLimit = 20

func warnRoster(diags *diag.Diagnostics, res lifecycle.Result) {
	if n := len(res.Ended); n > 0 {
		lines := make([]string, 0, min(n, warnListLimit)+1)
		for i, e := range res.Ended {
			if i == warnListLimit {
				lines = append(lines, fmt.Sprintf("… and %d more", n-warnListLimit))
				break
			}
			lines = append(lines, fmt.Sprintf("- %s (%s, owner %s, %s)", e.Name, e.Kind, e.Owner, describeEnd(e)))
		}
		diags.AddWarning(plural(n, "identity has ended", "identities have ended"),
			"Credentials created with for_each over this roster's `active` are planned for destroy:\n"+strings.Join(lines, "\n"))
	}
	if n := len(res.Exceptions); n > 0 {
		lines := make([]string, 0, min(n, warnListLimit)+1)
		for i, e := range res.Exceptions {
			if i == warnListLimit {
				lines = append(lines, fmt.Sprintf("… and %d more", n-warnListLimit))
				break
			}
			x := e.Exception
			lines = append(lines, fmt.Sprintf("- %s: %s (%s), approved by %s, until %s", e.Name, x.Kind, x.Reason, x.ApprovedBy, x.Expires))
		}
		diags.AddWarning(plural(n, "identity is held active by an exception", "identities are held active by exceptions"),
			"These identities would otherwise have ended; they stay active until their exception expires:\n"+strings.Join(lines, "\n"))
	}
}

func describeEnd(e lifecycle.Evaluated) string {
	switch e.Reason {
	case lifecycle.ReasonTerminatedInSource:
		return "terminated in source"
	case lifecycle.ReasonExceptionExpired:
		return "exception expired " + e.Exception.Expires
	default:
		return "end date " + e.EndDate
	}
}

// enoughIdentities refuses a source that returned fewer identities than
// min_identities: a truncated export must not read as people having left.
// (Sources that return none are refused by their readers already.)
func enoughIdentities(diags *diag.Diagnostics, at path.Path, source string, got int, min types.Int64) bool {
	if min.IsNull() || min.IsUnknown() || int64(got) >= min.ValueInt64() {
		return true
	}
	diags.AddAttributeError(at, "Roster source returned too few identities",
		fmt.Sprintf("%s returned %d identities; min_identities is %d. A truncated export would otherwise end everyone missing from it. Check the source; if the drop is real, lower min_identities.", source, got, min.ValueInt64()))
	return false
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
