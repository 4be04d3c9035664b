// Package targets opens the connector a named target holds. It is shared by
// the provider and the scanner so that both build a target the same way from
// the same settings; it imports no Terraform package.
package targets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/ldap"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/postgres"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/scim"
)

// The connector kinds a target can hold: the block names of the provider's
// targets and of the scanner's YAML.
const (
	KindPostgres = "postgres"
	KindSCIM     = "scim"
	KindLDAP     = "ldap"
)

// Config is one named target with exactly one connector's settings, secrets
// already resolved.
type Config struct {
	Name     string
	Postgres *postgres.Config
	SCIM     *scim.Config
	LDAP     *ldap.Config
	// PostgresTimeout bounds connecting to a PostgreSQL target (pgx itself
	// waits as long as its context allows); 0: DefaultTimeout. SCIM and LDAP
	// carry their own timeouts in their configurations.
	PostgresTimeout time.Duration
}

// DefaultTimeout is a target's default time limit for one step.
const DefaultTimeout = 30 * time.Second

// Kind names the connector block the target holds, or "" when it holds none
// or several (Validate says which).
func (c Config) Kind() string {
	if k := c.kinds(); len(k) == 1 {
		return k[0]
	}
	return ""
}

func (c Config) kinds() []string {
	var out []string
	if c.Postgres != nil {
		out = append(out, KindPostgres)
	}
	if c.SCIM != nil {
		out = append(out, KindSCIM)
	}
	if c.LDAP != nil {
		out = append(out, KindLDAP)
	}
	return out
}

// Validate checks the name and that exactly one connector block is set.
func (c Config) Validate() error {
	if !connector.TargetNamePattern.MatchString(c.Name) {
		return fmt.Errorf("target name %q must start with a letter and hold only letters, digits, '_' and '-' (at most 63 characters)", c.Name)
	}
	if k := c.kinds(); len(k) != 1 {
		return fmt.Errorf("target %q holds %d connector blocks (%s); set exactly one of postgres, scim, ldap", c.Name, len(k), strings.Join(k, ", "))
	}
	return nil
}

// String names the target and its kind, never its settings.
func (c Config) String() string { return fmt.Sprintf("target %q (%s)", c.Name, c.Kind()) }

// GoString keeps %#v from printing the connector settings (and so secrets).
func (c Config) GoString() string { return c.String() }

// Open builds the connector the target holds. PostgreSQL connects and pings
// at once; SCIM and LDAP make no request until used (call Ping on an LDAP
// client, or the first Inventory, to learn that the target answers).
func Open(ctx context.Context, c Config) (connector.Target, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var (
		t   connector.Target
		err error
	)
	switch c.Kind() {
	case KindPostgres:
		var pc *postgres.Client
		limit := c.PostgresTimeout
		if limit <= 0 {
			limit = DefaultTimeout
		}
		cctx, cancel := context.WithTimeout(ctx, limit)
		pc, err = postgres.New(cctx, *c.Postgres)
		cancel()
		if err == nil {
			t = pc
		}
	case KindSCIM:
		var sc *scim.Client
		sc, err = scim.New(*c.SCIM)
		if err == nil {
			t = sc
		}
	case KindLDAP:
		var lc *ldap.Client
		lc, err = ldap.New(ctx, *c.LDAP)
		if err == nil {
			t = lc
		}
	default:
		err = errors.New("no connector block")
	}
	if err != nil {
		return nil, fmt.Errorf("target %q (%s): %w", c.Name, c.Kind(), err)
	}
	return t, nil
}
