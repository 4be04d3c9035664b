// Package pemfile reads a CA bundle named by a ca_file setting, with a size
// bound: the one place both the SCIM and the LDAP target read one.
package pemfile

import (
	"fmt"
	"io"
	"os"
)

// MaxBytes bounds a ca_file. A CA bundle is a few KiB of PEM (the whole
// Mozilla root store is about 200 KiB); a path such as /dev/zero, or a
// wrong multi-gigabyte file, must be an error, not a hang at parse time.
const MaxBytes = 1 << 20

// Read reads at most MaxBytes of path; field (such as "ldap.ca_file")
// names the setting in errors.
func Read(field, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", field, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", field, err)
	}
	if len(b) > MaxBytes {
		return nil, fmt.Errorf("%s: %s is larger than %d MiB, which no CA bundle is; name the PEM file of the CA that signs the server's certificate", field, path, MaxBytes>>20)
	}
	return b, nil
}
