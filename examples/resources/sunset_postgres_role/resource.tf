# Identities gated by the roster: when an end date passes (or the HR export
# marks someone terminated), the next plan destroys their role.
resource "sunset_postgres_role" "staff" {
  for_each    = sunset_identity.staff
  target      = "warehouse"
  name        = each.key
  identity_id = each.value.id
  expires_at  = each.value.end_date # becomes VALID UNTIL
  member_of   = ["analysts"]
}

# A workload's login with a write-only password (Terraform 1.11+): the
# password is sent once, as a SCRAM verifier, and never stored in state.
variable "etl_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "sunset_postgres_role" "etl_loader" {
  target              = "warehouse"
  name                = "etl-loader"
  identity_id         = sunset_identity.etl_loader.id
  expires_at          = sunset_identity.etl_loader.end_date
  member_of           = ["loader"]
  connection_limit    = 4
  password_wo         = var.etl_password
  password_wo_version = 1 # bump to set a new password

  # Drop the role on destroy; what it owns goes to "etl_owner".
  on_destroy  = "drop"
  reassign_to = "etl_owner"
}
