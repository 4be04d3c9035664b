package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/postgres"
	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
)

var (
	_ resource.ResourceWithConfigure      = (*postgresRoleResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*postgresRoleResource)(nil)
	_ resource.ResourceWithValidateConfig = (*postgresRoleResource)(nil)
	_ resource.ResourceWithImportState    = (*postgresRoleResource)(nil)
)

// systemPostgres names the system in evidence records, as the connector's
// Describe does.
const systemPostgres = "postgresql"

// NewPostgresRoleResource is the sunset_postgres_role resource: a PostgreSQL
// login role bound to an identity's life. It is created with VALID UNTIL no
// later than the identity's end date and, on destroy, revoked, verified
// gone and recorded.
func NewPostgresRoleResource() resource.Resource { return &postgresRoleResource{} }

type postgresRoleResource struct{ providerRuntime }

type postgresRoleModel struct {
	ID                types.String `tfsdk:"id"`
	Target            types.String `tfsdk:"target"`
	Name              types.String `tfsdk:"name"`
	IdentityID        types.String `tfsdk:"identity_id"`
	ExpiresAt         types.String `tfsdk:"expires_at"`
	MemberOf          types.Set    `tfsdk:"member_of"`
	ConnectionLimit   types.Int64  `tfsdk:"connection_limit"`
	PasswordWO        types.String `tfsdk:"password_wo"`
	PasswordWOVersion types.Int64  `tfsdk:"password_wo_version"`
	OnDestroy         types.String `tfsdk:"on_destroy"`
	ReassignTo        types.String `tfsdk:"reassign_to"`
	ValidUntil        types.String `tfsdk:"valid_until"`
	CanLogin          types.Bool   `tfsdk:"can_login"`
}

func (r *postgresRoleResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_postgres_role"
}

func (r *postgresRoleResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A PostgreSQL login role bound to an identity's life. It is created with `VALID UNTIL` set to `expires_at`, so password logins stop at the identity's end even if no apply runs. Destroying it revokes the access (`NOLOGIN` or `DROP ROLE`, every membership, every live session), verifies on the server that the access is gone, and appends `credential.revoked` to the evidence ledger; if any of that fails, the destroy fails with `credential.revoke_failed` recorded and the role stays in state for the next apply.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`TARGET/ROLE`: the import id, and the key under which the ledger and the scanner know this credential.",
			},
			"target": targetAttribute("a `postgres`", "role"),
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Role name, at most 63 bytes (PostgreSQL would silently truncate a longer one; sunset refuses it at plan time). Any other character is allowed: names are always quoted. Changing it replaces the role.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"identity_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The `id` of the `sunset_identity` this credential belongs to. Evidence records name it; the plan warns when `expires_at` outlives that identity's end date.",
			},
			"expires_at": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "When the role stops accepting password logins: `YYYY-MM-DD` (usable through that day in the provider's `timezone`) or RFC 3339. It becomes `VALID UNTIL`. Set it to the identity's `end_date`; the plan warns when it is missing or later than that.",
			},
			"member_of": schema.SetAttribute{
				Optional:            true,
				Computed:            true,
				ElementType:         types.StringType,
				Default:             setdefault.StaticValue(types.SetValueMust(types.StringType, nil)),
				MarkdownDescription: "Roles granted to this role. Memberships granted or revoked outside Terraform show as a diff. Default none.",
			},
			"connection_limit": schema.Int64Attribute{
				Optional:            true,
				Computed:            true,
				Default:             int64default.StaticInt64(-1),
				MarkdownDescription: "`CONNECTION LIMIT`: `-1` (the default) is unlimited; `0` allows no connection at all.",
			},
			// Not Sensitive: a write-only value never reaches plan or state
			// (Terraform shows it as "(write-only attribute)"), so the flag
			// would only add a sensitive_attributes path to every role in
			// state, which Terraform serialises again after each resource it
			// applies: at 1,000 roles, 4 s of a 26 s destroy.
			"password_wo": schema.StringAttribute{
				Optional:            true,
				WriteOnly:           true,
				MarkdownDescription: "The role's password, write-only (Terraform 1.11 or later): sent to the server as a SCRAM-SHA-256 verifier, never stored in state. Pass it through an ephemeral variable (`variable \"pw\" { ephemeral = true }`) or an ephemeral resource: a literal value is part of the configuration, which Terraform keeps in saved plan files. It is set on create and whenever `password_wo_version` changes.",
			},
			"password_wo_version": passwordWOVersionAttribute(),
			"on_destroy": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(string(postgres.RevokeDisable)),
				Validators:          []validator.String{stringvalidator.OneOf(string(postgres.RevokeDisable), string(postgres.RevokeDrop))},
				MarkdownDescription: "What destroy does. `disable` (the default): `NOLOGIN`, revoke every membership, terminate sessions; the role and what it owns stay. `drop`: the same, then `REASSIGN OWNED` to `reassign_to`, `DROP OWNED` and `DROP ROLE` (in the target's database).",
			},
			"reassign_to": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Role that receives what this role owns when `on_destroy = \"drop\"`. Required with `drop`: `DROP OWNED` alone would delete the role's tables.",
			},
			"valid_until": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`VALID UNTIL` as the server reports it (RFC 3339, UTC), null when the role has no expiry.",
			},
			"can_login": schema.BoolAttribute{
				Computed:            true,
				MarkdownDescription: "`rolcanlogin` as the server reports it. `false` means the role was disabled outside this resource (or by an interrupted revocation): sunset never turns `LOGIN` back on, so restoring access is a deliberate act (drop the role, then apply).",
			},
		},
	}
}

func (r *postgresRoleResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m postgresRoleModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Checks that need no provider configuration run here, so they fail in
	// `terraform validate` too; target and end-date checks run in ModifyPlan.
	if known(m.Name) {
		if err := postgres.ValidateName(m.Name.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("name"), "Invalid name", err.Error())
		} else if strings.HasPrefix(m.Name.ValueString(), "pg_") {
			// PostgreSQL refuses to create them; say so before the apply.
			resp.Diagnostics.AddAttributeError(path.Root("name"), "Invalid name",
				fmt.Sprintf(`role name %q: names starting with "pg_" are reserved by PostgreSQL for built-in roles.`, m.Name.ValueString()))
		}
	}
	if known(m.MemberOf) {
		for _, e := range m.MemberOf.Elements() {
			g, ok := e.(types.String)
			if !ok || !known(g) {
				continue
			}
			if err := postgres.ValidateName(g.ValueString()); err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("member_of"), "Invalid member_of", err.Error())
			} else if known(m.Name) && g.ValueString() == m.Name.ValueString() {
				resp.Diagnostics.AddAttributeError(path.Root("member_of"), "Invalid member_of", fmt.Sprintf("role %q cannot be a member of itself", g.ValueString()))
			}
		}
	}
	if known(m.ConnectionLimit) && m.ConnectionLimit.ValueInt64() < -1 {
		resp.Diagnostics.AddAttributeError(path.Root("connection_limit"), "Invalid connection_limit",
			fmt.Sprintf("connection_limit %d: use -1 for unlimited, or a count of connections (0 allows none).", m.ConnectionLimit.ValueInt64()))
	}
	if known(m.ExpiresAt) {
		if _, err := lifecycle.ParseEndDate(m.ExpiresAt.ValueString(), time.UTC); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("expires_at"), "Invalid expires_at", err.Error())
		}
	}
	if known(m.ReassignTo) {
		if err := postgres.ValidateName(m.ReassignTo.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("reassign_to"), "Invalid reassign_to", err.Error())
		} else if known(m.Name) && m.ReassignTo.ValueString() == m.Name.ValueString() {
			resp.Diagnostics.AddAttributeError(path.Root("reassign_to"), "Invalid reassign_to", "reassign_to names the role being dropped; name the role that should own its objects.")
		}
	}
	if m.OnDestroy.ValueString() == string(postgres.RevokeDrop) && m.ReassignTo.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("reassign_to"), "Missing reassign_to",
			`on_destroy = "drop" needs reassign_to: the role that receives what this role owns. DROP OWNED without it would delete the role's tables.`)
	}
	if known(m.OnDestroy) && m.OnDestroy.ValueString() != string(postgres.RevokeDrop) && known(m.ReassignTo) {
		resp.Diagnostics.AddAttributeWarning(path.Root("reassign_to"), "reassign_to is ignored",
			`reassign_to only applies with on_destroy = "drop"; a disabled role keeps what it owns.`)
	}
	if !checkPasswordWO(m.PasswordWO, m.PasswordWOVersion, &resp.Diagnostics) && known(m.PasswordWO) && m.PasswordWO.ValueString() == "" {
		resp.Diagnostics.AddAttributeError(path.Root("password_wo"), "Empty password_wo",
			"password_wo is empty; leave it unset for a role without a password.")
	}
}

// ModifyPlan computes id, valid_until and can_login, checks the target and
// warns about an expiry that is missing or outlives the identity.
func (r *postgresRoleResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.rt == nil {
		return // provider not configured yet
	}
	if r.rt.guardPlannedDestroy(ctx, req, resp, "sunset_postgres_role", "id") {
		return
	}
	var plan, state postgresRoleModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	creating := req.State.Raw.IsNull()
	if !creating {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}

	if known(plan.Target) {
		if _, err := r.rt.target(plan.Target.ValueString(), kindPostgres); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("target"), "Invalid target", r.rt.redact(err.Error()))
		}
	}
	plan.ID = types.StringUnknown()
	if known(plan.Target) && known(plan.Name) {
		plan.ID = types.StringValue(connector.ID(plan.Target.ValueString(), plan.Name.ValueString()))
	}

	switch {
	case plan.ExpiresAt.IsUnknown():
		plan.ValidUntil = types.StringUnknown()
	case plan.ExpiresAt.IsNull():
		plan.ValidUntil = types.StringNull()
		if creating || !state.ExpiresAt.IsNull() {
			resp.Diagnostics.AddAttributeWarning(path.Root("expires_at"), "No target-side expiry",
				fmt.Sprintf("Role %q gets no VALID UNTIL: it accepts password logins until an apply revokes it. Set expires_at to the identity's end_date so that access ends on time even if no apply runs.", plan.Name.ValueString()))
		}
	default:
		end, err := lifecycle.ParseEndDate(plan.ExpiresAt.ValueString(), r.rt.policy.Location)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("expires_at"), "Invalid expires_at", err.Error())
			return
		}
		plan.ValidUntil = types.StringValue(formatValidUntil(end.EndsAt()))
		changed := creating || plan.ExpiresAt.ValueString() != state.ExpiresAt.ValueString()
		if changed && end.Passed(r.rt.now()) {
			resp.Diagnostics.AddAttributeWarning(path.Root("expires_at"), "expires_at has passed",
				fmt.Sprintf("expires_at %s has passed: role %q will not accept password logins.", plan.ExpiresAt.ValueString(), plan.Name.ValueString()))
		}
		r.warnIfOutlivesIdentity(plan, end, &resp.Diagnostics)
	}

	if creating {
		plan.CanLogin = types.BoolValue(true)
	} else {
		plan.CanLogin = state.CanLogin
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// warnIfOutlivesIdentity warns when the role's expiry is later than the end
// date of its identity, where this run has seen that identity.
func (r *postgresRoleResource) warnIfOutlivesIdentity(plan postgresRoleModel, end lifecycle.EndDate, diags *diag.Diagnostics) {
	if !known(plan.IdentityID) {
		return
	}
	idEnd, ok := r.rt.knownEndDate(plan.IdentityID.ValueString())
	if !ok {
		return
	}
	if idEnd == "" {
		return // the identity has no end: nothing to outlive
	}
	identityEnd, err := lifecycle.ParseEndDate(idEnd, r.rt.policy.Location)
	if err != nil || !end.EndsAt().After(identityEnd.EndsAt()) {
		return
	}
	diags.AddAttributeWarning(path.Root("expires_at"), "Credential outlives its identity",
		fmt.Sprintf("Role %q expires at %s (expires_at %s), after identity %q ends at %s (end_date %s). Set expires_at to the identity's end_date.",
			plan.Name.ValueString(), formatValidUntil(end.EndsAt()), end.String(),
			plan.IdentityID.ValueString(), formatValidUntil(identityEnd.EndsAt()), idEnd))
}

// formatValidUntil renders an expiry the way state holds it: UTC, RFC 3339,
// at PostgreSQL's microsecond precision (the connector truncates, never
// rounds up, so the planned value and the server's agree).
func formatValidUntil(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
}

// spec builds the connector's desired state from a plan.
func (r *postgresRoleResource) spec(ctx context.Context, m postgresRoleModel) (postgres.RoleSpec, diag.Diagnostics) {
	var diags diag.Diagnostics
	spec := postgres.RoleSpec{Name: m.Name.ValueString(), ConnectionLimit: int(m.ConnectionLimit.ValueInt64()), MemberOf: []string{}}
	if !m.MemberOf.IsNull() {
		diags.Append(m.MemberOf.ElementsAs(ctx, &spec.MemberOf, false)...)
	}
	if !m.ExpiresAt.IsNull() {
		end, err := lifecycle.ParseEndDate(m.ExpiresAt.ValueString(), r.rt.policy.Location)
		if err != nil {
			diags.AddAttributeError(path.Root("expires_at"), "Invalid expires_at", err.Error())
			return spec, diags
		}
		at := end.EndsAt()
		spec.ValidUntil = &at
	}
	return spec, diags
}

// identity is how the credential's identity appears in evidence records.
func (r *postgresRoleResource) identity(m postgresRoleModel) *evidence.IdentityRef {
	return r.rt.credentialIdentity(m.IdentityID)
}

// client resolves the target and connects to it; errors become
// diagnostics on `target`, redacted.
func (r *postgresRoleResource) client(ctx context.Context, m postgresRoleModel, diags *diag.Diagnostics) *postgres.Client {
	tgt, err := r.rt.target(m.Target.ValueString(), kindPostgres)
	if err != nil {
		diags.AddAttributeError(path.Root("target"), "Invalid target", r.rt.redact(err.Error()))
		return nil
	}
	c, err := tgt.postgresClient(ctx)
	if err != nil {
		diags.AddAttributeError(path.Root("target"), "Cannot connect to the target", r.rt.redact(err.Error()))
		return nil
	}
	return c
}

// bounded limits one call to the server to the target's timeout, so that a
// statement stuck behind a lock, or a server that stops answering, fails the
// operation instead of holding the apply forever. The context is released
// when the timeout fires; calls are short, so no cancel is kept.
func (r *postgresRoleResource) bounded(ctx context.Context, targetName string) context.Context {
	tgt, err := r.rt.target(targetName, kindPostgres)
	if err != nil {
		return ctx
	}
	bctx, cancel := context.WithTimeout(ctx, tgt.postgresTimeout())
	context.AfterFunc(bctx, cancel)
	return bctx
}

// fromRole copies what the server reports into m. expires_at keeps the
// declared text while it means what the server holds; when VALID UNTIL was
// changed outside Terraform it takes the server's value, so that the next
// plan shows the drift as a diff against the configuration.
func (r *postgresRoleResource) fromRole(ctx context.Context, m *postgresRoleModel, role postgres.Role) diag.Diagnostics {
	var server types.String
	if role.ValidUntil == nil {
		server = types.StringNull()
	} else {
		server = types.StringValue(formatValidUntil(*role.ValidUntil))
	}
	m.ValidUntil = server
	if !r.expiryMatches(m.ExpiresAt, role.ValidUntil) {
		m.ExpiresAt = server
	}
	m.ConnectionLimit = types.Int64Value(int64(role.ConnectionLimit))
	m.CanLogin = types.BoolValue(role.CanLogin)
	m.ID = types.StringValue(connector.ID(m.Target.ValueString(), role.Name))
	set, diags := types.SetValueFrom(ctx, types.StringType, role.MemberOf)
	m.MemberOf = set
	return diags
}

func (r *postgresRoleResource) expiryMatches(expiresAt types.String, server *time.Time) bool {
	if expiresAt.IsNull() {
		return server == nil
	}
	end, err := lifecycle.ParseEndDate(expiresAt.ValueString(), r.rt.policy.Location)
	if err != nil || server == nil {
		return false
	}
	return end.EndsAt().Truncate(time.Microsecond).Equal(*server)
}

func (r *postgresRoleResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	ctx = r.rt.maskSecrets(ctx)
	var plan postgresRoleModel
	var password types.String
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	// Write-only values are only in the configuration, never in the plan.
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("password_wo"), &password)...)
	spec, diags := r.spec(ctx, plan)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if known(password) {
		pw := password.ValueString()
		spec.Password = &pw
	}
	if !r.rt.ledgerReady(&resp.Diagnostics, "No role was created.") {
		return
	}
	c := r.client(ctx, plan, &resp.Diagnostics)
	if c == nil {
		return
	}
	name, target := plan.Name.ValueString(), plan.Target.ValueString()

	role, err := c.Create(r.bounded(ctx, plan.Target.ValueString()), spec)
	switch {
	case errors.Is(err, postgres.ErrRoleExists):
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Role already exists",
			fmt.Sprintf("%s.\n\nRole %q already exists in target %q. To manage it, import it: terraform import ADDRESS %s. If an earlier destroy disabled it (on_destroy = \"disable\" keeps the role), sunset will not turn LOGIN back on: drop the role deliberately, then apply.",
				r.rt.redact(err.Error()), name, target, connector.ID(target, name)))
		return
	case err != nil:
		// The CREATE may have committed before the error (a failed read
		// back): a role that now exists is ours, and must be recorded.
		var getErr error
		role, getErr = c.Get(r.bounded(ctx, plan.Target.ValueString()), name)
		if getErr != nil {
			detail := r.rt.redact(err.Error())
			if !errors.Is(getErr, connector.ErrNotFound) {
				detail += fmt.Sprintf("\n\nWhether role %q was created could not be checked (%s): if it exists, import it as %s so that it is tracked.", name, r.rt.redact(getErr.Error()), connector.ID(target, name))
			}
			resp.Diagnostics.AddError("Cannot create role", detail)
			return
		}
	}

	if d := r.rt.recordIssued(ctx, target, systemPostgres, name, "create", r.identity(plan), spec.ValidUntil); d.HasError() {
		r.undoCreate(ctx, c, plan, role, d, resp)
		return
	}
	resp.Diagnostics.Append(r.fromRole(ctx, &plan, role)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// undoCreate handles a role created but not recorded. An unrecorded live
// credential is the worst outcome, so the role is dropped again (it is
// seconds old and owns nothing) and the apply fails; the next apply creates
// it afresh and records it. If the drop fails too, the role is kept in state
// (Terraform marks it tainted) so that it is tracked, and the next apply
// revokes it.
func (r *postgresRoleResource) undoCreate(ctx context.Context, c *postgres.Client, plan postgresRoleModel, role postgres.Role, recDiags diag.Diagnostics, resp *resource.CreateResponse) {
	name := plan.Name.ValueString()
	cause := diagText(recDiags)
	tgt, _ := r.rt.target(plan.Target.ValueString(), kindPostgres)
	heir := tgt.postgresUser()
	_, err := c.Revoke(r.bounded(ctx, plan.Target.ValueString()), name, postgres.RevokeOptions{Mode: postgres.RevokeDrop, ReassignTo: heir})
	if err == nil {
		var v connector.Verification
		if v, err = c.Verify(r.bounded(ctx, plan.Target.ValueString()), name); err == nil && !v.Absent {
			err = fmt.Errorf("the role is still present after DROP ROLE: %s", v.Checked)
		}
	}
	if err == nil {
		resp.Diagnostics.AddError("Cannot record the new credential",
			fmt.Sprintf("%s\n\nRole %q was created but its credential.issued record could not be written, so it was dropped again: no credential stays live without evidence. The next apply creates it again.", cause, name))
		return
	}
	resp.Diagnostics.AddError("Cannot record the new credential, and cannot undo it",
		fmt.Sprintf("%s\n\nRole %q was created but its credential.issued record could not be written, and dropping it again failed: %s\n\nThe role is kept in state (tainted) so that it is not forgotten: the next apply revokes it. Fix the ledger first.", cause, name, r.rt.redact(err.Error())))
	resp.Diagnostics.Append(r.fromRole(ctx, &plan, role)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *postgresRoleResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	ctx = r.rt.maskSecrets(ctx)
	var state postgresRoleModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name, target := state.Name.ValueString(), state.Target.ValueString()
	keep := func(err error) {
		r.rt.warnStateKept(&resp.Diagnostics, "Cannot refresh PostgreSQL role", fmt.Sprintf("Role %q", name), target, "target", err)
	}
	tgt, err := r.rt.target(target, kindPostgres)
	if err != nil {
		keep(err)
		return
	}
	c, err := tgt.postgresClient(ctx)
	if err != nil {
		keep(err)
		return
	}
	role, err := c.Get(r.bounded(ctx, target), name)
	if errors.Is(err, connector.ErrNotFound) {
		r.rt.forgetGone(ctx, resp, target, name, "PostgreSQL role dropped outside Terraform",
			fmt.Sprintf("Role %q no longer exists in target %q.", name, target))
		return
	}
	if err != nil {
		keep(err)
		return
	}
	if !role.CanLogin {
		resp.Diagnostics.AddWarning("PostgreSQL role cannot log in",
			fmt.Sprintf("Role %q in target %q has NOLOGIN: it was disabled outside this resource, or by an interrupted revocation. sunset never turns LOGIN back on, so the role stays unusable; to restore access deliberately, drop the role and apply.", name, target))
	}
	resp.Diagnostics.Append(r.fromRole(ctx, &state, role)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *postgresRoleResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	ctx = r.rt.maskSecrets(ctx)
	var plan, state postgresRoleModel
	var password types.String
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("password_wo"), &password)...)
	if resp.Diagnostics.HasError() {
		return
	}

	changes := map[string]evidence.Change{}
	str := func(v types.String) string { return v.ValueString() }
	if str(plan.ExpiresAt) != str(state.ExpiresAt) {
		changes["expires_at"] = evidence.Change{Old: orNone(str(state.ExpiresAt)), New: orNone(str(plan.ExpiresAt))}
	}
	if a, b := state.ConnectionLimit.ValueInt64(), plan.ConnectionLimit.ValueInt64(); a != b {
		changes["connection_limit"] = evidence.Change{Old: strconv.FormatInt(a, 10), New: strconv.FormatInt(b, 10)}
	}
	if a, b := setText(ctx, state.MemberOf), setText(ctx, plan.MemberOf); a != b {
		changes["member_of"] = evidence.Change{Old: a, New: b}
	}
	setPassword := passwordVersionChange(state.PasswordWOVersion, plan.PasswordWOVersion, changes)
	touchesServer := len(changes) > 0
	if str(plan.IdentityID) != str(state.IdentityID) {
		changes["identity_id"] = evidence.Change{Old: orNone(str(state.IdentityID)), New: str(plan.IdentityID)}
	}

	next := plan
	next.ValidUntil, next.CanLogin, next.MemberOf, next.ConnectionLimit = state.ValidUntil, state.CanLogin, state.MemberOf, state.ConnectionLimit
	if touchesServer {
		spec, diags := r.spec(ctx, plan)
		resp.Diagnostics.Append(diags...)
		if resp.Diagnostics.HasError() {
			return
		}
		if setPassword {
			if !known(password) {
				resp.Diagnostics.AddAttributeError(path.Root("password_wo"), "Missing password_wo", "password_wo_version changed but password_wo is not set: there is no password to set.")
				return
			}
			pw := password.ValueString()
			spec.Password = &pw
		}
		if !r.rt.ledgerReady(&resp.Diagnostics, "The role was not changed.") {
			return
		}
		c := r.client(ctx, plan, &resp.Diagnostics)
		if c == nil {
			return
		}
		role, err := c.Update(r.bounded(ctx, plan.Target.ValueString()), plan.Name.ValueString(), spec)
		if err != nil {
			resp.Diagnostics.AddError("Cannot update role", r.rt.redact(err.Error()))
			return
		}
		resp.Diagnostics.Append(r.fromRole(ctx, &next, role)...)
		if !role.CanLogin {
			resp.Diagnostics.AddWarning("PostgreSQL role cannot log in",
				fmt.Sprintf("Role %q was updated but has NOLOGIN, and sunset never turns LOGIN back on: the role stays unusable.", role.Name))
		}
	}
	if len(changes) > 0 {
		_, diags := r.rt.record(ctx, evidence.Record{
			Event: evidence.EventCredentialChanged, Target: plan.Target.ValueString(), System: systemPostgres,
			Account: plan.Name.ValueString(), Action: "update", Identity: r.identity(plan),
			Changes: changes,
			Details: extensionDetails(str(state.ExpiresAt), str(plan.ExpiresAt), r.rt.policy.Location),
		})
		if diags.HasError() {
			// Keep the prior state: the next plan shows the change again and
			// the next apply, re-applying it harmlessly, records it.
			resp.Diagnostics.Append(diags...)
			return
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &next)...)
}

func setText(ctx context.Context, s types.Set) string {
	var v []string
	if !s.IsNull() && !s.IsUnknown() {
		_ = s.ElementsAs(ctx, &v, false)
	}
	slices.Sort(v)
	return "[" + strings.Join(v, ", ") + "]"
}

func (r *postgresRoleResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state postgresRoleModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.Name.ValueString()
	opts := postgres.RevokeOptions{Mode: postgres.RevokeMode(state.OnDestroy.ValueString()), ReassignTo: state.ReassignTo.ValueString()}
	if opts.Mode == "" {
		opts.Mode = postgres.RevokeDisable
	}
	// The target is resolved inside revoke, so that a target that cannot be
	// reached (or was removed from the provider block) is a recorded
	// credential.revoke_failed, not an unrecorded error.
	client := func(ctx context.Context) (*postgres.Client, error) {
		tgt, err := r.rt.target(state.Target.ValueString(), kindPostgres)
		if err != nil {
			return nil, err
		}
		return tgt.postgresClient(ctx)
	}
	var res postgres.RevokeResult
	attempted := false
	identity := r.identity(state)
	resp.Diagnostics.Append(r.rt.revokeAndRecord(ctx, revocation{
		target: state.Target.ValueString(), system: systemPostgres, account: name,
		identity: identity, trigger: r.rt.destroyTrigger(credentialEndDate(identity, state.ExpiresAt.ValueString())),
		action: string(opts.Mode),
		revoke: func(ctx context.Context) error {
			c, err := client(ctx)
			if err != nil {
				return err
			}
			attempted = true
			res, err = c.Revoke(ctx, name, opts)
			return err
		},
		verify: func(ctx context.Context) (connector.Verification, error) {
			c, err := client(ctx)
			if err != nil {
				return connector.Verification{}, err
			}
			v, err := c.Verify(ctx, name)
			// The revoke script reads the server clock when its last step
			// finished: that, not the verification, is when access ended.
			if err == nil && v.Gone && !res.RemovedAt.IsZero() {
				v.RemovedAt = res.RemovedAt
			}
			return v, err
		},
		details: func() map[string]string {
			if !attempted {
				return nil
			}
			d := map[string]string{
				"sessions_terminated": strconv.Itoa(res.SessionsTerminated),
				"role_existed":        strconv.FormatBool(res.Existed),
			}
			if len(res.MembershipsRevoked) > 0 {
				d["memberships_revoked"] = strings.Join(res.MembershipsRevoked, ", ")
			}
			if opts.Mode == postgres.RevokeDrop {
				d["dropped"] = strconv.FormatBool(res.Dropped)
			}
			return d
		},
	})...)
}

// ImportState adopts an existing role by TARGET/ROLE and reads it back.
// identity_id is left empty for the configuration to set (the next apply
// records that as credential.changed).
func (r *postgresRoleResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	ctx = r.rt.maskSecrets(ctx)
	targetName, name, err := connector.ParseID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import id", err.Error()+`: import a sunset_postgres_role as TARGET/ROLE, e.g. terraform import 'sunset_postgres_role.staff["etl-loader"]' warehouse/etl-loader`)
		return
	}
	if err := postgres.ValidateName(name); err != nil {
		resp.Diagnostics.AddError("Invalid import id", err.Error())
		return
	}
	m := postgresRoleModel{
		Target: types.StringValue(targetName), Name: types.StringValue(name),
		IdentityID: types.StringNull(), ExpiresAt: types.StringNull(),
		PasswordWO: types.StringNull(), PasswordWOVersion: types.Int64Null(),
		OnDestroy: types.StringValue(string(postgres.RevokeDisable)), ReassignTo: types.StringNull(),
	}
	c := r.client(ctx, m, &resp.Diagnostics)
	if c == nil {
		return
	}
	role, err := c.Get(r.bounded(ctx, targetName), name)
	if err != nil {
		resp.Diagnostics.AddError("Cannot import role", r.rt.redact(err.Error()))
		return
	}
	resp.Diagnostics.Append(r.fromRole(ctx, &m, role)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
