package provider

// What every sunset resource does the same way, written once: receiving
// the provider's runtime, counting a planned destroy against the
// mass-revocation breaker, refusing to touch a target while the ledger
// cannot be opened, and the target and write-only password arguments of
// credential resources. Anything a resource does in its own way stays in
// its own file.

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
)

// providerRuntime is embedded in every resource. Terraform calls Configure
// with the provider's runtime; until the provider is configured (in
// `terraform validate`, early in a plan) rt is nil, which ModifyPlan checks.
type providerRuntime struct{ rt *runtime }

func (p *providerRuntime) Configure(_ context.Context, req resource.ConfigureRequest, _ *resource.ConfigureResponse) {
	if rt, ok := req.ProviderData.(*runtime); ok {
		p.rt = rt
	}
}

// known reports whether a value is neither null nor unknown.
func known(v interface {
	IsNull() bool
	IsUnknown() bool
}) bool {
	return !v.IsNull() && !v.IsUnknown()
}

// guardPlannedDestroy is the start of every resource's ModifyPlan. It
// counts against the mass-revocation breaker, under the resource's key
// attribute in state, every plan that revokes the resource's access:
//
//   - a destroy: it returns true, as there is no plan left to modify;
//   - a replacement that an attribute's plan modifier requires (a changed
//     `target`, `name`, `group_id`…): replacing destroys the old object,
//     which revokes its access just as a destroy does. It returns false, and
//     the resource plans the new object as usual.
//
// The framework runs attribute plan modifiers before the resource's
// ModifyPlan but does not pass their RequiresReplace on to it, so the
// modifiers are asked again here (schemaRequiresReplace). A ModifyPlan that
// adds to resp.RequiresReplace itself defers guardPlannedReplace.
func (rt *runtime) guardPlannedDestroy(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, resourceType, keyAttribute string) bool {
	switch {
	case req.State.Raw.IsNull():
		return false // a create
	case req.Plan.Raw.IsNull():
		resp.Diagnostics.Append(rt.guardDestroy(ctx, resourceType, stateKey(ctx, req, resp, keyAttribute))...)
		return true
	case schemaRequiresReplace(ctx, req, &resp.Diagnostics):
		resp.Diagnostics.Append(rt.guardDestroy(ctx, resourceType, stateKey(ctx, req, resp, keyAttribute)+" (replace)")...)
	}
	return false
}

// guardPlannedReplace is deferred, after guardPlannedDestroy, by a
// ModifyPlan that decides replacement itself (appends to
// resp.RequiresReplace): at its end it counts that replacement against the
// breaker, unless guardPlannedDestroy already counted one.
func (rt *runtime) guardPlannedReplace(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, resourceType, keyAttribute string) {
	if len(resp.RequiresReplace) == 0 || req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	var diags diag.Diagnostics
	if schemaRequiresReplace(ctx, req, &diags) {
		return // counted at the start
	}
	resp.Diagnostics.Append(rt.guardDestroy(ctx, resourceType, stateKey(ctx, req, resp, keyAttribute)+" (replace)")...)
}

// stateKey is the resource's key attribute in prior state, naming it in a
// breaker error.
func stateKey(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, keyAttribute string) string {
	var key types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root(keyAttribute), &key)...)
	return key.ValueString()
}

// schemaRequiresReplace asks the plan modifiers of the resource's top-level
// attributes, as the framework did before ModifyPlan, whether this update
// of an existing object requires replacing it. Nested attributes carry no
// plan modifiers in this provider (TestSchemaRequiresReplaceSeesEveryPlanModifier).
func schemaRequiresReplace(ctx context.Context, req resource.ModifyPlanRequest, diags *diag.Diagnostics) bool {
	s, ok := req.Plan.Schema.(schema.Schema)
	if !ok {
		return false
	}
	for name, a := range s.Attributes {
		p := path.Root(name)
		var replace bool
		switch a := a.(type) {
		case schema.StringAttribute:
			replace = askModifiers(ctx, req, p, diags, a.PlanModifiers, func(m planmodifier.String, cfg, plan, state types.String) bool {
				r := &planmodifier.StringResponse{PlanValue: plan}
				m.PlanModifyString(ctx, planmodifier.StringRequest{Path: p, Config: req.Config, ConfigValue: cfg, Plan: req.Plan, PlanValue: plan, State: req.State, StateValue: state, Private: req.Private}, r)
				return r.RequiresReplace
			})
		case schema.Int64Attribute:
			replace = askModifiers(ctx, req, p, diags, a.PlanModifiers, func(m planmodifier.Int64, cfg, plan, state types.Int64) bool {
				r := &planmodifier.Int64Response{PlanValue: plan}
				m.PlanModifyInt64(ctx, planmodifier.Int64Request{Path: p, Config: req.Config, ConfigValue: cfg, Plan: req.Plan, PlanValue: plan, State: req.State, StateValue: state, Private: req.Private}, r)
				return r.RequiresReplace
			})
		case schema.BoolAttribute:
			replace = askModifiers(ctx, req, p, diags, a.PlanModifiers, func(m planmodifier.Bool, cfg, plan, state types.Bool) bool {
				r := &planmodifier.BoolResponse{PlanValue: plan}
				m.PlanModifyBool(ctx, planmodifier.BoolRequest{Path: p, Config: req.Config, ConfigValue: cfg, Plan: req.Plan, PlanValue: plan, State: req.State, StateValue: state, Private: req.Private}, r)
				return r.RequiresReplace
			})
		case schema.ListAttribute:
			replace = askModifiers(ctx, req, p, diags, a.PlanModifiers, func(m planmodifier.List, cfg, plan, state types.List) bool {
				r := &planmodifier.ListResponse{PlanValue: plan}
				m.PlanModifyList(ctx, planmodifier.ListRequest{Path: p, Config: req.Config, ConfigValue: cfg, Plan: req.Plan, PlanValue: plan, State: req.State, StateValue: state, Private: req.Private}, r)
				return r.RequiresReplace
			})
		case schema.SetAttribute:
			replace = askModifiers(ctx, req, p, diags, a.PlanModifiers, func(m planmodifier.Set, cfg, plan, state types.Set) bool {
				r := &planmodifier.SetResponse{PlanValue: plan}
				m.PlanModifySet(ctx, planmodifier.SetRequest{Path: p, Config: req.Config, ConfigValue: cfg, Plan: req.Plan, PlanValue: plan, State: req.State, StateValue: state, Private: req.Private}, r)
				return r.RequiresReplace
			})
		case schema.MapAttribute:
			replace = askModifiers(ctx, req, p, diags, a.PlanModifiers, func(m planmodifier.Map, cfg, plan, state types.Map) bool {
				r := &planmodifier.MapResponse{PlanValue: plan}
				m.PlanModifyMap(ctx, planmodifier.MapRequest{Path: p, Config: req.Config, ConfigValue: cfg, Plan: req.Plan, PlanValue: plan, State: req.State, StateValue: state, Private: req.Private}, r)
				return r.RequiresReplace
			})
		}
		if replace {
			return true
		}
	}
	return false
}

// askModifiers reads one attribute from config, plan and state and reports
// whether any of its plan modifiers requires replacement.
func askModifiers[M any, V attr.Value](ctx context.Context, req resource.ModifyPlanRequest, p path.Path, diags *diag.Diagnostics, modifiers []M, ask func(m M, cfg, plan, state V) bool) bool {
	if len(modifiers) == 0 {
		return false
	}
	var cfg, plan, state V
	diags.Append(req.Config.GetAttribute(ctx, p, &cfg)...)
	diags.Append(req.Plan.GetAttribute(ctx, p, &plan)...)
	diags.Append(req.State.GetAttribute(ctx, p, &state)...)
	if diags.HasError() {
		return false
	}
	for _, m := range modifiers {
		if ask(m, cfg, plan, state) {
			return true
		}
	}
	return false
}

// ledgerReady opens the evidence ledger before a target is touched: a
// change whose evidence cannot be written is not made. notDone says what
// was therefore not done, such as "No role was created.".
func (rt *runtime) ledgerReady(diags *diag.Diagnostics, notDone string) bool {
	if _, err := rt.openLedger(); err != nil {
		diags.AddError("Cannot open the evidence ledger", fmt.Sprintf("Ledger %s: %v. %s", rt.ledgerFile, err, notDone))
		return false
	}
	return true
}

// warnStateKept is a refresh's answer to a target that cannot be read (a
// target gone from the provider block, no connection, an error reading the
// account). State is kept as it was, with a warning, rather than failing
// the refresh: an error would stop the whole plan, and with it every
// revocation in every other target, and would keep this credential's own
// destroy from being attempted and recorded. State is never dropped on an
// unanswered question: only a target that says "no such account" removes
// a credential from state. subject names the account; answerer is what
// must answer again ("target", "directory").
func (rt *runtime) warnStateKept(diags *diag.Diagnostics, summary, subject, targetName, answerer string, err error) {
	diags.AddWarning(summary, fmt.Sprintf("%s in target %q could not be read (%s). Its last known state is kept; drift is not detected until the %s answers.",
		subject, targetName, rt.redact(err.Error()), answerer))
}

// diagText is the errors among diags as one text, for the message of a
// failure that they caused.
func diagText(diags diag.Diagnostics) string {
	var parts []string
	for _, d := range diags.Errors() {
		parts = append(parts, d.Summary()+": "+d.Detail())
	}
	return strings.Join(parts, "\n")
}

// orNone renders an empty or null value ("<null>", a null number's text)
// in change records.
func orNone(s string) string {
	if s == "" || s == "<null>" {
		return "none"
	}
	return s
}

// targetAttribute is a credential resource's `target`: the name of one of
// the provider's targets, of the kind the resource manages (kindWithArticle,
// such as "a `postgres`"). The same account in another target is another
// credential, so a change replaces the resource.
func targetAttribute(kindWithArticle, replaces string) schema.StringAttribute {
	return schema.StringAttribute{
		Required:            true,
		MarkdownDescription: fmt.Sprintf("Name of %s target in the provider's `targets`. Changing it replaces the %s.", kindWithArticle, replaces),
		PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
}

// passwordWOVersionAttribute is `password_wo_version`, which goes with a
// write-only `password_wo`.
func passwordWOVersionAttribute() schema.Int64Attribute {
	return schema.Int64Attribute{
		Optional:            true,
		MarkdownDescription: "Change it to set `password_wo` again (Terraform cannot see changes to a write-only value). Required with `password_wo`.",
	}
}

// checkPasswordWO refuses password_wo without password_wo_version, and the
// version without the password: Terraform cannot see a write-only value
// change, so a new version is the only thing that can set it again. It
// reports whether it found either.
func checkPasswordWO(password types.String, version types.Int64, diags *diag.Diagnostics) bool {
	switch {
	case !password.IsNull() && version.IsNull():
		diags.AddAttributeError(path.Root("password_wo_version"), "Missing password_wo_version",
			"password_wo is write-only, so Terraform cannot see when it changes: set password_wo_version, and change it whenever the password should be set again.")
		return true
	case password.IsNull() && !version.IsNull():
		diags.AddAttributeError(path.Root("password_wo"), "Missing password_wo",
			"password_wo_version is set but password_wo is not: there is no password to set.")
		return true
	}
	return false
}

// passwordVersionChange says whether an update sets password_wo again (a
// new password_wo_version), and if so adds that to the change record: the
// version, never the password.
func passwordVersionChange(state, plan types.Int64, changes map[string]evidence.Change) bool {
	if plan.IsNull() || plan.Equal(state) {
		return false
	}
	changes["password_wo_version"] = evidence.Change{Old: orNone(state.String()), New: plan.String()}
	return true
}

// forgetGone is what a refresh does when the target says the account no
// longer exists: the resource leaves state, with a warning. Except when the
// ledger's newest record of it is a failed revocation: then its removal was
// never recorded as verified, so it stays in state, and the destroy still
// pending revokes (a no-op now), verifies and records credential.revoked.
// Nothing is silently forgotten.
func (rt *runtime) forgetGone(ctx context.Context, resp *resource.ReadResponse, target, account, summary, detail string) {
	if rt.revocationPending(target, account) {
		resp.Diagnostics.AddWarning(summary,
			detail+" Its last revocation failed and was never recorded as verified, so it stays in state: the next apply verifies the removal and records it.")
		return
	}
	resp.Diagnostics.AddWarning(summary, detail+" It is removed from state; if it is still declared, the plan creates it again.")
	resp.State.RemoveResource(ctx)
}
