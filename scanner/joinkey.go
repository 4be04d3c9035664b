package scanner

import (
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/ldap"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/state"
)

// The scan joins state, ledger and inventory on TARGET/ACCOUNT. For most
// systems ACCOUNT is compared as written, but an LDAP DN has many spellings
// for one entry: the provider's id keeps the configuration's
// (uid=alice,OU=People,DC=example,DC=org) while the directory lists the
// entry in its own (uid=alice,ou=people,dc=example,dc=org). Compared as
// strings, the declared account looks undeclared (unmanaged-account) and a
// revoked one that is back is not recognised as such. LDAP keys are joined
// on ldap.CanonicalDN; findings still name the account as the target or the
// state spells it.

// systemLDAP is what the LDAP connector's Describe and ledger records call it.
const systemLDAP = "ldap"

// joinKey is TARGET/ACCOUNT as the scan's maps key it.
func joinKey(system, target, account string) string {
	if system == systemLDAP {
		account = ldap.CanonicalDN(account)
	}
	return connector.ID(target, account)
}

// appendJoinKey is joinKey into buf (reused), for the per-account path.
func appendJoinKey(buf []byte, system, target, account string) []byte {
	if system == systemLDAP {
		account = ldap.CanonicalDN(account)
	}
	return append(append(append(buf[:0], target...), '/'), account...)
}

// credKey is joinKey for a credential in state: its id as it is, unless it
// is an LDAP account.
func credKey(c *state.Credential) string {
	if c.Type == state.TypeLDAPAccount {
		return joinKey(systemLDAP, c.Target, c.Account)
	}
	return c.ID
}

// credKeyOf is credKey of an indexed credential.
func credKeyOf(c *cred) string {
	if c.typ == state.TypeLDAPAccount {
		target, account, _ := connector.ParseID(c.key)
		return joinKey(systemLDAP, target, account)
	}
	return c.key
}
