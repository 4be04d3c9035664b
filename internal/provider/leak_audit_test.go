//go:build linux

package provider

// Issue 7, item 5: the leak audit. DESIGN.md: "Evidence is never lost and
// never secret. Passwords, tokens and DSN secrets never appear in state,
// logs or the ledger."
//
// The provider binary runs under the real terraform with TF_LOG=TRACE
// (core and provider) against real servers, through a create, an update
// (password_wo_version bumped), failing operations (wrong credentials for
// each connector; the PostgreSQL server killed under a destroy) and a
// destroy. Every secret is unique and recognisable, and each is handed
// over the way users do: literally in the configuration, through the
// *_env attributes, through a sensitive input variable, and (password_wo)
// through an ephemeral input variable. Then every place a secret could
// land is searched for every secret, raw and in its escaped forms.
//
// Terraform, not the provider, keeps two kinds of copies, which the
// provider cannot prevent; the audit allows exactly these and nothing
// else (docs/index.md, "Secrets", tells users to prefer *_env and
// ephemeral variables because of them):
//   - a literal in the configuration is part of the saved plan file, and
//     `terraform show -json` of the plan prints it under configuration
//     (constant_value), sensitive and write-only attributes included;
//   - a sensitive input variable's value is in the saved plan file and in
//     `terraform show -json` of the plan under variables.NAME.value.
// Secrets from the environment and from ephemeral variables are allowed
// nowhere at all.

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// leakSource is how a secret reaches the provider, which decides the
// copies terraform itself is known to keep.
type leakSource string

const (
	fromLiteral      leakSource = "literal in the configuration"
	fromEnv          leakSource = "environment variable (*_env, SUNSET_EVIDENCE_KEY)"
	fromSensitiveVar leakSource = "sensitive input variable (TF_VAR_)"
	fromEphemeralVar leakSource = "ephemeral input variable (TF_VAR_)"
)

type leakSecret struct {
	label  string
	value  string
	source leakSource
}

// leakForm is one way a secret may be written out.
type leakForm struct{ name, text string }

// forms lists the secret as it is, URL-escaped three ways (query, path,
// and the userinfo of a DSN, with upper- and lower-case hex), and escaped
// for JSON.
func (s leakSecret) forms() []leakForm {
	userinfo := url.UserPassword("", s.value).String()[1:]
	js, _ := json.Marshal(s.value)
	all := []leakForm{
		{"raw", s.value},
		{"query-escaped", url.QueryEscape(s.value)},
		{"path-escaped", url.PathEscape(s.value)},
		{"userinfo-escaped", userinfo},
		{"json-escaped", string(js[1 : len(js)-1])},
	}
	lowerHex := regexp.MustCompile(`%[0-9A-F]{2}`)
	for _, f := range all[1:4] {
		all = append(all, leakForm{f.name + " (lower-case hex)", lowerHex.ReplaceAllStringFunc(f.text, strings.ToLower)})
	}
	var out []leakForm
	seen := map[string]bool{}
	for _, f := range all {
		if !seen[f.text] {
			seen[f.text] = true
			out = append(out, f)
		}
	}
	return out
}

// leakPlaceKind decides which of terraform's own copies a place may hold.
type leakPlaceKind int

const (
	placeOther    leakPlaceKind = iota
	placePlanJSON               // `terraform show -json PLAN`
	placePlanFile               // the saved plan file itself
	placeTerminal               // stdout/stderr: lines may be wrapped
)

type leakPlace struct {
	name string
	kind leakPlaceKind
	text string
}

type leakFinding struct {
	place, secret, form, excerpt string
}

func (f leakFinding) String() string {
	return fmt.Sprintf("%s holds %s (%s): …%s…", f.place, f.secret, f.form, f.excerpt)
}

// leakAudit searches places for secrets.
type leakAudit struct {
	secrets []leakSecret
	// sensitiveVars are the configuration's sensitive input variables,
	// whose values `terraform show -json` prints by design.
	sensitiveVars []string
}

// allowed says whether terraform itself keeps this secret in this kind of
// place (see the top of this file).
func (a *leakAudit) allowed(s leakSecret, kind leakPlaceKind) bool {
	return kind == placePlanFile && (s.source == fromLiteral || s.source == fromSensitiveVar)
}

// planJSONWithoutTerraformsCopies removes from a plan's JSON exactly the
// values terraform prints by design: each sensitive variable's value, and
// the constant values of the configuration (the provider block's and every
// resource's expressions). What remains (prior state, planned values,
// resource changes, the rest of the configuration) must hold no secret.
func (a *leakAudit) planJSONWithoutTerraformsCopies(text string) (string, error) {
	var plan map[string]any
	if err := json.Unmarshal([]byte(text), &plan); err != nil {
		return "", fmt.Errorf("plan JSON: %v", err)
	}
	if vars, ok := plan["variables"].(map[string]any); ok {
		for _, name := range a.sensitiveVars {
			if v, ok := vars[name].(map[string]any); ok {
				delete(v, "value")
			}
		}
	}
	dropConstants := func(exprs any) {
		m, _ := exprs.(map[string]any)
		for _, e := range m {
			if em, ok := e.(map[string]any); ok {
				delete(em, "constant_value")
			}
		}
	}
	if cfg, ok := plan["configuration"].(map[string]any); ok {
		if pc, ok := cfg["provider_config"].(map[string]any); ok {
			for _, p := range pc {
				if pm, ok := p.(map[string]any); ok {
					dropConstants(pm["expressions"])
				}
			}
		}
		if rm, ok := cfg["root_module"].(map[string]any); ok {
			rs, _ := rm["resources"].([]any)
			for _, r := range rs {
				if r, ok := r.(map[string]any); ok {
					dropConstants(r["expressions"])
				}
			}
		}
	}
	b, err := json.Marshal(plan)
	return string(b), err
}

// check returns every secret found in every place.
func (a *leakAudit) check(places []leakPlace) []leakFinding {
	var found []leakFinding
	for _, p := range places {
		text := p.text
		if p.kind == placePlanJSON {
			stripped, err := a.planJSONWithoutTerraformsCopies(text)
			if err != nil {
				found = append(found, leakFinding{place: p.name, secret: "(unreadable)", form: err.Error()})
				continue
			}
			text = stripped
		}
		var unwrapped string
		if p.kind == placeTerminal {
			// Terraform wraps long messages: a secret may be split by a
			// line break and indentation.
			unwrapped = strings.Join(strings.Fields(text), "")
		}
		for _, s := range a.secrets {
			if a.allowed(s, p.kind) {
				continue
			}
			for _, f := range s.forms() {
				i := strings.Index(text, f.text)
				where := text
				if i < 0 && unwrapped != "" {
					where = unwrapped
					i = strings.Index(unwrapped, f.text)
				}
				if i >= 0 {
					lo, hi := max(0, i-60), min(len(where), i+len(f.text)+60)
					found = append(found, leakFinding{place: p.name, secret: s.label, form: f.name,
						excerpt: strings.ReplaceAll(where[lo:hi], f.text, "<"+s.label+">")})
					break
				}
			}
		}
	}
	return found
}

// leakValue is a unique, recognisable secret with characters that every
// kind of escaping changes differently.
func leakValue(kind string) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "leak-" + kind + "-" + hex.EncodeToString(b) + "+/=:@!"
}

const leakConfig = requiredSunset + `
variable "present" { type = bool }
variable "bad" { type = bool }
variable "pw_version" { type = number }

variable "pg_dsn" {
  type      = string
  sensitive = true
}
variable "scim_token" {
  type      = string
  sensitive = true
}
variable "ldap_bind_password" {
  type      = string
  sensitive = true
}
variable "role_password" {
  type      = string
  sensitive = true
  ephemeral = true
}
variable "account_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

provider "sunset" {
  evidence = { file = "evidence.jsonl", url = %[1]q, token = %[2]q }
  actor    = "leak-audit"
  targets = {
    wh      = { postgres = { dsn = %[3]q } }
    wh_env  = { postgres = { dsn_env = "LEAK_PG_DSN" } }
    wh_var  = { postgres = { dsn = var.pg_dsn } }
    wh_bad  = { postgres = { dsn = %[4]q } }
    app     = { scim = { url = %[5]q, token_env = "LEAK_SCIM_TOKEN" } }
    app_var = { scim = { url = %[6]q, token = var.scim_token } }
    app_lit = { scim = { url = %[7]q, token = %[8]q } }
    app_bad = { scim = { url = %[5]q, token_env = "LEAK_SCIM_BAD_TOKEN", max_attempts = 1 } }
    corp     = { ldap = { %[9]s, bind_password = var.ldap_bind_password } }
    corp_env = { ldap = { %[9]s, bind_password_env = "LEAK_LDAP_BIND_PASSWORD" } }
    corp_bad = { ldap = { %[9]s, bind_password = %[10]q } }
  }
}

resource "sunset_postgres_role" "lit" {
  count               = var.present ? 1 : 0
  target              = "wh"
  name                = "leak_role_lit"
  identity_id         = "svc-leak"
  expires_at          = %[11]q
  password_wo         = var.role_password
  password_wo_version = var.pw_version
}

resource "sunset_postgres_role" "env" {
  count               = var.present ? 1 : 0
  target              = "wh_env"
  name                = "leak_role_env"
  identity_id         = "svc-leak"
  expires_at          = %[11]q
  password_wo         = %[12]q
  password_wo_version = var.pw_version
}

resource "sunset_postgres_role" "var" {
  count       = var.present ? 1 : 0
  target      = "wh_var"
  name        = "leak_role_var"
  identity_id = "svc-leak"
  expires_at  = %[11]q
}

resource "sunset_postgres_role" "bad" {
  count       = var.bad ? 1 : 0
  target      = "wh_bad"
  name        = "leak_role_bad"
  identity_id = "svc-leak"
  expires_at  = %[11]q
}

resource "sunset_scim_user" "env" {
  count       = var.present ? 1 : 0
  target      = "app"
  identity_id = "svc-leak"
  user_name   = "leak-env@example.com"
}

resource "sunset_scim_user" "var" {
  count       = var.present ? 1 : 0
  target      = "app_var"
  identity_id = "svc-leak"
  user_name   = "leak-var@example.com"
}

resource "sunset_scim_user" "lit" {
  count       = var.present ? 1 : 0
  target      = "app_lit"
  identity_id = "svc-leak"
  user_name   = "leak-lit@example.com"
}

resource "sunset_scim_user" "bad" {
  count       = var.bad ? 1 : 0
  target      = "app_bad"
  identity_id = "svc-leak"
  user_name   = "leak-bad@example.com"
}

resource "sunset_ldap_account" "var" {
  count               = var.present ? 1 : 0
  target              = "corp"
  identity_id         = "svc-leak"
  uid                 = "leakvar"
  expires_at          = %[11]q
  password_wo         = var.account_password
  password_wo_version = var.pw_version
}

resource "sunset_ldap_account" "env" {
  count               = var.present ? 1 : 0
  target              = "corp_env"
  identity_id         = "svc-leak"
  uid                 = "leakenv"
  expires_at          = %[11]q
  password_wo         = %[13]q
  password_wo_version = var.pw_version
}

resource "sunset_ldap_account" "bad" {
  count       = var.bad ? 1 : 0
  target      = "corp_bad"
  identity_id = "svc-leak"
  uid         = "leakbad"
}
`

// TestAccLeakAudit: see the top of this file.
func TestAccLeakAudit(t *testing.T) {
	began := time.Now()
	bin := buildProviderBinary(t)

	// The secrets.
	var (
		pgLit, pgEnv, pgVar, pgBad  = leakValue("pg-lit"), leakValue("pg-env"), leakValue("pg-var"), leakValue("pg-wrong")
		scimEnv, scimVar, scimLit   = leakValue("scim-env"), leakValue("scim-var"), leakValue("scim-lit")
		scimBad, ldapBad            = leakValue("scim-wrong"), leakValue("ldap-wrong")
		roleEph1, roleEph2, roleLit = leakValue("role-eph1"), leakValue("role-eph2"), leakValue("role-lit")
		acctEph1, acctEph2, acctLit = leakValue("acct-eph1"), leakValue("acct-eph2"), leakValue("acct-lit")
		evidenceToken, evidenceKey  = leakValue("evidence-token"), leakValue("evidence-key")
		pgUsers                     = []string{"leak_admin_lit", "leak_admin_env", "leak_admin_var"}
		pgPasswords                 = []string{pgLit, pgEnv, pgVar}
		roleLogin                   = map[string]string{}
		ldapVar, ldapEnv            = "leakvar", "leakenv"
	)

	// The servers: PostgreSQL logs every statement (so that its log is a
	// place to look too), slapd, three SCIM services, a collector.
	pg := testenv.NewPostgresForTest(t, testenv.PostgresOptions{Settings: map[string]string{"log_statement": "all"}})
	for i, u := range pgUsers {
		// Not logged: the server log is a place the audit searches, and
		// this statement is the test's, not the provider's.
		sql := fmt.Sprintf("SET log_statement = 'none'; CREATE ROLE %s SUPERUSER LOGIN PASSWORD '%s';", u, pgPasswords[i])
		if out, err := pg.Psql([]byte(sql)); err != nil {
			t.Fatalf("create %s: %v\n%s", u, err, out)
		}
	}
	s := testenv.SlapdForTest(t)
	appEnv := testenv.SCIMForTest(t, testenv.SCIMOptions{Token: scimEnv})
	appVar := testenv.SCIMForTest(t, testenv.SCIMOptions{Token: scimVar})
	appLit := testenv.SCIMForTest(t, testenv.SCIMOptions{Token: scimLit})
	coll := &collector{}
	collSrv := httptest.NewServer(coll)
	defer collSrv.Close()

	secrets := []leakSecret{
		{"postgres DSN password (literal dsn)", pgLit, fromLiteral},
		{"postgres DSN password (dsn_env)", pgEnv, fromEnv},
		{"postgres DSN password (sensitive variable)", pgVar, fromSensitiveVar},
		{"postgres DSN password, wrong (literal dsn)", pgBad, fromLiteral},
		{"SCIM token (token_env)", scimEnv, fromEnv},
		{"SCIM token (sensitive variable)", scimVar, fromSensitiveVar},
		{"SCIM token (literal)", scimLit, fromLiteral},
		{"SCIM token, wrong (token_env)", scimBad, fromEnv},
		// testenv's random rootpw (slapd has one writer), given as a
		// sensitive variable (target corp) and through bind_password_env
		// (corp_env): the audit applies the variable's rule, the looser.
		{"LDAP bind password (sensitive variable; bind_password_env too)", s.BindPassword, fromSensitiveVar},
		{"LDAP bind password, wrong (literal)", ldapBad, fromLiteral},
		{"postgres password_wo v1 (ephemeral variable)", roleEph1, fromEphemeralVar},
		{"postgres password_wo v2 (ephemeral variable)", roleEph2, fromEphemeralVar},
		{"postgres password_wo (literal)", roleLit, fromLiteral},
		{"LDAP password_wo v1 (ephemeral variable)", acctEph1, fromEphemeralVar},
		{"LDAP password_wo v2 (ephemeral variable)", acctEph2, fromEphemeralVar},
		{"LDAP password_wo (literal)", acctLit, fromLiteral},
		{"evidence collector token (literal)", evidenceToken, fromLiteral},
		{"SUNSET_EVIDENCE_KEY (environment)", evidenceKey, fromEnv},
	}
	audit := &leakAudit{secrets: secrets, sensitiveVars: []string{"pg_dsn", "scim_token", "ldap_bind_password"}}

	ldapCommon := fmt.Sprintf(`url = %q, bind_dn = %q, base_dn = %q, ca_file = %q, empty_group_member = %q`,
		s.LDAPSURL, s.BindDN, s.PeopleDN, s.CAFile, ldapNobody)
	d := newTFDir(t, bin,
		"LEAK_PG_DSN="+pg.DSN(pgUsers[1], pgEnv, ""),
		"LEAK_SCIM_TOKEN="+scimEnv,
		"LEAK_SCIM_BAD_TOKEN="+scimBad,
		"LEAK_LDAP_BIND_PASSWORD="+s.BindPassword,
		"SUNSET_EVIDENCE_KEY="+evidenceKey,
		"TF_VAR_pg_dsn="+pg.DSN(pgUsers[2], pgVar, ""),
		"TF_VAR_scim_token="+scimVar,
		"TF_VAR_ldap_bind_password="+s.BindPassword,
	)
	d.trace()
	d.write("main.tf", fmt.Sprintf(leakConfig,
		collSrv.URL+"/ingest", evidenceToken,
		pg.DSN(pgUsers[0], pgLit, ""), pg.DSN(pgUsers[0], pgBad, ""),
		appEnv.URL, appVar.URL, appLit.URL, scimLit,
		ldapCommon, ldapBad,
		day(30), roleLit, acctLit))
	ledger := d.path("evidence.jsonl")

	var places []leakPlace
	planJSONRuns := map[*tfRun]bool{} // their stdout is a plan JSON place
	step := 0
	// apply plans with a saved plan file, keeps the plan JSON, the plan
	// file and the state after it, and returns the apply's run (or the
	// plan's, when the plan itself fails).
	apply := func(wantOK bool, vars ...string) *tfRun {
		t.Helper()
		step++
		planFile := fmt.Sprintf("step%d.tfplan", step)
		args := []string{"plan", "-out=" + planFile}
		for _, v := range vars {
			args = append(args, "-var", v)
		}
		plan := d.run(args...)
		last := plan
		if plan.Err == nil {
			show := d.ok("show", "-json", planFile)
			planJSONRuns[show] = true
			places = append(places, leakPlace{name: fmt.Sprintf("plan JSON of step %d (stdout of `terraform show -json %s`)", step, planFile), kind: placePlanJSON, text: show.Stdout})
			places = append(places, leakPlace{name: fmt.Sprintf("saved plan file %s (every zip member)", planFile), kind: placePlanFile, text: zipText(t, d.path(planFile))})
			last = d.run("apply", planFile)
		}
		if (last.Err == nil) != wantOK {
			t.Fatalf("step %d: %s: %v, want success=%t\n%s", step, last, last.Err, wantOK, last.Output())
		}
		pull := d.ok("state", "pull")
		places = append(places, leakPlace{name: fmt.Sprintf("state after step %d (`terraform state pull`)", step), text: pull.Stdout})
		return last
	}
	setEnv := func(name, value string) {
		for i, kv := range d.env {
			if strings.HasPrefix(kv, name+"=") {
				d.env = append(d.env[:i], d.env[i+1:]...)
				break
			}
		}
		d.env = append(d.env, name+"="+value)
	}

	// 1. Create every credential.
	setEnv("TF_VAR_role_password", roleEph1)
	setEnv("TF_VAR_account_password", acctEph1)
	apply(true, "present=true", "bad=false", "pw_version=1")
	// The secrets were used, so that their absence means something.
	roleLogin["leak_role_lit"], roleLogin["leak_role_env"] = roleEph1, roleLit
	for role, pw := range roleLogin {
		if err := pgLogin(pg, role, pw); err != nil {
			t.Fatalf("%s cannot log in with its password_wo: %v", role, err)
		}
	}
	for uid, pw := range map[string]string{ldapVar: acctEph1, ldapEnv: acctLit} {
		if ok, err := ldapBind(s, ldapDN(t, uid), pw); err != nil || !ok {
			t.Fatalf("%s cannot bind with its password_wo: %v %v", uid, ok, err)
		}
	}
	for srv, name := range map[*testenv.SCIMServer]string{appEnv: "leak-env@example.com", appVar: "leak-var@example.com", appLit: "leak-lit@example.com"} {
		if _, ok := srv.UserIDByUserName(name); !ok {
			t.Fatalf("no SCIM user %s after the create", name)
		}
	}

	// 2. Update: new passwords through password_wo_version.
	setEnv("TF_VAR_role_password", roleEph2)
	setEnv("TF_VAR_account_password", acctEph2)
	apply(true, "present=true", "bad=false", "pw_version=2")
	if err := pgLogin(pg, "leak_role_lit", roleEph2); err != nil {
		t.Fatalf("leak_role_lit cannot log in with its new password_wo: %v", err)
	}
	if ok, err := ldapBind(s, ldapDN(t, ldapVar), acctEph2); err != nil || !ok {
		t.Fatalf("%s cannot bind with its new password_wo: %v %v", ldapVar, ok, err)
	}

	// 3. Failing operations: a wrong credential for each connector.
	bad := apply(false, "present=true", "bad=true", "pw_version=2")
	logErrors(t, "wrong credentials", bad)
	for _, want := range []*regexp.Regexp{
		wrapped(`password authentication failed`),
		wrapped(`401`),
		wrapped(`Invalid Credentials`),
	} {
		if !want.MatchString(bad.Output()) {
			t.Errorf("the failing step's output does not match %q:\n%s", want, bad.Output())
		}
	}

	// 4. The PostgreSQL server is killed, then everything is destroyed:
	// the refresh of the roles fails, their revocations fail and are
	// recorded; the other connectors' destroys go through.
	if err := pg.Kill(); err != nil {
		t.Fatal(err)
	}
	down := apply(false, "present=false", "bad=false", "pw_version=2")
	logErrors(t, "server killed", down)
	if n := strings.Count(down.Output(), "Error: Revocation failed"); n != 3 {
		t.Errorf("%d revocations failed with the server down, want the 3 roles:\n%s", n, down.Output())
	}

	// 5. The server is back: the destroy completes.
	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	apply(true, "present=false", "bad=false", "pw_version=2")
	if left := d.stateAddresses(); len(left) != 0 {
		t.Errorf("state after the destroy: %v", left)
	}
	for role := range roleLogin {
		if err := pgLogin(pg, role, roleEph2); err == nil {
			t.Errorf("%s still logs in", role)
		}
	}

	// The ledger: every credential issued, the failures and the
	// revocations recorded, the chain verifying with SUNSET_EVIDENCE_KEY
	// (and not without it: the key was used).
	if rep, err := evidence.VerifyFile(ledger, []byte(evidenceKey)); err != nil || !rep.OK() {
		t.Fatalf("the ledger does not verify with the key: %v %+v", err, rep)
	}
	if rep, err := evidence.VerifyFile(ledger, []byte("not-the-key")); err == nil && rep.OK() {
		t.Fatal("the ledger verifies with a wrong key: SUNSET_EVIDENCE_KEY was not used")
	}
	counts := map[evidence.Event]int{}
	recs := readLedger(t, ledger)
	for _, r := range recs {
		counts[r.Event]++
	}
	if counts[evidence.EventCredentialIssued] != 8 || counts[evidence.EventCredentialRevoked] != 8 || counts[evidence.EventRevokeFailed] != 3 {
		t.Errorf("ledger records by event: %v; want 8 issued, 3 revoke_failed, 8 revoked", counts)
	}
	// The collector holds the whole ledger, and every delivery carried the
	// token (so it was used).
	if err := coll.received(ledger, evidenceToken); err != nil {
		t.Fatal(err)
	}

	// The places. Every command's stdout, stderr and TRACE log.
	providerLines := 0
	for i, r := range d.runs {
		name := fmt.Sprintf("command %d `%s`", i+1, r)
		if !planJSONRuns[r] {
			places = append(places, leakPlace{name: "stdout of " + name, kind: placeTerminal, text: r.Stdout})
		}
		places = append(places, leakPlace{name: "stderr of " + name, kind: placeTerminal, text: r.Stderr})
		log, err := os.ReadFile(r.Log)
		if err != nil {
			t.Fatalf("TRACE log of %s: %v", name, err)
		}
		providerLines += strings.Count(string(log), "provider.terraform-provider-sunset")
		places = append(places, leakPlace{name: "TRACE log (core and provider) of " + name, text: string(log)})
	}
	if providerLines < 1000 {
		t.Fatalf("the TRACE logs hold %d lines of the provider: it did not log at TRACE, and the audit would prove little", providerLines)
	}
	places = append(places, targetSidePlaces(t, pg, s, map[*testenv.SCIMServer][]string{
		appEnv: {"leak-env@example.com"}, appVar: {"leak-var@example.com"}, appLit: {"leak-lit@example.com"},
	}, ldapDN(t, ldapVar), ldapDN(t, ldapEnv))...)
	places = append(places,
		leakPlace{name: "the evidence ledger", text: string(mustRead(t, ledger))},
		leakPlace{name: "the collector's copy of the ledger (request bodies)", text: coll.bodiesText()},
		leakPlace{name: "PostgreSQL's server log (log_statement = all)", text: pg.LogTail(1 << 30)},
		leakPlace{name: "slapd's log", text: s.LogTail(1 << 30)},
	)
	// Every other file terraform and the provider left behind: state and
	// its backup, the ledger's delivery cursor and lock, .terraform/, and
	// terraform's HOME and TMPDIR. Not main.tf (it is the configuration)
	// nor the plan files (above).
	for _, root := range []string{d.dir, envValue(d.env, "HOME"), envValue(d.env, "TMPDIR")} {
		places = append(places, filesUnder(t, root, func(rel string) bool {
			return rel == "main.tf" || strings.HasSuffix(rel, ".tfplan")
		})...)
	}

	// The self-check first: the audit must find a secret where one is.
	leakAuditSelfCheck(t, audit, places, secrets)

	findings := audit.check(places)
	for _, f := range findings {
		t.Errorf("LEAK: %s", f)
	}

	// The record for the issue note.
	var b strings.Builder
	fmt.Fprintf(&b, "leak audit: %d secrets, %d places, %d provider log lines at TRACE, %d findings, %.0fs\n", len(secrets), len(places), providerLines, len(findings), time.Since(began).Seconds())
	b.WriteString("secrets (each searched raw, query-, path- and userinfo-escaped with upper- and lower-case hex, and JSON-escaped; in terminal output also with line wrapping removed):\n")
	for _, s := range secrets {
		fmt.Fprintf(&b, "  - %s [%s]\n", s.label, s.source)
	}
	b.WriteString("places:\n")
	for _, p := range places {
		note := ""
		switch p.kind {
		case placePlanJSON:
			note = " (terraform's own copies set aside: variables.NAME.value of sensitive variables, configuration constant_value)"
		case placePlanFile:
			note = " (literals and sensitive variables allowed: terraform stores the configuration and variable values there)"
		}
		fmt.Fprintf(&b, "  - %s, %d bytes%s\n", p.name, len(p.text), note)
	}
	t.Log(b.String())
	if path := os.Getenv("SUNSET_LEAK_AUDIT_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Error(err)
		}
	}

	// Terraform's own copies are real (the exemptions are not dead
	// code), and the documentation tells users how to avoid them.
	leakAuditTerraformCopies(t, audit, places, secrets)
	leakAuditDocs(t)
}

// leakAuditSelfCheck plants secrets, in several forms, into copies of real
// places and requires the audit to report each one, at that place, and
// nothing else; and shows that the plan JSON exemption is exactly as
// narrow as documented.
func leakAuditSelfCheck(t *testing.T, audit *leakAudit, places []leakPlace, secrets []leakSecret) {
	t.Helper()
	byKind := func(k leakPlaceKind, contains string) int {
		for i, p := range places {
			if p.kind == k && strings.Contains(p.name, contains) {
				return i
			}
		}
		t.Fatalf("no place of kind %d named like %q", k, contains)
		return -1
	}
	secret := func(src leakSource) leakSecret {
		for _, s := range secrets {
			if s.source == src {
				return s
			}
		}
		t.Fatalf("no secret from %s", src)
		return leakSecret{}
	}
	type plant struct {
		what  string
		place int
		edit  func(string) string
		want  string // the secret's label; "" when nothing may be found
	}
	env, sv, eph := secret(fromEnv), secret(fromSensitiveVar), secret(fromEphemeralVar)
	stateIdx := byKind(placeOther, "state after step 2")
	stdoutIdx := byKind(placeTerminal, "stdout of")
	logIdx := byKind(placeOther, "TRACE log")
	planIdx := byKind(placePlanJSON, "step 2")
	planFileIdx := byKind(placePlanFile, "step2")
	lowerQuery := strings.ToLower(url.QueryEscape(env.value))
	plants := []plant{
		{"a query-escaped env secret in the state", stateIdx, func(s string) string {
			return strings.Replace(s, `"id": "wh/leak_role_lit"`, `"id": "wh/leak_role_lit`+url.QueryEscape(env.value)+`"`, 1)
		}, env.label},
		{"an env secret with lower-case hex escapes in a TRACE log", logIdx, func(s string) string { return s + "\ndsn=" + lowerQuery + "\n" }, env.label},
		{"an ephemeral secret wrapped across lines in stdout", stdoutIdx, func(s string) string {
			h := len(eph.value) / 2
			return s + "\n  Error: " + eph.value[:h] + "\n  " + eph.value[h:] + "\n"
		}, eph.label},
		{"a sensitive variable's value outside variables.NAME.value in the plan JSON", planIdx, func(s string) string {
			return strings.Replace(s, `"format_version":`, `"leaked":`+mustJSON(sv.value)+`,"format_version":`, 1)
		}, sv.label},
		{"an ephemeral secret in the saved plan file", planFileIdx, func(s string) string { return s + eph.value }, eph.label},
		{"a sensitive variable's value in the saved plan file (terraform's copy: allowed)", planFileIdx, func(s string) string { return s + sv.value }, ""},
	}
	for _, p := range plants {
		planted := slices.Clone(places)
		planted[p.place].text = p.edit(planted[p.place].text)
		if planted[p.place].text == places[p.place].text {
			t.Fatalf("self-check %q: the plant changed nothing", p.what)
		}
		got := audit.check(planted)
		switch {
		case p.want == "" && len(got) != 0:
			t.Errorf("self-check %q: the audit reported %v, want nothing", p.what, got)
		case p.want != "" && (len(got) != 1 || got[0].place != places[p.place].name || got[0].secret != p.want):
			t.Errorf("self-check %q: the audit reported %v, want exactly %s at %s", p.what, got, p.want, places[p.place].name)
		case p.want != "":
			t.Logf("self-check: %s → caught (%s)", p.what, got[0].form)
		default:
			t.Logf("self-check: %s → not reported", p.what)
		}
	}
}

// leakAuditTerraformCopies shows that what the audit sets aside really is
// there: the plan JSON prints the sensitive variables and the literal
// password_wo, the plan file holds literal secrets, and neither holds a
// secret from the environment or an ephemeral variable (checked by the
// audit itself).
func leakAuditTerraformCopies(t *testing.T, audit *leakAudit, places []leakPlace, secrets []leakSecret) {
	t.Helper()
	var planJSON, planFile string
	for _, p := range places {
		switch {
		case p.kind == placePlanJSON && strings.Contains(p.name, "step 1"):
			planJSON = p.text
		case p.kind == placePlanFile && strings.Contains(p.name, "step1"):
			planFile = p.text
		}
	}
	contains := func(text string, s leakSecret) bool {
		for _, f := range s.forms() {
			if strings.Contains(text, f.text) {
				return true
			}
		}
		return false
	}
	var kept []string
	for _, s := range secrets {
		inJSON, inFile := contains(planJSON, s), contains(planFile, s)
		if inJSON || inFile {
			kept = append(kept, fmt.Sprintf("%s [json %t, plan file %t]", s.label, inJSON, inFile))
		}
		if s.source == fromSensitiveVar && !inJSON {
			t.Errorf("the plan JSON does not print the sensitive variable %s: terraform changed, update the audit and docs/index.md", s.label)
		}
	}
	t.Logf("terraform's own copies in step 1's plan (set aside by the audit, documented in docs/index.md): %s", strings.Join(kept, "; "))
}

// leakAuditDocs checks that the provider documentation tells users to
// hand secrets over in the way terraform keeps no copy of.
func leakAuditDocs(t *testing.T) {
	t.Helper()
	doc, err := os.ReadFile("../../docs/index.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Secrets\n")
	if ok {
		section, _, _ = strings.Cut(section, "\n## ")
	}
	for _, want := range []string{"`dsn_env`", "`token_env`", "`bind_password_env`", "`evidence`", "`ephemeral`", "`password_wo`", "`terraform show -json`", "`SUNSET_EVIDENCE_KEY`"} {
		if !strings.Contains(section, want) {
			t.Errorf("docs/index.md has no \"## Secrets\" section advising %s", want)
		}
	}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// zipText concatenates every member of a zip file (a saved plan).
func zipText(t *testing.T, path string) string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("open plan file %s: %v", path, err)
	}
	defer zr.Close()
	var b bytes.Buffer
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(&b, rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// filesUnder returns every regular file under root as a place, except
// those skip names (by path relative to root).
func filesUnder(t *testing.T, root string, skip func(rel string) bool) []leakPlace {
	t.Helper()
	var out []leakPlace
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if skip(rel) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, leakPlace{name: "file " + path, text: string(b)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func envValue(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// bodiesText is every request body the collector received.
func (c *collector) bodiesText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(bytes.Join(c.bodies, []byte("\n")))
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// logErrors shows the errors a failing command printed, one line each,
// for the record.
func logErrors(t *testing.T, what string, r *tfRun) {
	t.Helper()
	out := r.Output()
	starts := regexp.MustCompile(`(?m)^(Error|Warning): `).FindAllStringIndex(out, -1)
	for i, st := range starts {
		end := len(out)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		block := out[st[0]:end]
		if !strings.HasPrefix(block, "Error: ") {
			continue
		}
		var keep []string
		for _, l := range strings.Split(block, "\n") {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "with ") || strings.HasPrefix(l, "on ") || regexp.MustCompile(`^\d+:`).MatchString(l) {
				continue
			}
			keep = append(keep, l)
		}
		t.Logf("%s: %s", what, strings.Join(keep, " "))
	}
}

// targetSidePlaces reads what the targets store about the credentials:
// PostgreSQL's password verifiers (pg_authid), the LDAP entries with their
// userPassword, and the SCIM users' documents. A password_wo must arrive
// there hashed, and no connection secret may be stored there.
func targetSidePlaces(t *testing.T, pg *testenv.Postgres, s *testenv.Slapd, scimUsers map[*testenv.SCIMServer][]string, ldapDNs ...string) []leakPlace {
	t.Helper()
	out, err := pg.Psql(nil, "-At", "-c", `SELECT rolname, rolpassword FROM pg_authid WHERE rolname LIKE 'leak\_%'`)
	if err != nil {
		t.Fatalf("read pg_authid: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("SCRAM-SHA-256$")) {
		t.Fatalf("pg_authid holds no SCRAM verifier for the roles: %s", out)
	}
	places := []leakPlace{{name: "PostgreSQL pg_authid.rolpassword of the roles", text: string(out)}}
	var entries strings.Builder
	for _, dn := range ldapDNs {
		e, err := ldapEntry(s, dn)
		if err != nil || e == nil {
			t.Fatalf("read %s: %v", dn, err)
		}
		for _, a := range e.Attributes {
			fmt.Fprintf(&entries, "%s: %s: %q\n", dn, a.Name, a.Values)
		}
	}
	if !strings.Contains(entries.String(), "userPassword") {
		t.Fatalf("the LDAP entries hold no userPassword: %s", entries.String())
	}
	places = append(places, leakPlace{name: "the LDAP entries of the accounts (userPassword included)", text: entries.String()})
	var docs strings.Builder
	for srv, names := range scimUsers {
		for _, n := range names {
			u, err := scimUserState(srv, n)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(u.Attributes)
			docs.Write(b)
			docs.WriteByte('\n')
		}
	}
	return append(places, leakPlace{name: "the SCIM users as the services store them", text: docs.String()})
}

// TestLeakRedactEveryForm: whatever a library quotes in an error, the
// provider's last line of defence (runtime.redact, applied to every
// diagnostic and ledger error) removes each secret in every form Go
// itself writes it: raw, query-, path- and DSN-userinfo-escaped.
func TestLeakRedactEveryForm(t *testing.T) {
	pw, token, bind, sink := leakValue("pg"), leakValue("scim"), leakValue("ldap"), leakValue("sink")
	dsn := "postgres://sunset:" + url.UserPassword("", pw).String()[1:] + "@db.example:5432/app?sslmode=require"
	targets := map[string]*target{
		"db":   {postgres: &postgresTargetModel{DSN: types.StringValue(dsn)}},
		"saas": {scim: &scimTargetModel{Token: types.StringValue(token)}},
		"dir":  {ldap: &ldapTargetModel{BindPassword: types.StringValue(bind)}},
	}
	rt := &runtime{secrets: append(collectSecrets(targets), nonEmpty(sink)...)}
	for _, s := range []string{pw, token, bind, sink} {
		for _, f := range (leakSecret{value: s}).forms() {
			if strings.Contains(f.name, "lower-case") {
				continue // Go's escaping writes upper-case hex
			}
			msg := rt.redact("failed: postgres://sunset:" + f.text + "@db.example/app; saw " + f.text + ".")
			if strings.Contains(msg, f.text) {
				t.Errorf("redact left the %s form of %s: %s", f.name, s, msg)
			}
		}
	}
}
