package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestRuntimeTargetLookup(t *testing.T) {
	targets, diags := resolveTargets(map[string]targetModel{
		"warehouse": {Postgres: &postgresTargetModel{DSNEnv: types.StringValue("WAREHOUSE_DSN"), DSN: types.StringNull()}},
		"slack":     {SCIM: &scimTargetModel{URL: types.StringValue("https://scim.example"), Token: types.StringNull(), TokenEnv: types.StringValue("SLACK_TOKEN")}},
	}, envOf(map[string]string{"WAREHOUSE_DSN": "postgres://u:pw@db/x", "SLACK_TOKEN": "tok"}))
	if diags.HasError() {
		t.Fatal(diags)
	}
	rt := &runtime{targets: targets}

	if tg, err := rt.target("warehouse", kindPostgres); err != nil || tg.postgres.DSN.ValueString() != "postgres://u:pw@db/x" {
		t.Fatalf("warehouse: %v, dsn from env not resolved", err)
	}
	if tg, err := rt.target("slack", kindSCIM); err != nil || tg.scim.Token.ValueString() != "tok" {
		t.Fatalf("slack: %v", err)
	}
	_, err := rt.target("wharehouse", kindPostgres)
	if err == nil || !strings.Contains(err.Error(), `target "wharehouse" is not defined`) || !strings.Contains(err.Error(), "slack, warehouse") {
		t.Fatalf("unknown target error = %v", err)
	}
	_, err = rt.target("slack", kindPostgres)
	if err == nil || !strings.Contains(err.Error(), "is a scim target") {
		t.Fatalf("wrong kind error = %v", err)
	}
	if _, err := (&runtime{}).target("x", ""); err == nil || !strings.Contains(err.Error(), "no targets") {
		t.Fatalf("no targets error = %v", err)
	}
}
