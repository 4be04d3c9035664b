// Package scanner is sunset's drift engine: it joins what was declared
// (Terraform state, the roster, the evidence ledger) with what is live in
// each target (Inventory, and Verify where the ledger says access was
// revoked) and reports findings. It only ever reads from targets.
package scanner

import (
	"fmt"
	"strings"
)

// Severity orders findings; --fail-on compares against it.
type Severity int

// The severities, lowest first. SeverityNone is only a --fail-on value.
const (
	SeverityNone Severity = iota
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = []string{"none", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "unknown"
	}
	return severityNames[s]
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseSeverity reads a severity name (as --fail-on takes it).
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("severity %q is not one of critical, high, medium, low, none", s)
}

// SecurityScore is the CVSS-like score GitHub code scanning reads from a
// rule's security-severity property: over 9.0 is critical, 7.0-8.9 high,
// 4.0-6.9 medium, 0.1-3.9 low.
func (s Severity) SecurityScore() string {
	switch s {
	case SeverityCritical:
		return "9.5"
	case SeverityHigh:
		return "8.0"
	case SeverityMedium:
		return "5.5"
	case SeverityLow:
		return "3.0"
	}
	return "0.0"
}

// Rule IDs.
const (
	RuleStaleAccess             = "stale-access"
	RulePendingRevocation       = "pending-revocation"
	RuleRevocationNotPropagated = "revocation-not-propagated"
	RuleUnmanagedAccount        = "unmanaged-account"
	RuleOutlivesLifecycle       = "outlives-lifecycle"
	RuleOrphanedOwner           = "orphaned-owner"
	RuleExpiredException        = "expired-exception"
	RuleMissingEvidence         = "missing-evidence"
	RuleLedgerTampered          = "ledger-tampered"
)

// Rule is one kind of finding, with the frameworks it evidences.
type Rule struct {
	ID       string
	Title    string
	Severity Severity
	// OWASP is the OWASP Non-Human Identities Top 10 (2025) item.
	OWASP string
	// NIST is the NIST Cybersecurity Framework 2.0 subcategory.
	NIST string
	// Short is one sentence; Help says what it means and what to do.
	Short string
	Help  string
}

// Rules lists every rule, in report order (most severe kinds first).
var Rules = []Rule{
	{
		ID: RuleStaleAccess, Title: "Access outlives its identity", Severity: SeverityCritical,
		OWASP: "NHI1:2025 Improper Offboarding", NIST: "PR.AA-05",
		Short: "A declared credential is still usable after its identity's end date plus the SLA.",
		Help: "The identity this credential belongs to has ended (its end date passed, it was terminated in the source, or its exception expired) and the grace period (--sla / policy.sla) is over, yet the target still reports the account as usable. " +
			"Run `terraform plan` and apply the destroy of the credential (the roster's `active` map no longer holds the identity), or revoke it by hand and record why. If the identity must stay, declare an exception with an approver and an expiry.",
	},
	{
		ID: RuleRevocationNotPropagated, Title: "Revoked access is live again", Severity: SeverityCritical,
		OWASP: "NHI1:2025 Improper Offboarding", NIST: "PR.PS-01",
		Short: "The evidence ledger records the credential as revoked, but the target says it is usable.",
		Help: "A revocation was verified and recorded, and the target's own check (the connector's Verify) now says the access is back: someone re-enabled the account, restored it from a backup, or the revocation did not reach every replica. " +
			"Treat it as an incident: find who re-enabled it (the target's audit log), revoke it again, and declare it in Terraform if it is meant to exist.",
	},
	{
		ID: RuleLedgerTampered, Title: "Evidence ledger does not verify", Severity: SeverityCritical,
		OWASP: "NHI1:2025 Improper Offboarding", NIST: "PR.DS-01",
		Short: "The evidence ledger's hash chain is broken: a record was edited, removed, reordered or inserted.",
		Help: "Each ledger record holds the hash of the one before it, so any change to past evidence breaks the chain at the line reported. " +
			"Restore the ledger from its external copy or backup and compare; `sunset evidence verify LEDGER` names the first bad line. Revocation evidence after that line cannot be trusted until it is explained.",
	},
	{
		ID: RuleUnmanagedAccount, Title: "Account declared nowhere", Severity: SeverityHigh,
		OWASP: "NHI1:2025 Improper Offboarding", NIST: "PR.AA-01",
		Short: "A usable account exists in a target but no state declares it and no allow-list entry accepts it.",
		Help: "Accounts created outside Terraform have no owner, no end date and no revocation path, so nothing will ever end them. " +
			"Import it (`terraform import` with the TARGET/ACCOUNT id) and give it an identity with an owner and an end date, remove it, or accept it with a `policy.allow` entry that has a reason, an approver and an expiry. Built-in accounts belong in `policy.exclude`.",
	},
	{
		ID: RuleMissingEvidence, Title: "Credential vanished without evidence", Severity: SeverityHigh,
		OWASP: "NHI1:2025 Improper Offboarding", NIST: "PR.PS-04",
		Short: "The ledger records the credential as issued, it is gone from state, and no revocation was recorded.",
		Help: "Someone removed the resource from state (`terraform state rm`, a lost state file, another workspace) or revoked it outside sunset, so there is no proof of when or whether the access ended. " +
			"Check the target; if the account is gone, record how it was removed; if it is not, import it back and revoke it through Terraform. Pass every workspace's state with --state.",
	},
	{
		ID: RuleOutlivesLifecycle, Title: "Target-side expiry missing or too late", Severity: SeverityMedium,
		OWASP: "NHI7:2025 Long-Lived Secrets", NIST: "PR.AA-01",
		Short: "The target's own expiry of the credential is missing or later than its identity's end date.",
		Help: "Where a target can expire a credential itself (PostgreSQL VALID UNTIL, LDAP pwdEndTime / accountExpires), sunset sets the expiry to the identity's end date so access ends even if no apply runs. This one has no expiry, or a later one. " +
			"Set `expires_at` on the credential resource to the identity's end date and apply; check for out-of-band `ALTER ROLE ... VALID UNTIL` or directory edits.",
	},
	{
		ID: RuleOrphanedOwner, Title: "Owner missing or ended", Severity: SeverityMedium,
		OWASP: "NHI1:2025 Improper Offboarding", NIST: "GV.RR-02",
		Short: "The identity has no accountable owner, its owner is itself an ended identity, or the credential names no declared identity.",
		Help: "An identity without a live owner has no one to approve its extension or notice its misuse, which is how non-human identities outlive their purpose. " +
			"Set `owner` to a team address or a current person, and give every credential resource an `identity_id`.",
	},
	{
		ID: RuleExpiredException, Title: "Exception expired or unapproved", Severity: SeverityMedium,
		OWASP: "NHI1:2025 Improper Offboarding", NIST: "PR.AA-05",
		Short: "An exception (roster exception or allow-list entry) is past its own expiry, or has no approver.",
		Help: "Exceptions are data with an approver and an expiry, never open-ended. An expired exception no longer holds its identity active or allows its account; an exception without an approver is not honoured. " +
			"Renew it with a fresh approval and expiry, or remove it and let the access end.",
	},
	{
		ID: RulePendingRevocation, Title: "Revocation pending within the SLA", Severity: SeverityLow,
		OWASP: "NHI1:2025 Improper Offboarding", NIST: "PR.AA-05",
		Short: "The identity has ended and its credential is still usable, but the SLA has not run out yet.",
		Help:  "The next apply should destroy this credential. If it is still usable once the SLA runs out, it becomes stale-access.",
	},
}

// RuleByID returns the rule with the given id.
func RuleByID(id string) (Rule, bool) {
	for _, r := range Rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}
