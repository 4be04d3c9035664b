# A user is imported by TARGET/SCIM_ID: the provider target's name, a slash,
# and the user's id in the service provider (not its userName). Its
# attributes are read back; set identity_id in the configuration.
terraform import 'sunset_scim_user.staff["alice"]' slack/2819c223-7f76-453a-919d-413861904646
