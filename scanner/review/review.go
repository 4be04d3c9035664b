// Package review turns a plan (`terraform show -json planfile`) into the
// summary a reviewer reads as evidence before approving it: who loses
// access, who gets access and until when, whose end date moves and by how
// much, and which exceptions the roster holds.
package review

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
	"unicode"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/state"
)

// Revocation is a planned destroy of a sunset credential or identity.
type Revocation struct {
	Address  string `json:"address"`
	Type     string `json:"type"`
	Action   string `json:"action"` // destroy or replace
	Identity string `json:"identity,omitempty"`
	Owner    string `json:"owner,omitempty"`
	EndDate  string `json:"end_date,omitempty"`
	Target   string `json:"target,omitempty"`
	Account  string `json:"account,omitempty"`
	// Why says why the destroy happens as far as the plan shows: the end
	// date passed at plan time, or the resource left the configuration.
	Why string `json:"why"`
}

// Grant is a planned create of a sunset credential or identity.
type Grant struct {
	Address  string `json:"address"`
	Type     string `json:"type"`
	Identity string `json:"identity,omitempty"`
	Owner    string `json:"owner,omitempty"`
	Target   string `json:"target,omitempty"`
	// Expires is the credential's expires_at or the identity's end_date.
	Expires string `json:"expires,omitempty"`
	// Lifetime is from the plan's timestamp to Expires, in days.
	LifetimeDays *float64 `json:"lifetime_days,omitempty"`
	// Flag explains what a reviewer should question, "" if nothing.
	Flag string `json:"flag,omitempty"`
}

// Extension is a change of an identity's end date or a credential's expiry.
type Extension struct {
	Address  string  `json:"address"`
	Type     string  `json:"type"`
	Identity string  `json:"identity,omitempty"`
	Owner    string  `json:"owner,omitempty"`
	Field    string  `json:"field"`
	Old      string  `json:"old"`
	New      string  `json:"new"`
	Days     float64 `json:"days"` // positive: extended; negative: shortened
	Flag     string  `json:"flag,omitempty"`
}

// Exception is one identity the roster keeps active by an exception.
type Exception struct {
	Roster     string `json:"roster"`
	Identity   string `json:"identity"`
	Owner      string `json:"owner,omitempty"`
	EndDate    string `json:"end_date,omitempty"`
	Kind       string `json:"kind"`
	Reason     string `json:"reason"`
	ApprovedBy string `json:"approved_by"`
	Expires    string `json:"expires"`
}

// Summary is the review of one plan.
type Summary struct {
	PlannedAt   string       `json:"planned_at,omitempty"`
	Terraform   string       `json:"terraform_version,omitempty"`
	Revocations []Revocation `json:"revocations"`
	Grants      []Grant      `json:"new_grants"`
	Extensions  []Extension  `json:"end_date_extensions"`
	Exceptions  []Exception  `json:"exceptions"`
	// Flagged counts grants and extensions a reviewer should question.
	Flagged int `json:"flagged"`
}

// Options tunes the review.
type Options struct {
	// MaxGrant flags new grants (and extensions) whose lifetime from the
	// plan's timestamp exceeds it; 0 flags only missing expiries.
	MaxGrant time.Duration
	// Location reads calendar dates; nil is UTC.
	Location *time.Location
}

// MaxPlanBytes bounds a plan file.
const MaxPlanBytes = 1 << 30

// ReadFile reads and reviews a plan file.
func ReadFile(path string, opts Options) (*Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxPlanBytes+1))
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	if len(data) > MaxPlanBytes {
		return nil, fmt.Errorf("plan %s is larger than %d MiB", path, MaxPlanBytes>>20)
	}
	s, err := Review(data, opts)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	return s, nil
}

type identityInfo struct{ owner, endDate string }

// Review reviews a plan's JSON.
func Review(data []byte, opts Options) (*Summary, error) {
	var p tfjson.Plan
	if err := json.Unmarshal(data, &p); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("not JSON (byte %d): %s; pass the output of `terraform show -json PLANFILE`", se.Offset, shortError(err))
		}
		return nil, fmt.Errorf("not a plan from `terraform show -json PLANFILE`: %s", shortError(err))
	}
	if p.FormatVersion == "" || (p.ResourceChanges == nil && p.PlannedValues == nil && p.PriorState == nil) {
		return nil, errors.New("not a plan from `terraform show -json PLANFILE` (no format_version or no planned values); a state's show -json is not a plan")
	}
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	s := &Summary{PlannedAt: p.Timestamp, Terraform: p.TerraformVersion,
		Revocations: []Revocation{}, Grants: []Grant{}, Extensions: []Extension{}, Exceptions: []Exception{}}
	planned, _ := time.Parse(time.RFC3339, p.Timestamp)

	// Identities as the plan knows them, for owners and end dates of credentials.
	idents := map[string]identityInfo{}
	for _, rc := range p.ResourceChanges {
		if rc.Type != state.TypeIdentity || rc.Change == nil {
			continue
		}
		for _, v := range []any{rc.Change.Before, rc.Change.After} {
			if m, ok := v.(map[string]any); ok {
				if n := str(m, "name"); n != "" {
					idents[n] = identityInfo{owner: str(m, "owner"), endDate: str(m, "end_date")}
				}
			}
		}
	}

	ended := map[string]string{}
	for _, st := range []*tfjson.State{p.PriorState} {
		if st != nil && st.Values != nil {
			endedReasons(st.Values.RootModule, ended)
		}
	}
	if p.PlannedValues != nil {
		endedReasons(p.PlannedValues.RootModule, ended)
	}

	for _, rc := range p.ResourceChanges {
		if rc.Change == nil || rc.Mode != tfjson.ManagedResourceMode || (rc.Type != state.TypeIdentity && !state.CredentialTypes[rc.Type]) {
			continue
		}
		before, _ := rc.Change.Before.(map[string]any)
		after, _ := rc.Change.After.(map[string]any)
		a := rc.Change.Actions
		if a.Delete() || a.Replace() {
			r := revocation(rc, before, idents, planned, loc)
			if why := ended[r.Identity]; why != "" && r.Action == "destroy" {
				r.Why = why
			}
			s.Revocations = append(s.Revocations, r)
		}
		if a.Create() || a.Replace() {
			g := grant(rc, after, idents, planned, loc, opts.MaxGrant)
			if g.Flag != "" {
				s.Flagged++
			}
			s.Grants = append(s.Grants, g)
		}
		if a.Update() {
			for _, field := range []string{"end_date", "expires_at"} {
				if ext, ok := extension(rc, field, before, after, idents, planned, loc, opts.MaxGrant); ok {
					if ext.Flag != "" {
						s.Flagged++
					}
					s.Extensions = append(s.Extensions, ext)
				}
			}
		}
	}

	seen := map[string]bool{}
	for _, st := range []*tfjson.State{p.PriorState} {
		if st == nil || st.Values == nil {
			continue
		}
		s.Exceptions = append(s.Exceptions, exceptions(st.Values.RootModule, seen)...)
	}
	if p.PlannedValues != nil {
		s.Exceptions = append(s.Exceptions, exceptions(p.PlannedValues.RootModule, seen)...)
	}
	sort.Slice(s.Revocations, func(i, j int) bool { return s.Revocations[i].Address < s.Revocations[j].Address })
	sort.Slice(s.Grants, func(i, j int) bool { return s.Grants[i].Address < s.Grants[j].Address })
	sort.Slice(s.Extensions, func(i, j int) bool { return s.Extensions[i].Address < s.Extensions[j].Address })
	// By roster, then identity: a concatenation of the two compared
	// "data.r.a"+"bc" equal to "data.r.ab"+"c", and an unstable sort then
	// printed ties in map order. The pair is unique (exceptions dedups it).
	sort.Slice(s.Exceptions, func(i, j int) bool {
		a, b := s.Exceptions[i], s.Exceptions[j]
		if a.Roster != b.Roster {
			return a.Roster < b.Roster
		}
		return a.Identity < b.Identity
	})
	return s, nil
}

// shortError keeps a refusal short and on one line: terraform-json quotes
// the plan's own format_version in its errors, whatever its length and
// whatever control characters it holds (found by fuzzing).
func shortError(err error) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, err.Error())
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

func str(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

// identityOf says which identity a resource's values are about.
func identityOf(typ string, m map[string]any) string {
	if typ == state.TypeIdentity {
		if n := str(m, "name"); n != "" {
			return n
		}
		return str(m, "id")
	}
	return str(m, "identity_id")
}

func targetAccount(m map[string]any) (string, string) {
	id := str(m, "id")
	if t, a, ok := strings.Cut(id, "/"); ok {
		return t, a
	}
	return str(m, "target"), ""
}

func revocation(rc *tfjson.ResourceChange, before map[string]any, idents map[string]identityInfo, planned time.Time, loc *time.Location) Revocation {
	r := Revocation{Address: rc.Address, Type: rc.Type, Action: "destroy"}
	if rc.Change.Actions.Replace() {
		r.Action = "replace"
	}
	if before == nil {
		r.Why = "unknown (no prior values)"
		return r
	}
	r.Identity = identityOf(rc.Type, before)
	info := idents[r.Identity]
	r.Owner, r.EndDate = str(before, "owner"), str(before, "end_date")
	if r.Owner == "" {
		r.Owner = info.owner
	}
	if r.EndDate == "" {
		r.EndDate = info.endDate
	}
	if rc.Type != state.TypeIdentity {
		r.Target, r.Account = targetAccount(before)
	}
	r.Why = "removed from the configuration"
	if r.EndDate != "" && !planned.IsZero() {
		if e, err := lifecycle.ParseEndDate(r.EndDate, loc); err == nil && e.Passed(planned) {
			r.Why = "end date reached (" + r.EndDate + ")"
		}
	}
	if r.Action == "replace" {
		r.Why = "replaced: the old credential is revoked, a new one issued"
	}
	return r
}

func days(d time.Duration) float64 {
	return float64(int64(d.Hours()/24*10)) / 10
}

func grant(rc *tfjson.ResourceChange, after map[string]any, idents map[string]identityInfo, planned time.Time, loc *time.Location, max time.Duration) Grant {
	g := Grant{Address: rc.Address, Type: rc.Type}
	if after == nil {
		g.Flag = "values unknown until apply"
		return g
	}
	g.Identity = identityOf(rc.Type, after)
	g.Owner = str(after, "owner")
	if g.Owner == "" {
		g.Owner = idents[g.Identity].owner
	}
	field := "expires_at"
	if rc.Type == state.TypeIdentity {
		field = "end_date"
	} else {
		g.Target, _ = targetAccount(after)
		if g.Target == "" {
			g.Target = str(after, "target")
		}
	}
	g.Expires = str(after, field)
	unknown, _ := rc.Change.AfterUnknown.(map[string]any)
	switch {
	case g.Expires == "" && unknown[field] == true:
		g.Expires = "(known after apply)"
	case g.Expires == "":
		g.Flag = "no " + field + ": access with no end"
		if rc.Type != state.TypeIdentity {
			g.Flag += " (set expires_at to the identity's end date)"
		}
	default:
		e, err := lifecycle.ParseEndDate(g.Expires, loc)
		if err != nil {
			g.Flag = field + " is unreadable: " + err.Error()
			break
		}
		if !planned.IsZero() {
			d := days(e.EndsAt().Sub(planned))
			g.LifetimeDays = &d
			if max > 0 && e.EndsAt().Sub(planned) > max {
				g.Flag = fmt.Sprintf("lifetime %.1f days exceeds policy max_grant of %s", d, lifecycle.FormatDuration(max))
			}
		}
		if idEnd := idents[g.Identity].endDate; rc.Type != state.TypeIdentity && idEnd != "" {
			if ie, err := lifecycle.ParseEndDate(idEnd, loc); err == nil && e.EndsAt().After(ie.EndsAt()) {
				g.Flag = strings.TrimPrefix(g.Flag+"; ", "; ") + "expires after its identity's end date " + idEnd
			}
		}
	}
	return g
}

func extension(rc *tfjson.ResourceChange, field string, before, after map[string]any, idents map[string]identityInfo, planned time.Time, loc *time.Location, max time.Duration) (Extension, bool) {
	if before == nil || after == nil {
		return Extension{}, false
	}
	old, neu := str(before, field), str(after, field)
	if old == neu {
		return Extension{}, false
	}
	if _, has := after[field]; !has {
		if _, had := before[field]; !had {
			return Extension{}, false
		}
	}
	x := Extension{Address: rc.Address, Type: rc.Type, Field: field, Old: old, New: neu, Identity: identityOf(rc.Type, after)}
	x.Owner = str(after, "owner")
	if x.Owner == "" {
		x.Owner = idents[x.Identity].owner
	}
	o, oerr := lifecycle.ParseEndDate(old, loc)
	n, nerr := lifecycle.ParseEndDate(neu, loc)
	switch {
	case neu == "":
		x.Flag = "end removed: access no longer ends"
	case old == "":
		x.Flag = ""
	case oerr != nil || nerr != nil:
		x.Flag = "unreadable date"
	default:
		x.Days = days(n.EndsAt().Sub(o.EndsAt()))
		if max > 0 && !planned.IsZero() && n.EndsAt().Sub(planned) > max {
			x.Flag = fmt.Sprintf("new end is %.1f days away, beyond policy max_grant of %s", days(n.EndsAt().Sub(planned)), lifecycle.FormatDuration(max))
		}
	}
	return x, true
}

func exceptions(m *tfjson.StateModule, seen map[string]bool) []Exception {
	if m == nil {
		return nil
	}
	var out []Exception
	for _, r := range m.Resources {
		if r.Mode != tfjson.DataResourceMode || r.Type != state.TypeRoster {
			continue
		}
		ex, _ := r.AttributeValues["exceptions"].(map[string]any)
		for name, v := range ex {
			e, _ := v.(map[string]any)
			x, _ := e["exception"].(map[string]any)
			key := r.Address + "\x00" + name
			if e == nil || seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, Exception{Roster: r.Address, Identity: name, Owner: str(e, "owner"), EndDate: str(e, "end_date"),
				Kind: str(x, "kind"), Reason: str(x, "reason"), ApprovedBy: str(x, "approved_by"), Expires: str(x, "expires")})
		}
	}
	for _, c := range m.ChildModules {
		out = append(out, exceptions(c, seen)...)
	}
	return out
}

// endedReasons collects, from the roster data sources, why each ended
// identity ended, as the plan's roster evaluation says.
func endedReasons(m *tfjson.StateModule, out map[string]string) {
	if m == nil {
		return
	}
	for _, r := range m.Resources {
		if r.Mode != tfjson.DataResourceMode || r.Type != state.TypeRoster {
			continue
		}
		ended, _ := r.AttributeValues["ended"].(map[string]any)
		for name, v := range ended {
			e, _ := v.(map[string]any)
			if reason := str(e, "reason"); reason != "" {
				out[name] = "identity ended: " + strings.ReplaceAll(reason, "_", " ") + " (" + r.Address + ")"
			}
		}
	}
	for _, c := range m.ChildModules {
		endedReasons(c, out)
	}
}
