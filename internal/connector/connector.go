// Package connector holds what every target system offers sunset.
//
// Each target system lives in its own sub-package (postgres, scim, ldap) and
// offers, in its own types, the same five verbs: Provision/Update, Revoke,
// Verify, Inventory and Describe. Provision, Update and Revoke take
// system-specific arguments and are called by the provider's resources
// directly. Verify, Inventory and Describe have the same shape everywhere and
// are gathered in the Target interface, which is all the scanner needs.
//
// Nothing in this tree imports Terraform.
package connector

import (
	"context"
	"errors"
	"time"
)

// Account is one account as a target system reports it.
type Account struct {
	// Key is the target's own stable key for the account: a PostgreSQL role
	// name, a SCIM user id, an LDAP DN. It is the ACCOUNT half of the
	// TARGET/ACCOUNT id used by state, the ledger and the scanner.
	Key string
	// Name is the human-facing name (userName, uid, role name). It may equal Key.
	Name string
	// Usable reports whether the account can authenticate or act right now.
	Usable bool
	// ExpiresAt is the target-side expiry, nil when the account has none.
	ExpiresAt *time.Time
	// Groups lists memberships (role names, group ids, group DNs).
	Groups []string
	// Sessions counts live sessions where the system has them.
	Sessions int
	// State says in the target's own words why the account is or is not
	// usable, e.g. "rolcanlogin=true" or "pwdAccountLockedTime=000001010000Z".
	State string
}

// Verification is the answer to "is this access really gone?", read back
// from the target independently of the call that removed it.
type Verification struct {
	// Gone is true only when the access is positively known to be gone.
	Gone bool
	// Absent is true when the account no longer exists at all.
	Absent bool
	// Checked says what was checked, for the evidence record:
	// "rolcanlogin=false, 0 memberships, 0 sessions".
	Checked string
	// CheckedAt is when the check ran, on the target's clock where it has one.
	CheckedAt time.Time
	// RemovedAt is when the target says the removal happened; zero if the
	// target does not say. Callers fall back to CheckedAt.
	RemovedAt time.Time
}

// Description names a target for evidence records. Endpoint never carries
// credentials.
type Description struct {
	// System is the kind of system: "postgresql", "scim", "ldap".
	System string
	// Endpoint is a redacted address: host, port, database or base DN.
	Endpoint string
}

// Target is what the scanner (and the provider's revocation path) needs from
// every connector, whatever the system.
type Target interface {
	// Describe names the system and a redacted endpoint.
	Describe() Description
	// Inventory streams every account, page by page, calling fn once per
	// account. Memory must stay flat whatever the number of accounts. An
	// error from fn stops the listing and is returned.
	Inventory(ctx context.Context, fn func(Account) error) error
	// Verify reads the account back and says whether its access is gone.
	// An error means the question could not be answered: never "gone".
	Verify(ctx context.Context, key string) (Verification, error)
	// Close releases connections.
	Close() error
}

// ErrSuspectEmpty is returned (wrapped) when a listing that should hold
// accounts comes back empty. An empty answer is never proof of absence.
var ErrSuspectEmpty = errors.New("the target returned no accounts where some were expected; treating the answer as suspect, not as proof of absence")

// ErrNotFound is returned (wrapped) by system-specific Get calls when the
// account does not exist.
var ErrNotFound = errors.New("account not found")
