# People come from the HR system's export; non-human identities are declared
# inline with an owner and an end date.
data "sunset_roster" "staff" {
  file = "${path.module}/roster.csv"

  identities = {
    etl-loader = { kind = "workload", owner = "data-eng@example.com", end_date = "2027-03-31" }
    vendor-console = {
      kind     = "service_account"
      owner    = "it@example.com"
      end_date = "2026-12-31"
      exception = {
        kind        = "no_api"
        reason      = "the vendor console has no deprovisioning API"
        approved_by = "ciso@example.com"
        expires     = "2027-01-31"
      }
    }
  }
}

# Credentials follow the active set: an identity that ends leaves it, and the
# next plan destroys what was created for it.
resource "sunset_identity" "staff" {
  for_each  = data.sunset_roster.staff.active
  name      = each.key
  kind      = each.value.kind
  owner     = each.value.owner
  end_date  = each.value.end_date
  exception = each.value.exception # an approved hold past end_date, recorded in the ledger
}

output "ending_soon" {
  value = keys(data.sunset_roster.staff.expiring)
}

# People can also come straight from a SCIM directory (an identity provider or
# an HR system that speaks SCIM), through a `scim` target of the provider. A
# user deactivated there is terminated here, and ends at once.
data "sunset_roster" "directory" {
  scim = {
    target             = "okta"
    filter             = "userType eq \"Employee\""
    end_date_attribute = "urn:ietf:params:scim:schemas:extension:acme:2.0:User:contractEnd"
    default_owner      = "hr@example.com" # for users without a manager
  }
}
