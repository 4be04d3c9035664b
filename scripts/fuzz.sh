#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (default 15s; CI
# runs 10s, `make fuzz` 2m). Targets are discovered with
# `go test -list`, so a new Fuzz function is fuzzed without editing this.
# Prints execs per second and total execs per target; a crash fails the run
# and leaves the crashing input under the package's testdata/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-15s}"
summary="$(mktemp)"
trap 'rm -f "$summary"' EXIT

for pkg in $(go list ./...); do
  targets="$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)"
  for target in $targets; do
    log="$(mktemp)"
    if ! go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 1x >"$log" 2>&1; then
      cat "$log"
      echo "FUZZ FAILURE: $pkg $target (the crashing input is in testdata/fuzz/$target/)" >&2
      exit 1
    fi
    # The last progress line holds the totals: "elapsed: 15s, execs: 105161 (7010/sec)".
    line="$(grep -E 'execs: [0-9]+' "$log" | tail -n1)"
    execs="$(sed -E 's/.*execs: ([0-9]+).*/\1/' <<<"$line")"
    secs="$(sed -E 's/.*elapsed: ([0-9]+)s.*/\1/' <<<"$line")"
    rate=$(( secs > 0 ? execs / secs : execs ))
    printf '%-55s %-28s %10s execs %8s/s\n' "${pkg#github.com/sunset-iam/terraform-provider-sunset/}" "$target" "$execs" "$rate" | tee -a "$summary"
    rm -f "$log"
  done
done
echo
echo "fuzzed $(wc -l < "$summary") targets for $FUZZTIME each"
