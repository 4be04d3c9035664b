# Admin rights follow a label in the roster: when someone's role changes,
# the next plan destroys only their membership, which removes them from the
# group, verifies it, and records the removal. Their user stays.
locals {
  admins = {
    for name, v in data.sunset_roster.staff.active : name => v
    if try(v.labels.role, "") == "admin"
  }
}

resource "sunset_scim_group_membership" "admins" {
  for_each    = local.admins
  target      = "slack"
  group_id    = "7c1b5e2a-3f0d-4c8e-9a61-0d2f4b8e6a13" # the group's SCIM id
  user_id     = sunset_scim_user.staff[each.key].scim_id
  identity_id = sunset_identity.staff[each.key].id
}
