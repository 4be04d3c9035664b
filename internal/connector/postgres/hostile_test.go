package postgres

import (
	"errors"
	"strings"
	"testing"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

var hostileNames = []string{
	`x"; DROP ROLE postgres; --`,
	`o'brien`,
	`'; DROP ROLE postgres; --`,
	`back\slash`,
	`trailing\`,
	`E'\x41'`,
	`semi;colon`,
	`$sunset$; DROP ROLE postgres; $sunset$`,
	`$$`,
	`%I %L %s`,
	"tab\tand\nnewline",
	`   spaces   `,
	`UPPER lower`,
	`ユーザー名`,
	`émoji 🙂`,
	`pg-not-reserved`,
	strings.Repeat("a", 63),
	strings.Repeat("é", 31) + "a", // 63 bytes of UTF-8
}

func TestHostileNamesRoundTripExactly(t *testing.T) {
	c, pg := newClient(t)
	ctx := ctxT(t)
	group := `grp "quoted"; --`
	super(t, pg, "create role "+ident(group))
	for _, name := range hostileNames {
		t.Run("", func(t *testing.T) {
			r, err := c.Create(ctx, RoleSpec{Name: name, ConnectionLimit: -1, MemberOf: []string{group}, Password: ptr("pw-hostile")})
			if err != nil {
				t.Fatalf("Create(%q): %v", name, err)
			}
			if r.Name != name {
				t.Fatalf("created %q, read back %q", name, r.Name)
			}
			mustLogin(t, pg, name, "pw-hostile").Close(ctx)
			if _, err := c.Update(ctx, name, RoleSpec{ConnectionLimit: 2, MemberOf: []string{group}}); err != nil {
				t.Fatalf("Update(%q): %v", name, err)
			}
			found := false
			if err := c.Inventory(ctx, func(a connector.Account) error {
				found = found || a.Key == name
				return nil
			}); err != nil || !found {
				t.Fatalf("Inventory: found=%t err=%v", found, err)
			}
			sess := mustLogin(t, pg, name, "pw-hostile")
			res, err := c.Revoke(ctx, name, RevokeOptions{})
			if err != nil || !res.Existed || res.SessionsTerminated < 1 || len(res.MembershipsRevoked) != 1 || res.MembershipsRevoked[0] != group {
				t.Fatalf("Revoke(%q) = %+v, %v", name, res, err)
			}
			if err := sess.Ping(ctx); err == nil {
				t.Fatal("session survived")
			}
			if v, err := c.Verify(ctx, name); err != nil || !v.Gone {
				t.Fatalf("Verify(%q) = %+v, %v", name, v, err)
			}
			if _, err := c.Revoke(ctx, name, RevokeOptions{Mode: RevokeDrop, ReassignTo: group}); err != nil {
				t.Fatalf("drop %q: %v", name, err)
			}
			if _, err := c.Get(ctx, name); !errors.Is(err, connector.ErrNotFound) {
				t.Fatalf("after drop: %v", err)
			}
		})
	}
	// Nothing above escaped its quoting.
	mustLogin(t, pg, pg.SuperUser, pg.SuperPassword)
	if _, err := c.Get(ctx, group); err != nil {
		t.Fatalf("group role damaged: %v", err)
	}
}

func TestInvalidNamesAreRefusedNotTruncated(t *testing.T) {
	c, _ := newClient(t)
	ctx := ctxT(t)
	long := strings.Repeat("b", 64)
	longUTF8 := strings.Repeat("é", 32) // 64 bytes, 32 characters
	for _, tc := range []struct{ name, mention string }{
		{"", "empty"},
		{"nul\x00byte", "NUL"},
		{"bad\xffutf8", "UTF-8"},
		{long, "63 bytes"},
		{longUTF8, "64 bytes"},
	} {
		_, err := c.Create(ctx, RoleSpec{Name: tc.name, ConnectionLimit: -1})
		if !errors.Is(err, ErrInvalidName) || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("Create(%q) = %v; want ErrInvalidName mentioning %q", tc.name, err, tc.mention)
		}
		for what, err := range map[string]error{
			"Get":      errOf(c.Get(ctx, tc.name)),
			"Update":   errOf(c.Update(ctx, tc.name, RoleSpec{ConnectionLimit: -1})),
			"Revoke":   errOf(c.Revoke(ctx, tc.name, RevokeOptions{})),
			"Verify":   errOf(c.Verify(ctx, tc.name)),
			"MemberOf": errOf(c.Create(ctx, RoleSpec{Name: roleName("ok"), ConnectionLimit: -1, MemberOf: []string{tc.name}})),
		} {
			if !errors.Is(err, ErrInvalidName) {
				t.Errorf("%s(%q) = %v; want ErrInvalidName", what, tc.name, err)
			}
		}
	}
	// PostgreSQL would have created the 63-byte prefix: make sure nothing was.
	if _, err := c.Get(ctx, long[:63]); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("a truncated role exists: %v", err)
	}
}

func errOf[T any](_ T, err error) error { return err }

// Literals are built to mean the same whatever standard_conforming_strings
// says (an E-string with doubled backslashes), as quote_literal does.
func TestHostileNamesWithStandardConformingStringsOff(t *testing.T) {
	c, pg := newClient(t, func(cfg *Config) { cfg.DSN += "&options=-c%20standard_conforming_strings%3Doff" })
	ctx := ctxT(t)
	var scs string
	if err := c.pool.QueryRow(ctx, "show standard_conforming_strings").Scan(&scs); err != nil || scs != "off" {
		t.Fatalf("standard_conforming_strings = %q (%v); the test proves nothing", scs, err)
	}
	for _, name := range []string{`scs\off`, `scs'\'off`, `scs\`, `scs\'; DROP ROLE postgres; --`} {
		if _, err := c.Create(ctx, RoleSpec{Name: name, ConnectionLimit: -1, Password: ptr(`pw\'é`)}); err != nil {
			t.Fatalf("Create(%q): %v", name, err)
		}
		mustLogin(t, pg, name, `pw\'é`).Close(ctx)
		if res, err := c.Revoke(ctx, name, RevokeOptions{}); err != nil || !res.Existed {
			t.Fatalf("Revoke(%q) = %+v, %v", name, res, err)
		}
		if v, err := c.Verify(ctx, name); err != nil || !v.Gone {
			t.Fatalf("Verify(%q) = %+v, %v", name, v, err)
		}
	}
	mustLogin(t, pg, pg.SuperUser, pg.SuperPassword)
}
