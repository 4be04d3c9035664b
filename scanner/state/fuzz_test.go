package state

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead: any input either reads or is refused with an error; it never
// panics or hangs, in either form.
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"version":4,"resources":[{"mode":"managed","type":"sunset_postgres_role","name":"r","instances":[{"index_key":"a\u0022b","attributes":{"id":"w/a\\/b","expires_at":null}}]}]}`))
	f.Add([]byte(`{"format_version":"1.0","values":{"root_module":{"child_modules":[{"address":"module.m","resources":[{"address":"module.m.sunset_identity.i","mode":"managed","type":"sunset_identity","name":"i","values":{"name":"x"}}]}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		v := Visitor{
			Identity:    func(i Identity) error { n++; return nil },
			Credential:  func(c Credential) error { n++; return nil },
			RosterEntry: func(r RosterEntry) error { n++; return nil },
		}
		form, err := Read(bytes.NewReader(data), "fuzz.json", v)
		if err == nil && form != FormRaw && form != FormShowJSON {
			t.Fatalf("accepted without a form: %q", form)
		}
	})
}
