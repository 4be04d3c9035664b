package provider

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
	"github.com/sunset-iam/terraform-provider-sunset/internal/safeguard"
)

// runtime is what Configure hands to every resource and data source: the
// policy, the clock, the ledger and the targets. One per provider instance;
// safe for the concurrent calls Terraform makes at -parallelism > 1.
type runtime struct {
	now    func() time.Time
	policy lifecycle.Policy
	actor  string
	run    string

	ledgerFile string
	ledgerOpts evidence.Options
	ledgerOnce sync.Once
	ledger     *evidence.Ledger
	ledgerErr  error
	// recoveries holds the ledger.recovered records Append wrote, by seq,
	// until record() turns the one before its own record into a warning.
	recoveries sync.Map

	targets map[string]*target
	// breaker stops a plan that destroys more sunset resources than allowed.
	breaker *safeguard.Breaker
	// shipper copies ledger records to an external collector, if one is
	// configured.
	shipper *evidence.Shipper
	// secrets are the targets' passwords and tokens, scrubbed from logs and
	// error messages.
	secrets []string

	// endDates remembers the end date of every identity this provider
	// instance has seen (roster reads, sunset_identity plans and reads), so
	// credential resources can warn when their expiry outlives the identity.
	endDates sync.Map
}

// rememberEndDate notes an identity's end date ("" for none).
func (rt *runtime) rememberEndDate(identity, endDate string) {
	rt.endDates.Store(identity, endDate)
}

// knownEndDate returns the end date of an identity seen earlier in this
// run; ok is false when the identity has not been seen.
func (rt *runtime) knownEndDate(identity string) (endDate string, ok bool) {
	v, ok := rt.endDates.Load(identity)
	if !ok {
		return "", false
	}
	return v.(string), true
}

// openLedger opens the ledger on first use, so that a plan never touches it.
func (rt *runtime) openLedger() (*evidence.Ledger, error) {
	rt.ledgerOnce.Do(func() {
		opts := rt.ledgerOpts
		opts.OnRecovery = func(r evidence.Record) { rt.recoveries.Store(r.Seq, r) }
		rt.ledger, rt.ledgerErr = evidence.Open(rt.ledgerFile, opts)
	})
	return rt.ledger, rt.ledgerErr
}

// record appends one evidence record, stamped with the actor and run. A
// record that cannot be written is an error for the caller to surface: an
// action without its evidence must not be reported as done.
func (rt *runtime) record(ctx context.Context, rec evidence.Record) (evidence.Record, diag.Diagnostics) {
	var diags diag.Diagnostics
	l, err := rt.openLedger()
	if err != nil {
		diags.AddError("Cannot open the evidence ledger", fmt.Sprintf("Ledger %s: %v", rt.ledgerFile, err))
		return rec, diags
	}
	rec.Actor, rec.Run = rt.actor, rt.run
	written, err := l.Append(ctx, rec)
	if err != nil {
		diags.AddError("Cannot write to the evidence ledger", fmt.Sprintf("Ledger %s: %v. The action is not recorded and is reported as failed so that it is retried.", rt.ledgerFile, err))
		return rec, diags
	}
	tflog.Debug(ctx, "evidence recorded", map[string]any{"event": string(written.Event), "seq": written.Seq, "target": written.Target, "account": written.Account})
	// Append writes a ledger.recovered record right before ours when it
	// found a torn last line: the operator hears of it in this apply, not
	// only from the next `sunset evidence verify`.
	if v, ok := rt.recoveries.LoadAndDelete(written.Seq - 1); ok {
		rr := v.(evidence.Record)
		d := rr.Details
		tflog.Warn(ctx, "evidence ledger: torn line recovered", map[string]any{"line": d[evidence.DetailTornLine], "seq": rr.Seq})
		diags.AddWarning("Evidence ledger: a torn line was recovered",
			fmt.Sprintf("Line %s of the evidence ledger %s was damaged (%s), as a crash or power loss in the middle of a write leaves it (or an edit of the file). "+
				"It stays in the file but is not trusted as a record: ledger.recovered record %d names it (sha256 %s, %s bytes) and the chain continues from the last valid record; `sunset evidence verify` lists it. "+
				"A revocation whose record was being written never reported success, so Terraform kept it in state and retries it.",
				d[evidence.DetailTornLine], rt.ledgerFile, d[evidence.DetailReason], rr.Seq, d[evidence.DetailTornSHA256], d[evidence.DetailTornBytes]))
	}
	diags.Append(rt.deliverEvidence(ctx)...)
	return written, diags
}

// identityRef is how an identity appears in evidence records.
func identityRef(name, kind, owner, endDate string) *evidence.IdentityRef {
	return &evidence.IdentityRef{ID: name, Name: name, Kind: kind, Owner: owner, EndDate: endDate}
}

// lastDeclaration finds the newest declaration of an identity in the ledger,
// for import. An identity offboarded since is not declared.
func (rt *runtime) lastDeclaration(name string) (*evidence.IdentityRef, error) {
	f, err := os.Open(rt.ledgerFile)
	if err != nil {
		return nil, fmt.Errorf("import reads the identity's declaration from the evidence ledger, which cannot be opened: %v", err)
	}
	defer f.Close()
	var last *evidence.IdentityRef
	err = evidence.Scan(f, func(_ int, rec evidence.Record) error {
		if rec.Identity == nil || rec.Identity.Name != name {
			return nil
		}
		switch rec.Event {
		case evidence.EventIdentityDeclared, evidence.EventIdentityChanged:
			last = rec.Identity
		case evidence.EventIdentityOffboarded:
			last = nil
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the evidence ledger %s: %v", rt.ledgerFile, err)
	}
	if last == nil {
		return nil, fmt.Errorf("the evidence ledger %s holds no current declaration of identity %q; declare it in configuration instead of importing it", rt.ledgerFile, name)
	}
	return last, nil
}

// guardDestroy is called from every sunset resource's ModifyPlan when the
// plan destroys or replaces it. It counts the destroy against the
// mass-revocation breaker and fails the plan when the breaker trips; it
// warns when an acknowledgement was set that the plan did not need.
func (rt *runtime) guardDestroy(ctx context.Context, resourceType, id string) diag.Diagnostics {
	var diags diag.Diagnostics
	if rt == nil || rt.breaker == nil {
		return diags
	}
	unneeded, err := rt.breaker.Destroy(ctx, resourceType+" "+id)
	if err != nil {
		diags.AddError("Mass-revocation safeguard", err.Error())
	}
	if unneeded != nil {
		diags.AddWarning("Mass-revocation safeguard: acknowledgement not needed", unneeded.String())
	}
	return diags
}

// deliverEvidence sends records the collector has not acknowledged yet, in
// order. It never fails: a down collector is a warning, and the records wait
// in the ledger for the next run.
func (rt *runtime) deliverEvidence(ctx context.Context) diag.Diagnostics {
	var diags diag.Diagnostics
	if rt.shipper == nil {
		return diags
	}
	rep := rt.shipper.Deliver(ctx)
	if w := rep.Warning(); w != "" {
		diags.AddWarning("Evidence not delivered to the collector", rt.redact(w))
	}
	return diags
}
