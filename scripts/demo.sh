#!/usr/bin/env bash
# The quickstart, end to end, on this machine only: build the provider, point
# terraform at it through a dev_overrides CLI config, declare the roster,
# then let the HR export terminate someone and watch the plan destroy them.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
command -v terraform >/dev/null || { echo "demo: terraform (1.11+) is not on PATH" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Building the provider"
go build -C "$root" -o "$work/bin/terraform-provider-sunset" .
go build -C "$root" -o "$work/bin/sunset" ./scanner/cmd/sunset
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
tf() { terraform "$@" -no-color 2>&1 | grep -v -e 'Provider development overrides' -e 'dev_overrides' -e 'The following provider' -e '^ *- sunset-iam/sunset in' -e 'applying changes may cause the state' -e 'The behavior may therefore' -e 'versions may not be compatible' -e 'published releases\.' -e '^│ *$' -e '^╷' -e '^╵' -e 'Warning: Provider development' || true; }

step "Day 1: declare everyone in the roster"
tf apply -auto-approve

step "The HR system marks bob terminated"
sed -i 's/^bob,\(.*\),active,/bob,\1,terminated,/' roster.csv
grep '^bob' roster.csv

step "Plan: bob's identity is destroyed"
tf plan -out=offboard.tfplan

step "Apply the offboarding"
tf apply offboard.tfplan

step "Forecast: what will a plan destroy on 2030-07-01?"
tf plan -var as_of=2030-07-01T00:00:00Z

step "Evidence ledger ($(wc -l < sunset-evidence.jsonl) records)"
cat sunset-evidence.jsonl
