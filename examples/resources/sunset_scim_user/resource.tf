# Identities gated by the roster: when an end date passes (or the source
# marks someone terminated), the next plan destroys their application user,
# which deactivates it, verifies it, and records the removal.
resource "sunset_scim_user" "staff" {
  for_each     = sunset_identity.staff
  target       = "slack"
  identity_id  = each.value.id
  user_name    = "${each.key}@example.com"
  display_name = each.key
  external_id  = each.key # lets a retried create recognise the user it made

  emails = [{
    value   = "${each.key}@example.com"
    type    = "work"
    primary = true
  }]
}

# A bot account that is deleted, not just deactivated, when it ends.
resource "sunset_scim_user" "release_bot" {
  target      = "slack"
  identity_id = sunset_identity.release_bot.id
  user_name   = "release-bot@example.com"
  external_id = "release-bot"
  on_destroy  = "deactivate_then_delete"
}
