package provider

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/postgres"
)

// postgresMaxConns matches terraform's default -parallelism of 10, so that
// ten concurrent revocations do not queue for four pooled connections.
const postgresMaxConns = 10

// postgresPools holds one connection pool per DSN for the whole provider
// process. Terraform runs one provider process per command, so in use this
// is one pool per target; but the acceptance tests serve the provider
// in-process and Configure it afresh for every terraform command, and a
// pool per Configure would leave idle connections behind until the test
// server ran out of them. Pools are never closed: the process exit does it.
var postgresPools struct {
	mu    sync.Mutex
	byDSN map[string]*postgres.Client
}

// postgresClient returns the target's PostgreSQL client, connecting on first
// use. A failed connection is not cached: the next call tries again. Errors
// are the connector's, already scrubbed of the DSN's password; callers
// still pass them through runtime.redact before showing them.
func (t *target) postgresClient(ctx context.Context) (*postgres.Client, error) {
	if t.postgres == nil {
		return nil, fmt.Errorf("target %q is a %s target, not postgres", t.name, t.kind)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.conn.(*postgres.Client); ok {
		return c, nil
	}
	dsn := t.postgres.DSN.ValueString()
	if dsn == "" {
		return nil, fmt.Errorf("target %q has no DSN: set postgres.dsn, or postgres.dsn_env to the name of a non-empty environment variable", t.name)
	}

	postgresPools.mu.Lock()
	defer postgresPools.mu.Unlock()
	c, ok := postgresPools.byDSN[dsn]
	if !ok {
		var err error
		// Connecting and the check that the server answers are bounded by
		// the target's timeout: without a connect_timeout in the DSN, pgx
		// waits for as long as the context allows, and a server that
		// accepts connections without answering would hold the apply.
		cctx, cancel := context.WithTimeout(ctx, t.postgresTimeout())
		c, err = postgres.New(cctx, postgres.Config{DSN: dsn, MaxConns: postgresMaxConns})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", t.name, err)
		}
		if postgresPools.byDSN == nil {
			postgresPools.byDSN = map[string]*postgres.Client{}
		}
		postgresPools.byDSN[dsn] = c
	}
	t.conn = c
	return c, nil
}

// postgresUser is the role the target's DSN connects as (libpq's default,
// the OS user, when the DSN names none). It always exists and may receive
// what a dropped role owned.
func (t *target) postgresUser() string {
	cfg, err := pgconn.ParseConfig(t.postgres.DSN.ValueString())
	if err != nil {
		return ""
	}
	return cfg.User
}

// postgresTimeout is the time limit of one step against the server.
func (t *target) postgresTimeout() time.Duration {
	return timeoutOf(t.postgres.Timeout, defaultTargetTimeout)
}
