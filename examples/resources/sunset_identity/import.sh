# An identity is imported by name. Its declaration (kind, owner, end date) is
# read back from the newest record of that identity in the evidence ledger.
terraform import 'sunset_identity.staff["etl-loader"]' etl-loader
