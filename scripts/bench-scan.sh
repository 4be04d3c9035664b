#!/usr/bin/env bash
# Scan N PostgreSQL login roles that a state file declares, next to a raw
# listing of the same inventory (psql \copy of pg_roles), in the same run:
# wall time and peak RSS of each (GNU time: %e %M) and their ratio.
# Targets (issue 6): scan <= 1.5x the raw listing, peak RSS <= 300 MiB.
#
#   scripts/bench-scan.sh            # 100,000 roles
#   scripts/bench-scan.sh 20000
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
n="${1:-100000}"
cd "$root"
SUNSET_BENCH_SCAN="$n" go test -count=1 -timeout 60m -run '^TestBenchScan$' -v ./scanner/cmd/sunset/ 2>&1 |
  grep -v -e '^=== RUN' -e '^--- PASS' -e '^PASS$'
