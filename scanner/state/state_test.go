package state

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func read(t *testing.T, name string) (*Declared, Form) {
	t.Helper()
	d, form, err := ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return d, form
}

func summary(d *Declared) string {
	var b strings.Builder
	for _, i := range d.Identities {
		fmt.Fprintf(&b, "I %s name=%s kind=%s owner=%s end=%s status=%s\n", i.Address, i.Name, i.Kind, i.Owner, i.EndDate, i.Status)
	}
	for _, c := range d.Credentials {
		fmt.Fprintf(&b, "C %s module=%q type=%s name=%s id=%s target=%s account=%s identity=%s expires=%s group=%s user=%s\n",
			c.Address, c.Module, c.Type, c.Name, c.ID, c.Target, c.Account, c.IdentityID, c.ExpiresAt, c.GroupID, c.UserID)
	}
	for _, r := range d.Roster {
		ex := ""
		if r.Exception != nil {
			ex = fmt.Sprintf(" exception=%s/%s/%s/%s", r.Exception.Kind, r.Exception.Reason, r.Exception.ApprovedBy, r.Exception.Expires)
		}
		fmt.Fprintf(&b, "R %s %s name=%s end=%s status=%s reason=%s%s\n", r.Address, r.Map, r.Name, r.EndDate, r.Status, r.Reason, ex)
	}
	return b.String()
}

// The identities fixtures are what terraform 1.11.4 wrote for a
// sunset_roster and sunset_identity (for_each) configuration, captured with
// `terraform state pull` and `terraform show -json`.
func TestBothFormsOfARealStateReadTheSame(t *testing.T) {
	raw, f1 := read(t, "identities-state-v4.json")
	show, f2 := read(t, "identities-show.json")
	if f1 != FormRaw || f2 != FormShowJSON {
		t.Fatalf("forms = %s, %s", f1, f2)
	}
	want := `I sunset_identity.staff["alice"] name=alice kind=human owner=hr@example.com end=2030-03-31 status=active
I sunset_identity.staff["bob"] name=bob kind=contractor owner=hr@example.com end=2030-01-31 status=active
I sunset_identity.staff["etl-loader"] name=etl-loader kind=workload owner=data-eng@example.com end=2030-06-30 status=active
I sunset_identity.staff["old-bot"] name=old-bot kind=bot owner=finance-eng@example.com end=2024-01-31 status=ended
R data.sunset_roster.staff active name=alice end=2030-03-31 status=active reason=
R data.sunset_roster.staff active name=bob end=2030-01-31 status=active reason=
R data.sunset_roster.staff active name=etl-loader end=2030-06-30 status=active reason=
R data.sunset_roster.staff active name=old-bot end=2024-01-31 status=excepted reason=end_date_reached exception=legal_hold/litigation 17/ciso@example.com/2031-01-01
R data.sunset_roster.staff exceptions name=old-bot end=2024-01-31 status=excepted reason=end_date_reached exception=legal_hold/litigation 17/ciso@example.com/2031-01-01
`
	if got := summary(raw); got != want {
		t.Errorf("raw state:\n%s\nwant:\n%s", got, want)
	}
	if got := summary(show); got != want {
		t.Errorf("show -json:\n%s\nwant:\n%s", got, want)
	}
}

func TestCredentialsWithModulesKeysAndDeposedObjects(t *testing.T) {
	raw, _ := read(t, "credentials-state-v4.json")
	show, _ := read(t, "credentials-show.json")
	for name, d := range map[string]*Declared{"raw": raw, "show": show} {
		got := summary(d)
		for _, line := range []string{
			`C sunset_postgres_role.staff["alice"] module="" type=sunset_postgres_role name=staff id=warehouse/alice target=warehouse account=alice identity=alice expires=2030-03-31 group= user=`,
			`C sunset_postgres_role.staff["etl-loader"] module="" type=sunset_postgres_role name=staff id=warehouse/etl_loader target=warehouse account=etl_loader identity=etl-loader expires= group= user=`,
			`C module.apps["crm"].sunset_scim_user.user["bob"] module="module.apps[\"crm\"]" type=sunset_scim_user name=user id=crm/2819c223-7f76-453a-919d-413861904646 target=crm account=2819c223-7f76-453a-919d-413861904646 identity=bob`,
			`C module.apps["crm"].sunset_scim_group_membership.admins[0] module="module.apps[\"crm\"]" type=sunset_scim_group_membership name=admins id=crm/g-admins/2819c223-7f76-453a-919d-413861904646 target=crm account=g-admins/2819c223-7f76-453a-919d-413861904646 identity=bob expires= group=g-admins user=2819c223-7f76-453a-919d-413861904646`,
			`C sunset_ldap_account.svc module="" type=sunset_ldap_account name=svc id=corp/uid=report-bot,ou=people,dc=corp,dc=example target=corp account=uid=report-bot,ou=people,dc=corp,dc=example identity= expires=2029-12-31T00:00:00Z`,
			`C sunset_ldap_account.svc (deposed 00000001) module="" type=sunset_ldap_account name=svc id=corp/uid=old,ou=people,dc=corp,dc=example`,
		} {
			if !strings.Contains(got, line) {
				t.Errorf("%s: missing\n%s\nin\n%s", name, line, got)
			}
		}
		if len(d.Credentials) != 6 || len(d.Identities) != 4 {
			t.Errorf("%s: %d credentials, %d identities", name, len(d.Credentials), len(d.Identities))
		}
		if strings.Contains(got, "time_static") {
			t.Errorf("%s: a foreign resource was passed on", name)
		}
	}
}

func TestMalformedStatesAreRefusedClearly(t *testing.T) {
	base := `{"version":4,"terraform_version":"1.11.4","serial":1,"lineage":"x","outputs":{},"resources":[%s]}`
	res := func(typ, attrs string) string {
		return fmt.Sprintf(base, `{"mode":"managed","type":"`+typ+`","name":"r","provider":"p","instances":[{"schema_version":0,"attributes":`+attrs+`}]}`)
	}
	cases := []struct{ name, in, want string }{
		{"empty file", ``, "the file ends early"},
		{"not json", `hello`, "invalid literal"},
		{"trailing comma", `{"version":4,"resources":[],}`, "trailing comma"},
		{"missing colon", `{"version" 4}`, "want ':'"},
		{"missing comma", `{"version":4 "resources":[]}`, "want ','"},
		{"unbalanced", `{"version":4,"resources":[{"mode":"managed","type":"x","name":"y","instances":[{"a":[}]}]}`, "unbalanced"},
		{"control char", "{\"version\":4,\"lineage\":\"a\x01\"}", "control character"},
		{"array", `[]`, `want "{"`},
		{"truncated", `{"version":4,"resources":[{"mode":"managed","type":"sunset_identity"`, "the file ends early"},
		{"version 3", `{"version":3,"resources":[]}`, "state version 3 is not supported"},
		{"no version", `{"resources":[]}`, "this is not a Terraform state"},
		{"resources then version 3", `{"resources":[],"version":3}`, "state version 3 is not supported"},
		{"neither form", `{"serial":1}`, "this is not a Terraform state"},
		{"both forms", `{"version":4,"format_version":"1.0"}`, "both"},
		{"format 2", `{"format_version":"2.0"}`, `format_version "2.0" is not supported`},
		{"trailing data", `{"version":4} {}`, "unexpected data after"},
		{"bad id", res("sunset_postgres_role", `{"id":"noslash","target":"w"}`), `sunset_postgres_role.r: id "noslash" is not of the form TARGET/ACCOUNT`},
		{"empty account", res("sunset_postgres_role", `{"id":"w/"}`), "not of the form TARGET/ACCOUNT"},
		{"target mismatch", res("sunset_scim_user", `{"id":"a/x","target":"b"}`), `target "b" does not match the id's target "a"`},
		{"no id", res("sunset_ldap_account", `{"target":"b"}`), "a credential without an id"},
		{"bad expiry", res("sunset_postgres_role", `{"id":"w/a","expires_at":"soon"}`), "expires_at: date \"soon\""},
		{"id not a string", res("sunset_postgres_role", `{"id":7}`), "attributes are malformed"},
		{"attributes array", res("sunset_postgres_role", `[]`), "attributes must be an object"},
		{"no attributes", res("sunset_identity", `null`), "has no attributes"},
		{"identity without name", res("sunset_identity", `{"kind":"human"}`), "an identity without a name"},
		{"identity bad end date", res("sunset_identity", `{"name":"a","end_date":"31/12/2027"}`), "end_date: date \"31/12/2027\""},
		{"flat attributes", fmt.Sprintf(base, `{"mode":"managed","type":"sunset_identity","name":"r","instances":[{"attributes_flat":{"id":"a"}}]}`), "attributes_flat"},
		{"instances first, then a bad mode", fmt.Sprintf(base, `{"instances":[],"mode":"odd","type":"sunset_identity","name":"r"}`), `mode "odd"`},
		{"instances first, malformed", fmt.Sprintf(base, `{"instances":[{"attributes":{"name":3}}],"mode":"managed","type":"sunset_identity","name":"r"}`), "attributes are malformed"},
		{"bad mode", fmt.Sprintf(base, `{"mode":"weird","type":"sunset_identity","name":"r","instances":[]}`), `mode "weird"`},
		{"bad index key", fmt.Sprintf(base, `{"mode":"managed","type":"sunset_identity","name":"r","instances":[{"index_key":[1],"attributes":{"name":"a"}}]}`), "index_key"},
		{"roster entry name mismatch", fmt.Sprintf(base, `{"mode":"data","type":"sunset_roster","name":"r","instances":[{"attributes":{"active":{"a":{"name":"b"}}}}]}`), `active["a"] holds an identity named "b"`},
		{"show resource malformed", `{"format_version":"1.0","values":{"root_module":{"resources":[{"address":"sunset_identity.x","mode":"managed","type":"sunset_identity","name":"x","values":{"name":5}}]}}}`, "attributes are malformed"},
		{"show missing address", `{"format_version":"1.0","values":{"root_module":{"resources":[{"mode":"managed","type":"sunset_identity","values":{"name":"a"}}]}}}`, "lacks address"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(c.in), "x.tfstate", Visitor{
				Identity: func(Identity) error { return nil }, Credential: func(Credential) error { return nil }, RosterEntry: func(RosterEntry) error { return nil },
			})
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "state x.tfstate: ") {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestEmptyStatesAreValid(t *testing.T) {
	for _, in := range []string{`{"version":4,"terraform_version":"1.11.4","serial":0,"lineage":"x","outputs":{},"resources":[],"check_results":null}`, `{"format_version":"1.0"}`} {
		if _, err := Read(strings.NewReader(in), "e", Visitor{}); err != nil {
			t.Errorf("%s: %v", in, err)
		}
	}
}

func TestVisitorErrorStopsTheRead(t *testing.T) {
	stop := fmt.Errorf("stop here")
	_, err := ReadFileVisit(filepath.Join("testdata", "credentials-state-v4.json"), Visitor{Credential: func(Credential) error { return stop }})
	if err == nil || !strings.Contains(err.Error(), "stop here") {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := ReadFile(filepath.Join(t.TempDir(), "missing.tfstate")); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("missing file: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// Keys are compared as text: escapes in them are decoded first.
func TestEscapedKeysAreTheirText(t *testing.T) {
	plain := `{"version":4,"resources":[{"mode":"managed","type":"sunset_postgres_role","name":"r","instances":[{"index_key":"a","attributes":{"id":"w/a","identity_id":"a","expires_at":"2030-01-01"}},{"index_key":"b","attributes":{"id":"w/b","identity_id":"b"}}]}]}`
	escaped := strings.NewReplacer(`"index_key"`, `"\u0069ndex_key"`, `"identity_id":"b"`, `"identity\u005fid":"b"`, `"expires_at"`, `"expires\u005Fat"`).Replace(plain)
	if escaped == plain {
		t.Fatal("nothing escaped")
	}
	p, _, err1 := readAll(strings.NewReader(plain))
	e, _, err2 := readAll(strings.NewReader(escaped))
	if err1 != nil || err2 != nil || p != e {
		t.Fatalf("plain:\n%s%v\nescaped:\n%s%v", p, err1, e, err2)
	}
	if !strings.Contains(e, `sunset_postgres_role.r["b"]`) || !strings.Contains(e, "identity=b") || !strings.Contains(e, "expires=2030-01-01") {
		t.Fatalf("escaped keys not read:\n%s", e)
	}
}

func TestKeyOrderDoesNotMatter(t *testing.T) {
	in := `{"resources":[{"instances":[{"attributes":{"id":"w/a","identity_id":"a"},"index_key":"a"}],"mode":"managed","name":"r","type":"sunset_postgres_role"}],"version":4}`
	var got []Credential
	if _, err := Read(strings.NewReader(in), "sorted.json", Visitor{Credential: func(c Credential) error { got = append(got, c); return nil }}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Address != `sunset_postgres_role.r["a"]` || got[0].IdentityID != "a" {
		t.Fatalf("%+v", got)
	}
}

// postgres-*.json are what terraform 1.11.4 wrote for sunset_identity and
// sunset_postgres_role (for_each over the identities) after a real apply
// against PostgreSQL.
func TestRealPostgresRoleState(t *testing.T) {
	raw, _ := read(t, "postgres-state-v4.json")
	show, _ := read(t, "postgres-show.json")
	for name, d := range map[string]*Declared{"raw": raw, "show": show} {
		got := summary(d)
		for _, line := range []string{
			`C sunset_postgres_role.staff["alice"] module="" type=sunset_postgres_role name=staff id=warehouse/alice target=warehouse account=alice identity=alice expires=2030-03-31 group= user=`,
			`C sunset_postgres_role.staff["etl-loader"] module="" type=sunset_postgres_role name=staff id=warehouse/etl_loader target=warehouse account=etl_loader identity=etl-loader expires=2030-06-30 group= user=`,
			`I sunset_identity.staff["carol"] name=carol kind=human owner=hr@example.com end=2030-05-31 status=active`,
		} {
			if !strings.Contains(got, line) {
				t.Errorf("%s: missing\n%s\nin\n%s", name, line, got)
			}
		}
		if len(d.Credentials) != 4 || len(d.Identities) != 4 {
			t.Errorf("%s: %d credentials, %d identities", name, len(d.Credentials), len(d.Identities))
		}
	}
}
