package ldap

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

// The active_directory flavour against Samba's AD DC (opt-in:
// SUNSET_SAMBA_AD=1). The flavour's attribute semantics are unit-tested
// regardless in flavor_test.go.
func TestLDAPActiveDirectorySamba(t *testing.T) {
	dc := testenv.SambaDCForTest(t)
	ctx := context.Background()
	c, err := New(ctx, Config{URL: dc.LDAPSURL, BindDN: dc.BindDN, BindPassword: dc.BindPassword, BaseDN: dc.UsersDN,
		Flavor: FlavorActiveDirectory, CAFile: dc.CAFile, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ProbeLockEnforcement(ctx, ""); err != nil {
		t.Fatal(err)
	}

	// A group to join, created raw.
	admin, release, err := c.connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	group := "CN=vpn users," + dc.UsersDN
	add := goldap.NewAddRequest(group, nil)
	add.Attribute("objectClass", []string{"group"})
	add.Attribute("sAMAccountName", []string{"vpnusers"})
	if err := admin.Add(add); err != nil {
		t.Fatal(err)
	}

	pw := "Corr3ct-Horse!"
	expires := time.Now().Add(30 * 24 * time.Hour)
	acct, err := c.Create(ctx, AccountSpec{DN: `CN=Doe\, John\+x,` + dc.UsersDN, Attributes: map[string][]string{"sAMAccountName": {"jdoe"}}, Groups: []string{group}, ExpiresAt: &expires, Password: &pw})
	if err != nil {
		t.Fatal(err)
	}
	if acct.Locked || len(acct.Groups) != 1 || acct.ExpiresAt == nil || acct.ExpiresAt.Sub(expires).Abs() > time.Microsecond {
		t.Fatalf("created %+v", acct)
	}
	dn := acct.DN
	if !canBind(t, c, dn, pw) {
		t.Fatal("cannot bind after create")
	}
	v, err := c.VerifyWith(ctx, dn, VerifyOptions{Password: &pw})
	if err != nil || v.Gone {
		t.Fatalf("verify before revoke: %+v %v", v, err)
	}
	if time.Since(v.CheckedAt).Abs() > time.Minute {
		t.Errorf("CheckedAt from AD's currentTime: %v", v.CheckedAt)
	}

	res, err := c.Revoke(ctx, dn, RevokeDisable)
	if err != nil || !res.Locked || len(res.RemovedFrom) != 1 {
		t.Fatalf("revoke: %+v %v", res, err)
	}
	v, err = c.VerifyWith(ctx, dn, VerifyOptions{Password: &pw})
	if err != nil || !v.Gone || !strings.Contains(v.Checked, "ACCOUNTDISABLE") || !strings.Contains(v.Checked, "bind refused") {
		t.Fatalf("verify after revoke: %+v %v", v, err)
	}
	t.Logf("Checked: %s", v.Checked)

	seen := false
	if err := c.Inventory(ctx, func(a connector.Account) error {
		if sameDN(a.Key, dn) {
			seen = true
			if a.Usable || len(a.Groups) != 0 || a.Name != "jdoe" {
				t.Errorf("inventory: %+v", a)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !seen {
		t.Error("inventory missed the account")
	}

	// Expiry enforced by the directory itself.
	soon := time.Now().Add(3 * time.Second)
	if _, err := c.Create(ctx, AccountSpec{UID: "temp", ExpiresAt: &soon, Password: &pw}); err != nil {
		t.Fatal(err)
	}
	tdn := "CN=temp," + dc.UsersDN
	if !canBind(t, c, tdn, pw) {
		t.Fatal("temp cannot bind before its expiry")
	}
	refused := false
	for deadline := soon.Add(10 * time.Second); time.Now().Before(deadline) && !refused; time.Sleep(200 * time.Millisecond) {
		refused = !canBind(t, c, tdn, pw)
	}
	if !refused {
		t.Error("samba still accepts a bind 10s after accountExpires")
	}

	if _, err := c.Revoke(ctx, dn, RevokeDelete); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, dn); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
