package connector

import (
	"strings"
	"testing"
)

func TestParseID(t *testing.T) {
	cases := []struct {
		in, target, account string
		wantErr             bool
	}{
		{in: "warehouse/etl_loader", target: "warehouse", account: "etl_loader"},
		{in: "corp/uid=a\\/b,ou=people,dc=corp", target: "corp", account: "uid=a\\/b,ou=people,dc=corp"},
		{in: "slack/2819c223-7f76-453a-919d-413861904646", target: "slack", account: "2819c223-7f76-453a-919d-413861904646"},
		{in: "noslash", wantErr: true},
		{in: "warehouse/", wantErr: true},
		{in: "/role", wantErr: true},
		{in: "9bad/role", wantErr: true},
	}
	for _, c := range cases {
		target, account, err := ParseID(c.in)
		if c.wantErr {
			if err == nil {
				t.Errorf("ParseID(%q): want error, got %q %q", c.in, target, account)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseID(%q): %v", c.in, err)
			continue
		}
		if target != c.target || account != c.account {
			t.Errorf("ParseID(%q) = %q, %q; want %q, %q", c.in, target, account, c.target, c.account)
		}
		if got := ID(target, account); got != c.in {
			t.Errorf("ID round trip: %q != %q", got, c.in)
		}
	}
}

// validTargetName must say exactly what TargetNamePattern says.
func TestValidTargetNameMatchesThePattern(t *testing.T) {
	alphabet := []string{"a", "Z", "0", "9", "_", "-", "/", ".", " ", "\n", "é", "\x00"}
	var names []string
	var grow func(prefix string, n int)
	grow = func(prefix string, n int) {
		names = append(names, prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			grow(prefix+c, n-1)
		}
	}
	grow("", 3)
	for _, n := range []int{62, 63, 64} {
		names = append(names, "a"+strings.Repeat("b", n-1), "a"+strings.Repeat("9", n-1), "9"+strings.Repeat("b", n-1))
	}
	for _, s := range names {
		if got, want := validTargetName(s), TargetNamePattern.MatchString(s); got != want {
			t.Errorf("validTargetName(%q) = %t, the pattern says %t", s, got, want)
		}
	}
}

func FuzzValidTargetName(f *testing.F) {
	f.Add("warehouse")
	f.Add("a-b_c9")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validTargetName(s), TargetNamePattern.MatchString(s); got != want {
			t.Fatalf("validTargetName(%q) = %t, the pattern says %t", s, got, want)
		}
	})
}
