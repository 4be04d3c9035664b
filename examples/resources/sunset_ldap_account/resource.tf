# One directory account per active identity: when an identity's end date
# passes (or HR terminates it), the roster drops it from `active` and the
# plan destroys its account, which takes it out of every group, locks it,
# verifies that and records it in the evidence ledger.
resource "sunset_ldap_account" "staff" {
  for_each    = sunset_identity.staff
  target      = "corp"
  identity_id = each.value.id
  uid         = each.key
  ou          = "ou=people,dc=corp,dc=example"

  # The directory itself refuses binds from the end of this date
  # (pwdEndTime), even if no apply runs.
  expires_at = each.value.end_date

  groups = [
    "cn=vpn,ou=groups,dc=corp,dc=example",
    "cn=wifi,ou=groups,dc=corp,dc=example",
  ]
  attributes = {
    mail = ["${each.key}@corp.example"]
    cn   = [each.value.name]
  }

  # Write-only: never stored in state or plan. Bump the version to set it again.
  password_wo         = var.initial_passwords[each.key]
  password_wo_version = 1
}

# A service account kept declared while its access is suspended: locked and
# in no group. An unlock done by hand shows as a diff in the next plan.
resource "sunset_ldap_account" "legacy_bind" {
  target      = "corp"
  identity_id = sunset_identity.legacy_bind.id
  dn          = "uid=legacy-bind,ou=services,dc=corp,dc=example"
  expires_at  = sunset_identity.legacy_bind.end_date
  suspended   = true
  on_destroy  = "delete"
}
