resource "sunset_postgres_role" "staff" {
  for_each    = sunset_identity.staff
  target      = "warehouse"
  name        = each.key
  identity_id = each.value.id
}
