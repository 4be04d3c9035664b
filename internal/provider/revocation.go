package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
)

// revocation is one credential removal as every credential resource does it:
// Revoke, then an independent Verify, then exactly one ledger record.
type revocation struct {
	target   string
	system   string
	account  string
	identity *evidence.IdentityRef
	trigger  evidence.Trigger
	// action names what Revoke does in the target's words: "disable",
	// "drop", "deactivate", "delete", "lock".
	action string
	revoke func(context.Context) error
	verify func(context.Context) (connector.Verification, error)
	// details, when set, is called after the attempt and adds what the
	// target reported (sessions terminated, memberships revoked) to the record.
	details func() map[string]string
}

// revokeAndRecord runs a revocation. It succeeds only when the target
// confirms the access is gone and the ledger holds the record; otherwise it
// records credential.revoke_failed where it can and returns an error, so
// Terraform keeps the resource in state and the next apply retries.
func (rt *runtime) revokeAndRecord(ctx context.Context, r revocation) diag.Diagnostics {
	var diags diag.Diagnostics
	ctx = rt.maskSecrets(ctx)
	requested := rt.now().UTC()
	base := evidence.Record{
		Target: r.target, System: r.system, Account: r.account, Identity: r.identity,
		Trigger: r.trigger, Action: r.action, RequestedAt: &requested,
	}
	fail := func(summary, detail string, v *connector.Verification) diag.Diagnostics {
		rec := base
		rec.Event = evidence.EventRevokeFailed
		rec.Details = r.attemptDetails()
		rec.Error = rt.redact(detail)
		if v != nil && v.Checked != "" {
			at := v.CheckedAt.UTC()
			rec.Verification, rec.VerifiedAt = v.Checked, &at
		}
		_, recDiags := rt.record(ctx, rec)
		diags.Append(recDiags...)
		diags.AddError(summary, rt.redact(detail)+"\n\nThe resource stays in state; the next apply retries the revocation.")
		return diags
	}

	tflog.Info(ctx, "revoking credential", map[string]any{"target": r.target, "account": r.account, "action": r.action})
	stepCtx, cancel := rt.revocationStep(ctx, r.target)
	err := r.revoke(stepCtx)
	err = stepTimedOut(stepCtx, err)
	cancel()
	if err != nil {
		return fail("Revocation failed", fmt.Sprintf("Revoking %s in target %q (%s) failed: %v", r.account, r.target, r.system, err), nil)
	}
	stepCtx, cancel = rt.revocationStep(ctx, r.target)
	v, err := r.verify(stepCtx)
	err = stepTimedOut(stepCtx, err)
	cancel()
	if err != nil {
		return fail("Revocation could not be verified", fmt.Sprintf("Verifying that %s is gone from target %q (%s) failed: %v", r.account, r.target, r.system, err), nil)
	}
	if !v.Gone {
		return fail("Revocation did not take effect", fmt.Sprintf("After revoking %s in target %q (%s), the target still reports access: %s", r.account, r.target, r.system, v.Checked), &v)
	}

	verified := v.CheckedAt.UTC()
	if verified.IsZero() {
		verified = rt.now().UTC()
	}
	removed := v.RemovedAt.UTC()
	if v.RemovedAt.IsZero() {
		removed = verified
	}
	rec := base
	rec.Event = evidence.EventCredentialRevoked
	rec.Details = r.attemptDetails()
	rec.RemovedAt, rec.VerifiedAt, rec.Verification = &removed, &verified, v.Checked
	_, recDiags := rt.record(ctx, rec)
	diags.Append(recDiags...)
	return diags
}

// revocationStep bounds one step of a revocation by the target's step
// timeout, if it has one, so that a server that stops answering fails the
// destroy (recorded, retried by the next apply) instead of holding the
// apply forever. The evidence record is written under the caller's
// context, never under an expired step's.
func (rt *runtime) revocationStep(ctx context.Context, targetName string) (context.Context, context.CancelFunc) {
	if t, ok := rt.targets[targetName]; ok {
		if d := t.stepTimeout(); d > 0 {
			return context.WithTimeoutCause(ctx, d, stepTimeoutError{d})
		}
	}
	return context.WithCancel(ctx)
}

// stepTimeoutError says which limit ran out, for the operator.
type stepTimeoutError struct{ d time.Duration }

func (e stepTimeoutError) Error() string {
	return fmt.Sprintf("no answer within the target's timeout (%s)", e.d)
}

// stepTimedOut adds the reason to the error of a step whose time limit
// ran out: the connector's own text ("context deadline exceeded") does not
// say which limit it was or how to change it.
func stepTimedOut(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
		return fmt.Errorf("%w: %v", err, cause)
	}
	return err
}

func (r revocation) attemptDetails() map[string]string {
	if r.details == nil {
		return nil
	}
	return compactDetails(r.details())
}

// credentialEndDate is the end date that decides a credential's destroy
// trigger: its identity's (seen in this run, else declared in the ledger),
// else the credential's own expiry. A role without an expiry whose identity
// ended is an end_date_reached revocation, not a removal from configuration.
func credentialEndDate(identity *evidence.IdentityRef, expiresAt string) string {
	if identity != nil && identity.EndDate != "" {
		return identity.EndDate
	}
	return expiresAt
}

// destroyTrigger says why a credential is being destroyed, from what state
// holds: its end (the identity's end date) has passed, or it was removed
// from the configuration.
func (rt *runtime) destroyTrigger(endDate string) evidence.Trigger {
	if endDate == "" {
		return evidence.TriggerRemovedFromConfiguration
	}
	end, err := lifecycle.ParseEndDate(endDate, rt.policy.Location)
	if err == nil && end.Passed(rt.now()) {
		return evidence.TriggerEndDateReached
	}
	return evidence.TriggerRemovedFromConfiguration
}

// issueRecord is the credential.issued record of a new credential.
func (rt *runtime) recordIssued(ctx context.Context, targetName, system, account, action string, identity *evidence.IdentityRef, expires *time.Time) diag.Diagnostics {
	rec := evidence.Record{
		Event: evidence.EventCredentialIssued, Target: targetName, System: system, Account: account,
		Action: action, Identity: identity,
	}
	if expires != nil {
		rec.Details = map[string]string{"expires_at": expires.UTC().Format(time.RFC3339)}
	} else {
		rec.Details = map[string]string{"expires_at": "none"}
	}
	_, diags := rt.record(rt.maskSecrets(ctx), rec)
	return diags
}
