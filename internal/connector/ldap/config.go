package ldap

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/sunset-iam/terraform-provider-sunset/internal/pemfile"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/loopback"
)

// DefaultTimeout bounds dialing, the TLS handshake, the bind and each
// operation when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// DefaultPageSize is the RFC 2696 page size when Config.PageSize is zero.
const DefaultPageSize = 500

// Config is one directory target.
type Config struct {
	// URL is ldaps://host[:port] or ldap://host[:port]. Plain ldap:// is
	// accepted only with StartTLS, to a loopback host, or with Insecure.
	URL string
	// BindDN and BindPassword are the service account sunset binds as.
	BindDN       string
	BindPassword string
	// BaseDN scopes the accounts sunset manages and inventories.
	BaseDN string
	// Flavor is "openldap" (default) or "active_directory".
	Flavor Flavor
	// Insecure permits an unencrypted ldap:// connection to a host that is
	// not loopback, sending the bind password in clear. It does not turn
	// off certificate verification: use CAFile for a private CA.
	Insecure bool
	// StartTLS upgrades an ldap:// connection with StartTLS before binding.
	StartTLS bool
	// CAFile is a PEM bundle of the CAs that may sign the server's
	// certificate; the system roots are used when empty.
	CAFile string
	// Timeout bounds dialing, the TLS handshake, the bind and each
	// operation; DefaultTimeout when zero.
	Timeout time.Duration
	// GroupBaseDN is where groups are searched for memberships. Empty means
	// the naming context (from the root DSE) that holds BaseDN, so a
	// BaseDN of ou=people still finds groups in ou=groups; BaseDN if the
	// root DSE names none.
	GroupBaseDN string
	// EmptyGroupMember is the DN put into a groupOfNames when the account
	// being removed is its last member (the schema requires one member).
	// Empty means such a removal fails with an error naming the group.
	EmptyGroupMember string
	// PageSize is the RFC 2696 page size; DefaultPageSize when zero.
	PageSize int
}

// String never shows the bind password.
func (c Config) String() string {
	pw := ""
	if c.BindPassword != "" {
		pw = "(redacted)"
	}
	return fmt.Sprintf("ldap.Config{URL:%q BindDN:%q BindPassword:%s BaseDN:%q Flavor:%q Insecure:%t StartTLS:%t CAFile:%q Timeout:%s}",
		c.URL, c.BindDN, pw, c.BaseDN, c.Flavor, c.Insecure, c.StartTLS, c.CAFile, c.Timeout)
}

// GoString keeps %#v from printing the password too.
func (c Config) GoString() string { return c.String() }

// endpoint is a parsed, validated Config.
type endpoint struct {
	scheme   string // "ldap" or "ldaps"
	hostPort string
	host     string
	tls      *tls.Config
}

func (c Config) validate() (endpoint, error) {
	var ep endpoint
	if c.URL == "" {
		return ep, errors.New("ldap: url is required")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return ep, fmt.Errorf("ldap: url is not a URL")
	}
	if u.User != nil {
		return ep, errors.New("ldap: url must not carry credentials; use bind_dn and bind_password")
	}
	ep.scheme = strings.ToLower(u.Scheme)
	if ep.scheme != "ldap" && ep.scheme != "ldaps" {
		return ep, fmt.Errorf("ldap: url scheme %q is not ldap or ldaps", u.Scheme)
	}
	ep.host = u.Hostname()
	if ep.host == "" {
		return ep, errors.New("ldap: url names no host")
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"ldap": "389", "ldaps": "636"}[ep.scheme]
	}
	ep.hostPort = net.JoinHostPort(ep.host, port)
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return ep, errors.New("ldap: url must be scheme://host[:port] only; put the base DN in base_dn")
	}
	if c.StartTLS && ep.scheme == "ldaps" {
		return ep, errors.New("ldap: start_tls applies to ldap:// only; ldaps:// is already encrypted")
	}
	if ep.scheme == "ldap" && !c.StartTLS && !c.Insecure && !loopback.Host(ep.host) {
		return ep, fmt.Errorf("ldap: refusing plain ldap:// to %s: the bind password would travel unencrypted; use ldaps://, set start_tls, or set insecure = true explicitly", ep.host)
	}
	switch c.Flavor {
	case "", FlavorOpenLDAP, FlavorActiveDirectory:
	default:
		return ep, fmt.Errorf("ldap: flavor %q is not %q or %q", c.Flavor, FlavorOpenLDAP, FlavorActiveDirectory)
	}
	if _, err := parseDN("ldap: bind_dn", c.BindDN); err != nil {
		return ep, err
	}
	if _, err := parseDN("ldap: base_dn", c.BaseDN); err != nil {
		return ep, err
	}
	if c.GroupBaseDN != "" {
		if _, err := parseDN("ldap: group_base_dn", c.GroupBaseDN); err != nil {
			return ep, err
		}
	}
	if c.EmptyGroupMember != "" {
		if _, err := parseDN("ldap: empty_group_member", c.EmptyGroupMember); err != nil {
			return ep, err
		}
	}
	if c.BindPassword == "" {
		// An empty password makes a simple bind anonymous (RFC 4513
		// §5.1.2): it would "succeed" and then see nothing.
		return ep, errors.New("ldap: bind_password is empty; an empty simple bind is anonymous")
	}
	if c.Timeout < 0 || c.PageSize < 0 {
		return ep, errors.New("ldap: timeout and page size must not be negative")
	}
	ep.tls = &tls.Config{ServerName: ep.host, MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := pemfile.Read("ldap: ca_file", c.CAFile)
		if err != nil {
			return ep, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return ep, fmt.Errorf("ldap: ca_file %s holds no PEM certificate", c.CAFile)
		}
		ep.tls.RootCAs = pool
	}
	return ep, nil
}

func (c Config) flavor() Flavor {
	if c.Flavor == "" {
		return FlavorOpenLDAP
	}
	return c.Flavor
}

func (c Config) timeout() time.Duration {
	if c.Timeout == 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

func (c Config) pageSize() uint32 {
	if c.PageSize == 0 {
		return DefaultPageSize
	}
	return uint32(c.PageSize)
}
