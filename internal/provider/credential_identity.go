package provider

import (
	"os"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
)

// declarations indexes, once per provider run, the newest declaration of
// every identity in the ledger. A credential's destroy runs in an apply in
// which its identity is typically being destroyed too, so nothing in that
// run has seen the identity (knownEndDate is empty there); the ledger still
// says who it was.
type declarations struct {
	once   sync.Once
	byName map[string]evidence.IdentityRef
	// lastCredential is the newest credential event per TARGET/ACCOUNT.
	lastCredential map[string]evidence.Event
}

// declarationIndexes maps *runtime to its *declarations. A runtime lives for
// one terraform command, so the index is never stale by more than that.
var declarationIndexes sync.Map

func (rt *runtime) declarations() map[string]evidence.IdentityRef {
	return rt.ledgerIndex().byName
}

// revocationPending reports whether the ledger's newest record of a
// credential is a failed revocation: access was being removed, and its
// removal has not been recorded as verified.
func (rt *runtime) revocationPending(target, account string) bool {
	return rt.ledgerIndex().lastCredential[connector.ID(target, account)] == evidence.EventRevokeFailed
}

func (rt *runtime) ledgerIndex() *declarations {
	v, _ := declarationIndexes.LoadOrStore(rt, &declarations{})
	d := v.(*declarations)
	d.once.Do(func() {
		d.byName = map[string]evidence.IdentityRef{}
		d.lastCredential = map[string]evidence.Event{}
		f, err := os.Open(rt.ledgerFile)
		if err != nil {
			return // no ledger yet: nothing declared
		}
		defer f.Close()
		// Best effort: the records are enrichment of a credential record,
		// and a ledger that does not verify is reported by whoever verifies
		// it, not by a revocation that would otherwise succeed.
		_ = evidence.Scan(f, func(_ int, rec evidence.Record) error {
			if rec.Identity != nil && (rec.Event == evidence.EventIdentityDeclared || rec.Event == evidence.EventIdentityChanged) {
				d.byName[rec.Identity.Name] = *rec.Identity
			}
			if rec.Account != "" {
				d.lastCredential[connector.ID(rec.Target, rec.Account)] = rec.Event
			}
			return nil
		})
	})
	return d
}

// credentialIdentity is how a credential's identity appears in its evidence
// records: the id, with kind, owner and end date from the identity's newest
// declaration in the ledger, and the end date seen in this run when there
// is one (it is newer than the ledger's). nil when the credential names no
// identity.
func (rt *runtime) credentialIdentity(id types.String) *evidence.IdentityRef {
	name := id.ValueString()
	if name == "" {
		return nil
	}
	ref := evidence.IdentityRef{ID: name, Name: name}
	if decl, ok := rt.declarations()[name]; ok {
		ref.Kind, ref.Owner, ref.EndDate = decl.Kind, decl.Owner, decl.EndDate
	}
	if end, ok := rt.knownEndDate(name); ok {
		ref.EndDate = end
	}
	return &ref
}
