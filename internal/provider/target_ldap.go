package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/ldap"
	"github.com/sunset-iam/terraform-provider-sunset/internal/targets"
)

// ldapConn is what an LDAP target caches in target.conn: the client (which
// holds no open connection, so caching it is free) and what the lock
// enforcement probe found, per parent DN.
type ldapConn struct {
	client *ldap.Client

	mu sync.Mutex
	// probes holds a settled probe result per parent DN: nil when the
	// directory refused a locked and an expired test account, or an error
	// wrapping ldap.ErrLockNotEnforced when it did not. Errors that say
	// nothing about enforcement (a network failure) are not kept, so the
	// next call probes again.
	probes map[string]error
}

// ldapConfig maps the target block onto the connector's configuration,
// through the mapping the scanner shares.
func (m *ldapTargetModel) ldapConfig() (ldap.Config, error) {
	return targets.LDAPFields{
		URL: m.URL.ValueString(), BindDN: m.BindDN.ValueString(), BindPassword: m.BindPassword.ValueString(),
		BaseDN: m.BaseDN.ValueString(), Flavor: m.Flavor.ValueString(), Insecure: m.Insecure.ValueBool(),
		StartTLS: m.StartTLS.ValueBool(), CAFile: m.CAFile.ValueString(), GroupBaseDN: m.GroupBaseDN.ValueString(),
		EmptyGroupMember: m.EmptyGroupMember.ValueString(), Timeout: m.Timeout.ValueString(),
	}.Config()
}

// flavor is the target's flavour with the default filled in.
func (m *ldapTargetModel) flavor() ldap.Flavor {
	if f := m.Flavor.ValueString(); f != "" {
		return ldap.Flavor(f)
	}
	return ldap.FlavorOpenLDAP
}

// ldapConnection returns the target's cached connector state, creating the
// client on first use. ldap.New validates the configuration (TLS, DNs, CA
// file) without touching the network, so this is safe at plan time. A
// configuration error is not cached: it is cheap to find again.
func (t *target) ldapConnection(ctx context.Context) (*ldapConn, error) {
	if t.ldap == nil {
		return nil, fmt.Errorf("target %q is a %s target, not ldap", t.name, t.kind)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.conn.(*ldapConn); ok {
		return c, nil
	}
	cfg, err := t.ldap.ldapConfig()
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", t.name, err)
	}
	c, err := ldap.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", t.name, err)
	}
	conn := &ldapConn{client: c, probes: map[string]error{}}
	t.conn = conn
	return conn, nil
}

// ldapClient returns the target's LDAP client. Errors are the connector's,
// which never carry the bind password; callers still pass them through
// runtime.redact.
func (t *target) ldapClient(ctx context.Context) (*ldap.Client, error) {
	c, err := t.ldapConnection(ctx)
	if err != nil {
		return nil, err
	}
	return c.client, nil
}

// ldapLockEnforced proves, once per parent DN per provider process, that
// the directory refuses a bind for a locked account and for an expired
// one. A lock-based revocation is trusted only after that: OpenLDAP's
// ppolicy stores pwdAccountLockedTime and pwdEndTime for an entry no
// policy governs and then ignores them, so reading the attributes back
// proves nothing. The probe writes (a throwaway account, removed again),
// which is why the scanner never runs it and the provider runs it only
// where it is about to rely on a lock or an expiry.
func (t *target) ldapLockEnforced(ctx context.Context, parentDN string) error {
	c, err := t.ldapConnection(ctx)
	if err != nil {
		return err
	}
	key := strings.ToLower(parentDN)
	c.mu.Lock()
	defer c.mu.Unlock() // one probe at a time per target: concurrent destroys wait for the first
	if res, ok := c.probes[key]; ok {
		return res
	}
	err = c.client.ProbeLockEnforcement(ctx, parentDN)
	if err == nil || errors.Is(err, ldap.ErrLockNotEnforced) {
		c.probes[key] = err
	}
	return err
}

// ldapParentDN is the DN above dn, "" when dn has a single RDN or does not
// parse (the probe then runs under the target's base_dn).
func ldapParentDN(dn string) string {
	parsed, err := goldap.ParseDN(dn)
	if err != nil || len(parsed.RDNs) < 2 {
		return ""
	}
	return (&goldap.DN{RDNs: parsed.RDNs[1:]}).String()
}

// ldapSameDN compares DNs as a directory does: attribute types and values
// case-insensitively, escapes decoded. DNs that do not parse compare by
// their text.
func ldapSameDN(a, b string) bool {
	pa, errA := goldap.ParseDN(a)
	pb, errB := goldap.ParseDN(b)
	if errA != nil || errB != nil {
		return strings.EqualFold(a, b)
	}
	return pa.EqualFold(pb)
}

// ldapAlignDNs returns live with every DN that also appears in known
// (compared as DNs) spelled as in known, so that a directory that returns
// "CN=VPN,OU=Groups" for a configured "cn=vpn,ou=groups" shows no diff.
func ldapAlignDNs(live, known []string) []string {
	out := make([]string, 0, len(live))
	for _, l := range live {
		spelled := l
		for _, k := range known {
			if ldapSameDN(l, k) {
				spelled = k
				break
			}
		}
		out = append(out, spelled)
	}
	return out
}
