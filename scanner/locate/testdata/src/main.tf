terraform {
  required_providers {
    sunset = { source = "sunset-iam/sunset" }
  }
}

/*
resource "sunset_postgres_role" "commented_out" {
}
*/

data "sunset_roster" "staff" {
  file = "roster.csv"
}

resource "sunset_identity" "staff" {
  for_each = data.sunset_roster.staff.active
  name     = each.key
}

module "apps" {
  for_each = toset(["crm", "erp"])
  source   = "./modules/app"
  name     = each.key
}

module "remote" {
  source = "registry.example.com/acme/db/aws"
}
