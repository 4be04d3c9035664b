#!/usr/bin/env bash
# Plan benchmark: `terraform plan` (with refresh, no changes) over N
# sunset_identity resources gated by a roster of N identities, next to N
# time_static resources from hashicorp/time v0.13.1, measured in the same run
# on the same machine. Prints wall time, peak RSS and the ratio.
#
#   N=2000 ROUNDS=3 bash scripts/bench-plan.sh
set -euo pipefail

N="${N:-2000}"
ROUNDS="${ROUNDS:-3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${BENCH_DIR:-$(mktemp -d)}"
trap '[ -z "${BENCH_DIR:-}" ] && rm -rf "$work"' EXIT
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1

gobin="$(go env GOPATH)/bin"
if [ ! -x "$gobin/terraform-provider-time" ]; then
  echo "installing hashicorp/terraform-provider-time v0.13.1 (peer)" >&2
  go install github.com/hashicorp/terraform-provider-time@v0.13.1
fi
mkdir -p "$work/plugins"
go build -C "$root" -o "$work/plugins/terraform-provider-sunset" .
cp "$gobin/terraform-provider-time" "$work/plugins/terraform-provider-time"
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

# sunset: a CSV roster of N identities, for_each over its active set.
mkdir -p "$work/sunset" "$work/time"
{
  echo "name,kind,owner,end_date"
  for i in $(seq 1 "$N"); do echo "user-$i,human,hr@example.com,2030-12-31"; done
} > "$work/sunset/roster.csv"
cat > "$work/sunset/main.tf" <<'TF'
terraform {
  required_providers {
    sunset = { source = "sunset-iam/sunset" }
  }
}
provider "sunset" {
  evidence = { file = "${path.module}/ledger.jsonl" }
}
data "sunset_roster" "staff" {
  file = "${path.module}/roster.csv"
}
resource "sunset_identity" "staff" {
  for_each = data.sunset_roster.staff.active
  name     = each.key
  kind     = each.value.kind
  owner    = each.value.owner
  end_date = each.value.end_date
}
TF
cat > "$work/time/main.tf" <<'TF'
terraform {
  required_providers {
    time = { source = "hashicorp/time" }
  }
}
variable "names" { type = set(string) }
resource "time_static" "staff" {
  for_each = var.names
  triggers = { name = each.key }
}
TF
# range() stops at 1,024 values: the names come from a variables file.
seq -f 'user-%g' 1 "$N" | awk 'BEGIN { printf "{\"names\": [" } { printf "%s\"%s\"", (NR > 1 ? "," : ""), $0 } END { print "]}" }' > "$work/time/names.auto.tfvars.json"

# measure DIR ARGS...: prints "seconds peak_rss_kib" for one terraform run.
measure() {
  local dir="$1"; shift
  if ! /usr/bin/time -o "$work/time.out" -f '%e %M' terraform -chdir="$dir" "$@" -no-color -input=false >/dev/null 2>"$work/err.log"; then
    cat "$work/err.log" >&2
    return 1
  fi
  tail -n1 "$work/time.out"
}

for p in sunset time; do
  echo "apply (create $N) $p: $(measure "$work/$p" apply -auto-approve -parallelism=10)"
done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: > "$work/sunset.times"; : > "$work/time.times"; : > "$work/sunset.rss"; : > "$work/time.rss"
for r in $(seq 1 "$ROUNDS"); do
  for p in sunset time; do
    read -r secs rss < <(measure "$work/$p" plan -detailed-exitcode || true)
    echo "round $r plan $p: ${secs}s, peak RSS ${rss} KiB"
    echo "$secs" >> "$work/$p.times"; echo "$rss" >> "$work/$p.rss"
  done
done
s="$(median < "$work/sunset.times")"; t="$(median < "$work/time.times")"
srss="$(sort -n "$work/sunset.rss" | tail -1)"; trss="$(sort -n "$work/time.rss" | tail -1)"
echo
echo "plan with refresh, no changes, N=$N, median of $ROUNDS:"
echo "  sunset_identity + sunset_roster: ${s}s (peak terraform RSS ${srss} KiB)"
echo "  time_static:                     ${t}s (peak terraform RSS ${trss} KiB)"
awk -v s="$s" -v t="$t" 'BEGIN { printf "  ratio sunset/time_static: %.2fx (target <= 1.20x)\n", s / t }'
