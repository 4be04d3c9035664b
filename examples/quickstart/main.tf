# Quickstart: people from an HR export plus inline non-human identities,
# gated on their end dates, each with a PostgreSQL login role that ends with
# them. `make demo` runs this end to end against a throwaway local
# PostgreSQL; to run it yourself, set WAREHOUSE_DSN to a server you may
# create roles on.
terraform {
  required_version = ">= 1.11"
  required_providers {
    sunset = { source = "sunset-iam/sunset" }
  }
}

variable "as_of" {
  description = "Forecast the roster at a future RFC 3339 instant (null = now)."
  type        = string
  default     = null
}

provider "sunset" {
  evidence = { file = "${path.module}/sunset-evidence.jsonl" }
  targets = {
    # The DSN comes from the environment, so it never sits in the
    # configuration, the plan or the state.
    warehouse = { postgres = { dsn_env = "WAREHOUSE_DSN" } }
  }
}

data "sunset_roster" "staff" {
  file  = "${path.module}/roster.csv"
  as_of = var.as_of

  identities = {
    etl-loader = { kind = "workload", owner = "data-eng@example.com", end_date = "2030-06-30" }
    report-bot = { kind = "bot", owner = "finance-eng@example.com", end_date = "2029-12-31" }
  }
}

resource "sunset_identity" "staff" {
  for_each  = data.sunset_roster.staff.active
  name      = each.key
  kind      = each.value.kind
  owner     = each.value.owner
  end_date  = each.value.end_date
  exception = each.value.exception # an approved hold past end_date, recorded in the ledger
}

# One login role per identity. VALID UNTIL is the identity's end, so the
# database refuses new logins then even if no apply ever runs; destroying
# the role (when the identity leaves the roster) disables it, ends its
# sessions, verifies, and records the removal.
resource "sunset_postgres_role" "warehouse" {
  for_each    = sunset_identity.staff
  target      = "warehouse"
  name        = each.key
  identity_id = each.value.id
  expires_at  = each.value.end_date
}

output "active" {
  value = sort(keys(data.sunset_roster.staff.active))
}

output "ended" {
  value = { for name, id in data.sunset_roster.staff.ended : name => id.reason }
}
