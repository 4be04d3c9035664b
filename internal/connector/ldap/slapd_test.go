package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// These tests run against a real slapd (internal/testenv). The client's
// BaseDN is ou=people, so finding groups in ou=groups exercises the group
// base resolution from the root DSE.

func slapdClient(t *testing.T, s *testenv.Slapd, mutate ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{URL: s.LDAPSURL, BindDN: s.BindDN, BindPassword: s.BindPassword, BaseDN: s.PeopleDN,
		CAFile: s.CAFile, Timeout: 5 * time.Second}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// slapdAdmin is a raw connection for out-of-band changes and checks.
func slapdAdmin(t *testing.T, s *testenv.Slapd) *goldap.Conn {
	t.Helper()
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	conn, err := goldap.DialURL(s.LDAPSURL, goldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetTimeout(5 * time.Second)
	if err := conn.Bind(s.BindDN, s.BindPassword); err != nil {
		t.Fatal(err)
	}
	return conn
}

func slapdGroup(t *testing.T, s *testenv.Slapd, admin *goldap.Conn, rdnValue string, members ...string) string {
	t.Helper()
	dn, err := BuildDN("cn", rdnValue, s.GroupsDN)
	if err != nil {
		t.Fatal(err)
	}
	if len(members) == 0 {
		members = []string{s.BaseDN}
	}
	add := goldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"groupOfNames"})
	add.Attribute("cn", []string{rdnValue})
	add.Attribute("member", members)
	if err := admin.Add(add); err != nil {
		t.Fatalf("add group %s: %v", dn, err)
	}
	return dn
}

func slapdMembers(t *testing.T, admin *goldap.Conn, group string) []string {
	t.Helper()
	res, err := admin.Search(goldap.NewSearchRequest(group, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 5, false,
		"(objectClass=*)", []string{"member", "uniqueMember"}, nil))
	if err != nil {
		t.Fatalf("read group %s: %v", group, err)
	}
	return append(res.Entries[0].GetAttributeValues("member"), res.Entries[0].GetAttributeValues("uniqueMember")...)
}

func modify(t *testing.T, admin *goldap.Conn, dn string, f func(*goldap.ModifyRequest)) {
	t.Helper()
	m := goldap.NewModifyRequest(dn, nil)
	f(m)
	if err := admin.Modify(m); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

func canBind(t *testing.T, c *Client, dn, pw string) bool {
	t.Helper()
	ok, _, err := c.bindCheck(context.Background(), dn, pw)
	if err != nil {
		t.Fatalf("bind check: %v", err)
	}
	return ok
}

func ptr[T any](v T) *T { return &v }

func TestLDAPCreateBindRevokeDisable(t *testing.T) {
	s := testenv.SlapdForTest(t)
	admin := slapdAdmin(t, s)
	ctx := context.Background()
	shared := slapdGroup(t, s, admin, "vpn")                          // has a placeholder member too
	sole := slapdGroup(t, s, admin, "wifi", "uid=nobody,"+s.PeopleDN) // emptied below: alice becomes its only member

	c := slapdClient(t, s)
	pw := "correct horse battery staple"
	expires := time.Now().Add(90 * 24 * time.Hour)
	acct, err := c.Create(ctx, AccountSpec{UID: "alice", OU: s.PeopleDN, Groups: []string{shared, sole},
		Attributes: map[string][]string{"mail": {"alice@example.org"}, "cn": {"Alice Liddell"}}, ExpiresAt: &expires, Password: &pw})
	if err != nil {
		t.Fatal(err)
	}
	dn := "uid=alice," + s.PeopleDN
	if acct.DN != dn || acct.Locked || len(acct.Groups) != 2 || acct.ExpiresAt == nil ||
		acct.ExpiresAt.Unix() != expires.Unix() || acct.Attribute("MAIL")[0] != "alice@example.org" || acct.Attribute("userPassword") != nil {
		t.Fatalf("created %+v", acct)
	}
	if !strings.Contains(acct.State, "pwdEndTime=") || !acct.Usable(time.Now()) {
		t.Errorf("state %q usable=%v", acct.State, acct.Usable(time.Now()))
	}
	if _, err := c.Create(ctx, AccountSpec{UID: "alice", OU: s.PeopleDN}); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("second create: %v", err)
	}
	if !canBind(t, c, dn, pw) {
		t.Fatal("alice cannot bind after create")
	}
	// The replaced placeholder of the sole group is gone.
	modify(t, admin, sole, func(m *goldap.ModifyRequest) { m.Delete("member", []string{"uid=nobody," + s.PeopleDN}) })
	if v, err := c.VerifyWith(ctx, dn, VerifyOptions{Password: &pw}); err != nil || v.Gone {
		t.Fatalf("verify before revoke: %+v %v", v, err)
	}

	// alice is now the last member of "wifi": without a placeholder the
	// revocation stops with a clear error, but alice is already locked.
	_, err = c.Revoke(ctx, dn, RevokeDisable)
	if err == nil || !strings.Contains(err.Error(), "empty_group_member") || !strings.Contains(err.Error(), sole) {
		t.Fatalf("revoke with alice as last member: %v", err)
	}
	if canBind(t, c, dn, pw) {
		t.Fatal("alice can still bind after a half-done revoke: the lock must come first")
	}
	if v, err := c.VerifyWith(ctx, dn, VerifyOptions{Password: &pw}); err != nil || v.Gone {
		t.Fatalf("verify with a group left: %+v %v", v, err)
	}

	c = slapdClient(t, s, func(cfg *Config) { cfg.EmptyGroupMember = "cn=empty," + s.GroupsDN })
	res, err := c.Revoke(ctx, dn, RevokeDisable)
	if err != nil || !res.Locked || res.Absent || len(res.RemovedFrom) == 0 {
		t.Fatalf("revoke: %+v %v", res, err)
	}
	for _, g := range []string{shared, sole} {
		if containsDN(slapdMembers(t, admin, g), dn) {
			t.Errorf("group %s still lists alice", g)
		}
	}
	if m := slapdMembers(t, admin, sole); len(m) != 1 || !sameDN(m[0], "cn=empty,"+s.GroupsDN) {
		t.Errorf("sole group members after revoke: %v", m)
	}
	v, err := c.VerifyWith(ctx, dn, VerifyOptions{Password: &pw})
	if err != nil || !v.Gone || v.Absent {
		t.Fatalf("verify after revoke: %+v %v", v, err)
	}
	for _, want := range []string{"pwdAccountLockedTime=000001010000Z", "0 groups", "bind refused"} {
		if !strings.Contains(v.Checked, want) {
			t.Errorf("Checked %q lacks %q", v.Checked, want)
		}
	}
	if time.Since(v.CheckedAt) > time.Minute || v.CheckedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("CheckedAt %v", v.CheckedAt)
	}
	// Idempotent: again, nothing to do, still success.
	res, err = c.Revoke(ctx, dn, RevokeDisable)
	if err != nil || !res.Locked || len(res.RemovedFrom) != 0 {
		t.Fatalf("second revoke: %+v %v", res, err)
	}
	// connector.Target's Verify (no password) agrees.
	if v, err := c.Verify(ctx, dn); err != nil || !v.Gone || strings.Contains(v.Checked, "bind") {
		t.Fatalf("Target.Verify: %+v %v", v, err)
	}
}

func TestLDAPRevokeDelete(t *testing.T) {
	s := testenv.SlapdForTest(t)
	admin := slapdAdmin(t, s)
	ctx := context.Background()
	g := slapdGroup(t, s, admin, "staff")
	c := slapdClient(t, s)
	pw := "pw-of-bob"
	if _, err := c.Create(ctx, AccountSpec{UID: "bob", Groups: []string{g}, Password: &pw}); err != nil {
		t.Fatal(err)
	}
	dn := "uid=bob," + s.PeopleDN
	res, err := c.Revoke(ctx, dn, RevokeDelete)
	if err != nil || !res.Deleted || len(res.RemovedFrom) != 1 {
		t.Fatalf("revoke delete: %+v %v", res, err)
	}
	if _, err := c.Get(ctx, dn); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("Get after delete: %v", err)
	}
	v, err := c.VerifyWith(ctx, dn, VerifyOptions{Password: &pw})
	if err != nil || !v.Gone || !v.Absent || !strings.Contains(v.Checked, "entry absent") || !strings.Contains(v.Checked, "bind refused") {
		t.Fatalf("verify after delete: %+v %v", v, err)
	}
	if containsDN(slapdMembers(t, admin, g), dn) {
		t.Error("group still lists bob")
	}
	// Absent is success; and a dangling membership left out of band is
	// cleared even though the entry is gone.
	modify(t, admin, g, func(m *goldap.ModifyRequest) { m.Add("member", []string{dn}) })
	res, err = c.Revoke(ctx, dn, RevokeDelete)
	if err != nil || !res.Absent || res.Deleted || len(res.RemovedFrom) != 1 {
		t.Fatalf("revoke of an absent entry: %+v %v", res, err)
	}
	if _, err := c.Revoke(ctx, dn, "shred"); err == nil {
		t.Error("unknown revoke mode accepted")
	}
}

func TestLDAPOutOfBandDriftIsDetected(t *testing.T) {
	s := testenv.SlapdForTest(t)
	admin := slapdAdmin(t, s)
	ctx := context.Background()
	g1 := slapdGroup(t, s, admin, "eng")
	g2 := slapdGroup(t, s, admin, "admins")
	c := slapdClient(t, s)
	pw := "carol-pw"
	if _, err := c.Create(ctx, AccountSpec{UID: "carol", Groups: []string{g1}, Password: &pw}); err != nil {
		t.Fatal(err)
	}
	dn := "uid=carol," + s.PeopleDN
	if _, err := c.Revoke(ctx, dn, RevokeDisable); err != nil {
		t.Fatal(err)
	}

	// Someone unlocks carol and puts her in a group by hand.
	modify(t, admin, dn, func(m *goldap.ModifyRequest) { m.Delete("pwdAccountLockedTime", nil) })
	modify(t, admin, g2, func(m *goldap.ModifyRequest) { m.Add("member", []string{dn}) })

	acct, err := c.Get(ctx, dn)
	if err != nil {
		t.Fatal(err)
	}
	if acct.Locked || len(acct.Groups) != 1 || !sameDN(acct.Groups[0], g2) || !strings.Contains(acct.State, "pwdAccountLockedTime absent") {
		t.Fatalf("drift not visible: %+v", acct)
	}
	v, err := c.VerifyWith(ctx, dn, VerifyOptions{Password: &pw})
	if err != nil || v.Gone || !strings.Contains(v.Checked, "bind accepted") || !strings.Contains(v.Checked, "1 group") {
		t.Fatalf("verify after out-of-band unlock: %+v %v", v, err)
	}
	// A plain re-lock by hand without the group removal is still not gone.
	modify(t, admin, dn, func(m *goldap.ModifyRequest) { m.Replace("pwdAccountLockedTime", []string{PermanentLock}) })
	if v, err := c.Verify(ctx, dn); err != nil || v.Gone {
		t.Fatalf("locked but in a group counted as gone: %+v %v", v, err)
	}
	// The next revoke repairs both.
	if _, err := c.Revoke(ctx, dn, RevokeDisable); err != nil {
		t.Fatal(err)
	}
	if v, err := c.VerifyWith(ctx, dn, VerifyOptions{Password: &pw}); err != nil || !v.Gone {
		t.Fatalf("verify after repair: %+v %v", v, err)
	}
}

func TestLDAPUpdate(t *testing.T) {
	s := testenv.SlapdForTest(t)
	admin := slapdAdmin(t, s)
	ctx := context.Background()
	g1 := slapdGroup(t, s, admin, "a")
	g2 := slapdGroup(t, s, admin, "b")
	c := slapdClient(t, s)
	pw1, pw2 := "first-pw", "second-pw"
	exp := time.Now().Add(48 * time.Hour)
	prev := AccountSpec{UID: "dave", Attributes: map[string][]string{"mail": {"d@example.org"}, "title": {"eng"}},
		Groups: []string{g1}, ExpiresAt: &exp, Password: &pw1}
	if _, err := c.Create(ctx, prev); err != nil {
		t.Fatal(err)
	}
	dn := "uid=dave," + s.PeopleDN
	exp2 := exp.Add(24 * time.Hour)
	next := AccountSpec{UID: "dave", Attributes: map[string][]string{"mail": {"dave@example.org", "d@example.org"}},
		Groups: []string{g2}, ExpiresAt: &exp2}
	acct, err := c.Update(ctx, prev, next)
	if err != nil {
		t.Fatal(err)
	}
	if len(acct.Attribute("mail")) != 2 || acct.Attribute("title") != nil || acct.ExpiresAt.Unix() != exp2.Unix() ||
		len(acct.Groups) != 1 || !sameDN(acct.Groups[0], g2) {
		t.Fatalf("after update: %+v", acct)
	}
	if !canBind(t, c, dn, pw1) {
		t.Fatal("password changed although none was given")
	}
	// Password only when given; expiry cleared; out-of-band removal from
	// a declared group is repaired.
	modify(t, admin, g2, func(m *goldap.ModifyRequest) { m.Delete("member", []string{dn}) })
	prev = next
	next.ExpiresAt, next.Password = nil, &pw2
	acct, err = c.Update(ctx, prev, next)
	if err != nil {
		t.Fatal(err)
	}
	if acct.ExpiresAt != nil || len(acct.Groups) != 1 || canBind(t, c, dn, pw1) || !canBind(t, c, dn, pw2) {
		t.Fatalf("after second update: %+v", acct)
	}
	if _, err := c.Update(ctx, next, AccountSpec{UID: "dave2"}); err == nil {
		t.Error("rename accepted")
	}
	if _, err := c.Update(ctx, AccountSpec{UID: "ghost"}, AccountSpec{UID: "ghost"}); !errors.Is(err, connector.ErrNotFound) {
		t.Errorf("update of a missing entry: %v", err)
	}
}

// The acceptance test: the directory itself ends access at
// expires_at, with nothing run in between.
func TestLDAPDirectoryEnforcesExpiry(t *testing.T) {
	s := testenv.SlapdForTest(t)
	ctx := context.Background()
	c := slapdClient(t, s)
	pw := "eve-pw"
	expires := time.Now().Add(4 * time.Second).Truncate(time.Second) // 3 to 4 s ahead
	if _, err := c.Create(ctx, AccountSpec{UID: "eve", ExpiresAt: &expires, Password: &pw}); err != nil {
		t.Fatal(err)
	}
	dn := "uid=eve," + s.PeopleDN
	if !canBind(t, c, dn, pw) {
		t.Fatal("eve cannot bind before expires_at")
	}
	var refusedAt time.Time
	for deadline := expires.Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		before := time.Now()
		if !canBind(t, c, dn, pw) {
			refusedAt = before
			break
		}
	}
	if refusedAt.IsZero() {
		t.Fatalf("eve could still bind 10s after expires_at %v", expires)
	}
	// Refused at expires_at, not before it (a bind started before the
	// expiry succeeded, or we would have broken out earlier).
	if refusedAt.Before(expires.Add(-time.Second)) {
		t.Fatalf("refused at %v, before expires_at %v", refusedAt, expires)
	}
	acct, err := c.Get(ctx, dn)
	if err != nil || acct.Locked || acct.Usable(time.Now()) {
		t.Fatalf("expired account: %+v %v", acct, err)
	}
	t.Logf("expires_at %s, first refused bind started %s", expires.Format(time.RFC3339Nano), refusedAt.Format(time.RFC3339Nano))
}

func TestLDAPHostileNames(t *testing.T) {
	s := testenv.SlapdForTest(t)
	admin := slapdAdmin(t, s)
	ctx := context.Background()
	c := slapdClient(t, s, func(cfg *Config) { cfg.EmptyGroupMember = s.BaseDN })
	group := slapdGroup(t, s, admin, `ops, eu+"x"`)

	// A bystander who must survive everything below.
	victimPW := "victim-pw"
	if _, err := c.Create(ctx, AccountSpec{UID: "victim", Groups: []string{group}, Password: &victimPW}); err != nil {
		t.Fatal(err)
	}
	victim := "uid=victim," + s.PeopleDN

	names := []string{
		"o'neil, jr+sr",
		"*",
		"*)(uid=*",
		`back\slash`,
		"#hash",
		" lead and trail ",
		`<a>;b="c"`,
		"victim,ou=people",
		"Zoë=ü",
		"nul\x00byte",
	}
	for _, name := range names {
		pw := "pw:" + name
		acct, err := c.Create(ctx, AccountSpec{UID: name, Groups: []string{group}, Password: &pw})
		if err != nil {
			t.Fatalf("create %q: %v", name, err)
		}
		parsed, _ := goldap.ParseDN(acct.DN)
		if got := parsed.RDNs[0].Attributes[0].Value; got != name || len(parsed.RDNs) != 4 {
			t.Fatalf("%q became DN %q (first value %q)", name, acct.DN, got)
		}
		if acct.Attribute("uid")[0] != name || len(acct.Groups) != 1 {
			t.Fatalf("%q read back as %+v", name, acct)
		}
		// Search by the escaped value finds exactly this entry.
		res, err := admin.Search(goldap.NewSearchRequest(s.PeopleDN, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 5, false,
			"(uid="+EscapeFilterValue(name)+")", []string{"uid"}, nil))
		if err != nil || len(res.Entries) != 1 || !sameDN(res.Entries[0].DN, acct.DN) {
			t.Fatalf("search for %q: %v %v", name, res, err)
		}
		if !canBind(t, c, acct.DN, pw) {
			t.Fatalf("%q cannot bind", name)
		}
		if _, err := c.Revoke(ctx, acct.DN, RevokeDelete); err != nil {
			t.Fatalf("revoke %q: %v", name, err)
		}
		if v, err := c.VerifyWith(ctx, acct.DN, VerifyOptions{Password: &pw}); err != nil || !v.Absent {
			t.Fatalf("verify %q: %+v %v", name, v, err)
		}
	}
	// Nothing else was touched.
	acct, err := c.Get(ctx, victim)
	if err != nil || acct.Locked || len(acct.Groups) != 1 || !canBind(t, c, victim, victimPW) {
		t.Fatalf("the bystander was touched: %+v %v", acct, err)
	}
}

func TestLDAPTransportAndSecrets(t *testing.T) {
	s := testenv.SlapdForTest(t)
	ctx := context.Background()

	// ldaps with the CA file, StartTLS on the plain port, and plain LDAP
	// to loopback all work.
	for name, mutate := range map[string]func(*Config){
		"ldaps":    func(*Config) {},
		"starttls": func(c *Config) { c.URL, c.StartTLS = s.URL, true },
		"loopback": func(c *Config) { c.URL, c.CAFile = s.URL, "" },
	} {
		if err := slapdClient(t, s, mutate).Ping(ctx); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Without the CA the certificate is not trusted.
	err := slapdClient(t, s, func(c *Config) { c.CAFile = "" }).Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("ldaps without the CA: %v", err)
	}
	// Plain LDAP to a non-loopback address is refused before any dial.
	cfg := Config{URL: "ldap://192.0.2.10:389", BindDN: s.BindDN, BindPassword: s.BindPassword, BaseDN: s.PeopleDN}
	if _, err := New(ctx, cfg); err == nil || !strings.Contains(err.Error(), "insecure") {
		t.Errorf("plain LDAP to a remote host: %v", err)
	}

	// Secrets stay out of errors: a wrong bind password, a user password
	// in a failed create, a verify against a dead server.
	wrong := "Wr0ng-" + s.BindPassword
	err = slapdClient(t, s, func(c *Config) { c.BindPassword = wrong }).Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "Invalid Credentials") {
		t.Errorf("wrong bind password: %v", err)
	}
	userPW := "user-secret-Q9"
	c := slapdClient(t, s)
	_, createErr := c.Create(ctx, AccountSpec{UID: "frank", Password: &userPW, Groups: []string{"cn=missing," + s.GroupsDN}})
	if createErr == nil {
		t.Fatal("create into a missing group succeeded")
	}
	if _, err := c.Get(ctx, "uid=frank,"+s.PeopleDN); !errors.Is(err, connector.ErrNotFound) {
		t.Errorf("failed create left the entry behind: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	_, verifyErr := c.VerifyWith(ctx, "uid=frank,"+s.PeopleDN, VerifyOptions{Password: &userPW})
	if verifyErr == nil {
		t.Fatal("verify against a stopped server did not fail")
	}
	for _, e := range []error{err, createErr, verifyErr} {
		if e != nil && (strings.Contains(e.Error(), s.BindPassword) || strings.Contains(e.Error(), userPW)) {
			t.Errorf("secret in error: %v", e)
		}
	}
	if strings.Contains(fmt.Sprintf("%+v %#v", c, c), s.BindPassword) {
		t.Error("secret in the client's printed form")
	}
}

// Timeouts bound everything: a server that accepts and never answers.
func TestLDAPTimeoutOnSilentServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	for _, url := range []string{"ldap://" + l.Addr().String(), "ldaps://" + l.Addr().String()} {
		c, err := New(context.Background(), Config{URL: url, BindDN: "cn=a,dc=x", BindPassword: "p", BaseDN: "dc=x", Timeout: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = c.Ping(context.Background())
		if err == nil || time.Since(start) > 3*time.Second {
			t.Errorf("%s: Ping returned %v after %v", url, err, time.Since(start))
		}
		// A cancelled context ends a call too.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		c.cfg.Timeout = time.Minute
		start = time.Now()
		_, err = c.Verify(ctx, "uid=a,dc=x")
		cancel()
		if err == nil || time.Since(start) > 3*time.Second {
			t.Errorf("%s: Verify with a short context returned %v after %v", url, err, time.Since(start))
		}
	}
}

func TestLDAPInventory(t *testing.T) {
	s := testenv.SlapdForTest(t)
	admin := slapdAdmin(t, s)
	ctx := context.Background()
	g := slapdGroup(t, s, admin, "inv")
	c := slapdClient(t, s, func(cfg *Config) { cfg.PageSize = 2 })
	past := time.Now().Add(-time.Hour)
	future := time.Now().Add(time.Hour)
	specs := []AccountSpec{
		{UID: "u1", Groups: []string{g}, ExpiresAt: &future},
		{UID: "u2", ExpiresAt: &past},
		{UID: "u3"},
		{UID: "u4", Groups: []string{g}},
		{UID: "u5"},
	}
	for _, sp := range specs {
		if _, err := c.Create(ctx, sp); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Revoke(ctx, "uid=u4,"+s.PeopleDN, RevokeDisable); err != nil {
		t.Fatal(err)
	}
	got := map[string]connector.Account{}
	err := c.Inventory(ctx, func(a connector.Account) error {
		got[a.Name] = a
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("inventory: %d accounts: %+v", len(got), got)
	}
	u1, u2, u3, u4 := got["u1"], got["u2"], got["u3"], got["u4"]
	if !u1.Usable || u1.ExpiresAt == nil || len(u1.Groups) != 1 || !sameDN(u1.Groups[0], g) || u1.Key != "uid=u1,"+s.PeopleDN {
		t.Errorf("u1: %+v", u1)
	}
	if u2.Usable || !strings.Contains(u2.State, "pwdEndTime=") {
		t.Errorf("u2 (expired): %+v", u2)
	}
	if !u3.Usable || len(u3.Groups) != 0 {
		t.Errorf("u3: %+v", u3)
	}
	if u4.Usable || len(u4.Groups) != 0 || !strings.Contains(u4.State, PermanentLock) {
		t.Errorf("u4 (revoked): %+v", u4)
	}

	// Without memberOf to trust (a groupOfUniqueNames holds members), the
	// groups are searched per account and still come out right.
	add := goldap.NewAddRequest("cn=uniq,"+s.GroupsDN, nil)
	add.Attribute("objectClass", []string{"groupOfUniqueNames"})
	add.Attribute("cn", []string{"uniq"})
	add.Attribute("uniqueMember", []string{"uid=u3," + s.PeopleDN, s.BaseDN})
	if err := admin.Add(add); err != nil {
		t.Fatal(err)
	}
	got = map[string]connector.Account{}
	if err := c.Inventory(ctx, func(a connector.Account) error { got[a.Name] = a; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got["u3"].Groups) != 1 || len(got["u1"].Groups) != 1 {
		t.Errorf("fallback groups: u3 %v, u1 %v", got["u3"].Groups, got["u1"].Groups)
	}
	// Revoke clears uniqueMember too.
	if _, err := c.Revoke(ctx, "uid=u3,"+s.PeopleDN, RevokeDisable); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Verify(ctx, "uid=u3,"+s.PeopleDN); err != nil || !v.Gone {
		t.Errorf("u3 after revoke: %+v %v", v, err)
	}

	// fn's error stops the listing and comes back.
	stop := errors.New("enough")
	n := 0
	if err := c.Inventory(ctx, func(connector.Account) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("stop from fn: %v after %d", err, n)
	}
	// Nothing under the base is suspect, not "no accounts".
	empty := slapdClient(t, s, func(cfg *Config) { cfg.BaseDN = s.GroupsDN })
	if err := empty.Inventory(ctx, func(connector.Account) error { return nil }); !errors.Is(err, connector.ErrSuspectEmpty) {
		t.Errorf("empty inventory: %v", err)
	}
}

func TestLDAPServerDownMidOperation(t *testing.T) {
	s := testenv.SlapdForTest(t)
	ctx := context.Background()
	c := slapdClient(t, s, func(cfg *Config) { cfg.PageSize = 5; cfg.Timeout = 3 * time.Second })
	for i := 0; i < 20; i++ {
		if _, err := c.Create(ctx, AccountSpec{UID: fmt.Sprintf("m%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// The server dies after the first page: the listing fails, it does not
	// end short and "complete".
	seen := 0
	err := c.Inventory(ctx, func(connector.Account) error {
		seen++
		if seen == 1 {
			if err := s.Kill(); err != nil {
				t.Fatal(err)
			}
		}
		return nil
	})
	if err == nil {
		t.Fatalf("inventory with the server killed mid-way returned nil after %d accounts", seen)
	}
	dn := "uid=m00," + s.PeopleDN
	if _, err := c.Revoke(ctx, dn, RevokeDisable); err == nil {
		t.Fatal("revoke against a dead server succeeded")
	}
	if v, err := c.Verify(ctx, dn); err == nil || v.Gone {
		t.Fatalf("verify against a dead server: %+v %v", v, err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Revoke(ctx, dn, RevokeDisable); err != nil {
		t.Fatalf("revoke after restart: %v", err)
	}
	if v, err := c.Verify(ctx, dn); err != nil || !v.Gone {
		t.Fatalf("verify after restart: %+v %v", v, err)
	}
}

// OpenLDAP 2.5's ppolicy ignores pwdAccountLockedTime and pwdEndTime for
// entries no policy governs. The probe proves enforcement on the live
// directory, and fails clearly where it is missing.
func TestLDAPProbeLockEnforcement(t *testing.T) {
	ctx := context.Background()
	good := testenv.SlapdForTest(t)
	c := slapdClient(t, good)
	if err := c.ProbeLockEnforcement(ctx, ""); err != nil {
		t.Fatalf("probe on a directory with a default policy: %v", err)
	}
	res, err := slapdAdmin(t, good).Search(goldap.NewSearchRequest(good.PeopleDN, goldap.ScopeSingleLevel,
		goldap.NeverDerefAliases, 0, 5, false, "(uid=sunset-lock-probe-*)", []string{"1.1"}, nil))
	if err != nil || len(res.Entries) != 0 {
		t.Fatalf("probe account left behind: %v %v", res, err)
	}

	bare := testenv.SlapdForTestWith(t, testenv.SlapdOptions{NoDefaultPolicy: true})
	c = slapdClient(t, bare)
	err = c.ProbeLockEnforcement(ctx, "")
	if !errors.Is(err, ErrLockNotEnforced) || !strings.Contains(err.Error(), "pwdAccountLockedTime=000001010000Z could still bind") {
		t.Fatalf("probe without a policy: %v", err)
	}
	// This is why Verify is given the password wherever it is known: the
	// attributes say locked, and only the bind tells the truth.
	pw := "still-works"
	if _, err := c.Create(ctx, AccountSpec{UID: "gina", Password: &pw}); err != nil {
		t.Fatal(err)
	}
	dn := "uid=gina," + bare.PeopleDN
	if _, err := c.Revoke(ctx, dn, RevokeDisable); err != nil {
		t.Fatal(err)
	}
	v, err := c.VerifyWith(ctx, dn, VerifyOptions{Password: &pw})
	if err != nil || v.Gone || !strings.Contains(v.Checked, "bind accepted") {
		t.Fatalf("verify with the password on an unenforced lock: %+v %v", v, err)
	}
}
