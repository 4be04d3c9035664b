#!/usr/bin/env bash
# The postgres connector's Inventory of N login roles (one streamed query,
# and keyset pages of 500) next to psql \copy of the same query and of the
# raw pg_roles listing scripts/bench-scan.sh compares the scan with, on one
# server, round by round: best and range of each, and its ratio to the raw
# listing.
#
#   scripts/bench-postgres-inventory.sh            # N=100000
#   N=20000 scripts/bench-postgres-inventory.sh
set -uo pipefail
cd "$(dirname "$0")/.."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
SUNSET_BENCH_N="${N:-100000}" go test -tags bench -run '^TestBenchInventoryVsPsql$' -count=1 -timeout 30m -v ./internal/connector/postgres/ >"$log" 2>&1
status=$?
if [ "$status" -eq 0 ]; then
	sed -n 's/^.*RESULT //p' "$log"
else
	cat "$log"
fi
exit "$status"
