package ldap

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	goldap "github.com/go-ldap/ldap/v3"
)

func TestLDAPGeneralizedTime(t *testing.T) {
	utc := func(s string) time.Time {
		tt, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tt.UTC()
	}
	cases := map[string]time.Time{
		"20261125192003Z":        utc("2026-11-25T19:20:03Z"),
		"20261125192003.5Z":      utc("2026-11-25T19:20:03.5Z"),
		"20261125192003.123Z":    utc("2026-11-25T19:20:03.123Z"),
		"202611251920Z":          utc("2026-11-25T19:20:00Z"),
		"2026112519Z":            utc("2026-11-25T19:00:00Z"),
		"2026112519.5Z":          utc("2026-11-25T19:30:00Z"),
		"20261125192003+0200":    utc("2026-11-25T17:20:03Z"),
		"20261125192003-05":      utc("2026-11-26T00:20:03Z"),
		"20261125192003.0Z":      utc("2026-11-25T19:20:03Z"), // AD's currentTime form
		PermanentLock:            time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		"19700101000000Z":        time.Unix(0, 0).UTC(),
		"20261125192003,25Z":     utc("2026-11-25T19:20:03.25Z"),
		"20240229235959Z":        utc("2024-02-29T23:59:59Z"),
		"20261125192003.000001Z": utc("2026-11-25T19:20:03.000001Z"),
	}
	for in, want := range cases {
		got, err := ParseGeneralizedTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseGeneralizedTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "2026", "20261125192003", "20261325192003Z", "20261125192003Zjunk", "2026112519200xZ", "20261125192003.Z", "20261125192003+2"} {
		if _, err := ParseGeneralizedTime(bad); err == nil {
			t.Errorf("ParseGeneralizedTime(%q) accepted", bad)
		}
	}
	// Written values are UTC, whole seconds, rounded down: never later
	// than the end date they stand for.
	end := time.Date(2027, 3, 31, 23, 59, 59, 999_000_000, time.FixedZone("CEST", 2*3600))
	if got := FormatGeneralizedTime(end); got != "20270331215959Z" {
		t.Errorf("FormatGeneralizedTime = %q", got)
	}
}

// Recorded Active Directory accountExpires values (Microsoft's attribute
// reference and long-published examples).
func TestLDAPAccountExpiresFileTime(t *testing.T) {
	recorded := []struct {
		raw   string
		never bool
		want  time.Time
	}{
		// a new account: "never", as the maximum int64
		{"9223372036854775807", true, time.Time{}},
		// an expiry that was set and then cleared: "never", as 0
		{"0", true, time.Time{}},
		// 12:00 AM January 1, 2006 UTC
		{"127805472000000000", false, time.Date(2006, 1, 1, 0, 0, 0, 0, time.UTC)},
		// the Unix epoch: the offset every conversion hinges on
		{"116444736000000000", false, time.Unix(0, 0).UTC()},
		// 100-ns precision survives
		{"116444736000000001", false, time.Unix(0, 100).UTC()},
	}
	for _, r := range recorded {
		got, never, err := ParseFileTime(r.raw)
		if err != nil || never != r.never || (!never && !got.Equal(r.want)) {
			t.Errorf("ParseFileTime(%s) = %v, never=%v, %v; want %v never=%v", r.raw, got, never, err, r.want, r.never)
		}
		if !r.never {
			if back := fmt.Sprint(TimeToFileTime(r.want)); back != r.raw {
				t.Errorf("TimeToFileTime(%v) = %s, want %s", r.want, back, r.raw)
			}
		}
	}
	if _, _, err := ParseFileTime("soon"); err == nil {
		t.Error("ParseFileTime accepted text")
	}
	// A date-only end date (ended from next midnight) lands exactly there.
	end := time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)
	ft := TimeToFileTime(end)
	if back, _ := FileTimeToTime(ft); !back.Equal(end) {
		t.Errorf("round trip %v -> %d -> %v", end, ft, back)
	}
}

func TestLDAPUserAccountControl(t *testing.T) {
	// Values as AD shows them.
	for _, c := range []struct {
		uac      int64
		disabled bool
	}{
		{512, false},   // NORMAL_ACCOUNT
		{514, true},    // NORMAL_ACCOUNT | ACCOUNTDISABLE
		{544, false},   // NORMAL_ACCOUNT | PASSWD_NOTREQD
		{546, true},    // a new account created without a password
		{66048, false}, // NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD
		{66050, true},
		{8389120, false}, // NORMAL_ACCOUNT | PASSWORD_EXPIRED: expired password, not disabled
	} {
		e := goldap.NewEntry("cn=x,dc=corp", map[string][]string{
			"userAccountControl": {fmt.Sprint(c.uac)},
			"accountExpires":     {"9223372036854775807"},
		})
		cl := &Client{cfg: Config{Flavor: FlavorActiveDirectory}}
		st, err := cl.readState(e)
		if err != nil {
			t.Fatal(err)
		}
		if st.locked != c.disabled {
			t.Errorf("uac %d: locked=%v, want %v", c.uac, st.locked, c.disabled)
		}
		if !strings.Contains(st.String(), fmt.Sprintf("userAccountControl=0x%x", c.uac)) || !strings.Contains(st.String(), "accountExpires=never") {
			t.Errorf("uac %d: state %q", c.uac, st)
		}
	}
	// Expired by accountExpires but enabled: not usable, not "locked".
	cl := &Client{cfg: Config{Flavor: FlavorActiveDirectory}}
	st, err := cl.readState(goldap.NewEntry("cn=x,dc=corp", map[string][]string{
		"userAccountControl": {"512"}, "accountExpires": {"127805472000000000"}, "lockoutTime": {"0"},
	}))
	if err != nil || st.locked || st.usable(time.Date(2006, 1, 1, 0, 0, 0, 0, time.UTC)) || !st.usable(time.Date(2005, 12, 31, 23, 59, 59, 0, time.UTC)) {
		t.Errorf("expired AD account: %+v %v", st, err)
	}
	if _, err := cl.readState(goldap.NewEntry("cn=x,dc=corp", map[string][]string{"userAccountControl": {"lots"}})); err == nil {
		t.Error("unreadable userAccountControl accepted")
	}
}

func TestLDAPActiveDirectoryWrites(t *testing.T) {
	cl, err := New(context.Background(), Config{URL: "ldaps://dc1.corp.example", BindDN: "cn=sunset,dc=corp,dc=example",
		BindPassword: "pw", BaseDN: "dc=corp,dc=example", Flavor: FlavorActiveDirectory})
	if err != nil {
		t.Fatal(err)
	}
	pw := "Pässw0rd!"
	exp := time.Date(2006, 1, 1, 0, 0, 0, 0, time.UTC)
	dn, err := cl.AccountDN(AccountSpec{UID: "jdoe", OU: "ou=staff,dc=corp,dc=example"})
	if err != nil || dn != "cn=jdoe,ou=staff,dc=corp,dc=example" {
		t.Fatalf("AD DN = %q, %v", dn, err)
	}
	got := map[string][]string{}
	for _, a := range cl.newEntryAttributes(dn, AccountSpec{UID: "jdoe", ExpiresAt: &exp, Password: &pw}) {
		got[a.Type] = a.Vals
	}
	want := map[string]string{
		"objectClass":        "top,person,organizationalPerson,user",
		"cn":                 "jdoe",
		"sAMAccountName":     "jdoe",
		"userAccountControl": "512",
		"accountExpires":     "127805472000000000",
	}
	for k, v := range want {
		if strings.Join(got[k], ",") != v {
			t.Errorf("%s = %v, want %s", k, got[k], v)
		}
	}
	// unicodePwd: the quoted password in UTF-16LE.
	raw := []byte(got["unicodePwd"][0])
	units := make([]uint16, len(raw)/2)
	for i := range units {
		units[i] = uint16(raw[2*i]) | uint16(raw[2*i+1])<<8
	}
	if s := string(utf16.Decode(units)); s != `"`+pw+`"` {
		t.Errorf("unicodePwd decodes to %q", s)
	}
	if d := cl.Describe(); d.Endpoint != "ldaps://dc1.corp.example:636 base=dc=corp,dc=example flavor=active_directory" {
		t.Errorf("Describe = %+v", d)
	}
}
