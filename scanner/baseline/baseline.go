// Package baseline holds findings a team has accepted, by fingerprint, each
// with a reason and an expiry. An accepted finding is suppressed until its
// entry expires; an expired entry stops suppressing and says so, so that an
// acceptance is never forever.
package baseline

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
	"github.com/sunset-iam/terraform-provider-sunset/scanner"
)

// Entry is one accepted finding.
type Entry struct {
	Fingerprint string
	Rule        string // informative: what was accepted
	Reason      string
	ApprovedBy  string
	Expires     lifecycle.EndDate
	Line        int
}

// Baseline is a loaded baseline file.
type Baseline struct {
	File    string
	Entries []Entry
}

var fingerprintRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

type fileEntry struct {
	Fingerprint string `yaml:"fingerprint"`
	Rule        string `yaml:"rule"`
	Reason      string `yaml:"reason"`
	ApprovedBy  string `yaml:"approved_by"`
	Expires     string `yaml:"expires"`
}

// Load reads a baseline file:
//
//	accepted:
//	  - fingerprint: 3f2a...   # from the scan's json or sarif output
//	    rule: unmanaged-account
//	    reason: vendor appliance, replacement ordered (JIRA-123)
//	    approved_by: ciso@example.com
//	    expires: 2027-09-30
func Load(file string, loc *time.Location) (*Baseline, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	return Parse(data, file, loc)
}

// Parse reads a baseline from data.
func Parse(data []byte, file string, loc *time.Location) (*Baseline, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, fmt.Errorf("baseline %s: not YAML: %v", file, err)
	}
	b := &Baseline{File: file}
	if len(doc.Content) == 0 {
		return b, nil
	}
	var top struct {
		Accepted []yaml.Node `yaml:"accepted"`
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("baseline %s:%d: want a mapping with an \"accepted\" list", file, root.Line)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "accepted" {
			return nil, fmt.Errorf("baseline %s:%d: unknown field %q (want \"accepted\")", file, root.Content[i].Line, root.Content[i].Value)
		}
	}
	if err := root.Decode(&top); err != nil {
		return nil, fmt.Errorf("baseline %s: %v", file, err)
	}
	seen := map[string]int{}
	for _, n := range top.Accepted {
		var fe fileEntry
		if err := n.Decode(&fe); err != nil {
			return nil, fmt.Errorf("baseline %s:%d: %v", file, n.Line, err)
		}
		if err := strictFields(&n); err != nil {
			return nil, fmt.Errorf("baseline %s:%d: %v", file, n.Line, err)
		}
		fe.Fingerprint = strings.ToLower(strings.TrimSpace(fe.Fingerprint))
		if !fingerprintRE.MatchString(fe.Fingerprint) {
			return nil, fmt.Errorf("baseline %s:%d: fingerprint %q is not 32 hex digits (copy it from the scan's json or sarif output)", file, n.Line, fe.Fingerprint)
		}
		for _, req := range []struct{ v, name string }{{fe.Reason, "reason"}, {fe.ApprovedBy, "approved_by"}, {fe.Expires, "expires"}} {
			if strings.TrimSpace(req.v) == "" {
				return nil, fmt.Errorf("baseline %s:%d: entry %s needs %s: an accepted finding needs a reason, an approver and an expiry", file, n.Line, fe.Fingerprint, req.name)
			}
		}
		if fe.Rule != "" {
			if _, ok := scanner.RuleByID(fe.Rule); !ok {
				return nil, fmt.Errorf("baseline %s:%d: rule %q is not a sunset rule", file, n.Line, fe.Rule)
			}
		}
		exp, err := lifecycle.ParseEndDate(fe.Expires, loc)
		if err != nil {
			return nil, fmt.Errorf("baseline %s:%d: expires: %v", file, n.Line, err)
		}
		if prev, dup := seen[fe.Fingerprint]; dup {
			return nil, fmt.Errorf("baseline %s:%d: fingerprint %s is already accepted at line %d", file, n.Line, fe.Fingerprint, prev)
		}
		seen[fe.Fingerprint] = n.Line
		b.Entries = append(b.Entries, Entry{Fingerprint: fe.Fingerprint, Rule: fe.Rule, Reason: fe.Reason, ApprovedBy: fe.ApprovedBy, Expires: exp, Line: n.Line})
	}
	return b, nil
}

func strictFields(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("an entry must be a mapping")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch k := n.Content[i].Value; k {
		case "fingerprint", "rule", "reason", "approved_by", "expires":
		default:
			return fmt.Errorf("unknown field %q", k)
		}
	}
	return nil
}

// Apply splits findings into those still reported and those suppressed at
// now. notices says, one line each, which entries expired (and so no longer
// suppress) and which unexpired entries match no finding any more, so that
// an acceptance of something fixed is removed before it can hide its return.
func (b *Baseline) Apply(findings []scanner.Finding, now time.Time) (kept, suppressed []scanner.Finding, notices []string) {
	if b == nil {
		return findings, nil, nil
	}
	active := map[string]*Entry{}
	used := map[string]bool{}
	for i := range b.Entries {
		e := &b.Entries[i]
		if e.Expires.Passed(now) {
			continue
		}
		active[e.Fingerprint] = e
	}
	for _, f := range findings {
		if e := active[f.Fingerprint]; e != nil {
			suppressed = append(suppressed, f)
			used[e.Fingerprint] = true
			continue
		}
		kept = append(kept, f)
	}
	present := map[string]scanner.Finding{}
	for _, f := range findings {
		present[f.Fingerprint] = f
	}
	for _, e := range b.Entries {
		if !e.Expires.Passed(now) {
			if !used[e.Fingerprint] {
				notices = append(notices, fmt.Sprintf("baseline %s:%d: the acceptance of %s (%q, until %s) matches no finding of this scan; remove the entry if what it accepted is gone", b.File, e.Line, e.Fingerprint, e.Reason, e.Expires))
			}
			continue
		}
		if f, ok := present[e.Fingerprint]; ok {
			notices = append(notices, fmt.Sprintf("baseline %s:%d: the acceptance of %s (%s %s/%s, %q) expired on %s; the finding is reported again", b.File, e.Line, e.Fingerprint, f.Rule, f.Target, f.Account, e.Reason, e.Expires))
		} else {
			notices = append(notices, fmt.Sprintf("baseline %s:%d: the acceptance of %s expired on %s; remove the entry", b.File, e.Line, e.Fingerprint, e.Expires))
		}
	}
	return kept, suppressed, notices
}
