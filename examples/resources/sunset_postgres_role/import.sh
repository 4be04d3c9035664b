# A role is imported by TARGET/ROLE: the provider target's name, a slash,
# and the role name. Its expiry, memberships and connection limit are read
# back from the server; set identity_id in the configuration.
terraform import 'sunset_postgres_role.staff["etl-loader"]' warehouse/etl-loader
