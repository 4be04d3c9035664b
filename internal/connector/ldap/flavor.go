package ldap

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Flavor selects how lock state, expiry and passwords are written.
type Flavor string

const (
	// FlavorOpenLDAP uses the ppolicy overlay: pwdEndTime for expiry,
	// pwdAccountLockedTime=000001010000Z to lock, the Password Modify
	// extended operation (RFC 3062) to set passwords.
	FlavorOpenLDAP Flavor = "openldap"
	// FlavorActiveDirectory uses accountExpires, userAccountControl's
	// ACCOUNTDISABLE bit and unicodePwd.
	FlavorActiveDirectory Flavor = "active_directory"
)

// PermanentLock is the pwdAccountLockedTime value that ppolicy treats as an
// administrative lock: no pwdLockoutDuration ever lifts it.
const PermanentLock = "000001010000Z"

// userAccountControl bits (MS-ADTS 2.2.16).
const (
	UACAccountDisable      = 0x0002
	UACLockout             = 0x0010 // not maintained on read; see msDS-User-Account-Control-Computed
	UACPasswdNotRequired   = 0x0020
	UACNormalAccount       = 0x0200
	UACDontExpirePassword  = 0x10000
	UACPasswordExpired     = 0x800000
	adAccountExpiresNever  = math.MaxInt64 // 0x7FFFFFFFFFFFFFFF
	fileTimeUnixEpochDelta = 116444736000000000
)

// generalizedTimeLayout is what sunset writes: UTC, whole seconds.
const generalizedTimeLayout = "20060102150405Z"

// FormatGeneralizedTime renders t as GeneralizedTime in UTC, truncated to
// the second so the directory's expiry is never later than t. GeneralizedTime
// has four year digits: an instant past 9999 (an end date of 9999-12-31 in
// a zone west of UTC ends in year 10000) is written as the last second of
// 9999, one before year 0 as the first second of year 0.
func FormatGeneralizedTime(t time.Time) string {
	t = t.UTC()
	switch {
	case t.Year() > 9999:
		t = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	case t.Year() < 0:
		t = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return t.Truncate(time.Second).Format(generalizedTimeLayout)
}

// ParseGeneralizedTime parses RFC 4517 GeneralizedTime:
// YYYYMMDDHH[MM[SS]][(.|,)fraction](Z|(+|-)HH[MM]).
func ParseGeneralizedTime(s string) (time.Time, error) {
	bad := func() (time.Time, error) {
		return time.Time{}, fmt.Errorf("%q is not a GeneralizedTime", s)
	}
	if len(s) < 11 {
		return bad()
	}
	digits := func(from, n int) (int, bool) {
		if from+n > len(s) {
			return 0, false
		}
		v := 0
		for _, c := range s[from : from+n] {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok1 := digits(0, 4)
	month, ok2 := digits(4, 2)
	day, ok3 := digits(6, 2)
	hour, ok4 := digits(8, 2)
	if !ok1 || !ok2 || !ok3 || !ok4 || month < 1 || month > 12 || day < 1 || hour > 23 ||
		day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() { // 31 February would roll into March
		return bad()
	}
	i := 10
	minute, sec := 0, 0
	var frac time.Duration
	unit := time.Hour // what a fraction is a fraction of
	if v, ok := digits(i, 2); ok {
		minute, i, unit = v, i+2, time.Minute
		if v, ok := digits(i, 2); ok {
			sec, i, unit = v, i+2, time.Second
		}
	}
	if minute > 59 || sec > 60 {
		return bad()
	}
	if i < len(s) && (s[i] == '.' || s[i] == ',') {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i+1 {
			return bad()
		}
		f, err := strconv.ParseFloat("0."+s[i+1:j], 64)
		if err != nil {
			return bad()
		}
		frac = time.Duration(f * float64(unit))
		i = j
	}
	var loc *time.Location
	switch {
	case i < len(s) && s[i] == 'Z' && i+1 == len(s):
		loc = time.UTC
	case i < len(s) && (s[i] == '+' || s[i] == '-'):
		hh, ok := digits(i+1, 2)
		if !ok {
			return bad()
		}
		mm := 0
		if len(s) == i+5 {
			if mm, ok = digits(i+3, 2); !ok {
				return bad()
			}
		} else if len(s) != i+3 {
			return bad()
		}
		off := hh*3600 + mm*60
		if s[i] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	default:
		return bad()
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, loc).Add(frac).UTC(), nil
}

// FileTimeToTime converts an AD FILETIME (100-ns intervals since
// 1601-01-01 UTC) to a time. never is true for 0 and 0x7FFFFFFFFFFFFFFF,
// which accountExpires uses for "does not expire".
func FileTimeToTime(ft int64) (t time.Time, never bool) {
	if ft == 0 || ft == adAccountExpiresNever {
		return time.Time{}, true
	}
	d := ft - fileTimeUnixEpochDelta
	return time.Unix(d/1e7, (d%1e7)*100).UTC(), false
}

// TimeToFileTime converts t to an AD FILETIME, truncating to 100 ns so the
// directory's expiry is never later than t. An instant a FILETIME cannot
// hold is clamped to the nearest value that still expires: 1 (1601) for
// one at or before 1601-01-01, the maximum less one (year 30828) after
// that. Neither may become 0 or the maximum, which mean "never".
func TimeToFileTime(t time.Time) int64 {
	const (
		minUnix = -fileTimeUnixEpochDelta / 10_000_000 // 1601-01-01T00:00:00Z
		maxUnix = (adAccountExpiresNever - fileTimeUnixEpochDelta) / 10_000_000
	)
	secs, hundreds := t.Unix(), int64(t.Nanosecond()/100)
	switch {
	case secs < minUnix:
		return 1
	case secs > maxUnix:
		return adAccountExpiresNever - 1
	}
	base := secs*1e7 + fileTimeUnixEpochDelta // cannot overflow: secs <= maxUnix
	switch {
	case hundreds >= adAccountExpiresNever-base:
		return adAccountExpiresNever - 1
	case base+hundreds < 1:
		return 1
	}
	return base + hundreds
}

// ParseFileTime parses the decimal text AD returns for accountExpires. A
// negative value is no FILETIME.
func ParseFileTime(s string) (t time.Time, never bool, err error) {
	ft, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || ft < 0 {
		return time.Time{}, false, fmt.Errorf("%q is not a FILETIME", s)
	}
	t, never = FileTimeToTime(ft)
	return t, never, nil
}

// UACString describes a userAccountControl value in evidence form,
// e.g. "userAccountControl=0x202 (ACCOUNTDISABLE)".
func UACString(uac int64) string {
	s := fmt.Sprintf("userAccountControl=0x%x", uac)
	if uac&UACAccountDisable != 0 {
		return s + " (ACCOUNTDISABLE)"
	}
	return s + " (enabled)"
}

// ADPasswordValue encodes a password the way AD's unicodePwd wants it:
// the password in double quotes, as UTF-16LE. AD accepts it only over an
// encrypted connection.
func ADPasswordValue(pw string) string {
	units := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 2*len(units))
	for i, u := range units {
		b[2*i] = byte(u)
		b[2*i+1] = byte(u >> 8)
	}
	return string(b)
}
