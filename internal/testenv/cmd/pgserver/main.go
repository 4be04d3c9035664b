// Command pgserver starts a throwaway PostgreSQL (internal/testenv: a temp
// directory, a free loopback port, an unprivileged user when run as root)
// for the demo and benchmark scripts. It prints shell assignments (PGHOST, PGPORT,
// PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PG_BINDIR, BENCH_DSN) and a
// final "READY" line, then serves until its standard input closes or it is
// signalled, and removes the server.
// scripts/demo.sh and scripts/bench-postgres-destroy.sh show the use.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

func main() {
	maxConn := flag.Int("max-connections", 100, "max_connections of the server")
	flag.Parse()
	pg, err := testenv.StartPostgres(testenv.PostgresOptions{MaxConnections: *maxConn})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgserver:", err)
		os.Exit(1)
	}
	defer pg.Stop()
	fmt.Printf("PGHOST=%s\nPGPORT=%d\nPGUSER=%s\nPGPASSWORD=%s\nPGDATABASE=%s\nPGSSLMODE=disable\nPG_BINDIR=%s\nBENCH_DSN='%s'\nREADY\n",
		pg.Host, pg.Port, pg.SuperUser, pg.SuperPassword, pg.Database, pg.BinDir, pg.SuperDSN())

	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-done:
	case <-sig:
	}
}
