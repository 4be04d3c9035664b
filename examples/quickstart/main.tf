# Quickstart: identities from an HR export plus inline non-human identities,
# gated on their end dates. `make demo` runs this end to end.
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
  for_each = data.sunset_roster.staff.active
  name     = each.key
  kind     = each.value.kind
  owner    = each.value.owner
  end_date = each.value.end_date
}

output "active" {
  value = sort(keys(data.sunset_roster.staff.active))
}

output "ended" {
  value = { for name, id in data.sunset_roster.staff.ended : name => id.reason }
}
