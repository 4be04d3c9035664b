package main

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/testenv"
)

func TestZZPG(t *testing.T) {
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	pg := testenv.NewPostgresForTest(t, testenv.PostgresOptions{})
	os.WriteFile("/tmp/tf2/dsn", []byte(pg.SuperDSN()), 0o600)
	os.WriteFile("/tmp/tf2/psql.sh", []byte(fmt.Sprintf("PGPASSWORD=%s PGSSLMODE=disable %s/psql -X -q -h %s -p %d -U %s -d %s \"$@\"\n", pg.SuperPassword, pg.BinDir, pg.Host, pg.Port, pg.SuperUser, pg.Database)), 0o700)
	for {
		if _, err := os.Stat("/tmp/tf2/stop"); err == nil {
			return
		}
		time.Sleep(time.Second)
	}
}
