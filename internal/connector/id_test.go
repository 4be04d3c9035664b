package connector

import "testing"

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
