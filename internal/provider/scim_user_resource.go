package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/scim"
	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
)

var (
	_ resource.ResourceWithConfigure      = (*scimUserResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*scimUserResource)(nil)
	_ resource.ResourceWithValidateConfig = (*scimUserResource)(nil)
	_ resource.ResourceWithImportState    = (*scimUserResource)(nil)
)

// NewSCIMUserResource is the sunset_scim_user resource: a user in a SCIM 2.0
// service provider (a SaaS application) bound to an identity's life. Destroy
// deprovisions it, verifies with a GET that it is gone, and records it.
func NewSCIMUserResource() resource.Resource { return &scimUserResource{} }

type scimUserResource struct{ providerRuntime }

type scimUserModel struct {
	ID              types.String `tfsdk:"id"`
	SCIMID          types.String `tfsdk:"scim_id"`
	Target          types.String `tfsdk:"target"`
	IdentityID      types.String `tfsdk:"identity_id"`
	UserName        types.String `tfsdk:"user_name"`
	DisplayName     types.String `tfsdk:"display_name"`
	Emails          types.List   `tfsdk:"emails"`
	ExternalID      types.String `tfsdk:"external_id"`
	Active          types.Bool   `tfsdk:"active"`
	OnDestroy       types.String `tfsdk:"on_destroy"`
	IdentityEndDate types.String `tfsdk:"identity_end_date"`
	Version         types.String `tfsdk:"version"`
}

type scimEmailModel struct {
	Value   types.String `tfsdk:"value"`
	Type    types.String `tfsdk:"type"`
	Primary types.Bool   `tfsdk:"primary"`
}

var scimEmailAttrTypes = map[string]attr.Type{
	"value": types.StringType, "type": types.StringType, "primary": types.BoolType,
}

var scimEmailType = types.ObjectType{AttrTypes: scimEmailAttrTypes}

func (r *scimUserResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_scim_user"
}

func (r *scimUserResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A user in a SCIM 2.0 service provider (RFC 7644), such as a SaaS application, bound to an identity's life. Creating it records `credential.issued`; changing it (with `If-Match` when the service offers versions) records `credential.changed`. Destroying it deprovisions the user (`on_destroy`), reads it back to verify that the access is gone (a SCIM 404, or `active=false`), and appends `credential.revoked` to the evidence ledger; if any of that fails, the destroy fails with `credential.revoke_failed` recorded and the user stays in state for the next apply.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`TARGET/SCIM_ID`: the import id, and the key under which the ledger and the scanner know this credential.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"scim_id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The user's `id` in the service provider, assigned on create. `sunset_scim_group_membership.user_id` takes it.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"target": targetAttribute("a `scim`", "user"),
			"identity_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The `id` of the `sunset_identity` this user belongs to. Evidence records name it, and its end date (`identity_end_date`) decides the destroy's trigger.",
			},
			"user_name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "`userName`, unique in the service provider (compared case-insensitively, as RFC 7643 says). Changing it renames the user in place.",
			},
			"display_name": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "`displayName`.",
			},
			"emails": schema.ListNestedAttribute{
				Optional:            true,
				MarkdownDescription: "`emails`. At most one may be `primary`. Addresses changed outside Terraform show as a diff.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"value":   schema.StringAttribute{Required: true, MarkdownDescription: "The address."},
					"type":    schema.StringAttribute{Optional: true, MarkdownDescription: "Such as `work` or `home`."},
					"primary": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false), MarkdownDescription: "Whether this is the primary address. Default `false`."},
				}},
			},
			"external_id": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "`externalId`: the identifier of the user in the provisioning system. Set it (to the identity's name, say): a create whose answer was lost and was retried adopts the user that exists only when its `externalId` matches.",
			},
			"active": schema.BoolAttribute{
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(true),
				MarkdownDescription: "Whether the user may sign in. Default `true`. A user reactivated outside Terraform shows as a diff and is deactivated again. A user deactivated outside Terraform shows as a diff, but sunset does not turn the access back on: the apply fails for that user (see Updates and drift below).",
			},
			"on_destroy": schema.StringAttribute{
				Optional:            true,
				Validators:          []validator.String{stringvalidator.OneOf(scim.DeprovisionDeactivate, scim.DeprovisionDelete, scim.DeprovisionDeactivateThenDelete)},
				MarkdownDescription: "What destroy does: `deactivate` (PATCH `active=false`; the user and its history stay), `delete`, or `deactivate_then_delete` (access ends even if the delete fails). Default: the target's `deprovision`. After `delete` the user must be gone (404); after `deactivate` it must read `active=false`.",
			},
			"identity_end_date": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The end date of `identity_id` as this provider last saw it (in `sunset_roster`, `sunset_identity` or the identity's newest declaration in the ledger), null when unseen; refreshed on every plan that reads the identity. SCIM has no target-side expiry, so this is what tells a destroy after the end date (`end_date_reached`) from one before it (`removed_from_configuration`).",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"version": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The user's version (`meta.version` or `ETag`) when last read, sent as `If-Match` on update; null when the service offers none.",
			},
		},
	}
}

func (r *scimUserResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m scimUserModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	checkText := func(name string, v types.String, required bool) {
		if !known(v) {
			return
		}
		s := v.ValueString()
		switch {
		case strings.TrimSpace(s) == "" && required:
			resp.Diagnostics.AddAttributeError(path.Root(name), "Empty "+name, name+" must not be empty.")
		case s == "" && !required:
			resp.Diagnostics.AddAttributeError(path.Root(name), "Empty "+name, name+" is empty; leave it unset instead.")
		case strings.IndexFunc(s, unicode.IsControl) >= 0:
			resp.Diagnostics.AddAttributeError(path.Root(name), "Invalid "+name, name+" must not contain control characters.")
		}
	}
	checkText("user_name", m.UserName, true)
	checkText("identity_id", m.IdentityID, true)
	checkText("display_name", m.DisplayName, false)
	checkText("external_id", m.ExternalID, false)
	if known(m.Emails) {
		var emails []scimEmailModel
		resp.Diagnostics.Append(m.Emails.ElementsAs(ctx, &emails, false)...)
		primaries := 0
		for i, e := range emails {
			if known(e.Primary) && e.Primary.ValueBool() {
				primaries++
			}
			if !known(e.Value) {
				continue
			}
			if v := e.Value.ValueString(); strings.TrimSpace(v) == "" || strings.IndexFunc(v, unicode.IsControl) >= 0 {
				resp.Diagnostics.AddAttributeError(path.Root("emails").AtListIndex(i).AtName("value"), "Invalid email", "An email value must be a non-empty address without control characters.")
			}
		}
		if primaries > 1 {
			resp.Diagnostics.AddAttributeError(path.Root("emails"), "More than one primary email", fmt.Sprintf("%d emails are marked primary; RFC 7643 allows one.", primaries))
		}
	}
}

func (r *scimUserResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.rt == nil {
		return // provider not configured yet
	}
	if r.rt.guardPlannedDestroy(ctx, req, resp, "sunset_scim_user", "id") {
		return
	}
	var plan, state scimUserModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	creating := req.State.Raw.IsNull()
	if !creating {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if known(plan.Target) {
		r.rt.checkSCIMTarget(plan.Target.ValueString(), &resp.Diagnostics)
	}
	plan.IdentityEndDate = r.rt.planIdentityEndDate(plan.IdentityID, state.IdentityID, state.IdentityEndDate, creating)

	if !creating && known(plan.Active) && plan.Active.ValueBool() && known(state.Active) && !state.Active.ValueBool() {
		if seenAt, ok := deactivatedOutOfBand(ctx, req.Private); ok {
			resp.Diagnostics.AddAttributeWarning(path.Root("active"), "SCIM user deactivated outside sunset: apply will not reactivate it",
				fmt.Sprintf("SCIM user %q (%s) in target %q was found inactive at %s, though sunset last left it active: someone turned its access off outside sunset. The configuration says active = true, but the apply refuses to turn access back on by itself (this resource fails; the rest of the plan goes on). To restore access deliberately, reactivate the user in the application itself (the next refresh sees it active), or run `terraform state rm` and `terraform import` on it, after which an apply turns it on; or remove the resource if the access should end.",
					state.UserName.ValueString(), state.SCIMID.ValueString(), state.Target.ValueString(), seenAt))
		} else {
			resp.Diagnostics.AddAttributeWarning(path.Root("active"), "This plan reactivates a SCIM user",
				fmt.Sprintf("SCIM user %q (%s) is inactive in target %q and the configuration says active = true: the apply turns its access back on. If it was deactivated on purpose (an incident, a termination in the application), set active = false or remove the resource instead.",
					state.UserName.ValueString(), state.SCIMID.ValueString(), state.Target.ValueString()))
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// checkSCIMTarget reports, on `target`, a target that is unknown, of another
// kind, or whose scim block cannot make a client.
func (rt *runtime) checkSCIMTarget(name string, diags *diag.Diagnostics) {
	tgt, err := rt.target(name, kindSCIM)
	if err != nil {
		diags.AddAttributeError(path.Root("target"), "Invalid target", rt.redact(err.Error()))
		return
	}
	if _, err := tgt.scimClient(); err != nil {
		diags.AddAttributeError(path.Root("target"), "Invalid SCIM target", rt.redact(err.Error()))
	}
}

// planIdentityEndDate is identity_end_date for a plan. It is left unknown
// on create and when identity_id changes, and resolved at apply: a value
// chosen here would have to be chosen identically when Terraform plans the
// resource again during apply, in a run that may not have read the roster.
// Otherwise state's value stands; refreshes keep it current.
func (rt *runtime) planIdentityEndDate(identity, stateIdentity, stateEnd types.String, creating bool) types.String {
	if creating || identity.IsUnknown() || identity.ValueString() != stateIdentity.ValueString() {
		return types.StringUnknown()
	}
	return stateEnd
}

// applyIdentityEndDate resolves an identity_end_date left unknown at plan
// time: the end date seen in this run, else the identity's newest
// declaration in the ledger, else null.
func (rt *runtime) applyIdentityEndDate(v, identity types.String) types.String {
	if !v.IsUnknown() {
		return v
	}
	name := identity.ValueString()
	if end, ok := rt.knownEndDate(name); ok {
		return nullIfEmpty(end)
	}
	if decl, ok := rt.declarations()[name]; ok {
		return nullIfEmpty(decl.EndDate)
	}
	return types.StringNull()
}

// scimClientFor resolves a target and its client; errors become
// diagnostics on `target`, redacted.
func (rt *runtime) scimClientFor(name string, diags *diag.Diagnostics) *scim.Client {
	tgt, err := rt.target(name, kindSCIM)
	if err != nil {
		diags.AddAttributeError(path.Root("target"), "Invalid target", rt.redact(err.Error()))
		return nil
	}
	c, err := tgt.scimClient()
	if err != nil {
		diags.AddAttributeError(path.Root("target"), "Invalid SCIM target", rt.redact(err.Error()))
		return nil
	}
	return c
}

// scimClientNamed is scimClientFor for callers that record failures rather
// than report them as diagnostics (revocations).
func (rt *runtime) scimClientNamed(name string) (*scim.Client, error) {
	tgt, err := rt.target(name, kindSCIM)
	if err != nil {
		return nil, err
	}
	return tgt.scimClient()
}

func emailsOf(ctx context.Context, l types.List) ([]scim.Email, diag.Diagnostics) {
	if l.IsNull() || l.IsUnknown() {
		return nil, nil
	}
	var ms []scimEmailModel
	diags := l.ElementsAs(ctx, &ms, false)
	out := make([]scim.Email, 0, len(ms))
	for _, m := range ms {
		out = append(out, scim.Email{Value: m.Value.ValueString(), Type: m.Type.ValueString(), Primary: m.Primary.ValueBool()})
	}
	return out, diags
}

func emailsList(emails []scim.Email) types.List {
	if len(emails) == 0 {
		return types.ListNull(scimEmailType)
	}
	elems := make([]attr.Value, 0, len(emails))
	for _, e := range emails {
		elems = append(elems, types.ObjectValueMust(scimEmailAttrTypes, map[string]attr.Value{
			"value": types.StringValue(e.Value), "type": nullIfEmpty(e.Type), "primary": types.BoolValue(e.Primary),
		}))
	}
	return types.ListValueMust(scimEmailType, elems)
}

// sameEmails compares addresses as a service provider may return them: in
// any order, with the domain's case as sent or folded.
func sameEmails(a, b []scim.Email) bool {
	key := func(es []scim.Email) []string {
		out := make([]string, len(es))
		for i, e := range es {
			out[i] = strings.ToLower(e.Value) + "\x00" + e.Type + "\x00" + strconv.FormatBool(e.Primary)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

func emailsText(es []scim.Email) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Value
		if e.Type != "" {
			parts[i] += " (" + e.Type + ")"
		}
		if e.Primary {
			parts[i] += " primary"
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// fromUser copies what the service reports into m. Declared values are kept
// where they mean what the service holds (userName in another case, emails
// in another order), so that only real drift shows as a diff.
func (r *scimUserResource) fromUser(ctx context.Context, m *scimUserModel, u scim.User) diag.Diagnostics {
	m.SCIMID = types.StringValue(u.ID)
	m.ID = types.StringValue(connector.ID(m.Target.ValueString(), u.ID))
	if !strings.EqualFold(m.UserName.ValueString(), u.UserName) {
		m.UserName = types.StringValue(u.UserName)
	}
	keep := func(v types.String, server string) types.String {
		if v.ValueString() == server && !v.IsUnknown() {
			return v
		}
		return nullIfEmpty(server)
	}
	m.DisplayName = keep(m.DisplayName, u.DisplayName)
	m.ExternalID = keep(m.ExternalID, u.ExternalID)
	declared, diags := emailsOf(ctx, m.Emails)
	if m.Emails.IsUnknown() || !sameEmails(declared, u.Emails) {
		m.Emails = emailsList(u.Emails)
	}
	m.Active = types.BoolValue(u.Active)
	m.Version = nullIfEmpty(u.Meta.Version)
	return diags
}

// userSpec is the user a plan asks for.
func userSpec(ctx context.Context, m scimUserModel) (scim.User, diag.Diagnostics) {
	emails, diags := emailsOf(ctx, m.Emails)
	return scim.User{
		UserName: m.UserName.ValueString(), DisplayName: m.DisplayName.ValueString(),
		ExternalID: m.ExternalID.ValueString(), Emails: emails, Active: m.Active.ValueBool(),
	}, diags
}

// matchesSpec says whether the service already holds what spec asks for.
func matchesSpec(u, spec scim.User) bool {
	return strings.EqualFold(u.UserName, spec.UserName) && u.DisplayName == spec.DisplayName &&
		u.ExternalID == spec.ExternalID && u.Active == spec.Active && sameEmails(u.Emails, spec.Emails)
}

func (r *scimUserResource) issueRecord(m scimUserModel, account string) evidence.Record {
	return evidence.Record{
		Event: evidence.EventCredentialIssued, Target: m.Target.ValueString(), System: systemSCIM, Account: account,
		Action: "create", Identity: r.rt.credentialIdentity(m.IdentityID),
		// SCIM has no target-side expiry: the user is usable until revoked.
		Details: map[string]string{"user_name": m.UserName.ValueString(), "active": strconv.FormatBool(m.Active.ValueBool()), "expires_at": "none"},
	}
}

func (r *scimUserResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	ctx = r.rt.maskSecrets(ctx)
	var plan scimUserModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	spec, diags := userSpec(ctx, plan)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !r.rt.ledgerReady(&resp.Diagnostics, "No user was created.") {
		return
	}
	target := plan.Target.ValueString()
	c := r.rt.scimClientFor(target, &resp.Diagnostics)
	if c == nil {
		return
	}

	created, err := c.CreateUser(ctx, spec)
	switch {
	case errors.Is(err, scim.ErrConflict):
		detail := r.rt.redact(err.Error()) + fmt.Sprintf("\n\nA user with userName %q already exists in target %q.", spec.UserName, target)
		if existing, ferr := c.FindUserByUserName(ctx, spec.UserName); ferr == nil {
			detail += fmt.Sprintf(" To manage it, import it: terraform import ADDRESS %s. If an earlier destroy deactivated it (on_destroy = \"deactivate\" keeps the user), importing it and applying with active = true turns its access back on, deliberately.", connector.ID(target, existing.ID))
		}
		resp.Diagnostics.AddAttributeError(path.Root("user_name"), "SCIM user already exists", detail)
		return
	case err != nil:
		// Every attempt failed, but one of them may have been processed
		// before its answer was lost. A user that now exists under this
		// userName (and externalId, when set) is ours: it is recorded and
		// kept in state, never left live and untracked.
		existing, ferr := c.FindUserByUserName(ctx, spec.UserName)
		if ferr != nil || (spec.ExternalID != "" && existing.ExternalID != spec.ExternalID) {
			detail := r.rt.redact(err.Error())
			if ferr != nil && !errors.Is(ferr, connector.ErrNotFound) {
				detail += fmt.Sprintf("\n\nWhether user %q was created could not be checked (%s): if it exists, import it so that it is tracked.", spec.UserName, r.rt.redact(ferr.Error()))
			}
			resp.Diagnostics.AddError("Cannot create SCIM user", detail)
			return
		}
		resp.Diagnostics.AddWarning("SCIM user created by a request whose answer was lost",
			fmt.Sprintf("Creating user %q failed (%s), but the user exists now (id %s): it is taken as created by this apply and recorded.", spec.UserName, r.rt.redact(err.Error()), existing.ID))
		created = existing
	}

	plan.IdentityEndDate = r.rt.applyIdentityEndDate(plan.IdentityEndDate, plan.IdentityID)
	if _, d := r.rt.record(ctx, r.issueRecord(plan, created.ID)); d.HasError() {
		r.undoCreate(ctx, c, plan, created, d, resp)
		return
	}
	resp.Diagnostics.Append(r.fromUser(ctx, &plan, created)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// undoCreate handles a user created but not recorded. An unrecorded live
// credential is the worst outcome, so the user is deactivated and deleted
// again (it is seconds old) and the apply fails; the next apply creates it
// afresh and records it. If that cannot be verified, the user is kept in
// state (Terraform marks it tainted) so that it is tracked, and the next
// apply revokes it.
func (r *scimUserResource) undoCreate(ctx context.Context, c *scim.Client, plan scimUserModel, u scim.User, recDiags diag.Diagnostics, resp *resource.CreateResponse) {
	cause := diagText(recDiags)
	err := c.Revoke(ctx, u.ID, scim.DeprovisionDeactivateThenDelete)
	if err == nil {
		var v connector.Verification
		if v, err = c.Verify(ctx, u.ID); err == nil && !v.Absent {
			err = fmt.Errorf("the user is still present after DELETE: %s", v.Checked)
		}
	}
	if err == nil {
		resp.Diagnostics.AddError("Cannot record the new credential",
			fmt.Sprintf("%s\n\nSCIM user %q (%s) was created but its credential.issued record could not be written, so it was deleted again: no credential stays live without evidence. The next apply creates it again.", cause, plan.UserName.ValueString(), u.ID))
		return
	}
	resp.Diagnostics.AddError("Cannot record the new credential, and cannot undo it",
		fmt.Sprintf("%s\n\nSCIM user %q (%s) was created but its credential.issued record could not be written, and deleting it again failed: %s\n\nThe user is kept in state (tainted) so that it is not forgotten: the next apply revokes it. Fix the ledger first.", cause, plan.UserName.ValueString(), u.ID, r.rt.redact(err.Error())))
	resp.Diagnostics.Append(r.fromUser(ctx, &plan, u)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *scimUserResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	ctx = r.rt.maskSecrets(ctx)
	var state scimUserModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id, target := state.SCIMID.ValueString(), state.Target.ValueString()
	keep := func(err error) {
		r.rt.warnStateKept(&resp.Diagnostics, "Cannot refresh SCIM user", fmt.Sprintf("User %q (%s)", state.UserName.ValueString(), id), target, "target", err)
	}
	c, err := r.rt.scimClientNamed(target)
	if err != nil {
		keep(err)
		return
	}
	u, err := c.GetUser(ctx, id)
	if errors.Is(err, connector.ErrNotFound) {
		r.rt.forgetGone(ctx, resp, target, id, "SCIM user deleted outside Terraform",
			fmt.Sprintf("User %q (%s) no longer exists in target %q.", state.UserName.ValueString(), id, target))
		return
	}
	if err != nil {
		keep(err)
		return
	}
	// The end date may have moved since the last apply; a destroy planned
	// from this refresh judges its trigger by the newest one.
	if end, ok := r.rt.knownEndDate(state.IdentityID.ValueString()); ok {
		state.IdentityEndDate = nullIfEmpty(end)
	}
	wasActive := known(state.Active) && state.Active.ValueBool()
	resp.Diagnostics.Append(r.fromUser(ctx, &state, u)...)
	switch {
	case wasActive && !u.Active:
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, privDeactivatedOutOfBand, []byte(strconv.Quote(r.rt.now().UTC().Format(time.RFC3339))))...)
	case u.Active:
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, privDeactivatedOutOfBand, nil)...)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// privDeactivatedOutOfBand is the private-state key set when a refresh
// finds active=false on a user this resource last saw active: someone
// (incident response, the application's own offboarding) turned the access
// off outside sunset. Its value is when the refresh saw it. An apply then
// refuses to turn the user back on, as sunset_postgres_role never turns
// LOGIN back on: a nightly `apply -auto-approve` must not undo a
// deliberate deactivation.
const privDeactivatedOutOfBand = "deactivated_out_of_band"

// deactivatedOutOfBand returns when a refresh saw the user deactivated
// outside sunset; ok is false when it did not.
func deactivatedOutOfBand(ctx context.Context, priv interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
}) (seenAt string, ok bool) {
	b, d := priv.GetKey(ctx, privDeactivatedOutOfBand)
	if d.HasError() || len(b) == 0 {
		return "", false
	}
	if s, err := strconv.Unquote(string(b)); err == nil {
		return s, true
	}
	return "an earlier refresh", true
}

// scimNone renders an empty value in change records.
func scimNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (r *scimUserResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	ctx = r.rt.maskSecrets(ctx)
	var plan, state scimUserModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	want, diags := userSpec(ctx, plan)
	resp.Diagnostics.Append(diags...)
	had, diags := userSpec(ctx, state)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}

	changes := map[string]evidence.Change{}
	var ops []scim.PatchOp
	text := func(attr, scimPath, old, new string) {
		if old == new {
			return
		}
		changes[attr] = evidence.Change{Old: scimNone(old), New: scimNone(new)}
		if new == "" {
			ops = append(ops, scim.PatchOp{Op: "remove", Path: scimPath})
		} else {
			ops = append(ops, scim.PatchOp{Op: "replace", Path: scimPath, Value: new})
		}
	}
	text("user_name", "userName", had.UserName, want.UserName)
	text("display_name", "displayName", had.DisplayName, want.DisplayName)
	text("external_id", "externalId", had.ExternalID, want.ExternalID)
	if !sameEmails(had.Emails, want.Emails) {
		changes["emails"] = evidence.Change{Old: emailsText(had.Emails), New: emailsText(want.Emails)}
		if len(want.Emails) == 0 {
			ops = append(ops, scim.PatchOp{Op: "remove", Path: "emails"})
		} else {
			ops = append(ops, scim.PatchOp{Op: "replace", Path: "emails", Value: emailValues(want.Emails)})
		}
	}
	if !had.Active && want.Active {
		if seenAt, ok := deactivatedOutOfBand(ctx, req.Private); ok {
			resp.Diagnostics.AddAttributeError(path.Root("active"), "Refusing to reactivate a SCIM user deactivated outside sunset",
				fmt.Sprintf("SCIM user %q (%s) in target %q was found inactive at %s, though sunset last left it active: someone turned its access off outside sunset, and sunset does not turn access back on by itself. Nothing was changed. To restore access deliberately, reactivate the user in the application itself (the next refresh sees it active), or run `terraform state rm` and `terraform import` on it, after which an apply turns it on; or remove the resource if the access should end.",
					state.UserName.ValueString(), state.SCIMID.ValueString(), state.Target.ValueString(), seenAt))
			return
		}
	}
	if had.Active != want.Active {
		changes["active"] = evidence.Change{Old: strconv.FormatBool(had.Active), New: strconv.FormatBool(want.Active)}
		ops = append(ops, scim.PatchOp{Op: "replace", Path: "active", Value: want.Active})
	}
	if a, b := state.IdentityID.ValueString(), plan.IdentityID.ValueString(); a != b {
		changes["identity_id"] = evidence.Change{Old: scimNone(a), New: b}
	}

	next := plan
	next.ID, next.SCIMID, next.Version = state.ID, state.SCIMID, state.Version
	next.IdentityEndDate = r.rt.applyIdentityEndDate(plan.IdentityEndDate, plan.IdentityID)
	if len(ops) > 0 {
		if !r.rt.ledgerReady(&resp.Diagnostics, "The user was not changed.") {
			return
		}
		c := r.rt.scimClientFor(plan.Target.ValueString(), &resp.Diagnostics)
		if c == nil {
			return
		}
		id := state.SCIMID.ValueString()
		u, err := c.PatchUser(ctx, id, ops, state.Version.ValueString())
		if errors.Is(err, scim.ErrPreconditionFailed) {
			// The version moved: someone else changed the user, or an
			// earlier attempt of this very PATCH landed before its answer
			// was lost. In the second case the user already is as planned.
			if cur, gerr := c.GetUser(ctx, id); gerr == nil && matchesSpec(cur, want) {
				u, err = cur, nil
			}
		}
		switch {
		case errors.Is(err, scim.ErrPreconditionFailed):
			resp.Diagnostics.AddError("SCIM user changed outside Terraform",
				fmt.Sprintf("%s\n\nUser %q (%s) changed since Terraform read it, so the update was refused rather than overwriting that change. Run the plan again: it shows the user as it is now.", r.rt.redact(err.Error()), state.UserName.ValueString(), id))
			return
		case err != nil:
			resp.Diagnostics.AddError("Cannot update SCIM user", r.rt.redact(err.Error()))
			return
		}
		resp.Diagnostics.Append(r.fromUser(ctx, &next, u)...)
	}
	if len(changes) > 0 {
		_, d := r.rt.record(ctx, evidence.Record{
			Event: evidence.EventCredentialChanged, Target: plan.Target.ValueString(), System: systemSCIM,
			Account: state.SCIMID.ValueString(), Action: "update", Identity: r.rt.credentialIdentity(plan.IdentityID),
			Changes: changes, Details: map[string]string{"user_name": plan.UserName.ValueString()},
		})
		if d.HasError() {
			// Keep the prior state: the next plan shows the change again,
			// and re-applying it (harmless) records it.
			resp.Diagnostics.Append(d...)
			return
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &next)...)
}

func emailValues(es []scim.Email) []map[string]any {
	out := make([]map[string]any, 0, len(es))
	for _, e := range es {
		m := map[string]any{"value": e.Value}
		if e.Type != "" {
			m["type"] = e.Type
		}
		if e.Primary {
			m["primary"] = true
		}
		out = append(out, m)
	}
	return out
}

// destroyMode is what a destroy does: on_destroy, else the target's
// deprovision, else deactivate.
func (r *scimUserResource) destroyMode(m scimUserModel) string {
	if v := m.OnDestroy.ValueString(); v != "" {
		return v
	}
	if tgt, err := r.rt.target(m.Target.ValueString(), kindSCIM); err == nil {
		return tgt.scimDeprovision()
	}
	return scim.DeprovisionDeactivate
}

// destroyEndDate is the identity's end date for a destroy's trigger: as
// seen in this run where it was, else as state holds it.
func (rt *runtime) destroyEndDate(identity, stateEnd types.String) string {
	if end, ok := rt.knownEndDate(identity.ValueString()); ok {
		return end
	}
	return stateEnd.ValueString()
}

// credentialIdentityWithEnd is credentialIdentity, falling back to end for
// an identity whose end date nothing else in this run knows.
func (rt *runtime) credentialIdentityWithEnd(identity types.String, end string) *evidence.IdentityRef {
	ref := rt.credentialIdentity(identity)
	if ref != nil && ref.EndDate == "" {
		ref.EndDate = end
	}
	return ref
}

func (r *scimUserResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state scimUserModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id, target := state.SCIMID.ValueString(), state.Target.ValueString()
	mode := r.destroyMode(state)
	end := r.rt.destroyEndDate(state.IdentityID, state.IdentityEndDate)
	resp.Diagnostics.Append(r.rt.revokeAndRecord(ctx, revocation{
		target: target, system: systemSCIM, account: id,
		identity: r.rt.credentialIdentityWithEnd(state.IdentityID, end),
		trigger:  r.rt.destroyTrigger(end),
		action:   mode,
		// The target is resolved inside revoke, so that a target that is
		// unreachable or gone from the provider block is a recorded
		// credential.revoke_failed, not an unrecorded error.
		revoke: func(ctx context.Context) error {
			c, err := r.rt.scimClientNamed(target)
			if err != nil {
				return err
			}
			return c.Revoke(ctx, id, mode)
		},
		verify: func(ctx context.Context) (connector.Verification, error) {
			c, err := r.rt.scimClientNamed(target)
			if err != nil {
				return connector.Verification{}, err
			}
			v, err := c.Verify(ctx, id)
			// A delete is verified by absence: an inactive user that is
			// still there was not deleted, whatever else holds.
			if err == nil && v.Gone && !v.Absent && mode != scim.DeprovisionDeactivate {
				v.Gone = false
				v.Checked += "; the user still exists after DELETE"
			}
			return v, err
		},
		details: func() map[string]string {
			return map[string]string{"user_name": state.UserName.ValueString()}
		},
	})...)
}

// ImportState adopts an existing user by TARGET/SCIM_ID and reads it back.
// identity_id is left empty for the configuration to set (the next apply
// records that as credential.changed).
func (r *scimUserResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	ctx = r.rt.maskSecrets(ctx)
	target, id, err := connector.ParseID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import id", err.Error()+`: import a sunset_scim_user as TARGET/SCIM_ID, e.g. terraform import 'sunset_scim_user.staff["alice"]' crm/2819c223-7f76-453a-919d-413861904646`)
		return
	}
	c := r.rt.scimClientFor(target, &resp.Diagnostics)
	if c == nil {
		return
	}
	u, err := c.GetUser(ctx, id)
	if err != nil {
		resp.Diagnostics.AddError("Cannot import SCIM user", fmt.Sprintf("User %q in target %q: %s", id, target, r.rt.redact(err.Error())))
		return
	}
	m := scimUserModel{
		Target: types.StringValue(target), IdentityID: types.StringNull(), OnDestroy: types.StringNull(),
		IdentityEndDate: types.StringNull(), UserName: types.StringValue(u.UserName),
		DisplayName: types.StringNull(), ExternalID: types.StringNull(), Emails: types.ListNull(scimEmailType),
	}
	resp.Diagnostics.Append(r.fromUser(ctx, &m, u)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
