#!/usr/bin/env bash
# The quickstart, end to end, on this machine only: build the provider and
# the CLI, start a throwaway PostgreSQL on loopback, point terraform at the
# provider through a dev_overrides CLI config, declare the roster with a
# login role per identity, let the HR export terminate someone, watch the
# plan destroy their access, apply it, then check the evidence and scan for
# drift.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
command -v terraform >/dev/null || { echo "demo: terraform (1.11+) is not on PATH" >&2; exit 1; }
work="$(mktemp -d)"
servers_pid=""
cleanup() {
  [ -n "$servers_pid" ] && kill "$servers_pid" 2>/dev/null && wait "$servers_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Building the provider and the sunset CLI"
go build -C "$root" -o "$work/bin/terraform-provider-sunset" .
go build -C "$root" -o "$work/bin/sunset" ./scanner/cmd/sunset
go build -C "$root" -o "$work/pgserver" ./internal/testenv/cmd/pgserver
sunset="$work/bin/sunset"

step "Starting a throwaway PostgreSQL on loopback"
# pgserver stops the server when its stdin closes: tie it to a fifo we hold.
mkfifo "$work/hold"
"$work/pgserver" < "$work/hold" > "$work/pg.env" 2> "$work/pg.err" &
servers_pid=$!
exec 9> "$work/hold"
for _ in $(seq 1 300); do grep -q '^READY$' "$work/pg.env" 2>/dev/null && break; sleep 0.1; done
grep -q '^READY$' "$work/pg.env" || { cat "$work/pg.err" >&2; echo "demo: PostgreSQL did not start" >&2; exit 1; }
# shellcheck disable=SC1091
. <(grep -v '^READY$' "$work/pg.env")
export WAREHOUSE_DSN="$BENCH_DSN"
PSQL="$PG_BINDIR/psql"
echo "PostgreSQL is up on $(sed -E 's|.*@([^/]*)/.*|\1|' <<<"$WAREHOUSE_DSN")"
sql() { "$PSQL" "$WAREHOUSE_DSN" -X -q -A -F ' | ' -c "$1"; }

cat > "$work/terraformrc" <<RC
provider_installation {
  dev_overrides { "sunset-iam/sunset" = "$work/bin" }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$work/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
export SUNSET_ACTOR="${SUNSET_ACTOR:-demo@$(hostname)}"
cp -r "$root/examples/quickstart" "$work/quickstart"
cd "$work/quickstart"
# Terraform's banner about dev_overrides is noise here.
tf() { terraform "$@" -no-color 2>&1 | awk '
  /Warning: Provider development overrides are in effect/ {skip=1}
  !skip
  skip && /releases\.$/ {skip=0}' ; return "${PIPESTATUS[0]}"; }

step "Day 1: declare everyone, each with a login role that expires with them"
tf apply -auto-approve
sql "select rolname as role, rolcanlogin as can_login, rolvaliduntil as valid_until from pg_roles where rolname in ('alice','bob','carol','etl-loader','report-bot') order by 1"

step "The HR system marks bob terminated"
sed -i 's/^bob,\(.*\),active,/bob,\1,terminated,/' roster.csv
grep '^bob' roster.csv

step "Plan: bob's identity and login role are destroyed"
tf plan -out=offboard.tfplan

step "Apply: revoke, verify, record"
tf apply offboard.tfplan
sql "select rolname as role, rolcanlogin as can_login, (select count(*) from pg_auth_members m where m.member = r.oid) as memberships from pg_roles r where rolname = 'bob'"

step "Forecast: what will a plan destroy on 2030-02-01?"
tf plan -var as_of=2030-02-01T00:00:00Z | grep -E '^  # |^Plan:' || true

step "Evidence ledger: all $(wc -l < sunset-evidence.jsonl) records, hash-chained"
cat sunset-evidence.jsonl
step "Evidence: bob's revocation, end date to removal"
"$sunset" evidence report sunset-evidence.jsonl --sla 1d
"$sunset" evidence verify sunset-evidence.jsonl
echo "head: $("$sunset" evidence head sunset-evidence.jsonl)"

step "Someone creates an undeclared login role out of band; the scanner finds it"
sql "create role mallory login password 'not-in-terraform'"
terraform state pull > state.json
set +e
"$sunset" scan --config sunset.yaml --state state.json --roster roster.csv \
  --ledger sunset-evidence.jsonl --source-dir . --format table
code=$?
set -e
echo "sunset scan exited $code (1: findings at or above --fail-on)"
[ "$code" -eq 1 ] || { echo "demo: expected the scan to report the undeclared role" >&2; exit 1; }

step "Done"
