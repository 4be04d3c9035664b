package pemfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadBound(t *testing.T) {
	dir := t.TempDir()
	at := filepath.Join(dir, "at.pem")
	over := filepath.Join(dir, "over.pem")
	if err := os.WriteFile(at, make([]byte, MaxBytes), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(over, make([]byte, MaxBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := Read("x.ca_file", at); err != nil || len(b) != MaxBytes {
		t.Errorf("a file of exactly %d bytes: %d bytes, %v", MaxBytes, len(b), err)
	}
	if _, err := Read("x.ca_file", over); err == nil || !strings.Contains(err.Error(), "x.ca_file") || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a file one byte over the bound: %v, want an error naming x.ca_file", err)
	}
	if _, err := Read("x.ca_file", filepath.Join(dir, "missing.pem")); err == nil || !strings.Contains(err.Error(), "x.ca_file") {
		t.Errorf("a missing file: %v, want an error naming x.ca_file", err)
	}
}
