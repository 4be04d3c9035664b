variable "name" { type = string }

  resource   "sunset_scim_user"   "user"   {
  target = var.name
}
