package report

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/sunset-iam/terraform-provider-sunset/scanner"
)

// The SARIF 2.1.0 subset sunset writes. Field names follow the OASIS
// schema; GitHub code scanning reads rules' security-severity, results'
// physical locations and partialFingerprints.

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool              sarifTool         `json:"tool"`
	AutomationDetails map[string]string `json:"automationDetails"`
	Invocations       []sarifInvocation `json:"invocations"`
	Results           []sarifResult     `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration map[string]any `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level   string    `json:"level"`
	Message sarifText `json:"message"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation map[string]string `json:"artifactLocation"`
	Region           *sarifRegion      `json:"region,omitempty"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

// FingerprintKey is sunset's key in partialFingerprints. It is not
// primaryLocationLineHash, which GitHub computes itself from file content:
// sunset's fingerprint is about the access, not about a line.
const FingerprintKey = "sunsetFinding/v1"

func level(s scanner.Severity) string {
	switch s {
	case scanner.SeverityCritical, scanner.SeverityHigh:
		return "error"
	case scanner.SeverityMedium:
		return "warning"
	}
	return "note"
}

// ruleName turns "stale-access" into "StaleAccess".
func ruleName(id string) string {
	var b strings.Builder
	for _, p := range strings.Split(id, "-") {
		if p != "" {
			b.WriteString(strings.ToUpper(p[:1]) + p[1:])
		}
	}
	return b.String()
}

// artifactURI makes a location's file a URI reference: a relative path in
// slash form (relative to where the scan ran, normally the repository
// root), or a file:// URI for an absolute path.
func artifactURI(file string) map[string]string {
	slash := filepath.ToSlash(file)
	if filepath.IsAbs(file) {
		if !strings.HasPrefix(slash, "/") {
			slash = "/" + slash
		}
		return map[string]string{"uri": "file://" + escapePath(slash)}
	}
	return map[string]string{"uri": escapePath(strings.TrimPrefix(slash, "./")), "uriBaseId": "%SRCROOT%"}
}

// escapePath percent-encodes what a URI path may not hold.
func escapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~/!$&'()*+,;=:@", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func writeSARIF(w io.Writer, r Report) error {
	res := r.Result
	index := map[string]int{}
	driver := sarifDriver{Name: "sunset", InformationURI: "https://github.com/sunset-iam/terraform-provider-sunset", Version: r.Version}
	for i, rule := range scanner.Rules {
		index[rule.ID] = i
		driver.Rules = append(driver.Rules, sarifRule{
			ID: rule.ID, Name: ruleName(rule.ID),
			ShortDescription: sarifText{Text: rule.Title},
			FullDescription:  sarifText{Text: rule.Short},
			Help: sarifText{
				Text:     rule.Short + "\n\n" + rule.Help + "\n\nOWASP NHI Top 10: " + rule.OWASP + ". NIST CSF 2.0: " + rule.NIST + ".",
				Markdown: "**" + rule.Short + "**\n\n" + rule.Help + "\n\n| OWASP Non-Human Identities Top 10 (2025) | NIST CSF 2.0 |\n|---|---|\n| " + rule.OWASP + " | " + rule.NIST + " |",
			},
			DefaultConfiguration: map[string]any{"level": level(rule.Severity)},
			Properties: map[string]any{
				"tags":              []string{"security", "identity", "owasp-nhi/" + strings.Fields(rule.OWASP)[0], "nist-csf/" + rule.NIST},
				"precision":         "very-high",
				"security-severity": rule.Severity.SecurityScore(),
				"problem.severity":  level(rule.Severity),
			},
		})
	}
	run := sarifRun{
		Tool:              sarifTool{Driver: driver},
		AutomationDetails: map[string]string{"id": "sunset/scan/"},
		Invocations:       []sarifInvocation{{ExecutionSuccessful: res.Complete()}},
		Results:           []sarifResult{},
	}
	for _, p := range res.Incomplete {
		run.Invocations[0].Notifications = append(run.Invocations[0].Notifications, sarifNotification{Level: "error", Message: sarifText{Text: p.Message}})
	}
	for _, f := range res.Findings {
		phys := sarifPhysical{ArtifactLocation: artifactURI(f.Location.File)}
		if f.Location.File == "" {
			phys.ArtifactLocation = map[string]string{"uri": "sunset.yaml", "uriBaseId": "%SRCROOT%"}
		}
		if f.Location.Line > 0 {
			phys.Region = &sarifRegion{StartLine: f.Location.Line}
		}
		props := map[string]any{
			"severity": f.Severity.String(), "target": f.Target, "system": f.System, "account": f.Account,
			"identity": f.Identity, "owner": f.Owner, "end_date": f.EndDate, "overdue": scanner.FormatOverdue(f.Overdue),
			"overdue_seconds": int64(f.Overdue.Seconds()), "checked": f.Checked, "address": f.Address,
			"owasp_nhi": f.RuleInfo().OWASP, "nist_csf": f.RuleInfo().NIST,
		}
		for k, v := range props {
			if v == "" {
				delete(props, k)
			}
		}
		run.Results = append(run.Results, sarifResult{
			RuleID: f.Rule, RuleIndex: index[f.Rule], Level: level(f.Severity),
			Message:             sarifText{Text: f.Message},
			Locations:           []sarifLocation{{PhysicalLocation: phys}},
			PartialFingerprints: map[string]string{FingerprintKey: f.Fingerprint},
			Properties:          props,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{
		Schema:  "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}
