package scanner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/scanner/locate"
)

// Finding is one thing wrong, with where it is declared.
type Finding struct {
	Rule     string
	Severity Severity
	// Message is one human sentence about this occurrence.
	Message string
	Target  string
	// System is the target's kind as its connector names it: postgresql, scim, ldap.
	System   string
	Account  string
	Identity string
	Owner    string
	EndDate  string
	// Overdue is how long the access has outlived its end (0 when not applicable).
	Overdue time.Duration
	// Checked says what was checked, in the target's words.
	Checked string
	// Location is the declaration the finding points at.
	Location locate.Location
	// Address is the Terraform resource address, when there is one.
	Address     string
	Fingerprint string
}

// Fingerprint is a stable hash of what a finding is about, independent of
// time, line numbers and wording, so baselines and code scanning alerts
// follow the same finding from one scan to the next.
func Fingerprint(rule, target, account, identity string) string {
	h := sha256.New()
	for _, s := range []string{rule, target, account, identity} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// RuleInfo returns the finding's rule.
func (f Finding) RuleInfo() Rule {
	r, _ := RuleByID(f.Rule)
	return r
}

type findingJSON struct {
	Rule           string `json:"rule"`
	Severity       string `json:"severity"`
	Message        string `json:"message"`
	Target         string `json:"target,omitempty"`
	System         string `json:"system,omitempty"`
	Account        string `json:"account,omitempty"`
	Identity       string `json:"identity,omitempty"`
	Owner          string `json:"owner,omitempty"`
	EndDate        string `json:"end_date,omitempty"`
	Overdue        string `json:"overdue,omitempty"`
	OverdueSeconds int64  `json:"overdue_seconds,omitempty"`
	Checked        string `json:"checked,omitempty"`
	Location       string `json:"location,omitempty"`
	File           string `json:"file,omitempty"`
	Line           int    `json:"line,omitempty"`
	Address        string `json:"address,omitempty"`
	OWASP          string `json:"owasp_nhi"`
	NIST           string `json:"nist_csf"`
	Fingerprint    string `json:"fingerprint"`
}

// MarshalJSON writes the finding with its rule's mappings and the overdue
// time both readable ("3d4h") and in seconds.
func (f Finding) MarshalJSON() ([]byte, error) {
	r := f.RuleInfo()
	return json.Marshal(findingJSON{
		Rule: f.Rule, Severity: f.Severity.String(), Message: f.Message, Target: f.Target, System: f.System,
		Account: f.Account, Identity: f.Identity, Owner: f.Owner, EndDate: f.EndDate,
		Overdue: FormatOverdue(f.Overdue), OverdueSeconds: int64(f.Overdue / time.Second), Checked: f.Checked,
		Location: f.Location.String(), File: f.Location.File, Line: f.Location.Line, Address: f.Address,
		OWASP: r.OWASP, NIST: r.NIST, Fingerprint: f.Fingerprint,
	})
}

// FormatOverdue writes a duration in days and hours ("3d4h", "5h", "12m"),
// "" for zero.
func FormatOverdue(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	days := d / (24 * time.Hour)
	rest := d - days*24*time.Hour
	hours := rest / time.Hour
	switch {
	case days > 0 && hours > 0:
		return itoa(int64(days)) + "d" + itoa(int64(hours)) + "h"
	case days > 0:
		return itoa(int64(days)) + "d"
	case hours > 0:
		return itoa(int64(hours)) + "h"
	}
	return itoa(int64(rest/time.Minute)) + "m"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
