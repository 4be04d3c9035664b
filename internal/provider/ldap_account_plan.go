package provider

// Plan-time checks of sunset_ldap_account: what can be refused or warned
// about before anything reaches the directory.

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/ldap"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
)

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
	if known(m.UID) {
		if err := ldapCheckName("uid", m.UID.ValueString()); err != nil {
			add("uid", "Invalid uid", err.Error())
		}
	}
	if known(m.DN) {
		if err := ldapCheckDN("dn", m.DN.ValueString()); err != nil {
			add("dn", "Invalid dn", err.Error())
		}
	}
	if known(m.OU) {
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
	if known(m.Attributes) {
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
			if l, ok := v.(types.List); ok && known(l) && len(l.Elements()) == 0 {
				resp.Diagnostics.AddAttributeError(at, "Empty attribute", fmt.Sprintf("Attribute %s has no value; remove it from attributes instead.", name))
			}
		}
	}
	if known(m.ExpiresAt) {
		if _, err := lifecycle.ParseEndDate(m.ExpiresAt.ValueString(), time.UTC); err != nil {
			add("expires_at", "Invalid expires_at", err.Error())
		}
	}
	if !checkPasswordWO(m.PasswordWO, m.PasswordWOVersion, &resp.Diagnostics) && known(m.PasswordWO) && m.PasswordWO.ValueString() == "" {
		add("password_wo", "Empty password_wo", "An empty password would make an anonymous bind; leave password_wo unset for an account without a password.")
	}
}

// ModifyPlan resolves the target, computes dn and id, checks the DN against
// base_dn, decides replacement, fills object_classes and locked, and warns
// about an expiry that is missing or outlives the identity.
func (r *ldapAccountResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.rt == nil {
		return // provider not configured yet
	}
	if r.rt.guardPlannedDestroy(ctx, req, resp, "sunset_ldap_account", "id") {
		return
	}
	// A changed DN or object_classes replaces the entry (below).
	defer r.rt.guardPlannedReplace(ctx, req, resp, "sunset_ldap_account", "id")
	var plan, state, config ldapAccountModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	creating := req.State.Raw.IsNull()
	if !creating {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	}
	if resp.Diagnostics.HasError() || !known(plan.Target) {
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
		if !creating && known(state.DN) {
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
	case known(config.ObjectClasses) && !creating && !ldapSameNames(ldapSetStrings(ctx, state.ObjectClasses), ldapSetStrings(ctx, config.ObjectClasses)):
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("object_classes"))
		if known(plan.DN) && ldapSameDN(plan.DN.ValueString(), state.DN.ValueString()) &&
			plan.Target.ValueString() == state.Target.ValueString() && state.OnDestroy.ValueString() != string(ldap.RevokeDelete) {
			resp.Diagnostics.AddAttributeError(path.Root("object_classes"), "Cannot replace a disabled entry in place",
				fmt.Sprintf("Changing object_classes replaces %s, but on_destroy = %q keeps the locked entry, so the new one could not be created under the same DN. Apply on_destroy = \"delete\" first, or keep the object classes.", plan.DN.ValueString(), state.OnDestroy.ValueString()))
		}
	}
	if flavor == ldap.FlavorOpenLDAP && known(config.ObjectClasses) && !config.Attributes.IsUnknown() && known(plan.DN) {
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

	if known(plan.ExpiresAt) {
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
	if known(plan.IdentityID) && !plan.ExpiresAt.IsUnknown() {
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
