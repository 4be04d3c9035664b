package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
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

type ldapAccountResource struct{ rt *runtime }

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

func (r *ldapAccountResource) Configure(_ context.Context, req resource.ConfigureRequest, _ *resource.ConfigureResponse) {
	if rt, ok := req.ProviderData.(*runtime); ok {
		r.rt = rt
	}
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
			"target": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Name of an `ldap` target in the provider's `targets`. Changing it replaces the account.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
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
				Optional:            true,
				WriteOnly:           true,
				Sensitive:           true,
				MarkdownDescription: "The account's password, write-only (Terraform 1.11 or later): set with the Password Modify operation (the directory hashes it) or `unicodePwd`, never stored in state or plan. It is set on create and whenever `password_wo_version` changes.",
			},
			"password_wo_version": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "Change it to set `password_wo` again (Terraform cannot see changes to a write-only value). Required with `password_wo`.",
			},
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

// ldapKnown reports whether a value is neither null nor unknown.
func ldapKnown(v interface {
	IsNull() bool
	IsUnknown() bool
}) bool {
	return !v.IsNull() && !v.IsUnknown()
}

// ldapAttrName is an attribute description (type with options, RFC 4512).
var ldapAttrName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*(;[A-Za-z0-9-]+)*$`)

// ldapReservedAttributes have their own arguments; the connector refuses
// them too, this says so at plan time and names the argument.
var ldapReservedAttributes = map[string]string{
	"objectclass": "object_classes", "memberof": "groups",
	"userpassword": "password_wo", "unicodepwd": "password_wo", "authpassword": "password_wo",
	"pwdendtime": "expires_at", "accountexpires": "expires_at", "pwdstarttime": "expires_at",
	"pwdaccountlockedtime": "suspended and on_destroy", "useraccountcontrol": "suspended and on_destroy",
}

// ldapCheckName refuses what must never be in an account name: NUL and
// other control characters. They can be escaped into a DN, but tools that
// read names as C strings or print them would show a different name than
// the directory holds ("alice\x00x" is "alice" to them).
func ldapCheckName(what, v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("%s is empty", what)
	}
	for i, r := range v {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("%s %q holds control character U+%04X at byte %d; account names may not contain NUL or control characters", what, v, r, i)
		}
	}
	return nil
}

// ldapCheckDN parses a DN given in configuration and checks its values.
func ldapCheckDN(what, dn string) error {
	if strings.TrimSpace(dn) == "" {
		return fmt.Errorf("%s is empty", what)
	}
	parsed, err := goldap.ParseDN(dn)
	if err != nil {
		return fmt.Errorf("%s %q is not a valid DN (RFC 4514): %v", what, dn, err)
	}
	if len(parsed.RDNs) == 0 {
		return fmt.Errorf("%s %q names no entry", what, dn)
	}
	for _, rdn := range parsed.RDNs {
		for _, ava := range rdn.Attributes {
			if err := ldapCheckName(what+" value", ava.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *ldapAccountResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m ldapAccountModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Checks that need no provider configuration run here, so that they
	// fail in `terraform validate` too; the target, base_dn and end-date
	// checks run in ModifyPlan.
	add := func(attr, summary, detail string) {
		resp.Diagnostics.AddAttributeError(path.Root(attr), summary, detail)
	}
	switch {
	case !m.DN.IsNull() && !m.UID.IsNull():
		add("dn", "Conflicting account names", "Give either dn, or uid (with an optional ou), not both.")
	case m.DN.IsNull() && m.UID.IsNull():
		add("uid", "Missing account name", "Give uid (with an optional ou) or dn.")
	case !m.OU.IsNull() && m.UID.IsNull():
		add("ou", "ou without uid", "ou is the parent DN for uid; with dn, put the whole DN in dn.")
	}
	if ldapKnown(m.UID) {
		if err := ldapCheckName("uid", m.UID.ValueString()); err != nil {
			add("uid", "Invalid uid", err.Error())
		}
	}
	if ldapKnown(m.DN) {
		if err := ldapCheckDN("dn", m.DN.ValueString()); err != nil {
			add("dn", "Invalid dn", err.Error())
		}
	}
	if ldapKnown(m.OU) {
		if err := ldapCheckDN("ou", m.OU.ValueString()); err != nil {
			add("ou", "Invalid ou", err.Error())
		}
	}
	groups := ldapSetStrings(ctx, m.Groups)
	for _, g := range groups {
		if err := ldapCheckDN("group", g); err != nil {
			add("groups", "Invalid groups", err.Error())
		}
	}
	if m.Suspended.ValueBool() && len(groups) > 0 {
		add("groups", "A suspended account is in no group",
			"suspended = true locks the account and removes it from every group; set groups = [] (or leave it out).")
	}
	for _, oc := range ldapSetStrings(ctx, m.ObjectClasses) {
		if !ldapAttrName.MatchString(oc) {
			add("object_classes", "Invalid object_classes", fmt.Sprintf("%q is not an object class name.", oc))
		}
	}
	if ldapKnown(m.Attributes) {
		for name, v := range m.Attributes.Elements() {
			at := path.Root("attributes").AtMapKey(name)
			if !ldapAttrName.MatchString(name) {
				resp.Diagnostics.AddAttributeError(at, "Invalid attributes", fmt.Sprintf("%q is not an LDAP attribute name.", name))
				continue
			}
			base := strings.ToLower(strings.SplitN(name, ";", 2)[0])
			if arg, ok := ldapReservedAttributes[base]; ok {
				resp.Diagnostics.AddAttributeError(at, "Reserved attribute",
					fmt.Sprintf("Attribute %s is managed through %s; remove it from attributes.", name, arg))
				continue
			}
			if l, ok := v.(types.List); ok && ldapKnown(l) && len(l.Elements()) == 0 {
				resp.Diagnostics.AddAttributeError(at, "Empty attribute", fmt.Sprintf("Attribute %s has no value; remove it from attributes instead.", name))
			}
		}
	}
	if ldapKnown(m.ExpiresAt) {
		if _, err := lifecycle.ParseEndDate(m.ExpiresAt.ValueString(), time.UTC); err != nil {
			add("expires_at", "Invalid expires_at", err.Error())
		}
	}
	switch {
	case !m.PasswordWO.IsNull() && m.PasswordWOVersion.IsNull():
		add("password_wo_version", "Missing password_wo_version",
			"password_wo is write-only, so Terraform cannot see when it changes: set password_wo_version, and change it whenever the password should be set again.")
	case m.PasswordWO.IsNull() && !m.PasswordWOVersion.IsNull():
		add("password_wo", "Missing password_wo", "password_wo_version is set but password_wo is not: there is no password to set.")
	case ldapKnown(m.PasswordWO) && m.PasswordWO.ValueString() == "":
		add("password_wo", "Empty password_wo", "An empty password would make an anonymous bind; leave password_wo unset for an account without a password.")
	}
}

// ModifyPlan resolves the target, computes dn and id, checks the DN against
// base_dn, decides replacement, fills object_classes and locked, and warns
// about an expiry that is missing or outlives the identity.
func (r *ldapAccountResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.rt == nil {
		return // destroy, or provider not configured yet
	}
	var plan, state, config ldapAccountModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	creating := req.State.Raw.IsNull()
	if !creating {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	}
	if resp.Diagnostics.HasError() || !ldapKnown(plan.Target) {
		return
	}
	tgt, err := r.rt.target(plan.Target.ValueString(), kindLDAP)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("target"), "Invalid target", r.rt.redact(err.Error()))
		return
	}
	c, err := tgt.ldapClient(ctx)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("target"), "Invalid LDAP target", r.rt.redact(err.Error()))
		return
	}

	// The DN, from dn or from uid and ou, escaped and checked against base_dn.
	if config.DN.IsUnknown() || config.UID.IsUnknown() || config.OU.IsUnknown() {
		plan.DN, plan.ID = types.StringUnknown(), types.StringUnknown()
	} else {
		dn, err := c.AccountDN(ldap.AccountSpec{DN: config.DN.ValueString(), UID: config.UID.ValueString(), OU: config.OU.ValueString()})
		if err != nil {
			at := path.Root("uid")
			switch {
			case !config.DN.IsNull():
				at = path.Root("dn")
			case !config.OU.IsNull():
				at = path.Root("ou")
			}
			resp.Diagnostics.AddAttributeError(at, "Invalid account DN", r.rt.redact(err.Error()))
			return
		}
		if !creating && ldapKnown(state.DN) {
			if !ldapSameDN(state.DN.ValueString(), dn) {
				resp.RequiresReplace = append(resp.RequiresReplace, path.Root("dn"))
			} else if config.DN.IsNull() {
				dn = state.DN.ValueString() // the same entry: keep its spelling
			}
		}
		plan.DN = types.StringValue(dn)
		plan.ID = types.StringValue(connector.ID(plan.Target.ValueString(), dn))
	}

	// Object classes: the flavour's default, kept from state when the
	// configuration does not say; a change replaces the entry.
	flavor := tgt.ldap.flavor()
	switch {
	case config.ObjectClasses.IsNull() && !creating:
		plan.ObjectClasses = state.ObjectClasses
	case config.ObjectClasses.IsNull():
		plan.ObjectClasses = types.SetValueMust(types.StringType, ldapStringValues(ldapDefaultObjectClasses(flavor)))
	case ldapKnown(config.ObjectClasses) && !creating && !ldapSameNames(ldapSetStrings(ctx, state.ObjectClasses), ldapSetStrings(ctx, config.ObjectClasses)):
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("object_classes"))
		if ldapKnown(plan.DN) && ldapSameDN(plan.DN.ValueString(), state.DN.ValueString()) &&
			plan.Target.ValueString() == state.Target.ValueString() && state.OnDestroy.ValueString() != string(ldap.RevokeDelete) {
			resp.Diagnostics.AddAttributeError(path.Root("object_classes"), "Cannot replace a disabled entry in place",
				fmt.Sprintf("Changing object_classes replaces %s, but on_destroy = %q keeps the locked entry, so the new one could not be created under the same DN. Apply on_destroy = \"delete\" first, or keep the object classes.", plan.DN.ValueString(), state.OnDestroy.ValueString()))
		}
	}
	if flavor == ldap.FlavorOpenLDAP && ldapKnown(config.ObjectClasses) && !config.Attributes.IsUnknown() && ldapKnown(plan.DN) {
		if missing := ldapMissingPersonAttributes(ldapSetStrings(ctx, config.ObjectClasses), ldapAttributeNames(config.Attributes), plan.DN.ValueString()); len(missing) > 0 {
			resp.Diagnostics.AddAttributeError(path.Root("attributes"), "Missing required attributes",
				fmt.Sprintf("The object classes %v require %s, which attributes does not give. Add them, or leave object_classes unset: with the default inetOrgPerson the account name fills cn and sn.",
					ldapSetStrings(ctx, config.ObjectClasses), strings.Join(missing, " and ")))
		}
	}

	// locked: suspension locks; otherwise the directory's word stands,
	// since sunset never unlocks.
	switch {
	case plan.Suspended.IsUnknown():
		plan.Locked = types.BoolUnknown()
	case plan.Suspended.ValueBool():
		plan.Locked = types.BoolValue(true)
	case creating:
		plan.Locked = types.BoolValue(false)
	default:
		plan.Locked = state.Locked
		if state.Locked.ValueBool() {
			resp.Diagnostics.AddAttributeWarning(path.Root("locked"), "Directory account is locked",
				fmt.Sprintf("%s is locked in the directory although it is not suspended: it was locked outside Terraform, by an interrupted revocation, or it was suspended before. sunset never unlocks an account; an administrator unlocks it deliberately.", state.DN.ValueString()))
		}
	}
	plan.EvidencePending = types.BoolValue(false)
	if !creating && state.EvidencePending.ValueBool() {
		resp.Diagnostics.AddAttributeWarning(path.Root("evidence_pending"), "Evidence pending",
			fmt.Sprintf("A change to %s was applied earlier but its evidence record could not be written. This apply writes it.", state.DN.ValueString()))
	}

	if ldapKnown(plan.ExpiresAt) {
		end, err := lifecycle.ParseEndDate(plan.ExpiresAt.ValueString(), r.rt.policy.Location)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("expires_at"), "Invalid expires_at", err.Error())
			return
		}
		if (creating || plan.ExpiresAt.ValueString() != state.ExpiresAt.ValueString()) && end.Passed(r.rt.now()) {
			resp.Diagnostics.AddAttributeWarning(path.Root("expires_at"), "expires_at has passed",
				fmt.Sprintf("expires_at %s has passed: the directory will refuse binds for %s.", plan.ExpiresAt.ValueString(), plan.DN.ValueString()))
		}
	}
	if ldapKnown(plan.IdentityID) && !plan.ExpiresAt.IsUnknown() {
		idEnd, seen := r.rt.knownEndDate(plan.IdentityID.ValueString())
		if summary, detail := ldapExpiryAdvice(plan.ExpiresAt.ValueString(), plan.IdentityID.ValueString(), idEnd, seen, r.rt.policy.Location); summary != "" {
			resp.Diagnostics.AddAttributeWarning(path.Root("expires_at"), summary, detail)
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// ldapExpiryAdvice says what is wrong with an account's expiry given its
// identity's end date ("" for none), if this run has seen the identity: no
// expiry while the identity ends, or an expiry after its end. It returns
// an empty summary when there is nothing to say.
func ldapExpiryAdvice(expiresAt, identity, identityEnd string, seen bool, loc *time.Location) (summary, detail string) {
	if !seen || identityEnd == "" {
		return "", ""
	}
	end, err := lifecycle.ParseEndDate(identityEnd, loc)
	if err != nil {
		return "", ""
	}
	if expiresAt == "" {
		return "No directory-side expiry",
			fmt.Sprintf("Identity %q ends at %s (end_date %s) but this account has no expires_at: the directory keeps accepting its binds until an apply revokes it. Set expires_at to the identity's end_date so that access ends on time even if no apply runs.",
				identity, end.EndsAt().UTC().Format(time.RFC3339), identityEnd)
	}
	exp, err := lifecycle.ParseEndDate(expiresAt, loc)
	if err != nil || !exp.EndsAt().After(end.EndsAt()) {
		return "", ""
	}
	return "Credential outlives its identity",
		fmt.Sprintf("expires_at %s (%s) is after identity %q ends at %s (end_date %s): the directory would accept binds after the identity's end. Set expires_at to the identity's end_date.",
			expiresAt, exp.EndsAt().UTC().Format(time.RFC3339), identity, end.EndsAt().UTC().Format(time.RFC3339), identityEnd)
}

// ldapDefaultObjectClasses are what the connector creates when given none.
func ldapDefaultObjectClasses(f ldap.Flavor) []string {
	if f == ldap.FlavorActiveDirectory {
		return []string{"top", "person", "organizationalPerson", "user"}
	}
	return []string{"inetOrgPerson"}
}

// ldapMissingPersonAttributes returns which of cn and sn, required by the
// person class that inetOrgPerson and organizationalPerson derive from,
// neither attributes nor the DN's first RDN gives. Only explicit classes
// need this: with the default the connector fills both from the name.
func ldapMissingPersonAttributes(classes, attrs []string, dn string) []string {
	person := false
	for _, c := range classes {
		switch strings.ToLower(c) {
		case "person", "organizationalperson", "inetorgperson":
			person = true
		}
	}
	if !person {
		return nil
	}
	have := map[string]bool{}
	for _, a := range attrs {
		have[strings.ToLower(strings.SplitN(a, ";", 2)[0])] = true
	}
	if parsed, err := goldap.ParseDN(dn); err == nil && len(parsed.RDNs) > 0 {
		for _, ava := range parsed.RDNs[0].Attributes {
			have[strings.ToLower(ava.Type)] = true
		}
	}
	var missing []string
	for _, req := range []string{"cn", "sn"} {
		if !have[req] {
			missing = append(missing, req)
		}
	}
	return missing
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

	// A credential whose issue cannot be recorded is not created: find out
	// before touching the directory.
	if _, err := r.rt.openLedger(); err != nil {
		resp.Diagnostics.AddError("Cannot open the evidence ledger", fmt.Sprintf("Ledger %s: %v. No account was created.", r.rt.ledgerFile, err))
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

// undoCreate handles an account created but not recorded. An unrecorded
// live credential is the worst outcome, so the entry (seconds old, created
// by this call because Create refuses an existing DN) is taken out of its
// groups and deleted again and the apply fails; the next apply creates it
// afresh and records it. Deleting, not locking, leaves the DN free for
// that retry. If the removal fails too, the account is kept in state
// (Terraform taints it) with its credential.issued record held as pending
// evidence, so it is tracked: the next apply writes that record and
// revokes the account.
func (r *ldapAccountResource) undoCreate(ctx context.Context, c *ldap.Client, plan ldapAccountModel, acct ldap.Account, recDiags diag.Diagnostics, resp *resource.CreateResponse) {
	dn := plan.DN.ValueString()
	cause := ldapDiagText(recDiags)
	_, err := c.Revoke(ctx, dn, ldap.RevokeDelete)
	if err == nil {
		var v connector.Verification
		if v, err = c.Verify(ctx, dn); err == nil && !v.Absent {
			err = fmt.Errorf("the entry is still present after deleting it: %s", v.Checked)
		}
	}
	if err == nil {
		resp.Diagnostics.AddError("Cannot record the new credential",
			fmt.Sprintf("%s\n\n%s was created but its credential.issued record could not be written, so it was deleted again: no credential stays live without evidence. The next apply creates it again.", cause, dn))
		return
	}
	resp.Diagnostics.AddError("Cannot record the new credential, and cannot undo it",
		fmt.Sprintf("%s\n\n%s was created but its credential.issued record could not be written, and deleting it again failed: %s\n\nThe account is kept in state (tainted) with the record pending, so that it is not forgotten: the next apply writes the record and revokes the account. Fix the ledger first.",
			cause, dn, r.rt.redact(err.Error())))
	resp.Diagnostics.Append(r.fromAccount(ctx, &plan, acct, false)...)
	plan.EvidencePending = types.BoolValue(true)
	rec := r.issuedRecord(plan)
	resp.Diagnostics.Append(ldapSetPending(ctx, resp.Private, []evidence.Record{rec})...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// issuedRecord is the credential.issued record recordIssued writes, for
// holding as pending evidence.
func (r *ldapAccountResource) issuedRecord(m ldapAccountModel) evidence.Record {
	expires := "none"
	if spec, diags := r.spec(context.Background(), m); !diags.HasError() && spec.ExpiresAt != nil {
		expires = spec.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return evidence.Record{
		Event: evidence.EventCredentialIssued, Target: m.Target.ValueString(), System: systemLDAP,
		Account: m.DN.ValueString(), Action: "create", Identity: r.identity(m),
		Details: map[string]string{"expires_at": expires, "applied_at": r.rt.now().UTC().Format(time.RFC3339)},
	}
}

func (r *ldapAccountResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	ctx = r.rt.maskSecrets(ctx)
	var state ldapAccountModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	dn, target := state.DN.ValueString(), state.Target.ValueString()
	// A directory that cannot be read leaves state as it was, with a
	// warning, rather than failing the refresh: an error here would stop
	// the whole plan, and with it every revocation in every other target,
	// and would keep this account's own destroy from being attempted and
	// recorded. State is never dropped on an unanswered question: only a
	// directory that says "no such entry" removes the account from state.
	keep := func(err error) {
		resp.Diagnostics.AddWarning("Cannot refresh directory account",
			fmt.Sprintf("%s in target %q could not be read (%s). Its last known state is kept; drift is not detected until the directory answers.", dn, target, r.rt.redact(err.Error())))
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
		resp.Diagnostics.AddWarning("Directory account deleted outside Terraform",
			fmt.Sprintf("%s no longer exists in target %q. It is removed from state; if it is still declared, the plan creates it again.", dn, target))
		resp.State.RemoveResource(ctx)
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
	if _, err := r.rt.openLedger(); err != nil {
		resp.Diagnostics.AddError("Cannot open the evidence ledger", fmt.Sprintf("Ledger %s: %v. The account was not changed.", r.rt.ledgerFile, err))
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
	setPassword := !plan.PasswordWOVersion.Equal(state.PasswordWOVersion) && !plan.PasswordWOVersion.IsNull()
	if setPassword {
		// The version, never the password.
		changes["password_wo_version"] = evidence.Change{Old: ldapOrNone(state.PasswordWOVersion.String()), New: plan.PasswordWOVersion.String()}
		if password == nil {
			resp.Diagnostics.AddAttributeError(path.Root("password_wo"), "Missing password_wo", "password_wo_version changed but password_wo is not set: there is no password to set.")
			return
		}
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
	resp.Diagnostics.Append(r.rt.revokeAndRecord(ctx, revocation{
		target: targetName, system: systemLDAP, account: dn,
		identity: r.identity(state), trigger: r.rt.destroyTrigger(state.ExpiresAt.ValueString()),
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

// lastCredentialIdentity finds the identity of the newest ledger record
// of a credential, for import. Any failure means "not known".
func (rt *runtime) lastCredentialIdentity(target, dn string) string {
	f, err := os.Open(rt.ledgerFile)
	if err != nil {
		return ""
	}
	defer f.Close()
	id := ""
	_ = evidence.Scan(f, func(_ int, rec evidence.Record) error {
		if rec.Target == target && rec.Identity != nil && rec.Identity.ID != "" && ldapSameDN(rec.Account, dn) {
			id = rec.Identity.ID
		}
		return nil
	})
	return id
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
	if ldapKnown(m.DN) && !ldapSameDN(m.DN.ValueString(), acct.DN) || !ldapKnown(m.DN) {
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
	if ldapKnown(m.Attributes) {
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
	if ldapKnown(m.Attributes) {
		attrs, d := ldapAttributesMap(ctx, m.Attributes)
		diags.Append(d...)
		spec.Attributes = attrs
	}
	if ldapKnown(m.ExpiresAt) {
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

// changes lists what an update changes, for credential.changed: never a
// password, only its version.
func (r *ldapAccountResource) changes(ctx context.Context, state, plan ldapAccountModel) map[string]evidence.Change {
	changes := map[string]evidence.Change{}
	str := func(v types.String) string { return v.ValueString() }
	if str(state.ExpiresAt) != str(plan.ExpiresAt) {
		changes["expires_at"] = evidence.Change{Old: ldapOrNone(str(state.ExpiresAt)), New: ldapOrNone(str(plan.ExpiresAt))}
	}
	if a, b := ldapSetText(ldapSetStrings(ctx, state.Groups)), ldapSetText(ldapSetStrings(ctx, plan.Groups)); a != b {
		changes["groups"] = evidence.Change{Old: a, New: b}
	}
	oldAttrs, _ := ldapAttributesMap(ctx, state.Attributes)
	newAttrs, _ := ldapAttributesMap(ctx, plan.Attributes)
	for name, vals := range newAttrs {
		if old, ok := oldAttrs[name]; !ok || !ldapSameValues(old, vals) {
			changes["attributes."+name] = evidence.Change{Old: ldapSetText(oldAttrs[name]), New: ldapSetText(vals)}
		}
	}
	for name, vals := range oldAttrs {
		if _, ok := newAttrs[name]; !ok {
			changes["attributes."+name] = evidence.Change{Old: ldapSetText(vals), New: "none"}
		}
	}
	if str(state.IdentityID) != str(plan.IdentityID) {
		changes["identity_id"] = evidence.Change{Old: ldapOrNone(str(state.IdentityID)), New: str(plan.IdentityID)}
	}
	if str(state.OnDestroy) != str(plan.OnDestroy) {
		changes["on_destroy"] = evidence.Change{Old: ldapOrNone(str(state.OnDestroy)), New: str(plan.OnDestroy)}
	}
	if state.Suspended.ValueBool() != plan.Suspended.ValueBool() {
		changes["suspended"] = evidence.Change{Old: strconv.FormatBool(state.Suspended.ValueBool()), New: strconv.FormatBool(plan.Suspended.ValueBool())}
	}
	return changes
}

// ldapDirectoryChange reports whether changes touch the directory (rather
// than only state, like identity_id or on_destroy), and which keys do.
func ldapDirectoryChange(changes map[string]evidence.Change) ([]string, bool) {
	var keys []string
	for k := range changes {
		if k == "expires_at" || k == "groups" || k == "password_wo_version" || strings.HasPrefix(k, "attributes.") {
			keys = append(keys, k)
		}
	}
	return keys, len(keys) > 0
}

func (r *ldapAccountResource) changeRecord(m ldapAccountModel, changes map[string]evidence.Change, action string) evidence.Record {
	return evidence.Record{
		Event: evidence.EventCredentialChanged, Target: m.Target.ValueString(), System: systemLDAP,
		Account: m.DN.ValueString(), Action: action, Identity: r.identity(m), Changes: changes,
	}
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

func (r *ldapAccountResource) recordSuspension(ctx context.Context, m ldapAccountModel, v connector.Verification, changes map[string]evidence.Change) diag.Diagnostics {
	rec := r.changeRecord(m, changes, "lock")
	at := v.CheckedAt.UTC()
	rec.Verification, rec.VerifiedAt = v.Checked, &at
	_, diags := r.rt.record(ctx, rec)
	return diags
}

// expiryEnforcementWarning warns when the directory would not enforce the
// expiry just written: on OpenLDAP, ppolicy ignores pwdEndTime for entries
// no password policy governs. The account is kept (it is what was asked
// for, and the next destroy still revokes it), but the promise that access
// ends without an apply does not hold, and the user must know.
func (r *ldapAccountResource) expiryEnforcementWarning(ctx context.Context, tgt *target, m ldapAccountModel, diags *diag.Diagnostics) {
	if !ldapKnown(m.ExpiresAt) || tgt == nil {
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

// ldapPendingKey is the private-state key holding evidence records that an
// apply could not write.
const ldapPendingKey = "pending_evidence"

// privateData is what the framework's private state offers.
type privateData interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func ldapSetPending(ctx context.Context, p privateData, recs []evidence.Record) diag.Diagnostics {
	if p == nil {
		return nil
	}
	if len(recs) == 0 {
		return p.SetKey(ctx, ldapPendingKey, nil)
	}
	b, err := json.Marshal(recs)
	if err != nil {
		var diags diag.Diagnostics
		diags.AddError("Cannot keep pending evidence", err.Error())
		return diags
	}
	return p.SetKey(ctx, ldapPendingKey, b)
}

// flushPending writes the evidence records an earlier apply could not,
// before anything else happens to the account. It reports false (with an
// error) when they still cannot be written: nothing proceeds ahead of them.
func (r *ldapAccountResource) flushPending(ctx context.Context, in, out privateData, diags *diag.Diagnostics) bool {
	if in == nil {
		return true
	}
	raw, d := in.GetKey(ctx, ldapPendingKey)
	diags.Append(d...)
	if len(raw) == 0 {
		return !diags.HasError()
	}
	var recs []evidence.Record
	if err := json.Unmarshal(raw, &recs); err != nil {
		diags.AddError("Cannot read pending evidence", err.Error())
		return false
	}
	for i, rec := range recs {
		rec.Seq, rec.Time, rec.Prev, rec.Hash, rec.HMAC = 0, time.Time{}, "", "", ""
		if _, d := r.rt.record(ctx, rec); d.HasError() {
			diags.Append(d...)
			diags.AddError("Pending evidence still cannot be written",
				fmt.Sprintf("%d evidence record(s) from an earlier apply are owed for this account; nothing else is done to it until they are written.", len(recs)-i))
			diags.Append(ldapSetPending(ctx, out, recs[i:])...)
			return false
		}
	}
	diags.Append(ldapSetPending(ctx, out, nil)...)
	return !diags.HasError()
}

// ldapPassword is the write-only password from the configuration, if set.
func ldapPassword(config ldapAccountModel) *string {
	if !ldapKnown(config.PasswordWO) {
		return nil
	}
	pw := config.PasswordWO.ValueString()
	return &pw
}

// ldapMaskPassword keeps the account's password out of every log line.
func ldapMaskPassword(ctx context.Context, pw *string) context.Context {
	if pw == nil || len(*pw) < minSecretLen {
		return ctx
	}
	ctx = tflog.MaskMessageStrings(ctx, *pw)
	return tflog.MaskAllFieldValuesStrings(ctx, *pw)
}

// ldapRedact turns a connector error into a message with no secret: the
// target's, and the account's password.
func ldapRedact(rt *runtime, err error, pw *string) string {
	msg := rt.redact(err.Error())
	if pw != nil && len(*pw) >= minSecretLen {
		msg = strings.ReplaceAll(msg, *pw, redacted)
	}
	return msg
}

func ldapDiagText(diags diag.Diagnostics) string {
	var parts []string
	for _, d := range diags.Errors() {
		parts = append(parts, d.Summary()+": "+d.Detail())
	}
	return strings.Join(parts, "\n")
}

func ldapOrNone(s string) string {
	if s == "" || s == "<null>" {
		return "none"
	}
	return s
}

func ldapMergeDetails(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// ldapSetStrings returns a known set's strings (nil otherwise), sorted.
func ldapSetStrings(ctx context.Context, s types.Set) []string {
	var out []string
	if ldapKnown(s) {
		for _, e := range s.Elements() {
			if v, ok := e.(types.String); ok && ldapKnown(v) {
				out = append(out, v.ValueString())
			}
		}
	}
	sort.Strings(out)
	return out
}

func ldapStringValues(in []string) []attr.Value {
	out := make([]attr.Value, 0, len(in))
	for _, s := range in {
		out = append(out, types.StringValue(s))
	}
	return out
}

func ldapSetText(v []string) string {
	if v == nil {
		return "none"
	}
	v = slices.Clone(v)
	sort.Strings(v)
	return "[" + strings.Join(v, "; ") + "]"
}

// ldapSameNames compares schema names (object classes) as sets,
// case-insensitively.
func ldapSameNames(a, b []string) bool {
	norm := func(in []string) []string {
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = strings.ToLower(s)
		}
		sort.Strings(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}

// ldapSameValues compares attribute values as sets.
func ldapSameValues(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Strings(x)
	sort.Strings(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

func ldapAttributesMap(ctx context.Context, m types.Map) (map[string][]string, diag.Diagnostics) {
	out := map[string][]string{}
	if !ldapKnown(m) {
		return out, nil
	}
	diags := m.ElementsAs(ctx, &out, false)
	return out, diags
}

func ldapAttributeNames(m types.Map) []string {
	var out []string
	if ldapKnown(m) {
		for k := range m.Elements() {
			out = append(out, k)
		}
	}
	return out
}

// ldapLogRevoke logs what Revoke found and did.
func ldapLogRevoke(ctx context.Context, dn string, res ldap.RevokeResult) {
	tflog.Info(ctx, "directory account revoked", map[string]any{
		"dn": dn, "absent": res.Absent, "locked": res.Locked, "deleted": res.Deleted,
		"removed_from_groups": strings.Join(res.RemovedFrom, "; "),
	})
}
