# An account is imported by TARGET/DN. The id splits at the first slash
# (target names cannot hold one), so DNs with slashes import as they are.
# identity_id is read back from the newest evidence record of the account.
terraform import 'sunset_ldap_account.staff["alice"]' 'corp/uid=alice,ou=people,dc=corp,dc=example'
