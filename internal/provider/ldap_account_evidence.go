package provider

// Evidence of sunset_ldap_account: credential.changed records, and the
// records an apply could not write, held in private state until one can.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/ldap"
	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
)

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
	cause := diagText(recDiags)
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

// changes lists what an update changes, for credential.changed: never a
// password, only its version.
func (r *ldapAccountResource) changes(ctx context.Context, state, plan ldapAccountModel) map[string]evidence.Change {
	changes := map[string]evidence.Change{}
	str := func(v types.String) string { return v.ValueString() }
	if str(state.ExpiresAt) != str(plan.ExpiresAt) {
		changes["expires_at"] = evidence.Change{Old: orNone(str(state.ExpiresAt)), New: orNone(str(plan.ExpiresAt))}
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
		changes["identity_id"] = evidence.Change{Old: orNone(str(state.IdentityID)), New: str(plan.IdentityID)}
	}
	if str(state.OnDestroy) != str(plan.OnDestroy) {
		changes["on_destroy"] = evidence.Change{Old: orNone(str(state.OnDestroy)), New: str(plan.OnDestroy)}
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

func (r *ldapAccountResource) recordSuspension(ctx context.Context, m ldapAccountModel, v connector.Verification, changes map[string]evidence.Change) diag.Diagnostics {
	rec := r.changeRecord(m, changes, "lock")
	at := v.CheckedAt.UTC()
	rec.Verification, rec.VerifiedAt = v.Checked, &at
	_, diags := r.rt.record(ctx, rec)
	return diags
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
