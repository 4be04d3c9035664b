package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestDSNPassword(t *testing.T) {
	cases := map[string]string{
		"postgres://sunset:s3cr%40t-pw@db.example:5432/app?sslmode=require": "s3cr@t-pw",
		"host=db user=sunset password=plain-pw dbname=app":                  "plain-pw",
		"host=db password='quoted pw' user=x":                               "quoted pw",
		"postgres://db.example/app":                                         "",
	}
	for dsn, want := range cases {
		if got := dsnPassword(dsn); got != want {
			t.Errorf("dsnPassword(%q) = %q, want %q", dsn, got, want)
		}
	}
}

func TestRedactRemovesEverySecretForm(t *testing.T) {
	targets := map[string]*target{
		"db":   {postgres: &postgresTargetModel{DSN: types.StringValue("postgres://u:p%40ss-W0rd@h/db")}},
		"saas": {scim: &scimTargetModel{Token: types.StringValue("tok-123456")}},
		"dir":  {ldap: &ldapTargetModel{BindPassword: types.StringValue("bind pw!")}},
	}
	rt := &runtime{secrets: collectSecrets(targets)}
	msg := rt.redact(`dial postgres://u:p%40ss-W0rd@h/db failed; password p@ss-W0rd; token tok-123456; bind "bind pw!" / bind+pw%21`)
	for _, leak := range []string{"p@ss-W0rd", "p%40ss-W0rd", "tok-123456", "bind pw!", "bind+pw%21"} {
		if strings.Contains(msg, leak) {
			t.Errorf("redacted message still holds %q: %s", leak, msg)
		}
	}
}
