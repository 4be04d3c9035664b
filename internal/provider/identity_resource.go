package provider

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
)

var (
	_ resource.ResourceWithConfigure      = (*identityResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*identityResource)(nil)
	_ resource.ResourceWithValidateConfig = (*identityResource)(nil)
	_ resource.ResourceWithImportState    = (*identityResource)(nil)
)

// NewIdentityResource is the sunset_identity resource: one declared identity
// whose declaration, changes and offboarding land in the ledger.
func NewIdentityResource() resource.Resource { return &identityResource{} }

type identityResource struct{ providerRuntime }

type identityModel struct {
	ID          types.String `tfsdk:"id"`
	Name        types.String `tfsdk:"name"`
	Kind        types.String `tfsdk:"kind"`
	Owner       types.String `tfsdk:"owner"`
	EndDate     types.String `tfsdk:"end_date"`
	StartDate   types.String `tfsdk:"start_date"`
	Description types.String `tfsdk:"description"`
	Source      types.String `tfsdk:"source"`
	Labels      types.Map    `tfsdk:"labels"`
	Exception   types.Object `tfsdk:"exception"`
	Status      types.String `tfsdk:"status"`
}

func (r *identityResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_identity"
}

func (r *identityResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "One declared identity with an owner and an end date. Creating it records `identity.declared` in the evidence ledger, changing it records `identity.changed` (with the old and new end date and owner), destroying it records `identity.offboarded`. Credential resources reference its `id`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The identity's name; credential resources take it as `identity_id`.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Unique name of the identity. Changing it replaces the identity.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"kind": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "One of `human`, `contractor`, `service_account`, `workload`, `api_client`, `bot`.",
			},
			"owner": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Accountable owner: a person or team address. May not be empty.",
			},
			"end_date": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "`YYYY-MM-DD` (usable through that whole day in the provider's `timezone`) or an RFC 3339 timestamp. Required for the kinds in `policy.require_end_date`.",
			},
			"start_date": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "`YYYY-MM-DD` or RFC 3339. `policy.max_lifetime` counts from it (from now without it).",
			},
			"description": schema.StringAttribute{Optional: true, MarkdownDescription: "What the identity is for."},
			"source": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Where the declaration comes from, such as `inline`, `file` or `hr`.",
			},
			"labels": schema.MapAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Free-form labels."},
			"exception": schema.SingleNestedAttribute{
				Optional:            true,
				MarkdownDescription: "An approved exception that holds the identity active past its end date until `expires`, such as a legal hold. With the roster, pass `exception = each.value.exception`. It is recorded in the ledger with the declaration and every change; once it expires the identity has ended.",
				Attributes: map[string]schema.Attribute{
					"kind":        schema.StringAttribute{Required: true, MarkdownDescription: "`legal_hold`, `break_glass`, `shared_account` or `no_api`."},
					"reason":      schema.StringAttribute{Required: true, MarkdownDescription: "Why the identity is held past its end."},
					"approved_by": schema.StringAttribute{Required: true, MarkdownDescription: "Who approved the exception. An exception without an approver is an error."},
					"expires":     schema.StringAttribute{Required: true, MarkdownDescription: "When the exception ends (`YYYY-MM-DD` or RFC 3339)."},
				},
			},
			"status": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`active`; `excepted` when the end date has passed but `exception` holds the identity; `ended` once the end date (and any exception) has passed: revocation is then overdue.",
			},
		},
	}
}

func (r *identityResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m identityModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Checks that need no policy run here, so they fail even in
	// `terraform validate`; policy checks run in ModifyPlan.
	if v := m.Kind; !v.IsNull() && !v.IsUnknown() {
		if _, err := lifecycle.ParseKind(v.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("kind"), "Invalid kind", err.Error())
		}
	}
	if v := m.Owner; !v.IsNull() && !v.IsUnknown() && strings.TrimSpace(v.ValueString()) == "" {
		resp.Diagnostics.AddAttributeError(path.Root("owner"), "Empty owner", "owner must name an accountable owner (a person or team address).")
	}
	for _, f := range []struct {
		name string
		v    types.String
	}{{"end_date", m.EndDate}, {"start_date", m.StartDate}} {
		if f.v.IsNull() || f.v.IsUnknown() {
			continue
		}
		if _, err := lifecycle.ParseEndDate(f.v.ValueString(), time.UTC); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root(f.name), "Invalid "+f.name, err.Error())
		}
	}
}

func (m identityModel) identity() lifecycle.Identity {
	id := lifecycle.Identity{
		Name: m.Name.ValueString(), Kind: lifecycle.Kind(m.Kind.ValueString()), Owner: m.Owner.ValueString(),
		StartDate: m.StartDate.ValueString(), EndDate: m.EndDate.ValueString(), Source: m.Source.ValueString(),
	}
	if e := m.exception(); e != nil {
		id.Exception = &lifecycle.Exception{
			Kind: lifecycle.ExceptionKind(e.Kind.ValueString()), Reason: e.Reason.ValueString(),
			ApprovedBy: e.ApprovedBy.ValueString(), Expires: e.Expires.ValueString(),
		}
	}
	return id
}

func (m identityModel) known() bool {
	if m.Exception.IsUnknown() {
		return false
	}
	vals := []types.String{m.Name, m.Kind, m.Owner, m.EndDate, m.StartDate}
	if e := m.exception(); e != nil {
		vals = append(vals, e.Kind, e.Reason, e.ApprovedBy, e.Expires)
	}
	for _, v := range vals {
		if v.IsUnknown() {
			return false
		}
	}
	return true
}

// exception is the declared exception; nil when there is none or it is not
// known yet.
func (m identityModel) exception() *exceptionModel {
	if m.Exception.IsNull() || m.Exception.IsUnknown() {
		return nil
	}
	var e exceptionModel
	if diags := m.Exception.As(context.Background(), &e, basetypes.ObjectAsOptions{}); diags.HasError() {
		return nil
	}
	return &e
}

// identityStatus is the identity's standing at now, judged as the roster
// judges it: ended once its end date passed, unless an approved exception
// still holds it (excepted); ended, too, once that exception expired.
func (rt *runtime) identityStatus(m identityModel, now time.Time) string {
	switch lifecycle.Judge(m.identity(), now, rt.policy).Status {
	case lifecycle.StatusEnded:
		return string(lifecycle.StatusEnded)
	case lifecycle.StatusExcepted:
		return string(lifecycle.StatusExcepted)
	}
	return string(lifecycle.StatusActive)
}

// exceptionDetail is the exception for a declaration's details; "" (left
// out) without one.
func exceptionDetail(m identityModel) string {
	if m.exception() == nil {
		return ""
	}
	return m.exceptionText()
}

// exceptionText renders an exception for evidence records; "none" without.
func (m identityModel) exceptionText() string {
	e := m.exception()
	if e == nil {
		return "none"
	}
	return fmt.Sprintf("%s until %s, approved by %s: %s", e.Kind.ValueString(), e.Expires.ValueString(), e.ApprovedBy.ValueString(), e.Reason.ValueString())
}

func (r *identityResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.rt == nil {
		return // provider not configured yet
	}
	if r.rt.guardPlannedDestroy(ctx, req, resp, "sunset_identity", "name") {
		return
	}
	var plan identityModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !plan.known() {
		return
	}
	now := r.rt.now()
	for _, p := range lifecycle.Validate(plan.identity(), now, r.rt.policy) {
		at := path.Empty()
		for _, part := range strings.Split(p.Field, ".") {
			at = at.AtName(part)
		}
		resp.Diagnostics.AddAttributeError(at, "Invalid "+p.Field, p.Message)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	r.rt.rememberEndDate(plan.Name.ValueString(), plan.EndDate.ValueString())
	status := r.rt.identityStatus(plan, now)
	if status == string(lifecycle.StatusEnded) {
		resp.Diagnostics.AddAttributeWarning(path.Root("end_date"), "Identity has ended but is still declared",
			fmt.Sprintf("Identity %q ended on %s and is still declared: revocation of its access is overdue. Remove it from the configuration (or let the roster's `active` drop it) so that its credentials are revoked.", plan.Name.ValueString(), plan.EndDate.ValueString()))
	}
	plan.ID = types.StringValue(plan.Name.ValueString())
	// A create or update leaves status unknown: apply sets it from the clock
	// at apply time, which may be past midnight of the end date when a plan
	// made on a pull request is applied after merge. A promise made here
	// would then be broken ("inconsistent final plan").
	if !plan.Status.IsUnknown() {
		plan.Status = types.StringValue(status)
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *identityResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan identityModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	_, diags := r.rt.record(ctx, evidence.Record{
		Event:    evidence.EventIdentityDeclared,
		Identity: identityRef(plan.Name.ValueString(), plan.Kind.ValueString(), plan.Owner.ValueString(), plan.EndDate.ValueString()),
		Details:  compactDetails(map[string]string{"start_date": plan.StartDate.ValueString(), "source": plan.Source.ValueString(), "exception": exceptionDetail(plan)}),
	})
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.ID = types.StringValue(plan.Name.ValueString())
	plan.Status = types.StringValue(r.rt.identityStatus(plan, r.rt.now()))
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *identityResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state identityModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// The declaration is its own source of truth; only the standing moves
	// with the clock.
	r.rt.rememberEndDate(state.Name.ValueString(), state.EndDate.ValueString())
	state.Status = types.StringValue(r.rt.identityStatus(state, r.rt.now()))
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *identityResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state identityModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	changes := map[string]evidence.Change{}
	for _, f := range []struct {
		name     string
		old, new types.String
	}{
		{"end_date", state.EndDate, plan.EndDate}, {"owner", state.Owner, plan.Owner}, {"kind", state.Kind, plan.Kind},
		{"start_date", state.StartDate, plan.StartDate}, {"description", state.Description, plan.Description}, {"source", state.Source, plan.Source},
	} {
		if f.old.ValueString() != f.new.ValueString() {
			changes[f.name] = evidence.Change{Old: f.old.ValueString(), New: f.new.ValueString()}
		}
	}
	if !state.Labels.Equal(plan.Labels) {
		changes["labels"] = evidence.Change{Old: state.Labels.String(), New: plan.Labels.String()}
	}
	if old, new := state.exceptionText(), plan.exceptionText(); old != new {
		changes["exception"] = evidence.Change{Old: old, New: new}
	}
	if len(changes) > 0 {
		_, diags := r.rt.record(ctx, evidence.Record{
			Event:    evidence.EventIdentityChanged,
			Identity: identityRef(plan.Name.ValueString(), plan.Kind.ValueString(), plan.Owner.ValueString(), plan.EndDate.ValueString()),
			Changes:  changes,
			Details:  extensionDetails(state.EndDate.ValueString(), plan.EndDate.ValueString(), r.rt.policy.Location),
		})
		resp.Diagnostics.Append(diags...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	plan.ID = types.StringValue(plan.Name.ValueString())
	plan.Status = types.StringValue(r.rt.identityStatus(plan, r.rt.now()))
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *identityResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state identityModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	now := r.rt.now()
	trigger := evidence.TriggerRemovedFromConfiguration
	if j := lifecycle.Judge(state.identity(), now, r.rt.policy); j.Status == lifecycle.StatusEnded {
		trigger = evidence.TriggerEndDateReached
		if j.Reason == lifecycle.ReasonExceptionExpired {
			trigger = evidence.TriggerExceptionExpired
		}
	}
	removed := now.UTC()
	// If the ledger cannot be written the destroy fails and the identity
	// stays in state, so the offboarding is retried rather than forgotten.
	_, diags := r.rt.record(ctx, evidence.Record{
		Event:       evidence.EventIdentityOffboarded,
		Identity:    identityRef(state.Name.ValueString(), state.Kind.ValueString(), state.Owner.ValueString(), state.EndDate.ValueString()),
		Trigger:     trigger,
		Action:      "offboard",
		RequestedAt: &removed,
		RemovedAt:   &removed,
	})
	resp.Diagnostics.Append(diags...)
}

// ImportState adopts an identity by name. The declaration is rebuilt from
// the newest ledger record of that identity, so a lost state can be
// recovered without inventing values.
func (r *identityResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name := req.ID
	if name == "" {
		resp.Diagnostics.AddError("Invalid import id", "Import a sunset_identity by its name: terraform import 'sunset_identity.x[\"etl-loader\"]' etl-loader")
		return
	}
	ref, err := r.rt.lastDeclaration(name)
	if err != nil {
		resp.Diagnostics.AddError("Cannot import identity", err.Error())
		return
	}
	m := identityModel{
		ID: types.StringValue(name), Name: types.StringValue(name), Kind: types.StringValue(ref.Kind),
		Owner: types.StringValue(ref.Owner), EndDate: nullIfEmpty(ref.EndDate), StartDate: types.StringNull(),
		Description: types.StringNull(), Source: types.StringNull(), Labels: types.MapNull(types.StringType),
		Exception: types.ObjectNull(exceptionAttrTypes),
	}
	m.Status = types.StringValue(r.rt.identityStatus(m, r.rt.now()))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func nullIfEmpty(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func compactDetails(m map[string]string) map[string]string {
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// extensionDetails says by how much an end date moved, which is what an
// auditor looks for in an identity.changed record.
func extensionDetails(oldEnd, newEnd string, loc *time.Location) map[string]string {
	if oldEnd == newEnd {
		return nil
	}
	switch {
	case oldEnd == "":
		return map[string]string{"end_date_change": "end date set"}
	case newEnd == "":
		return map[string]string{"end_date_change": "end date removed: the identity no longer ends"}
	}
	o, err1 := lifecycle.ParseEndDate(oldEnd, loc)
	n, err2 := lifecycle.ParseEndDate(newEnd, loc)
	if err1 != nil || err2 != nil {
		return nil
	}
	days := n.EndsAt().Sub(o.EndsAt()).Hours() / 24
	kind := "extended"
	if days < 0 {
		kind, days = "shortened", -days
	}
	// Calendar dates move by whole days even across a DST change.
	text := strconv.FormatFloat(days, 'f', 1, 64)
	if o.DateOnly() && n.DateOnly() {
		text = strconv.Itoa(int(math.Round(days)))
	}
	return map[string]string{"end_date_change": kind, "end_date_change_days": text}
}
