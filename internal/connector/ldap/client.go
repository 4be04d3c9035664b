// Package ldap is sunset's connector for LDAP directories: OpenLDAP with
// the ppolicy overlay, and Active Directory. It creates and updates
// accounts with a directory-enforced expiry, revokes them (out of every
// group, then locked or deleted), verifies the revocation by reading back
// and by a refused bind, and inventories accounts page by page.
//
// It knows nothing of Terraform.
package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

var _ connector.Target = (*Client)(nil)

// Client talks to one directory. It holds no open connection: every call
// dials, binds, works and closes, so a directory restart between calls
// costs nothing and a failure mid-call is an error for that call only.
// It is safe for concurrent use.
type Client struct {
	cfg      Config  // BindPassword is blanked; see password
	password *string // a pointer so fmt never prints it, even in %+v of Client
	ep       endpoint
	base     *goldap.DN

	mu        sync.Mutex
	groupBase string // resolved Config.GroupBaseDN, cached

	// now is the local clock, replaceable in tests.
	now func() time.Time
}

// New validates cfg and returns a Client. It does not touch the network
// (Terraform configures providers before it knows whether a target is
// used); call Ping to check connectivity and credentials.
func New(_ context.Context, cfg Config) (*Client, error) {
	ep, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	base, _ := goldap.ParseDN(cfg.BaseDN)
	pw := cfg.BindPassword
	cfg.BindPassword = ""
	return &Client{cfg: cfg, password: &pw, ep: ep, base: base, now: time.Now}, nil
}

// Describe names the system and a redacted endpoint: scheme, host, port
// and base DN, never credentials.
func (c *Client) Describe() connector.Description {
	ep := c.ep.scheme + "://" + c.ep.hostPort
	if c.cfg.StartTLS {
		ep += " starttls"
	}
	ep += " base=" + c.cfg.BaseDN
	if c.cfg.flavor() != FlavorOpenLDAP {
		ep += " flavor=" + string(c.cfg.flavor())
	}
	return connector.Description{System: "ldap", Endpoint: ep}
}

// String is the redacted endpoint.
func (c *Client) String() string { return "ldap.Client{" + c.Describe().Endpoint + "}" }

// GoString keeps %#v redacted too.
func (c *Client) GoString() string { return c.String() }

// Close releases nothing: the client keeps no connection open.
func (c *Client) Close() error { return nil }

// Ping dials, binds and reads the root DSE.
func (c *Client) Ping(ctx context.Context) error {
	conn, release, err := c.connect(ctx)
	if err != nil {
		return err
	}
	defer release()
	_, err = c.resolveGroupBase(conn)
	return err
}

// connect dials and binds as the configured service account.
func (c *Client) connect(ctx context.Context) (*goldap.Conn, func(), error) {
	conn, release, err := c.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := conn.Bind(c.cfg.BindDN, *c.password); err != nil {
		release()
		return nil, nil, fmt.Errorf("ldap: bind as %s to %s: %w", c.cfg.BindDN, c.ep.hostPort, err)
	}
	return conn, release, nil
}

// dial opens an encrypted (or explicitly allowed plain) connection. The
// timeout bounds the TCP dial, the TLS handshake or StartTLS, and each
// request; cancelling ctx closes the connection, ending any request.
func (c *Client) dial(ctx context.Context) (*goldap.Conn, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	timeout := c.cfg.timeout()
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(dctx, "tcp", c.ep.hostPort)
	if err != nil {
		return nil, nil, fmt.Errorf("ldap: connect to %s: %w", c.ep.hostPort, err)
	}
	var nc net.Conn = raw
	if c.ep.scheme == "ldaps" {
		tc := tls.Client(raw, c.ep.tls.Clone())
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			return nil, nil, fmt.Errorf("ldap: TLS handshake with %s: %w", c.ep.hostPort, err)
		}
		nc = tc
	}
	conn := goldap.NewConn(nc, c.ep.scheme == "ldaps")
	conn.Start()
	conn.SetTimeout(timeout)
	if c.cfg.StartTLS {
		// go-ldap does not bound the handshake after the StartTLS reply;
		// a deadline on the socket does.
		deadline, _ := dctx.Deadline()
		_ = raw.SetDeadline(deadline)
		if err := conn.StartTLS(c.ep.tls.Clone()); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("ldap: StartTLS with %s: %w", c.ep.hostPort, err)
		}
		_ = raw.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	return conn, func() { stop(); conn.Close() }, nil
}

// bindCheck tries a simple bind as dn with password on a fresh connection
// and reports whether the directory accepted it. A refusal (invalid
// credentials, which is how ppolicy and AD answer for locked, expired or
// disabled accounts) is (false, diagnostic, nil); anything else that keeps
// us from knowing is an error.
func (c *Client) bindCheck(ctx context.Context, dn, password string) (bool, string, error) {
	if password == "" {
		return false, "", errors.New("ldap: an empty password makes an anonymous bind; it proves nothing")
	}
	conn, release, err := c.dial(ctx)
	if err != nil {
		return false, "", err
	}
	defer release()
	err = conn.Bind(dn, password)
	if err == nil {
		return true, "", nil
	}
	var lerr *goldap.Error
	if errors.As(err, &lerr) && lerr.ResultCode == goldap.LDAPResultInvalidCredentials {
		return false, lerr.Err.Error(), nil
	}
	return false, "", fmt.Errorf("ldap: test bind as %s: %w", dn, err)
}

// criticalPaging is the RFC 2696 control marked critical: a server that
// cannot page must refuse the search rather than send everything at once,
// which would break the flat-memory promise.
type criticalPaging struct {
	size   uint32
	cookie []byte
}

func (p *criticalPaging) GetControlType() string { return goldap.ControlTypePaging }

func (p *criticalPaging) String() string {
	return fmt.Sprintf("paged results size=%d critical", p.size)
}

func (p *criticalPaging) Encode() *ber.Packet {
	packet := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	packet.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, goldap.ControlTypePaging, "Control Type"))
	packet.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, true, "Criticality"))
	value := ber.Encode(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, nil, "Control Value (Paging)")
	seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Search Control Value")
	seq.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(p.size), "Paging Size"))
	seq.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, string(p.cookie), "Cookie"))
	value.AppendChild(seq)
	packet.AppendChild(value)
	return packet
}

// pagedSearch runs a subtree search page by page (RFC 2696), calling fn
// per entry; at most one page is held in memory. An error from fn stops
// the search (the server is told to drop its cursor) and is returned.
func (c *Client) pagedSearch(ctx context.Context, conn *goldap.Conn, base, filter string, attrs []string, fn func(*goldap.Entry) error) error {
	paging := &criticalPaging{size: c.cfg.pageSize()}
	timeLimit := int(c.cfg.timeout() / time.Second)
	for {
		req := goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, timeLimit, false,
			filter, attrs, []goldap.Control{paging})
		res, err := conn.Search(req)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("ldap: search under %s: %w", base, ctx.Err())
			}
			return fmt.Errorf("ldap: search under %s: %w", base, err)
		}
		for _, e := range res.Entries {
			if err := fn(e); err != nil {
				c.dropPaging(conn, req, paging)
				return err
			}
		}
		resp, _ := goldap.FindControl(res.Controls, goldap.ControlTypePaging).(*goldap.ControlPaging)
		if resp == nil || len(resp.Cookie) == 0 {
			return nil
		}
		paging.cookie = resp.Cookie
	}
}

// dropPaging asks the server to release a paged-search cursor: a request
// with size 0 and the last cookie (RFC 2696 §3). Best effort.
func (c *Client) dropPaging(conn *goldap.Conn, req *goldap.SearchRequest, paging *criticalPaging) {
	if len(paging.cookie) == 0 {
		return
	}
	paging.size = 0
	_, _ = conn.Search(req)
}

// lookup reads one entry; (nil, nil) when it does not exist.
func (c *Client) lookup(conn *goldap.Conn, dn string, attrs []string) (*goldap.Entry, error) {
	req := goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0,
		int(c.cfg.timeout()/time.Second), false, "(objectClass=*)", attrs, nil)
	res, err := conn.Search(req)
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ldap: read %s: %w", dn, err)
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("ldap: read %s: %d entries for a base search", dn, len(res.Entries))
	}
	return res.Entries[0], nil
}

// resolveGroupBase returns Config.GroupBaseDN, or the naming context that
// holds BaseDN according to the root DSE, or BaseDN.
func (c *Client) resolveGroupBase(conn *goldap.Conn) (string, error) {
	if c.cfg.GroupBaseDN != "" {
		return c.cfg.GroupBaseDN, nil
	}
	c.mu.Lock()
	cached := c.groupBase
	c.mu.Unlock()
	if cached != "" {
		return cached, nil
	}
	root, err := c.lookup(conn, "", []string{"namingContexts", "defaultNamingContext"})
	if err != nil {
		return "", err
	}
	best, bestLen := c.cfg.BaseDN, -1
	if root != nil {
		for _, nc := range root.GetAttributeValues("namingContexts") {
			p, err := goldap.ParseDN(nc)
			if err != nil || len(p.RDNs) == 0 || !underDN(c.base, p) {
				continue
			}
			if len(p.RDNs) > bestLen {
				best, bestLen = nc, len(p.RDNs)
			}
		}
	}
	c.mu.Lock()
	c.groupBase = best
	c.mu.Unlock()
	return best, nil
}

// serverTime reads the root DSE's currentTime (Active Directory has it;
// OpenLDAP does not) and falls back to the local clock.
func (c *Client) serverTime(conn *goldap.Conn) time.Time {
	if root, err := c.lookup(conn, "", []string{"currentTime"}); err == nil && root != nil {
		if v := root.GetAttributeValue("currentTime"); v != "" {
			if t, err := ParseGeneralizedTime(v); err == nil {
				return t
			}
		}
	}
	return c.now().UTC()
}
