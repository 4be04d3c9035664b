package locate

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResourceLocations(t *testing.T) {
	ix, err := Scan("testdata/src")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		module, mode, typ, name string
		want                    string
	}{
		{"", "managed", "sunset_identity", "staff", "testdata/src/main.tf:16"},
		{"", "data", "sunset_roster", "staff", "testdata/src/main.tf:12"},
		{"", "managed", "sunset_postgres_role", "staff", "testdata/src/roles.tf:1"},
		{`module.apps["crm"]`, "managed", "sunset_scim_user", "user", "testdata/src/modules/app/main.tf:3"},
		// A module from a registry cannot be followed: the module block is the declaration we have.
		{"module.remote", "managed", "sunset_postgres_role", "db", "testdata/src/main.tf:27"},
		// A resource in a module whose block is missing falls back to any block of that type and name.
		{"module.gone", "managed", "sunset_scim_user", "user", "testdata/src/modules/app/main.tf:3"},
	}
	for _, c := range cases {
		loc, ok := ix.Resource(c.module, c.mode, c.typ, c.name)
		if !ok || loc.String() != c.want {
			t.Errorf("%s %s.%s = %v %v, want %s", c.module, c.typ, c.name, loc, ok, c.want)
		}
	}
	if loc, ok := ix.Resource("", "managed", "sunset_postgres_role", "commented_out"); ok {
		t.Errorf("a block inside /* */ was indexed at %v", loc)
	}
	if _, ok := ix.Resource("", "managed", "sunset_identity", "nope"); ok {
		t.Error("found a block that does not exist")
	}
	var nilIx *Index
	if _, ok := nilIx.Resource("", "managed", "a", "b"); ok {
		t.Error("nil index found something")
	}
}

func TestModuleNames(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  "",
		"module.a":                          "a",
		`module.a["x.y]"].module.b[3]`:      "a,b",
		`module.apps["crm"]`:                "apps",
		`module.a.module.b.module.c`:        "a,b,c",
		`module.a["q\"uote"].module.b["k"]`: "a,b",
	} {
		got := ""
		for i, n := range moduleNames(in) {
			if i > 0 {
				got += ","
			}
			got += n
		}
		if got != want {
			t.Errorf("moduleNames(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScanErrors(t *testing.T) {
	if _, err := Scan(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing dir accepted")
	}
	f := filepath.Join(t.TempDir(), "file.tf")
	os.WriteFile(f, nil, 0o600)
	if _, err := Scan(f); err == nil {
		t.Error("a file accepted as source dir")
	}
}
