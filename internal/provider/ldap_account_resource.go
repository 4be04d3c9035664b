package provider

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/ldap"
	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
)

var (
	_ resource.ResourceWithConfigure      = (*ldapAccountResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*ldapAccountResource)(nil)
	_ resource.ResourceWithValidateConfig = (*ldapAccountResource)(nil)
	_ resource.ResourceWithImportState    = (*ldapAccountResource)(nil)
)

// systemLDAP names the system in evidence records, as the connector's
// Describe does.
const systemLDAP = "ldap"

// NewLDAPAccountResource is the sunset_ldap_account resource: a directory
// account bound to an identity's life. The directory itself ends it at
// expires_at; destroy takes it out of every group, locks or deletes it,
// verifies that and records it.
func NewLDAPAccountResource() resource.Resource { return &ldapAccountResource{} }

type ldapAccountResource struct{ providerRuntime }

type ldapAccountModel struct {
	ID                types.String `tfsdk:"id"`
	Target            types.String `tfsdk:"target"`
	IdentityID        types.String `tfsdk:"identity_id"`
	DN                types.String `tfsdk:"dn"`
	UID               types.String `tfsdk:"uid"`
	OU                types.String `tfsdk:"ou"`
	ObjectClasses     types.Set    `tfsdk:"object_classes"`
	Attributes        types.Map    `tfsdk:"attributes"`
	Groups            types.Set    `tfsdk:"groups"`
	ExpiresAt         types.String `tfsdk:"expires_at"`
	PasswordWO        types.String `tfsdk:"password_wo"`
	PasswordWOVersion types.Int64  `tfsdk:"password_wo_version"`
	OnDestroy         types.String `tfsdk:"on_destroy"`
	Suspended         types.Bool   `tfsdk:"suspended"`
	Locked            types.Bool   `tfsdk:"locked"`
	EvidencePending   types.Bool   `tfsdk:"evidence_pending"`
}

// ldapAttributesType is attributes' type: LDAP attributes are multi-valued.
var ldapAttributesType = types.ListType{ElemType: types.StringType}

func (r *ldapAccountResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_ldap_account"
}

func (r *ldapAccountResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A directory account (OpenLDAP with the ppolicy overlay, or Active Directory) bound to an identity's life. It is created with the flavour's expiry attribute (`pwdEndTime`, `accountExpires`) set to `expires_at`, so the directory refuses binds after the identity's end even if no apply runs. Destroying it removes the account from every group that lists it, locks or deletes it, verifies that in the directory, and appends `credential.revoked` to the evidence ledger; if any of that fails, the destroy fails with `credential.revoke_failed` recorded and the account stays in state for the next apply.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`TARGET/DN`: the import id, and the key under which the ledger and the scanner know this credential.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"target": targetAttribute("an `ldap`", "account"),
			"identity_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The `id` of the `sunset_identity` this account belongs to. Evidence records name it; the plan warns when `expires_at` is missing or outlives that identity's end date.",
			},
			"dn": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "The entry's DN, which must lie under the target's `base_dn`. Give either `dn`, or `uid` (with `ou`); when `uid` is given, `dn` is computed from it. Changing the DN replaces the account.",
			},
			"uid": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Account name: the DN becomes `uid=<uid>,<ou>` (`cn=<uid>,<ou>` on Active Directory), with the value escaped as RFC 4514 requires, so any character is safe except NUL and other control characters, which are refused.",
			},
			"ou": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Parent DN for `uid`, such as `ou=people,dc=example,dc=org`. Default: the target's `base_dn`.",
			},
			"object_classes": schema.SetAttribute{
				Optional:            true,
				Computed:            true,
				ElementType:         types.StringType,
				MarkdownDescription: "Object classes of the entry, set at creation. Default `[\"inetOrgPerson\"]` (Active Directory: `top`, `person`, `organizationalPerson`, `user`), for which the account name also fills `cn` and `sn` unless `attributes` gives them. With explicit classes derived from `person` (OpenLDAP), `attributes` must give `cn` and `sn`. Changing them replaces the entry, which needs `on_destroy = \"delete\"` (a locked entry would keep the DN taken).",
			},
			"attributes": schema.MapAttribute{
				Optional:            true,
				ElementType:         ldapAttributesType,
				MarkdownDescription: "Managed attributes, each a list of values: `{ mail = [\"alice@example.com\"], cn = [\"Alice Liddell\"] }`. Attributes not named here are left alone; a managed attribute changed outside Terraform shows as a diff. Passwords, object classes, group membership, lock and expiry attributes are refused here: they have their own arguments.",
			},
			"groups": schema.SetAttribute{
				Optional:            true,
				Computed:            true,
				ElementType:         types.StringType,
				Default:             setdefault.StaticValue(types.SetValueMust(types.StringType, nil)),
				MarkdownDescription: "DNs of the `groupOfNames` groups whose `member` lists this account. Authoritative: any other group (under the target's group base) that lists the account, such as one added outside Terraform, shows as a diff and is left on apply. Default none.",
			},
			"expires_at": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "When the directory stops accepting binds: `YYYY-MM-DD` (usable through that day in the provider's `timezone`) or RFC 3339. It becomes `pwdEndTime` (OpenLDAP; ppolicy enforces it) or `accountExpires` (Active Directory). Set it to the identity's `end_date`; the plan warns when it is missing or later than that. A value changed outside Terraform shows as a diff.",
			},
			"password_wo": schema.StringAttribute{
				Optional: true,
				// Not Sensitive, as sunset_postgres_role's: a write-only value
				// never reaches plan or state, and the flag would only write a
				// sensitive_attributes path per account into state.
				WriteOnly:           true,
				MarkdownDescription: "The account's password, write-only (Terraform 1.11 or later): set with the Password Modify operation (the directory hashes it) or `unicodePwd`, never stored in state. Pass it through an ephemeral variable (`variable \"pw\" { ephemeral = true }`) or an ephemeral resource: a literal value is part of the configuration, which Terraform keeps in saved plan files. It is set on create and whenever `password_wo_version` changes.",
			},
			"password_wo_version": passwordWOVersionAttribute(),
			"on_destroy": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(string(ldap.RevokeDisable)),
				Validators:          []validator.String{stringvalidator.OneOf(string(ldap.RevokeDisable), string(ldap.RevokeDelete))},
				MarkdownDescription: "What destroy does after removing the account from every group. `disable` (the default): lock it (`pwdAccountLockedTime=000001010000Z`, or `ACCOUNTDISABLE`) and keep the entry; the lock is trusted only after sunset has proved once per run that the directory enforces it. `delete`: lock, then delete the entry.",
			},
			"suspended": schema.BoolAttribute{
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
				MarkdownDescription: "Keep the account declared but without access: locked and in no group (`groups` must be empty), verified like a revocation. An unlock or a group added outside Terraform shows as a diff and is undone on apply. sunset never unlocks an account: after `suspended` goes back to `false`, an administrator unlocks it deliberately.",
			},
			"locked": schema.BoolAttribute{
				Computed:            true,
				MarkdownDescription: "Whether the directory holds the administrative lock, as read back. `true` on an account that is not `suspended` means it was locked outside Terraform or by an interrupted revocation; sunset leaves it locked.",
			},
			"evidence_pending": schema.BoolAttribute{
				Computed:            true,
				MarkdownDescription: "`true` when a change was applied to the directory but its evidence record could not be written. The next plan shows an update that writes it.",
			},
		},
	}
}

func (r *ldapAccountResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	ctx = r.rt.maskSecrets(ctx)
	var plan, config ldapAccountModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	password := ldapPassword(config)
	ctx = ldapMaskPassword(ctx, password)
	spec, diags := r.spec(ctx, plan)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Build the DN from uid and ou again (the connector needs the uid on
	// Active Directory), and let the connector fill cn and sn for the
	// default object classes.
	if !config.UID.IsNull() {
		spec.DN, spec.UID, spec.OU = "", config.UID.ValueString(), config.OU.ValueString()
	}
	if config.ObjectClasses.IsNull() {
		spec.ObjectClasses = nil
	}
	spec.Password = password

	if !r.rt.ledgerReady(&resp.Diagnostics, "No account was created.") {
		return
	}
	tgt, c := r.client(ctx, plan.Target.ValueString(), &resp.Diagnostics)
	if c == nil {
		return
	}
	target, dn := plan.Target.ValueString(), plan.DN.ValueString()
	acct, err := c.Create(ctx, spec)
	if errors.Is(err, ldap.ErrAlreadyExists) {
		resp.Diagnostics.AddAttributeError(path.Root("dn"), "Directory account already exists",
			fmt.Sprintf("%s\n\n%s already exists in target %q. To manage it, import it: terraform import ADDRESS '%s'. If an earlier destroy disabled it (on_destroy = \"disable\" keeps the locked entry), sunset will not unlock it: delete the entry deliberately, or import it.",
				ldapRedact(r.rt, err, password), dn, target, connector.ID(target, dn)))
		return
	}
	if err != nil {
		// The connector's Create is all or nothing: on error the entry was
		// not added, or was removed again (its message says if not).
		resp.Diagnostics.AddError("Cannot create directory account", ldapRedact(r.rt, err, password))
		return
	}
	r.expiryEnforcementWarning(ctx, tgt, plan, &resp.Diagnostics)

	expires := spec.ExpiresAt
	if d := r.rt.recordIssued(ctx, target, systemLDAP, dn, "create", r.identity(plan), expires); d.HasError() {
		r.undoCreate(ctx, c, plan, acct, d, resp)
		return
	}
	resp.Diagnostics.Append(r.fromAccount(ctx, &plan, acct, false)...)
	if plan.Suspended.ValueBool() {
		v, err := r.suspend(ctx, tgt, c, dn, password)
		if err != nil {
			// The account exists and is recorded: keep it in state
			// (Terraform taints it) so that the next apply replaces it,
			// which revokes and records.
			resp.Diagnostics.AddError("Cannot suspend the new account", ldapRedact(r.rt, err, password))
			resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
			return
		}
		resp.Diagnostics.Append(r.recordSuspension(ctx, plan, v, map[string]evidence.Change{"suspended": {Old: "false", New: "true"}})...)
		if resp.Diagnostics.HasError() {
			resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
			return
		}
		acct, err = c.Get(ctx, dn)
		if err != nil {
			resp.Diagnostics.AddError("Cannot read the suspended account back", ldapRedact(r.rt, err, password))
			resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
			return
		}
		resp.Diagnostics.Append(r.fromAccount(ctx, &plan, acct, false)...)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *ldapAccountResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	ctx = r.rt.maskSecrets(ctx)
	var state ldapAccountModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dn, target := state.DN.ValueString(), state.Target.ValueString()
	keep := func(err error) {
		r.rt.warnStateKept(&resp.Diagnostics, "Cannot refresh directory account", dn, target, "directory", err)
	}
	tgt, err := r.rt.target(target, kindLDAP)
	if err != nil {
		keep(err)
		return
	}
	c, err := tgt.ldapClient(ctx)
	if err != nil {
		keep(err)
		return
	}
	acct, err := c.Get(ctx, dn)
	if errors.Is(err, connector.ErrNotFound) {
		r.rt.forgetGone(ctx, resp, target, dn, "Directory account deleted outside Terraform",
			fmt.Sprintf("%s no longer exists in target %q.", dn, target))
		return
	}
	if err != nil {
		keep(err)
		return
	}
	resp.Diagnostics.Append(r.fromAccount(ctx, &state, acct, true)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *ldapAccountResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	ctx = r.rt.maskSecrets(ctx)
	var plan, state, config ldapAccountModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	password := ldapPassword(config)
	ctx = ldapMaskPassword(ctx, password)
	if !r.rt.ledgerReady(&resp.Diagnostics, "The account was not changed.") {
		return
	}
	// Evidence owed from an earlier apply comes first, in order.
	if !r.flushPending(ctx, req.Private, resp.Private, &resp.Diagnostics) {
		return
	}
	next := plan
	next.EvidencePending = types.BoolValue(false)
	next.Locked, next.Groups = state.Locked, state.Groups

	changes := r.changes(ctx, state, plan)
	setPassword := passwordVersionChange(state.PasswordWOVersion, plan.PasswordWOVersion, changes)
	if setPassword && password == nil {
		resp.Diagnostics.AddAttributeError(path.Root("password_wo"), "Missing password_wo", "password_wo_version changed but password_wo is not set: there is no password to set.")
		return
	}
	_, touchesDirectory := ldapDirectoryChange(changes)
	relock := plan.Suspended.ValueBool() && (!state.Locked.ValueBool() || len(ldapSetStrings(ctx, state.Groups)) > 0 || !state.Suspended.ValueBool())
	if plan.Suspended.ValueBool() && state.Suspended.ValueBool() && !state.Locked.ValueBool() {
		changes["locked"] = evidence.Change{Old: "false", New: "true"} // undone out of band
	}

	var tgt *target
	var c *ldap.Client
	if touchesDirectory || relock {
		if tgt, c = r.client(ctx, plan.Target.ValueString(), &resp.Diagnostics); c == nil {
			return
		}
	}
	dn := plan.DN.ValueString()
	if touchesDirectory {
		prev, diags := r.spec(ctx, state)
		resp.Diagnostics.Append(diags...)
		nextSpec, diags := r.spec(ctx, plan)
		resp.Diagnostics.Append(diags...)
		if resp.Diagnostics.HasError() {
			return
		}
		if setPassword {
			nextSpec.Password = password
		}
		acct, err := c.Update(ctx, prev, nextSpec)
		if err != nil {
			resp.Diagnostics.AddError("Cannot update directory account", ldapRedact(r.rt, err, password))
			return
		}
		resp.Diagnostics.Append(r.fromAccount(ctx, &next, acct, false)...)
		if _, ok := changes["expires_at"]; ok {
			r.expiryEnforcementWarning(ctx, tgt, plan, &resp.Diagnostics)
		}
	}

	var v *connector.Verification
	if relock {
		ver, err := r.suspend(ctx, tgt, c, dn, password)
		if err != nil {
			// Whatever the connector did (it locks first) is on the
			// directory; the next plan reads it back and tries again.
			rec := r.changeRecord(plan, changes, "lock")
			rec.Event, rec.Error = evidence.EventRevokeFailed, ldapRedact(r.rt, err, password)
			_, recDiags := r.rt.record(ctx, rec)
			resp.Diagnostics.Append(recDiags...)
			resp.Diagnostics.AddError("Cannot suspend directory account", ldapRedact(r.rt, err, password)+"\n\nThe account stays as the directory has it; the next apply tries again.")
			if touchesDirectory {
				resp.Diagnostics.Append(resp.State.Set(ctx, &next)...)
			}
			return
		}
		v = &ver
		acct, err := c.Get(ctx, dn)
		if err != nil {
			resp.Diagnostics.AddError("Cannot read the suspended account back", ldapRedact(r.rt, err, password))
			return
		}
		resp.Diagnostics.Append(r.fromAccount(ctx, &next, acct, false)...)
	}

	if len(changes) > 0 {
		action := "update"
		if relock {
			action = "lock"
		}
		rec := r.changeRecord(plan, changes, action)
		rec.Details = extensionDetails(state.ExpiresAt.ValueString(), plan.ExpiresAt.ValueString(), r.rt.policy.Location)
		if v != nil {
			at := v.CheckedAt.UTC()
			rec.Verification, rec.VerifiedAt = v.Checked, &at
		}
		if _, diags := r.rt.record(ctx, rec); diags.HasError() {
			// The directory has changed; state says so. The record is kept
			// as pending evidence and evidence_pending makes the next plan
			// show an update that writes it: a change is never left
			// unrecorded just because the directory now matches.
			resp.Diagnostics.Append(diags...)
			resp.Diagnostics.AddError("Change applied but not recorded",
				fmt.Sprintf("%s was changed in the directory but the credential.changed record could not be written. It is kept as pending evidence; the next apply writes it. Fix the ledger first.", dn))
			rec.Details = compactDetails(ldapMergeDetails(rec.Details, map[string]string{"applied_at": r.rt.now().UTC().Format(time.RFC3339)}))
			resp.Diagnostics.Append(ldapSetPending(ctx, resp.Private, []evidence.Record{rec})...)
			next.EvidencePending = types.BoolValue(true)
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &next)...)
}

func (r *ldapAccountResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	ctx = r.rt.maskSecrets(ctx)
	var state ldapAccountModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !r.flushPending(ctx, req.Private, resp.Private, &resp.Diagnostics) {
		return
	}
	dn, targetName := state.DN.ValueString(), state.Target.ValueString()
	mode := ldap.RevokeMode(state.OnDestroy.ValueString())
	if mode == "" {
		mode = ldap.RevokeDisable
	}
	action := "lock"
	if mode == ldap.RevokeDelete {
		action = "delete"
	}
	// The target is resolved inside revoke, so that a directory that cannot
	// be reached (or was removed from the provider block) is a recorded
	// credential.revoke_failed, not an unrecorded error.
	var tgt *target
	var res ldap.RevokeResult
	attempted := false
	client := func(ctx context.Context) (*ldap.Client, error) {
		t, err := r.rt.target(targetName, kindLDAP)
		if err != nil {
			return nil, err
		}
		tgt = t
		return t.ldapClient(ctx)
	}
	identity := r.identity(state)
	resp.Diagnostics.Append(r.rt.revokeAndRecord(ctx, revocation{
		target: targetName, system: systemLDAP, account: dn,
		identity: identity, trigger: r.rt.destroyTrigger(credentialEndDate(identity, state.ExpiresAt.ValueString())),
		action: action,
		revoke: func(ctx context.Context) error {
			c, err := client(ctx)
			if err != nil {
				return err
			}
			attempted = true
			res, err = c.Revoke(ctx, dn, mode)
			if err == nil {
				ldapLogRevoke(ctx, dn, res)
			}
			return err
		},
		details: func() map[string]string {
			if !attempted {
				return nil
			}
			d := map[string]string{
				"entry_existed": strconv.FormatBool(!res.Absent),
				"locked":        strconv.FormatBool(res.Locked),
			}
			if len(res.RemovedFrom) > 0 {
				d["removed_from_groups"] = strings.Join(res.RemovedFrom, "; ")
			}
			if mode == ldap.RevokeDelete {
				d["deleted"] = strconv.FormatBool(res.Deleted)
			}
			return d
		},
		verify: func(ctx context.Context) (connector.Verification, error) {
			c, err := client(ctx)
			if err != nil {
				return connector.Verification{}, err
			}
			// A lock counts only where the directory is known to enforce
			// it; a deleted entry needs no such proof.
			if mode == ldap.RevokeDisable {
				if err := tgt.ldapLockEnforced(ctx, ldapParentDN(dn)); err != nil {
					return connector.Verification{}, fmt.Errorf("the lock on %s cannot be trusted: %w. Make a password policy govern the accounts (ppolicy_default), or use on_destroy = \"delete\"", dn, err)
				}
			}
			// The password is write-only and not stored, so it is not known
			// here: the lock, the lock probe and the group listing are the
			// evidence.
			return c.VerifyWith(ctx, dn, ldap.VerifyOptions{})
		},
	})...)
}

// ImportState adopts an existing entry by TARGET/DN (split at the first
// slash: target names have none, DNs may). identity_id is taken from the
// newest ledger record of this credential when there is one, otherwise
// left for the configuration to set.
func (r *ldapAccountResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	ctx = r.rt.maskSecrets(ctx)
	targetName, dn, err := connector.ParseID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import id", err.Error()+`: import a sunset_ldap_account as TARGET/DN, e.g. terraform import 'sunset_ldap_account.staff["alice"]' 'corp/uid=alice,ou=people,dc=example,dc=org'`)
		return
	}
	if err := ldapCheckDN("dn", dn); err != nil {
		resp.Diagnostics.AddError("Invalid import id", err.Error())
		return
	}
	_, c := r.client(ctx, targetName, &resp.Diagnostics)
	if c == nil {
		return
	}
	acct, err := c.Get(ctx, dn)
	if err != nil {
		resp.Diagnostics.AddError("Cannot import directory account", r.rt.redact(err.Error()))
		return
	}
	m := ldapAccountModel{
		Target: types.StringValue(targetName), DN: types.StringValue(dn),
		IdentityID: types.StringNull(), UID: types.StringNull(), OU: types.StringNull(),
		ObjectClasses:     types.SetValueMust(types.StringType, ldapStringValues(acct.ObjectClasses)),
		Attributes:        types.MapNull(ldapAttributesType),
		ExpiresAt:         types.StringNull(),
		PasswordWO:        types.StringNull(),
		PasswordWOVersion: types.Int64Null(),
		OnDestroy:         types.StringValue(string(ldap.RevokeDisable)),
		Suspended:         types.BoolValue(false),
		EvidencePending:   types.BoolValue(false),
	}
	if id := r.rt.lastCredentialIdentity(targetName, dn); id != "" {
		m.IdentityID = types.StringValue(id)
	}
	m.Groups = types.SetValueMust(types.StringType, nil)
	resp.Diagnostics.Append(r.fromAccount(ctx, &m, acct, true)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// fromAccount copies what the directory reports into m. Declared values
// are kept while they mean what the directory holds, so only real drift
// shows as a diff: expires_at takes the directory's value (RFC 3339, UTC)
// when the expiry was changed outside Terraform, and a managed attribute
// takes the directory's values when they differ. groups is the full
// listing, spelled as declared where the DNs match. drift is false right
// after sunset wrote the values itself.
func (r *ldapAccountResource) fromAccount(ctx context.Context, m *ldapAccountModel, acct ldap.Account, drift bool) diag.Diagnostics {
	var diags diag.Diagnostics
	m.Locked = types.BoolValue(acct.Locked)
	if known(m.DN) && !ldapSameDN(m.DN.ValueString(), acct.DN) || !known(m.DN) {
		m.DN = types.StringValue(acct.DN)
	}
	m.ID = types.StringValue(connector.ID(m.Target.ValueString(), m.DN.ValueString()))
	groups, d := types.SetValueFrom(ctx, types.StringType, ldapAlignDNs(acct.Groups, ldapSetStrings(ctx, m.Groups)))
	diags.Append(d...)
	m.Groups = groups
	if !drift {
		return diags
	}
	if !r.expiryMatches(m.ExpiresAt, acct.ExpiresAt) {
		if acct.ExpiresAt == nil {
			m.ExpiresAt = types.StringNull()
		} else {
			m.ExpiresAt = types.StringValue(acct.ExpiresAt.UTC().Format(time.RFC3339))
		}
	}
	if known(m.Attributes) {
		declared, d := ldapAttributesMap(ctx, m.Attributes)
		diags.Append(d...)
		live := map[string][]string{}
		for name, want := range declared {
			got := acct.Attribute(name)
			switch {
			case len(got) == 0:
				// Gone from the directory: absent from state, so the plan adds it back.
			case ldapSameValues(got, want):
				live[name] = want
			default:
				live[name] = got
			}
		}
		v, d := types.MapValueFrom(ctx, ldapAttributesType, live)
		diags.Append(d...)
		m.Attributes = v
	}
	return diags
}

// expiryMatches says whether the declared expiry is what the directory
// holds, at the second (the precision sunset writes pwdEndTime with).
func (r *ldapAccountResource) expiryMatches(expiresAt types.String, live *time.Time) bool {
	if expiresAt.IsNull() {
		return live == nil
	}
	end, err := lifecycle.ParseEndDate(expiresAt.ValueString(), r.rt.policy.Location)
	if err != nil || live == nil {
		return false
	}
	return end.EndsAt().Truncate(time.Second).Equal(live.Truncate(time.Second))
}

// spec builds the connector's desired state from a model (DN form).
func (r *ldapAccountResource) spec(ctx context.Context, m ldapAccountModel) (ldap.AccountSpec, diag.Diagnostics) {
	var diags diag.Diagnostics
	spec := ldap.AccountSpec{DN: m.DN.ValueString(), Groups: ldapSetStrings(ctx, m.Groups), ObjectClasses: ldapSetStrings(ctx, m.ObjectClasses)}
	if known(m.Attributes) {
		attrs, d := ldapAttributesMap(ctx, m.Attributes)
		diags.Append(d...)
		spec.Attributes = attrs
	}
	if known(m.ExpiresAt) {
		end, err := lifecycle.ParseEndDate(m.ExpiresAt.ValueString(), r.rt.policy.Location)
		if err != nil {
			diags.AddAttributeError(path.Root("expires_at"), "Invalid expires_at", err.Error())
			return spec, diags
		}
		at := end.EndsAt()
		spec.ExpiresAt = &at
	}
	return spec, diags
}

// suspend locks the account and clears its groups (the connector's
// disable-mode Revoke), then verifies as a revocation does: lock
// enforcement proved, and a bind with the password refused where the
// configuration holds one.
func (r *ldapAccountResource) suspend(ctx context.Context, tgt *target, c *ldap.Client, dn string, password *string) (connector.Verification, error) {
	if _, err := c.Revoke(ctx, dn, ldap.RevokeDisable); err != nil {
		return connector.Verification{}, err
	}
	if err := tgt.ldapLockEnforced(ctx, ldapParentDN(dn)); err != nil {
		return connector.Verification{}, fmt.Errorf("the lock on %s cannot be trusted: %w", dn, err)
	}
	v, err := c.VerifyWith(ctx, dn, ldap.VerifyOptions{Password: password})
	if err != nil {
		return v, err
	}
	if !v.Gone {
		return v, fmt.Errorf("after locking %s the directory still reports access: %s", dn, v.Checked)
	}
	return v, nil
}

// expiryEnforcementWarning warns when the directory would not enforce the
// expiry just written: on OpenLDAP, ppolicy ignores pwdEndTime for entries
// no password policy governs. The account is kept (it is what was asked
// for, and the next destroy still revokes it), but the promise that access
// ends without an apply does not hold, and the user must know.
func (r *ldapAccountResource) expiryEnforcementWarning(ctx context.Context, tgt *target, m ldapAccountModel, diags *diag.Diagnostics) {
	if !known(m.ExpiresAt) || tgt == nil {
		return
	}
	dn := m.DN.ValueString()
	if err := tgt.ldapLockEnforced(ctx, ldapParentDN(dn)); err != nil {
		diags.AddAttributeWarning(path.Root("expires_at"), "The directory may not enforce expires_at",
			fmt.Sprintf("Checking that target %q refuses binds after an expiry failed: %s. %s keeps working after expires_at until an apply revokes it; make a password policy govern these accounts (ppolicy_default).",
				m.Target.ValueString(), r.rt.redact(err.Error()), dn))
	}
}

// identity is how the credential's identity appears in evidence records:
// enriched from the ledger, since a destroy runs in an apply that may not
// have seen the identity.
func (r *ldapAccountResource) identity(m ldapAccountModel) *evidence.IdentityRef {
	return r.rt.credentialIdentity(m.IdentityID)
}

// client resolves a target and its client; errors become diagnostics on
// `target`, redacted.
func (r *ldapAccountResource) client(ctx context.Context, targetName string, diags *diag.Diagnostics) (*target, *ldap.Client) {
	tgt, err := r.rt.target(targetName, kindLDAP)
	if err != nil {
		diags.AddAttributeError(path.Root("target"), "Invalid target", r.rt.redact(err.Error()))
		return nil, nil
	}
	c, err := tgt.ldapClient(ctx)
	if err != nil {
		diags.AddAttributeError(path.Root("target"), "Invalid LDAP target", r.rt.redact(err.Error()))
		return nil, nil
	}
	return tgt, c
}

// ldapLogRevoke logs what Revoke found and did.
func ldapLogRevoke(ctx context.Context, dn string, res ldap.RevokeResult) {
	tflog.Info(ctx, "directory account revoked", map[string]any{
		"dn": dn, "absent": res.Absent, "locked": res.Locked, "deleted": res.Deleted,
		"removed_from_groups": strings.Join(res.RemovedFrom, "; "),
	})
}
