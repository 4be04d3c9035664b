package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// terraform-plugin-testing shows a test terraform's errors as text and its
// warnings not at all, and terraform shows an attribute-scoped diagnostic
// on its attribute only when it can find that attribute in the
// configuration: a top-level argument or one element of it. A diagnostic
// on a nested attribute (targets["app"].scim.timeout) or on one the
// configuration leaves out (a missing end_date) is shown on the enclosing
// block, exactly as one raised with no attribute at all. So the tests that
// a diagnostic names its attribute also read what the provider sent:
// diagRecorder serves the provider in-process, as protoV6ProviderFactories
// does, and keeps every diagnostic of every response, with the attribute
// path terraform received.

// recordedDiag is one diagnostic the provider sent to terraform.
type recordedDiag struct {
	RPC      string
	Severity tfprotov6.DiagnosticSeverity
	Summary  string
	Detail   string
	Path     string // attrPathString of its attribute, "" when it has none
}

func (d recordedDiag) String() string {
	return fmt.Sprintf("%s %s %q at %q: %q", d.RPC, d.Severity, d.Summary, d.Path, d.Detail)
}

type diagRecorder struct {
	mu    sync.Mutex
	diags []recordedDiag
}

// factories serve the provider to terraform, recording its diagnostics.
func (r *diagRecorder) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	serve := providerserver.NewProtocol6WithError(New("test")())
	return map[string]func() (tfprotov6.ProviderServer, error){
		"sunset": func() (tfprotov6.ProviderServer, error) {
			s, err := serve()
			if err != nil {
				return nil, err
			}
			return &recordingServer{ProviderServer: s, rec: r}, nil
		},
	}
}

func (r *diagRecorder) add(rpc string, diags []*tfprotov6.Diagnostic) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range diags {
		if d == nil {
			continue
		}
		r.diags = append(r.diags, recordedDiag{RPC: rpc, Severity: d.Severity, Summary: d.Summary, Detail: d.Detail, Path: attrPathString(d.Attribute)})
	}
}

// find returns the diagnostics of a severity with this summary.
func (r *diagRecorder) find(sev tfprotov6.DiagnosticSeverity, summary string) []recordedDiag {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []recordedDiag
	for _, d := range r.diags {
		if d.Severity == sev && d.Summary == summary {
			out = append(out, d)
		}
	}
	return out
}

func (r *diagRecorder) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	lines := make([]string, len(r.diags))
	for i, d := range r.diags {
		lines[i] = "  " + d.String()
	}
	return strings.Join(lines, "\n")
}

// expectOn fails the test unless every diagnostic of a severity with this
// summary is on the attribute at path (attrPathString's form), and there is
// at least one; each must also hold every one of details.
func (r *diagRecorder) expectOn(t *testing.T, sev tfprotov6.DiagnosticSeverity, summary, path string, details ...string) {
	t.Helper()
	found := r.find(sev, summary)
	if len(found) == 0 {
		t.Fatalf("the provider sent no %s %q; it sent:\n%s", sev, summary, r.all())
	}
	for _, d := range found {
		if d.Path != path {
			t.Errorf("%s %q is on attribute %q, want %q (%s)", sev, summary, d.Path, path, d.RPC)
		}
		for _, want := range details {
			if !strings.Contains(d.Detail, want) {
				t.Errorf("%s %q does not say %q: %q", sev, summary, want, d.Detail)
			}
		}
	}
}

// attrPathString writes an attribute path as HCL would address it:
// identities["etl"].end_date, require_end_date[0].
func attrPathString(p *tftypes.AttributePath) string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	for _, s := range p.Steps() {
		switch s := s.(type) {
		case tftypes.AttributeName:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(s))
		case tftypes.ElementKeyString:
			fmt.Fprintf(&b, "[%q]", string(s))
		case tftypes.ElementKeyInt:
			fmt.Fprintf(&b, "[%d]", int64(s))
		case tftypes.ElementKeyValue:
			fmt.Fprintf(&b, "[%s]", tftypes.Value(s).String())
		default:
			fmt.Fprintf(&b, "[%v]", s)
		}
	}
	return b.String()
}

// recordingServer is the provider's server, each response's diagnostics
// recorded on the way to terraform.
type recordingServer struct {
	tfprotov6.ProviderServer
	rec *diagRecorder
}

func (s *recordingServer) ValidateProviderConfig(ctx context.Context, req *tfprotov6.ValidateProviderConfigRequest) (*tfprotov6.ValidateProviderConfigResponse, error) {
	resp, err := s.ProviderServer.ValidateProviderConfig(ctx, req)
	if resp != nil {
		s.rec.add("ValidateProviderConfig", resp.Diagnostics)
	}
	return resp, err
}

func (s *recordingServer) ConfigureProvider(ctx context.Context, req *tfprotov6.ConfigureProviderRequest) (*tfprotov6.ConfigureProviderResponse, error) {
	resp, err := s.ProviderServer.ConfigureProvider(ctx, req)
	if resp != nil {
		s.rec.add("ConfigureProvider", resp.Diagnostics)
	}
	return resp, err
}

func (s *recordingServer) ValidateResourceConfig(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	resp, err := s.ProviderServer.ValidateResourceConfig(ctx, req)
	if resp != nil {
		s.rec.add("ValidateResourceConfig", resp.Diagnostics)
	}
	return resp, err
}

func (s *recordingServer) ValidateDataResourceConfig(ctx context.Context, req *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	resp, err := s.ProviderServer.ValidateDataResourceConfig(ctx, req)
	if resp != nil {
		s.rec.add("ValidateDataResourceConfig", resp.Diagnostics)
	}
	return resp, err
}

func (s *recordingServer) ReadDataSource(ctx context.Context, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	resp, err := s.ProviderServer.ReadDataSource(ctx, req)
	if resp != nil {
		s.rec.add("ReadDataSource", resp.Diagnostics)
	}
	return resp, err
}

func (s *recordingServer) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	resp, err := s.ProviderServer.ReadResource(ctx, req)
	if resp != nil {
		s.rec.add("ReadResource", resp.Diagnostics)
	}
	return resp, err
}

func (s *recordingServer) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	resp, err := s.ProviderServer.PlanResourceChange(ctx, req)
	if resp != nil {
		s.rec.add("PlanResourceChange", resp.Diagnostics)
	}
	return resp, err
}

func (s *recordingServer) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	resp, err := s.ProviderServer.ApplyResourceChange(ctx, req)
	if resp != nil {
		s.rec.add("ApplyResourceChange", resp.Diagnostics)
	}
	return resp, err
}

func (s *recordingServer) ImportResourceState(ctx context.Context, req *tfprotov6.ImportResourceStateRequest) (*tfprotov6.ImportResourceStateResponse, error) {
	resp, err := s.ProviderServer.ImportResourceState(ctx, req)
	if resp != nil {
		s.rec.add("ImportResourceState", resp.Diagnostics)
	}
	return resp, err
}

// wantAttrError is an error a configuration must fail with, on its attribute.
type wantAttrError struct {
	summary string
	// path is the attribute the diagnostic must carry, in attrPathString's
	// form.
	path string
	// line, a regular expression, is the configuration terraform must show
	// under the error's "on FILE line N" line: the attribute's own line.
	// Empty when terraform can only show the enclosing block (a nested or
	// absent attribute); path alone then checks the attribute.
	line   string
	detail []string
}

// onAttr is a wantAttrError whose line is the attribute's assignment, name =,
// for an attribute terraform can find (a top-level argument).
func onAttr(summary, attr string, detail ...string) wantAttrError {
	return wantAttrError{summary: summary, path: attr, line: regexp.QuoteMeta(attr) + `\s*=`, detail: detail}
}

// onNested is a wantAttrError on an attribute terraform can only show as
// its enclosing block: a nested attribute, or one the configuration leaves
// out (a missing reassign_to).
func onNested(summary, path string, detail ...string) wantAttrError {
	return wantAttrError{summary: summary, path: path, detail: detail}
}

// onLine is a wantAttrError whose shown configuration is line (a regular
// expression), for an element of an argument such as one map entry.
func onLine(summary, path, line string, detail ...string) wantAttrError {
	return wantAttrError{summary: summary, path: path, line: line, detail: detail}
}

// regexp matches the error as terraform prints it: the summary, the
// attribute's configuration line right under "on FILE line N" when line is
// set, then the detail (whose spaces match any wrapping).
func (e wantAttrError) regexp() *regexp.Regexp {
	flex := func(s string) string { return strings.ReplaceAll(regexp.QuoteMeta(s), " ", `\s+`) }
	re := `(?s)Error: ` + flex(e.summary) + `\n`
	if e.line != "" {
		re += `\n(?:\s*with [^\n]*\n)?\s*on [^\n]* line \d+[^\n]*:\n\s*\d+:\s*` + e.line
	}
	for _, d := range e.detail {
		re += `.*` + flex(d)
	}
	return regexp.MustCompile(re)
}

// testAttrError runs step, which must fail with want: terraform prints it
// as want says, and the provider sent it on want's attribute.
func testAttrError(t *testing.T, step resource.TestStep, want wantAttrError) {
	t.Helper()
	rec := &diagRecorder{}
	step.ExpectError = want.regexp()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: rec.factories(),
		Steps:                    []resource.TestStep{step},
	})
	rec.expectOn(t, tfprotov6.DiagnosticSeverityError, want.summary, want.path)
}
