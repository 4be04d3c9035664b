#!/usr/bin/env bash
# Issue 3's revocation measure, connector side (no Terraform): revoke and
# verify N PostgreSQL roles through internal/connector/postgres, next to ONE
# psql session running the same statements (NOLOGIN, REVOKE membership,
# terminate sessions, verify query) for another N roles, on one real server
# in the same run. Prints revocations/s for each and the ratio; fails when
# the connector is under 50 revocations/s or over 3x the psql time.
#
#   scripts/bench-postgres-connector.sh          # N=1000
#   N=5000 scripts/bench-postgres-connector.sh
set -uo pipefail
cd "$(dirname "$0")/.."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
SUNSET_BENCH_N="${N:-1000}" go test -tags bench -run '^TestBenchRevokeVerifyVsPsql$' -count=1 -v ./internal/connector/postgres/ >"$log" 2>&1
status=$?
if [ "$status" -eq 0 ]; then
	sed -n 's/^.*RESULT //p' "$log"
else
	cat "$log"
fi
exit "$status"
