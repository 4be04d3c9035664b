#!/usr/bin/env bash
# LDAP inventory at scale (issue 5's measure): loads 10,000 and 100,000
# accounts into a throwaway slapd with slapadd (load time reported apart),
# then times the connector's paged Inventory and the raw peer
# (ldapsearch -E pr=500/noprompt) on the same server, and reports the
# peak Go heap and RSS of the inventory. Flat memory: 10k and 100k peaks match.
#   SUNSET_LDAP_BENCH_SIZES=1000,10000 scripts/bench-ldap-inventory.sh   # other sizes
set -euo pipefail
cd "$(dirname "$0")/.."
exec go test ./internal/connector/ldap/ -run '^$' -bench '^BenchmarkLDAPInventory$' -benchtime 1x -timeout 30m -v "$@"
