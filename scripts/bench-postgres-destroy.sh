#!/usr/bin/env bash
# Issue 3's revocation measure through Terraform: N sunset_postgres_role
# resources (for_each) on a throwaway PostgreSQL, destroyed with
# -parallelism=10, next to, in the same run on the same server:
#   - ONE psql session running the same statements for N recreated roles
#     (NOLOGIN, REVOKE the membership, terminate sessions, verify query);
#   - Terraform's own floor: N time_static (hashicorp/time v0.13.1) destroyed
#     the same way (BENCHMARKS.md).
# Each destroy is timed as `plan -destroy` (refresh + plan) and `apply` of
# that plan (the revocations), and as their sum, in wall time and in CPU time
# (user + sys of terraform and its providers). Prints revocations/s and the
# ratios, sunset/time_static first (BENCHMARKS.md's target: <= 1.2x in
# total), and checks that every role really is revoked and recorded. On a
# shared machine the CPU ratio is the steadier of the two.
#
#   scripts/bench-postgres-destroy.sh          # N=1000
#   N=200 scripts/bench-postgres-destroy.sh
#   KEEP=1 ...                                  # keep the work directory
set -euo pipefail

N="${N:-1000}"
PAR="${PARALLELISM:-10}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
pgpid=""
cleanup() {
  if [ -n "$pgpid" ]; then exec 3>&-; wait "$pgpid" 2>/dev/null || true; fi
  if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
command -v terraform >/dev/null || { echo "terraform (1.11+) is not on PATH" >&2; exit 1; }
for c in jq bc; do command -v "$c" >/dev/null || { echo "$c is needed" >&2; exit 1; }; done

gobin="$(go env GOPATH)/bin"
if [ ! -x "$gobin/terraform-provider-time" ]; then
  echo "installing hashicorp/terraform-provider-time v0.13.1 (Terraform's floor)" >&2
  go install github.com/hashicorp/terraform-provider-time@v0.13.1
fi
mkdir -p "$work/plugins" "$work/sunset" "$work/time"
go build -C "$root" -o "$work/plugins/terraform-provider-sunset" .
go build -C "$root" -o "$work/pgserver" ./internal/testenv/cmd/pgserver
cp "$gobin/terraform-provider-time" "$work/plugins/"
cat > "$work/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "sunset-iam/sunset" = "$work/plugins"
    "hashicorp/time"    = "$work/plugins"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$work/terraformrc"

# The server lives until fd 3 closes (at exit).
mkfifo "$work/pg.in"
"$work/pgserver" < "$work/pg.in" > "$work/pg.env" 2> "$work/pg.err" &
pgpid=$!
exec 3> "$work/pg.in"
for _ in $(seq 1 600); do grep -q '^READY$' "$work/pg.env" 2>/dev/null && break; sleep 0.1; done
grep -q '^READY$' "$work/pg.env" || { cat "$work/pg.err" >&2; exit 1; }
set -a; . <(grep -v '^READY$' "$work/pg.env"); set +a
psql_() { "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_ -c "CREATE ROLE bench_grp"

cat > "$work/sunset/main.tf" <<'TF'
terraform {
  required_providers {
    sunset = { source = "sunset-iam/sunset" }
  }
}
variable "n" { type = number }
provider "sunset" {
  evidence = { file = "${path.module}/ledger.jsonl" }
  targets  = { warehouse = { postgres = { dsn_env = "BENCH_DSN" } } }
}
resource "sunset_postgres_role" "r" {
  for_each    = toset([for i in range(1, var.n + 1) : format("bench_%05d", i)])
  target      = "warehouse"
  name        = each.key
  identity_id = each.key
  expires_at  = "2030-12-31"
  member_of   = ["bench_grp"]
}
TF
cat > "$work/time/main.tf" <<'TF'
terraform {
  required_providers {
    time = { source = "hashicorp/time" }
  }
}
variable "n" { type = number }
resource "time_static" "r" {
  for_each = toset([for i in range(1, var.n + 1) : format("bench_%05d", i)])
  triggers = { name = each.key }
}
TF

now() { date +%s.%N; }
# tf DIR COMMAND ARGS...: runs terraform quietly, failing loudly.
# Sets cpu_s: user + sys seconds of terraform and the providers it ran.
tf() {
  local dir="$1" cmd="$2" TIMEFORMAT='%U %S' u s; shift 2
  { time terraform -chdir="$dir" "$cmd" -no-color -input=false "$@" >"$work/tf.log" 2>&1; } 2>"$work/tf.cpu" || { tail -40 "$work/tf.log" >&2; return 1; }
  read -r u s < "$work/tf.cpu"
  cpu_s="$(echo "$u + $s" | bc)"
}
# destroy_timed DIR: plan -destroy then apply; sets plan_s, apply_s (wall)
# and plan_cpu, apply_cpu.
destroy_timed() {
  local t0 t1 t2
  t0="$(now)"
  tf "$1" plan -destroy -refresh=true -parallelism="$PAR" -var n="$N" -out="$1/destroy.tfplan"
  t1="$(now)"; plan_cpu="$cpu_s"
  cp "$1/terraform.tfstate" "$1/before-destroy.tfstate"
  tf "$1" apply -parallelism="$PAR" "$1/destroy.tfplan"
  t2="$(now)"; apply_cpu="$cpu_s"
  plan_s="$(echo "$t1 - $t0" | bc)"; apply_s="$(echo "$t2 - $t1" | bc)"
}

echo "creating $N roles through terraform (parallelism $PAR) ..." >&2
t0="$(now)"; tf "$work/sunset" apply -auto-approve -parallelism="$PAR" -var n="$N"; t1="$(now)"
create_s="$(echo "$t1 - $t0" | bc)"
echo "creating $N time_static ..." >&2
tf "$work/time" apply -auto-approve -parallelism="$PAR" -var n="$N"

echo "destroying both ..." >&2
# The destroy of N roles is a mass revocation: acknowledge the exact count.
SUNSET_ACKNOWLEDGE_REVOCATIONS="$N" destroy_timed "$work/sunset"
s_plan="$plan_s"; s_apply="$apply_s"; s_plan_cpu="$plan_cpu"; s_apply_cpu="$apply_cpu"
destroy_timed "$work/time"
t_plan="$plan_s"; t_apply="$apply_s"; t_plan_cpu="$plan_cpu"; t_apply_cpu="$apply_cpu"

# Revoked for real, and recorded.
left="$(psql_ -At -c "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'bench\_%' AND rolname <> 'bench_grp' AND (rolcanlogin OR pg_has_role(oid, 'bench_grp', 'MEMBER'))")"
revoked="$(grep -c '"event":"credential.revoked"' "$work/sunset/ledger.jsonl" || true)"
[ "$left" = 0 ] || { echo "FAIL: $left roles still usable after the destroy" >&2; exit 1; }
[ "$revoked" = "$N" ] || { echo "FAIL: $revoked credential.revoked records, want $N" >&2; exit 1; }

# The psql peer: the same roles recreated, one session, the same statements.
psql_ -c "DO \$\$ BEGIN FOR i IN 1..$N LOOP
  EXECUTE format('DROP ROLE %I', format('bench_%s', lpad(i::text, 5, '0')));
  EXECUTE format('CREATE ROLE %I LOGIN VALID UNTIL ''2031-01-01'' IN ROLE bench_grp', format('bench_%s', lpad(i::text, 5, '0')));
END LOOP; END \$\$"
for i in $(seq 1 "$N"); do
  r="$(printf 'bench_%05d' "$i")"
  printf 'ALTER ROLE "%s" NOLOGIN;\nREVOKE bench_grp FROM "%s";\n' "$r" "$r"
  printf "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '%s';\n" "$r"
  printf "SELECT clock_timestamp(), rolcanlogin, (SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid), (SELECT count(*) FROM pg_stat_activity a WHERE a.usesysid = r.oid) FROM pg_roles r WHERE rolname = '%s';\n" "$r"
done > "$work/peer.sql"
t0="$(now)"; psql_ -At -f "$work/peer.sql" > "$work/peer.out"; t1="$(now)"
psql_s="$(echo "$t1 - $t0" | bc)"
ok="$(grep -c '|f|0|0$' "$work/peer.out" || true)"
[ "$ok" = "$N" ] || { echo "FAIL: psql verified $ok of $N" >&2; exit 1; }

# sunset's own share: each credential.revoked record holds requested_at
# (the provider's Delete starting) and time (its record written after the
# verification), so their difference is the whole provider-side cost of
# one revocation; what is left of the apply's wall time is Terraform's.
own="$(jq -r 'def ts: capture("^(?<s>[^.Z]+)(?<f>[.][0-9]+)?Z$") | ((.s + "Z") | fromdateiso8601) + (("0" + (.f // "")) | tonumber);
  select(.event == "credential.revoked") | ((.time | ts) - (.requested_at | ts))' "$work/sunset/ledger.jsonl" |
  sort -n | awk '{ a[NR] = $1; s += $1 } END { printf "%.1f %.1f %.2f", a[int((NR + 1) / 2)] * 1000, a[int(NR * 0.9)] * 1000, s }')"
read -r own_med own_p90 own_sum <<<"$own"

awk -v n="$N" -v par="$PAR" -v cs="$create_s" -v sp="$s_plan" -v sa="$s_apply" -v tp="$t_plan" -v ta="$t_apply" -v spc="$s_plan_cpu" -v sac="$s_apply_cpu" -v tpc="$t_plan_cpu" -v tac="$t_apply_cpu" -v ps="$psql_s" -v om="$own_med" -v o9="$own_p90" -v os="$own_sum" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
  st = sp + sa; tt = tp + ta
  printf "N=%d roles, terraform -parallelism=%d, one machine, one run (load average at the end: %s)\n", n, par, load
  printf "  create through terraform:            %7.1fs\n", cs
  printf "%-38s %9s %9s %9s %14s\n", "destroy", "plan s", "apply s", "total s", "revocations/s"
  printf "%-38s %9.1f %9.1f %9.1f %8.1f (apply %.1f)\n", "sunset_postgres_role", sp, sa, st, n / st, n / sa
  printf "%-38s %9.1f %9.1f %9.1f %8.1f (apply %.1f)\n", "time_static (terraform floor)", tp, ta, tt, n / tt, n / ta
  printf "%-38s %9.1f %9.1f %9.1f\n", "  CPU s (terraform + provider), sunset", spc, sac, spc + sac
  printf "%-38s %9.1f %9.1f %9.1f\n", "  CPU s (terraform + provider), time", tpc, tac, tpc + tac
  printf "%-38s %9s %9s %9.2f %8.1f\n", "psql, one session, same statements", "", "", ps, n / ps
  printf "provider-side time per revocation (Revoke + Verify + ledger record): median %.1f ms, p90 %.1f ms, sum %.1fs = %.0f revocations/s done one at a time\n", om, o9, os, n / os
  printf "sunset/time_static, wall: total %.2fx (plan %.2fx, apply %.2fx)  <- target <= 1.2x in total: %s\n", st / tt, sp / tp, sa / ta, (st / tt <= 1.2 ? "met" : "NOT met")
  printf "sunset/time_static, CPU:  total %.2fx (plan %.2fx, apply %.2fx)\n", (spc + sac) / (tpc + tac), spc / tpc, sac / tac
  printf "ratios: sunset/psql %.1fx (apply only %.1fx)\n", st / ps, sa / ps
  printf "(absolute targets, >= 50 revocations/s and <= 3x psql, apply to the connector alone, as BENCHMARKS.md says: scripts/bench-postgres-connector.sh)\n"
}'
