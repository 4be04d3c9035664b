package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/scim"
	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
)

var (
	_ resource.ResourceWithConfigure      = (*scimMembershipResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*scimMembershipResource)(nil)
	_ resource.ResourceWithValidateConfig = (*scimMembershipResource)(nil)
	_ resource.ResourceWithImportState    = (*scimMembershipResource)(nil)
)

// NewSCIMGroupMembershipResource is the sunset_scim_group_membership
// resource: one user's membership of one SCIM group, the access a role
// grants. Destroying it removes the membership and verifies it is gone: the
// role-change case, where the identity stays and one grant ends.
func NewSCIMGroupMembershipResource() resource.Resource { return &scimMembershipResource{} }

type scimMembershipResource struct{ providerRuntime }

type scimMembershipModel struct {
	ID              types.String `tfsdk:"id"`
	Target          types.String `tfsdk:"target"`
	GroupID         types.String `tfsdk:"group_id"`
	UserID          types.String `tfsdk:"user_id"`
	IdentityID      types.String `tfsdk:"identity_id"`
	GroupName       types.String `tfsdk:"group_name"`
	IdentityEndDate types.String `tfsdk:"identity_end_date"`
}

// membershipAccount is the ACCOUNT half of a membership's id: GROUP_ID/USER_ID,
// which is also the SCIM path of the grant (/Groups/GROUP_ID, member USER_ID).
// Group ids may not contain "/", so the split is unambiguous.
func membershipAccount(groupID, userID string) string { return groupID + "/" + userID }

// parseMembershipAccount splits GROUP_ID/USER_ID at the first "/".
func parseMembershipAccount(account string) (groupID, userID string, err error) {
	g, u, ok := strings.Cut(account, "/")
	if !ok || g == "" || u == "" {
		return "", "", fmt.Errorf("%q is not GROUP_ID/USER_ID", account)
	}
	return g, u, nil
}

func (r *scimMembershipResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_scim_group_membership"
}

func (r *scimMembershipResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "One user's membership of one group in a SCIM 2.0 service provider: the access a role grants. Creating it adds the member (PATCH the group) and records `credential.issued`; destroying it removes the member, reads the group back to verify the user is no longer among its members (or the group is gone), and records `credential.revoked` (action `remove_member`). This is the role-change case: the identity and its user stay, one grant ends. If removal or verification fails, the destroy fails with `credential.revoke_failed` recorded and the membership stays in state.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`TARGET/GROUP_ID/USER_ID`: the import id, and the key under which the ledger (account `GROUP_ID/USER_ID`) and the scanner know this grant.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"target": targetAttribute("a `scim`", "membership"),
			"group_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The group's SCIM `id` (not its display name). It may not contain `/`. Changing it replaces the membership.",
				PlanModifiers:       replace,
			},
			"user_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The user's SCIM `id`, such as `sunset_scim_user.NAME.scim_id`. Changing it replaces the membership.",
				PlanModifiers:       replace,
			},
			"identity_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The `id` of the `sunset_identity` this grant belongs to. Evidence records name it.",
			},
			"group_name": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The group's `displayName` when last read, for people reading plans and evidence.",
			},
			"identity_end_date": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The end date of `identity_id` as this provider last saw it, null when unseen; it tells a destroy after the end date (`end_date_reached`) from one before it (`removed_from_configuration`).",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		},
	}
}

func (r *scimMembershipResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m scimMembershipModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	for _, f := range []struct {
		name string
		v    types.String
	}{{"group_id", m.GroupID}, {"user_id", m.UserID}, {"identity_id", m.IdentityID}} {
		if !known(f.v) {
			continue
		}
		s := f.v.ValueString()
		switch {
		case strings.TrimSpace(s) == "":
			resp.Diagnostics.AddAttributeError(path.Root(f.name), "Empty "+f.name, f.name+" must not be empty.")
		case strings.IndexFunc(s, unicode.IsControl) >= 0:
			resp.Diagnostics.AddAttributeError(path.Root(f.name), "Invalid "+f.name, f.name+" must not contain control characters.")
		case f.name == "group_id" && strings.Contains(s, "/"):
			resp.Diagnostics.AddAttributeError(path.Root(f.name), "Invalid group_id",
				fmt.Sprintf("group_id %q contains \"/\": the membership's id TARGET/GROUP_ID/USER_ID could not be split again.", s))
		}
	}
}

func (r *scimMembershipResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.rt == nil {
		return
	}
	if r.rt.guardPlannedDestroy(ctx, req, resp, "sunset_scim_group_membership", "id") {
		return
	}
	var plan, state scimMembershipModel
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
	if known(plan.Target) && known(plan.GroupID) && known(plan.UserID) {
		plan.ID = types.StringValue(connector.ID(plan.Target.ValueString(), membershipAccount(plan.GroupID.ValueString(), plan.UserID.ValueString())))
	}
	if !creating {
		plan.GroupName = state.GroupName
	}
	plan.IdentityEndDate = r.rt.planIdentityEndDate(plan.IdentityID, state.IdentityID, state.IdentityEndDate, creating)
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *scimMembershipResource) issueRecord(m scimMembershipModel) evidence.Record {
	return evidence.Record{
		Event: evidence.EventCredentialIssued, Target: m.Target.ValueString(), System: systemSCIM,
		Account: membershipAccount(m.GroupID.ValueString(), m.UserID.ValueString()),
		Action:  "add_member", Identity: r.rt.credentialIdentity(m.IdentityID),
		Details: compactDetails(map[string]string{"group_name": m.GroupName.ValueString(), "expires_at": "none"}),
	}
}

func (r *scimMembershipResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	ctx = r.rt.maskSecrets(ctx)
	var plan scimMembershipModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !r.rt.ledgerReady(&resp.Diagnostics, "No membership was added.") {
		return
	}
	c := r.rt.scimClientFor(plan.Target.ValueString(), &resp.Diagnostics)
	if c == nil {
		return
	}
	groupID, userID := plan.GroupID.ValueString(), plan.UserID.ValueString()
	if err := c.AddGroupMember(ctx, groupID, userID); err != nil {
		detail := fmt.Sprintf("Adding user %q to group %q in target %q: %s", userID, groupID, plan.Target.ValueString(), r.rt.redact(err.Error()))
		if errors.Is(err, connector.ErrNotFound) {
			resp.Diagnostics.AddAttributeError(path.Root("group_id"), "Cannot add group member", detail+"\n\nThe group does not exist: group_id takes the group's SCIM id, not its display name.")
			return
		}
		resp.Diagnostics.AddError("Cannot add group member", detail)
		return
	}
	// Read the group back: a service that accepted the PATCH but says the
	// member is not there must not get a credential.issued record. A service
	// that cannot say (it shows membership no way at all) accepted the add:
	// the grant is recorded and kept in state, flagged as unconfirmed,
	// because an unrecorded live grant is the worst outcome.
	mc, err := c.CheckGroupMember(ctx, groupID, userID)
	if err == nil && !mc.Member {
		resp.Diagnostics.AddError("Cannot confirm group membership", r.rt.redact(fmt.Sprintf("group %q does not list user %q among its members after the add (%s)", groupID, userID, mc.Checked)))
		return
	}
	unconfirmed := ""
	if err != nil {
		unconfirmed = r.rt.redact(err.Error())
		resp.Diagnostics.AddWarning("Group membership added but not confirmed",
			fmt.Sprintf("The target accepted adding user %q to group %q, but the membership could not be read back: %s\n\nIt is recorded as issued and kept in state so that it is not forgotten; its removal will have to be verified on a server that shows membership.", userID, groupID, unconfirmed))
		plan.GroupName = types.StringNull()
	} else {
		plan.GroupName = nullIfEmpty(mc.Group.DisplayName)
	}
	plan.ID = types.StringValue(connector.ID(plan.Target.ValueString(), membershipAccount(groupID, userID)))
	plan.IdentityEndDate = r.rt.applyIdentityEndDate(plan.IdentityEndDate, plan.IdentityID)

	issued := r.issueRecord(plan)
	if unconfirmed != "" {
		if issued.Details == nil {
			issued.Details = map[string]string{}
		}
		issued.Details["confirmed"] = "no: " + unconfirmed
	}
	if _, d := r.rt.record(ctx, issued); d.HasError() {
		// An unrecorded grant is the worst outcome: take it away again.
		cause := diagText(d)
		err := c.RemoveGroupMember(ctx, groupID, userID)
		if err == nil {
			var v connector.Verification
			if v, err = c.VerifyGroupMembership(ctx, groupID, userID); err == nil && !v.Gone {
				err = fmt.Errorf("still a member: %s", v.Checked)
			}
		}
		if err == nil {
			resp.Diagnostics.AddError("Cannot record the new credential",
				fmt.Sprintf("%s\n\nUser %q was added to group %q but the credential.issued record could not be written, so the membership was removed again. The next apply adds it again.", cause, userID, groupID))
			return
		}
		resp.Diagnostics.AddError("Cannot record the new credential, and cannot undo it",
			fmt.Sprintf("%s\n\nUser %q was added to group %q but the credential.issued record could not be written, and removing it again failed: %s\n\nThe membership is kept in state (tainted) so that it is not forgotten: the next apply removes it. Fix the ledger first.", cause, userID, groupID, r.rt.redact(err.Error())))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *scimMembershipResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	ctx = r.rt.maskSecrets(ctx)
	var state scimMembershipModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	target, groupID, userID := state.Target.ValueString(), state.GroupID.ValueString(), state.UserID.ValueString()
	// As warnStateKept, for the group the membership is read from.
	keep := func(err error) {
		resp.Diagnostics.AddWarning("Cannot refresh SCIM group membership",
			fmt.Sprintf("Group %q in target %q could not be read (%s). The membership's last known state is kept; drift is not detected until the target answers.", groupID, target, r.rt.redact(err.Error())))
	}
	c, err := r.rt.scimClientNamed(target)
	if err != nil {
		keep(err)
		return
	}
	// CheckGroupMember, not the group's members list: providers leave
	// members out of GET /Groups/ID, and reading that as "removed" would
	// drop a live grant from state.
	mc, err := c.CheckGroupMember(ctx, groupID, userID)
	switch {
	case errors.Is(err, connector.ErrNotFound):
		r.rt.forgetGone(ctx, resp, target, membershipAccount(groupID, userID), "SCIM group deleted outside Terraform",
			fmt.Sprintf("Group %q no longer exists in target %q, so user %q is no longer its member (a re-add fails while the group is missing).", groupID, target, userID))
		return
	case err != nil:
		keep(err)
		return
	case !mc.Member:
		r.rt.forgetGone(ctx, resp, target, membershipAccount(groupID, userID), "SCIM group membership removed outside Terraform",
			fmt.Sprintf("User %q is no longer a member of group %q in target %q (%s).", userID, groupID, target, mc.Checked))
		return
	}
	state.GroupName = nullIfEmpty(mc.Group.DisplayName)
	if end, ok := r.rt.knownEndDate(state.IdentityID.ValueString()); ok {
		state.IdentityEndDate = nullIfEmpty(end)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Update can only change identity_id (everything else replaces): nothing
// changes in the target, and the ledger records the new owner of the grant.
func (r *scimMembershipResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	ctx = r.rt.maskSecrets(ctx)
	var plan, state scimMembershipModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.IdentityEndDate = r.rt.applyIdentityEndDate(plan.IdentityEndDate, plan.IdentityID)
	if a, b := state.IdentityID.ValueString(), plan.IdentityID.ValueString(); a != b {
		_, d := r.rt.record(ctx, evidence.Record{
			Event: evidence.EventCredentialChanged, Target: plan.Target.ValueString(), System: systemSCIM,
			Account: membershipAccount(plan.GroupID.ValueString(), plan.UserID.ValueString()), Action: "update",
			Identity: r.rt.credentialIdentity(plan.IdentityID),
			Changes:  map[string]evidence.Change{"identity_id": {Old: scimNone(a), New: b}},
		})
		if d.HasError() {
			resp.Diagnostics.Append(d...)
			return
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *scimMembershipResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state scimMembershipModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	target, groupID, userID := state.Target.ValueString(), state.GroupID.ValueString(), state.UserID.ValueString()
	end := r.rt.destroyEndDate(state.IdentityID, state.IdentityEndDate)
	resp.Diagnostics.Append(r.rt.revokeAndRecord(ctx, revocation{
		target: target, system: systemSCIM, account: membershipAccount(groupID, userID),
		identity: r.rt.credentialIdentityWithEnd(state.IdentityID, end),
		trigger:  r.rt.destroyTrigger(end),
		action:   "remove_member",
		revoke: func(ctx context.Context) error {
			c, err := r.rt.scimClientNamed(target)
			if err != nil {
				return err
			}
			err = c.RemoveGroupMember(ctx, groupID, userID)
			// A retried remove whose first attempt landed finds no member
			// to remove; some services answer that with 400 noTarget. The
			// verification that follows says whether the member is gone.
			var he *scim.HTTPError
			if errors.As(err, &he) && strings.EqualFold(he.SCIMType, "noTarget") {
				return nil
			}
			return err
		},
		verify: func(ctx context.Context) (connector.Verification, error) {
			c, err := r.rt.scimClientNamed(target)
			if err != nil {
				return connector.Verification{}, err
			}
			return c.VerifyGroupMembership(ctx, groupID, userID)
		},
		details: func() map[string]string {
			return compactDetails(map[string]string{"group_name": state.GroupName.ValueString()})
		},
	})...)
}

// ImportState adopts a membership by TARGET/GROUP_ID/USER_ID, the same
// string as its id; the user must be a member now.
func (r *scimMembershipResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	ctx = r.rt.maskSecrets(ctx)
	const usage = `: import a sunset_scim_group_membership as TARGET/GROUP_ID/USER_ID, e.g. terraform import 'sunset_scim_group_membership.admins["alice"]' crm/7c1b5e2a/2819c223`
	target, account, err := connector.ParseID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import id", err.Error()+usage)
		return
	}
	groupID, userID, err := parseMembershipAccount(account)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("id %q: ACCOUNT %v", req.ID, err)+usage)
		return
	}
	c := r.rt.scimClientFor(target, &resp.Diagnostics)
	if c == nil {
		return
	}
	mc, err := c.CheckGroupMember(ctx, groupID, userID)
	if err == nil && !mc.Member {
		err = fmt.Errorf("user %q is not a member of group %q (%s)", userID, groupID, mc.Checked)
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot import SCIM group membership", fmt.Sprintf("Target %q: %s", target, r.rt.redact(err.Error())))
		return
	}
	m := scimMembershipModel{
		ID: types.StringValue(req.ID), Target: types.StringValue(target), GroupID: types.StringValue(groupID),
		UserID: types.StringValue(userID), IdentityID: types.StringNull(), GroupName: nullIfEmpty(mc.Group.DisplayName),
		IdentityEndDate: types.StringNull(),
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
