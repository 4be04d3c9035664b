#!/usr/bin/env bash
# Scan N PostgreSQL login roles that a state file declares, next to a raw
# listing of the same inventory (psql \copy of pg_roles), in the same run,
# round by round: wall time (measured by the test around each command) and
# peak RSS (GNU time %M) of each, best, median and range, the load average,
# and the ratios:
#   - scan / raw listing (issue 6's target: <= 1.5x; peak RSS <= 300 MiB);
#   - scan / (raw listing + cat of the state file): the honest floor, since
#     the scan must also read the state that psql never sees;
#   - state-only scan / raw listing: the same scan without the target, i.e.
#     what reading and indexing the state costs by itself.
#
# The last line, RESULT, is the verdict: the median over rounds of scan /
# raw listing, each pair measured back to back, against the 1.5x target.
#
#   scripts/bench-scan.sh                          # 100,000 roles, 5 rounds
#   scripts/bench-scan.sh 20000
#   SUNSET_BENCH_ROUNDS=10 scripts/bench-scan.sh
#   SUNSET_BENCH_BEFORE=/tmp/sunset-old scripts/bench-scan.sh   # and an earlier build, in the same rounds
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
n="${1:-100000}"
cd "$root"
SUNSET_BENCH_SCAN="$n" go test -count=1 -timeout 60m -run '^TestBenchScan$' -v ./scanner/cmd/sunset/ 2>&1 |
  grep -v -e '^=== RUN' -e '^--- PASS' -e '^PASS$'
