package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

// Config says how to reach one PostgreSQL cluster. TLS follows the DSN's
// sslmode, as with libpq.
type Config struct {
	// DSN is a libpq connection string or postgres:// URL. Its password is
	// a secret: it never appears in errors, String or Describe.
	DSN string
	// IncludeBuiltin makes Inventory list the built-in roles too: the
	// bootstrap superuser (usually "postgres") and the pg_* roles, i.e.
	// every role with an OID below 16384 or a pg_ name.
	IncludeBuiltin bool
	// MaxConns caps the pool; 0 means pgxpool's default (max(4, CPUs)).
	MaxConns int32
	// InventoryPageSize, when above 0, makes Inventory read keyset pages of
	// that many roles and release the connection between pages, for an fn
	// that calls the Client with MaxConns 1. 0 (the default) lists every
	// role in one streamed query: faster, one consistent snapshot, memory
	// just as flat. See Inventory.
	InventoryPageSize int
	// TerminateWait is how long Revoke waits for terminated sessions to
	// leave pg_stat_activity; 0 means 5s.
	TerminateWait time.Duration
}

// Redacted returns the DSN with its password replaced by xxxxx, or a fixed
// placeholder when the DSN cannot be parsed.
func (c Config) Redacted() string {
	cfg, err := pgconn.ParseConfig(c.DSN)
	if err != nil {
		return "<unparsable DSN>"
	}
	return redactedDSN(cfg)
}

// String never shows the password.
func (c Config) String() string { return "postgres.Config{DSN: " + c.Redacted() + "}" }

// GoString keeps %#v from printing the DSN.
func (c Config) GoString() string { return c.String() }

func redactedDSN(cfg *pgconn.Config) string {
	return fmt.Sprintf("postgres://%s:xxxxx@%s/%s", cfg.User, endpointHost(cfg), cfg.Database)
}

func endpointHost(cfg *pgconn.Config) string {
	if strings.HasPrefix(cfg.Host, "/") { // unix socket directory
		return cfg.Host + ":" + strconv.Itoa(int(cfg.Port))
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// Client is a connection pool to one cluster and the verbs sunset needs.
type Client struct {
	pool     *pgxpool.Pool
	cfg      Config
	endpoint string
	scrub    scrubber
}

var _ connector.Target = (*Client)(nil)

// New parses the DSN, opens a pool and checks that the server answers.
func New(ctx context.Context, cfg Config) (*Client, error) {
	poolCfg, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		// The parse error may quote the DSN; keep only its innermost cause,
		// scrubbed of anything that looks like a password.
		return nil, scrubber{}.wrap("invalid DSN", errors.New(innermost(err)))
	}
	sc := scrubber{}.with(poolCfg.ConnConfig.Password)
	if cfg.MaxConns > 0 {
		poolCfg.MaxConns = cfg.MaxConns
	}
	if _, ok := poolCfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		poolCfg.ConnConfig.RuntimeParams["application_name"] = "sunset"
	}
	if cfg.TerminateWait <= 0 {
		cfg.TerminateWait = 5 * time.Second
	}
	cfg.DSN = "" // parsed; keeping it would only risk printing it
	c := &Client{
		cfg:      cfg,
		endpoint: endpointHost(&poolCfg.ConnConfig.Config) + "/" + poolCfg.ConnConfig.Database,
		scrub:    sc,
	}
	c.pool, err = pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, sc.wrap("connect to "+c.endpoint, err)
	}
	if err := c.pool.Ping(ctx); err != nil {
		c.pool.Close()
		return nil, sc.wrap("connect to "+c.endpoint, err)
	}
	return c, nil
}

// innermost returns the deepest cause's text. A ParseConfigError quotes the
// whole DSN (pgx redacts it on a best-effort basis only), so when it is the
// deepest cause only a fixed text is returned.
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			break
		}
		err = next
	}
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		return "the DSN could not be parsed (details withheld: they would quote the DSN; check host, port, sslmode and the URL-escaping of the password)"
	}
	return err.Error()
}

// String and GoString keep fmt from printing the pool's configuration.
func (c *Client) String() string   { return "postgres.Client{" + c.endpoint + "}" }
func (c *Client) GoString() string { return c.String() }

// Describe names the system and the endpoint (host:port/database), without
// user or password.
func (c *Client) Describe() connector.Description {
	return connector.Description{System: "postgresql", Endpoint: c.endpoint}
}

// Close releases the pool.
func (c *Client) Close() error {
	c.pool.Close()
	return nil
}
