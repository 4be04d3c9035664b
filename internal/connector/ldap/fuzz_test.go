package ldap

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

// Fuzz targets for the parsing and escaping that is sunset's own: the
// directory's timestamps and flags, and every DN and filter built from
// input. Escapes are checked against go-ldap's parsers (ParseDN,
// CompileFilter), the code that reads them back. Seed corpora under
// testdata/fuzz hold values directories really return.

// FuzzLDAPParseGeneralizedTime: a time that parses names exactly the
// instant its fields say (no silent roll-over from a day the month does not
// have), and survives FormatGeneralizedTime to the second, rounded down.
func FuzzLDAPParseGeneralizedTime(f *testing.F) {
	for _, s := range []string{"20261125192003Z", "20261125192003.123Z", "202611251920Z", "2026112519.5Z",
		"20261125192003+0200", "20261125192003-05", PermanentLock, "20240229235959Z", "20261125192003,25Z", "16010101000000Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseGeneralizedTime(s)
		if err != nil {
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("%q parsed in %v, not UTC", s, got.Location())
		}
		// The written fields, when whole seconds in UTC, are the instant.
		if len(s) == 15 && s[14] == 'Z' && s[12:14] != "60" && strings.Trim(s[:14], "0123456789") == "" {
			if got.Format("20060102150405") != s[:14] {
				t.Fatalf("%q parsed as %s", s, got.Format(time.RFC3339Nano))
			}
		}
		back, err := ParseGeneralizedTime(FormatGeneralizedTime(got))
		if want := written(got); err != nil || !back.Equal(want) {
			t.Fatalf("%q: %v formats as %q, which reads back as %v (%v)", s, got, FormatGeneralizedTime(got), back, err)
		}
	})
}

// FuzzLDAPFormatGeneralizedTime: any instant is written as a
// GeneralizedTime that reads back as the instant truncated to the second,
// never later than the end it stands for; one beyond the four-digit years
// as the last second of 9999, one before year 0 as its first second.
func FuzzLDAPFormatGeneralizedTime(f *testing.F) {
	f.Add(int64(1806532800), int64(999_999_999)) // 2027-03-31T22:00:00.999999999Z
	f.Add(int64(0), int64(0))
	f.Add(int64(-11644473600), int64(1)) // 1601-01-01
	f.Add(int64(253402318800), int64(0)) // 9999-12-31 ends at 10000-01-01T05:00Z in New York
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		at := time.Unix(sec, nsec)
		s := FormatGeneralizedTime(at)
		back, err := ParseGeneralizedTime(s)
		if want := written(at); err != nil || !back.Equal(want) {
			t.Fatalf("%v written as %q reads back as %v (%v), not %v", at, s, back, err, want)
		}
	})
}

// written is what a GeneralizedTime can say of t: t to the second, rounded
// down (never later), within the years 0000 to 9999.
func written(t time.Time) time.Time {
	switch y := t.UTC().Year(); {
	case y > 9999:
		return time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	case y < 0:
		return time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC) // later than t, but as long past
	}
	w := t.Truncate(time.Second)
	if w.After(t) {
		panic("Truncate rounded up")
	}
	return w
}

// FuzzLDAPParseFileTime: accountExpires text either is refused, or is
// "never" exactly for 0 and 0x7FFFFFFFFFFFFFFF, or names an instant that
// converts back to the same FILETIME.
func FuzzLDAPParseFileTime(f *testing.F) {
	for _, s := range []string{"9223372036854775807", "0", "127805472000000000", "116444736000000000", "116444736000000001",
		"133801632000000000", "-1", " 0", "1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, never, err := ParseFileTime(s)
		if err != nil {
			return
		}
		ft, perr := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if perr != nil {
			t.Fatalf("%q accepted but is not a decimal int64", s)
		}
		if never != (ft == 0 || ft == math.MaxInt64) {
			t.Fatalf("%q: never=%v", s, never)
		}
		if never {
			return
		}
		if back := TimeToFileTime(got); back != ft {
			t.Fatalf("%q reads as %v, which converts back to %d", s, got, back)
		}
	})
}

// FuzzLDAPTimeToFileTime: an instant is written as a FILETIME at most
// 100 ns earlier than it, never later; an instant AD cannot hold is
// clamped to the nearest one it can, and never to 0 or the maximum, which
// AD reads as "never expires".
func FuzzLDAPTimeToFileTime(f *testing.F) {
	f.Add(int64(1806537600), int64(0))   // 2027-04-01T00:00:00Z
	f.Add(int64(-11644473600), int64(0)) // 1601-01-01, FILETIME's own zero
	f.Add(int64(-11644473600), int64(99))
	f.Add(int64(910692730085), int64(477580700)) // the largest FILETIME
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		at := time.Unix(sec, nsec).UTC()
		ft := TimeToFileTime(at)
		if ft <= 0 || ft == math.MaxInt64 {
			t.Fatalf("%v written as FILETIME %d, which AD reads as never or invalid", at, ft)
		}
		back, never := FileTimeToTime(ft)
		if never {
			t.Fatalf("%v written as %d reads as never", at, ft)
		}
		if ft > 1 && ft < math.MaxInt64-1 && (back.After(at) || at.Sub(back) >= 100*time.Nanosecond) {
			t.Fatalf("%v written as %d reads back as %v", at, ft, back)
		}
		if back.After(at) && ft != 1 {
			t.Fatalf("%v written as %d, later: %v", at, ft, back)
		}
	})
}

// FuzzLDAPReadState: lock and expiry as the directory states them. An
// account is locked exactly when its flags say so (ACCOUNTDISABLE, or the
// permanent ppolicy lock), a readable expiry is the instant the value
// names, and a locked or expired account is never usable.
func FuzzLDAPReadState(f *testing.F) {
	f.Add(true, "514", "9223372036854775807", "0")
	f.Add(true, "512", "133801632000000000", "133801632000000000")
	f.Add(true, "66048", "0", "")
	f.Add(true, "-2147483134", "", "")
	f.Add(false, PermanentLock, "20270331215959Z", "20240101000000Z")
	f.Add(false, "20261125192003Z", "", "")
	f.Add(false, "", "20270331215959.5+0200", "")
	now := time.Date(2027, 1, 15, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, ad bool, a, b, c string) {
		cl := &Client{cfg: Config{Flavor: FlavorOpenLDAP}}
		attrs := map[string][]string{"pwdAccountLockedTime": {a}, "pwdEndTime": {b}, "pwdStartTime": {c}}
		if ad {
			cl.cfg.Flavor = FlavorActiveDirectory
			attrs = map[string][]string{"userAccountControl": {a}, "accountExpires": {b}, "lockoutTime": {c}}
		}
		st, err := cl.readState(goldap.NewEntry("uid=x,dc=example,dc=org", attrs))
		if err != nil {
			return
		}
		expiry := b
		if ad {
			uac, perr := strconv.ParseInt(a, 10, 64)
			if perr != nil {
				t.Fatalf("userAccountControl %q accepted", a)
			}
			if st.locked != (uac&UACAccountDisable != 0) {
				t.Fatalf("userAccountControl %q read as locked=%v", a, st.locked)
			}
			// What lock() writes: the bit set, every other bit kept.
			if disabled := uac | UACAccountDisable; disabled&^UACAccountDisable != uac&^UACAccountDisable || !strings.Contains(UACString(disabled), "ACCOUNTDISABLE") {
				t.Fatalf("disabling %#x gives %#x", uac, disabled)
			}
			if expiry != "" {
				want, never, perr := ParseFileTime(expiry)
				if perr != nil || never != (st.expiresAt == nil) || (!never && !st.expiresAt.Equal(want)) {
					t.Fatalf("accountExpires %q read as %v", expiry, st.expiresAt)
				}
			}
		} else {
			if st.locked != (a == PermanentLock) {
				t.Fatalf("pwdAccountLockedTime %q read as locked=%v", a, st.locked)
			}
			if expiry != "" {
				want, perr := ParseGeneralizedTime(expiry)
				if perr != nil || st.expiresAt == nil || !st.expiresAt.Equal(want) {
					t.Fatalf("pwdEndTime %q read as %v", expiry, st.expiresAt)
				}
			}
		}
		if st.locked && st.usable(now) {
			t.Fatal("a locked account is usable")
		}
		if st.expiresAt != nil && !now.Before(*st.expiresAt) && st.usable(now) {
			t.Fatalf("an account that expired at %v is usable at %v", st.expiresAt, now)
		}
	})
}

// FuzzLDAPEscapeDNValue: an escaped value, put into a DN and read back by
// go-ldap's ParseDN, is exactly the input, as one attribute of one RDN:
// no escape opens another RDN or attribute.
func FuzzLDAPEscapeDNValue(f *testing.F) {
	for _, s := range []string{"alice", "Smith, John", "a+b", `say "hi"`, `back\slash`, "<x>;y=z", "#hash", " lead", "trail ",
		"nul\x00byte", "Zoë", "bad\xffutf8", "*)(uid=*", "uid=admin,dc=evil", "\\ ", "#", "\u200b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		esc := EscapeDNValue(v)
		dn, err := BuildDN("uid", v, "ou=people,dc=example,dc=org")
		if v == "" {
			if err == nil {
				t.Fatal("BuildDN accepted an empty value")
			}
			return
		}
		if err != nil || dn != "uid="+esc+",ou=people,dc=example,dc=org" {
			t.Fatalf("BuildDN(%q) = %q, %v", v, dn, err)
		}
		parsed, err := goldap.ParseDN(dn)
		if err != nil {
			t.Fatalf("%q escaped as %q does not parse: %v", v, esc, err)
		}
		if len(parsed.RDNs) != 4 || len(parsed.RDNs[0].Attributes) != 1 {
			t.Fatalf("%q escaped as %q gives %d RDNs, the first with %d attributes", v, esc, len(parsed.RDNs), len(parsed.RDNs[0].Attributes))
		}
		if a := parsed.RDNs[0].Attributes[0]; a.Type != "uid" || a.Value != v {
			t.Fatalf("%q escaped as %q reads back as %s=%q", v, esc, a.Type, a.Value)
		}
		// The canonical spelling names the same entry.
		if !sameDN(CanonicalDN(dn), dn) {
			t.Fatalf("CanonicalDN(%q) = %q names another entry", dn, CanonicalDN(dn))
		}
	})
}

// FuzzLDAPEscapeFilterValue: an escaped value inside (uid=...) compiles
// to exactly one equality assertion on uid with exactly that value; inside
// memberFilter, to an OR of the two member equalities.
func FuzzLDAPEscapeFilterValue(f *testing.F) {
	for _, s := range []string{"alice", "*", "*)(uid=*))(|(a=", `\`, "a\x00b", "é", "(|(objectClass=*))", "uid=alice,ou=people,dc=example,dc=org", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		p, err := goldap.CompileFilter("(uid=" + EscapeFilterValue(v) + ")")
		if err != nil {
			t.Fatalf("(uid=%s) does not compile: %v", EscapeFilterValue(v), err)
		}
		checkEquality(t, p, "uid", v)
		p, err = goldap.CompileFilter(memberFilter(v))
		if err != nil {
			t.Fatalf("%s does not compile: %v", memberFilter(v), err)
		}
		if p.Tag != goldap.FilterOr || len(p.Children) != 2 {
			t.Fatalf("%s compiles to %s with %d children", memberFilter(v), goldap.FilterMap[uint64(p.Tag)], len(p.Children))
		}
		checkEquality(t, p.Children[0], "member", v)
		checkEquality(t, p.Children[1], "uniqueMember", v)
	})
}

func checkEquality(t *testing.T, p *ber.Packet, attr, value string) {
	t.Helper()
	if p.Tag != goldap.FilterEqualityMatch || len(p.Children) != 2 {
		t.Fatalf("value %q: %s with %d children, not one equality", value, goldap.FilterMap[uint64(p.Tag)], len(p.Children))
	}
	if got := p.Children[0].Data.String(); got != attr {
		t.Fatalf("value %q: assertion on %q", value, got)
	}
	if got := p.Children[1].Data.String(); got != value {
		t.Fatalf("value %q reads back as %q", value, got)
	}
}

// FuzzLDAPCanonicalDN: CanonicalDN is idempotent, agrees with its fast
// path, names the same entry, and gives one key to every spelling of a DN
// that differs only in the case of ASCII letters, spaces around
// separators, the order within a multi-valued RDN, or which characters
// are escaped.
func FuzzLDAPCanonicalDN(f *testing.F) {
	for _, s := range []string{"uid=alice,ou=people,dc=example,dc=org", "UID=Alice, ou=People , DC=Example,DC=org", `cn=Smith\, John,OU=Users,DC=corp`,
		"cn=a+uid=b,dc=x", `cn=JOS\c3\89,dc=x`, `cn=\#hash,dc=x`, `cn=\20lead,dc=x`, "cn=#04034a6f65,dc=x", "not a dn", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dn string) {
		key := CanonicalDN(dn)
		if again := CanonicalDN(key); again != key {
			t.Fatalf("CanonicalDN(%q) = %q, then %q", dn, key, again)
		}
		if strings.TrimSpace(dn) == "" {
			return // the root DSE, however many spaces
		}
		parsed, err := goldap.ParseDN(dn)
		if err != nil {
			if key != dn {
				t.Fatalf("unparseable %q became %q", dn, key)
			}
			return
		}
		if canonicalAlready(dn) {
			if slow := slowCanonicalDN(t, dn); slow != dn {
				t.Fatalf("the fast path keeps %q, the slow path gives %q", dn, slow)
			}
		}
		if !sameDN(key, dn) {
			t.Fatalf("CanonicalDN(%q) = %q names another entry", dn, key)
		}
		for _, rdn := range parsed.RDNs {
			for _, a := range rdn.Attributes {
				if !attrTypePattern.MatchString(a.Type) && !oidPattern.MatchString(a.Type) {
					return // a type that itself needs escapes: no respelling
				}
			}
		}
		for name, variant := range spellings(parsed) {
			if got := CanonicalDN(variant); got != key {
				t.Fatalf("%q (%s of %q) has key %q, not %q", variant, name, dn, got, key)
			}
		}
	})
}

// spellings writes a parsed DN in other spellings of the same entry.
func spellings(dn *goldap.DN) map[string]string {
	build := func(typ func(string) string, val func(string) string, sep string, reverse bool) string {
		var b strings.Builder
		for i, rdn := range dn.RDNs {
			if i > 0 {
				b.WriteString("," + sep)
			}
			for j := range rdn.Attributes {
				a := rdn.Attributes[j]
				if reverse {
					a = rdn.Attributes[len(rdn.Attributes)-1-j]
				}
				if j > 0 {
					b.WriteString(sep + "+" + sep)
				}
				b.WriteString(typ(a.Type) + sep + "=" + sep + val(a.Value))
			}
		}
		return b.String()
	}
	same := func(s string) string { return s }
	out := map[string]string{
		"escaped":        build(same, EscapeDNValue, "", false),
		"upper case":     build(asciiUpper, func(v string) string { return EscapeDNValue(asciiUpper(v)) }, "", false),
		"spaced":         build(same, EscapeDNValue, " ", false),
		"reordered":      build(same, EscapeDNValue, "", true),
		"hex everything": build(same, hexEscape, "", false),
	}
	return out
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func hexEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteString("\\" + strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
	}
	return b.String()
}

var oidPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)

// What fuzzing found, as plain tests (the crashing inputs are also kept
// under testdata/fuzz).
func TestLDAPFoundByFuzzing(t *testing.T) {
	// A day the month does not have rolled over into the next month.
	for _, s := range []string{"20270229000000Z", "20260431120000Z", "00010229000000Z"} {
		if got, err := ParseGeneralizedTime(s); err == nil {
			t.Errorf("%s read as %v", s, got)
		}
	}
	if _, err := ParseGeneralizedTime("20280229000000Z"); err != nil {
		t.Errorf("a leap day refused: %v", err)
	}
	// An end date of 9999-12-31 in New York ends in year 10000 UTC, which
	// has no four-digit GeneralizedTime: the last second of 9999, not
	// "100000101050000Z" (which a directory refuses).
	ny := time.FixedZone("EST", -5*3600)
	if got := FormatGeneralizedTime(time.Date(10000, 1, 1, 0, 0, 0, 0, ny)); got != "99991231235959Z" {
		t.Errorf("FormatGeneralizedTime(10000-01-01 EST) = %q", got)
	}
	// FILETIME 0 and the maximum mean "never expires": no instant may be
	// written as either, however far in the past or future.
	for _, at := range []time.Time{
		time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1601, 1, 1, 0, 0, 0, 99, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if ft := TimeToFileTime(at); ft != 1 {
			t.Errorf("TimeToFileTime(%v) = %d, want 1", at, ft)
		}
	}
	if ft := TimeToFileTime(time.Date(30828, 9, 14, 2, 48, 5, 477580700, time.UTC)); ft != math.MaxInt64-1 {
		t.Errorf("the last FILETIME instant written as %d", ft)
	}
	if ft := TimeToFileTime(time.Date(40000, 1, 1, 0, 0, 0, 0, time.UTC)); ft != math.MaxInt64-1 {
		t.Errorf("year 40000 written as %d", ft)
	}
	if _, _, err := ParseFileTime("-1"); err == nil {
		t.Error("a negative FILETIME accepted")
	}
	// CanonicalDN folds case the way sameDN compares: İ is not i, ſ is s.
	if CanonicalDN("cn=İlker,dc=x") == CanonicalDN("cn=ilker,dc=x") {
		t.Error("İlker and ilker got one key")
	}
	if CanonicalDN("cn=ſam,dc=x") != CanonicalDN("cn=SAM,dc=x") {
		t.Error("ſam and SAM got two keys")
	}
	if CanonicalDN(`cn=\ff,dc=x`) == CanonicalDN(`cn=\fe,dc=x`) {
		t.Error("two different bytes got one key")
	}
}
