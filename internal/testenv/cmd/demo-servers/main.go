// Command demo-servers starts the real servers `make demo` runs against (a
// throwaway PostgreSQL on a free loopback port), writes their connection
// settings as shell assignments, and stops them when its standard input
// closes or it is signalled. It is for the demo only: nothing it starts
// outlives it.
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
	envFile := flag.String("env-file", "", "write `KEY=value` lines for the started servers here (required)")
	flag.Parse()
	if *envFile == "" {
		fmt.Fprintln(os.Stderr, "demo-servers: -env-file is required")
		os.Exit(2)
	}

	pg, err := testenv.StartPostgres(testenv.PostgresOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo-servers: starting PostgreSQL:", err)
		os.Exit(1)
	}
	defer pg.Stop()

	env := fmt.Sprintf("WAREHOUSE_DSN='%s'\nPSQL='%s'\n", pg.DSN(pg.SuperUser, pg.SuperPassword, "postgres"), pg.BinDir+"/psql")
	// Written to a temporary name and renamed, so the demo never reads half a file.
	if err := os.WriteFile(*envFile+".tmp", []byte(env), 0o600); err == nil {
		err = os.Rename(*envFile+".tmp", *envFile)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo-servers:", err)
		os.Exit(1)
	}

	done := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(done) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-done:
	case <-sig:
	}
}
