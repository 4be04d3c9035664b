package ldap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
)

// ErrAlreadyExists is returned (wrapped) by Create when the DN is taken.
var ErrAlreadyExists = errors.New("entry already exists")

// AccountSpec is the desired state of one directory account.
type AccountSpec struct {
	// DN names the entry. When empty it is built from UID and OU as
	// uid=<UID>,<OU> (cn=<UID> for Active Directory), the value escaped
	// per RFC 4514.
	DN string
	// UID and OU build the DN when DN is empty. OU is a parent DN and
	// defaults to Config.BaseDN.
	UID, OU string
	// ObjectClasses are set at creation only; default inetOrgPerson
	// (OpenLDAP) or top/person/organizationalPerson/user (AD).
	ObjectClasses []string
	// Attributes are the managed attributes. Passwords, lock and expiry
	// attributes, memberOf and objectClass are refused here: they have
	// their own fields.
	Attributes map[string][]string
	// Groups are groupOfNames (or AD group) DNs whose member attribute
	// lists this account.
	Groups []string
	// ExpiresAt becomes pwdEndTime (OpenLDAP) or accountExpires (AD):
	// the directory itself refuses the account after it.
	ExpiresAt *time.Time
	// Password, when set, is written (RFC 3062 Password Modify on
	// OpenLDAP, so the server hashes it; unicodePwd on AD). It is never
	// read back.
	Password *string
}

// Account is an entry as the directory reports it.
type Account struct {
	DN            string
	ObjectClasses []string
	// Attributes holds the user attributes, without objectClass, lock,
	// expiry and password attributes (those are never returned).
	Attributes map[string][]string
	// Groups lists every group under the group base whose member (or
	// uniqueMember) names this DN, whoever put it there.
	Groups []string
	// Locked is the administrative lock: pwdAccountLockedTime=000001010000Z
	// (OpenLDAP) or ACCOUNTDISABLE (AD).
	Locked bool
	// ExpiresAt is pwdEndTime or accountExpires; nil when none.
	ExpiresAt *time.Time
	// StartsAt is pwdStartTime (OpenLDAP); nil when none.
	StartsAt *time.Time
	// State is the lock and expiry evidence in the directory's words.
	State string
}

// Usable reports whether the directory would accept a bind at now (as far
// as lock and validity dates go).
func (a Account) Usable(now time.Time) bool {
	return accountState{locked: a.Locked, expiresAt: a.ExpiresAt, startsAt: a.StartsAt}.usable(now)
}

// Attribute returns an attribute's values, matching the name
// case-insensitively as LDAP does.
func (a Account) Attribute(name string) []string {
	for k, v := range a.Attributes {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// never returned in Account.Attributes
var secretAttributes = map[string]bool{
	"userpassword": true, "unicodepwd": true, "authpassword": true,
	"sambantpassword": true, "sambalmpassword": true, "supplementalcredentials": true,
	"dbcspwd": true, "ntpwdhistory": true, "lmpwdhistory": true,
}

// set through their own fields, so refused in AccountSpec.Attributes
var managedAttributes = map[string]string{
	"objectclass":          "ObjectClasses",
	"pwdaccountlockedtime": "Revoke",
	"pwdendtime":           "ExpiresAt",
	"pwdstarttime":         "ExpiresAt",
	"useraccountcontrol":   "Revoke",
	"accountexpires":       "ExpiresAt",
	"memberof":             "Groups",
}

func (c *Client) rdnAttribute() string {
	if c.cfg.flavor() == FlavorActiveDirectory {
		return "cn"
	}
	return "uid"
}

// AccountDN returns the DN spec names, built and escaped from UID and OU
// when DN is empty. The DN must lie under Config.BaseDN.
func (c *Client) AccountDN(spec AccountSpec) (string, error) {
	dn := spec.DN
	if dn == "" {
		if spec.UID == "" {
			return "", errors.New("ldap: an account needs a dn, or a uid (with an optional ou)")
		}
		ou := spec.OU
		if ou == "" {
			ou = c.cfg.BaseDN
		}
		var err error
		if dn, err = BuildDN(c.rdnAttribute(), spec.UID, ou); err != nil {
			return "", fmt.Errorf("ldap: %w", err)
		}
	} else if spec.UID != "" || spec.OU != "" {
		return "", errors.New("ldap: give either dn, or uid with ou, not both")
	}
	if err := c.checkScope(dn); err != nil {
		return "", err
	}
	return dn, nil
}

// checkScope refuses DNs outside BaseDN: sunset manages only what it was
// pointed at.
func (c *Client) checkScope(dn string) error {
	parsed, err := parseDN("ldap: account dn", dn)
	if err != nil {
		return err
	}
	if !c.base.AncestorOfFold(parsed) {
		return fmt.Errorf("ldap: account dn %q is not under base_dn %q", dn, c.cfg.BaseDN)
	}
	return nil
}

func (c *Client) checkSpec(spec AccountSpec) error {
	for name := range spec.Attributes {
		lower := strings.ToLower(strings.SplitN(name, ";", 2)[0])
		if !attrDescPattern.MatchString(name) {
			return fmt.Errorf("ldap: %q is not an attribute name", name)
		}
		if secretAttributes[lower] {
			return fmt.Errorf("ldap: attribute %s is a password; use the password field (write-only), never attributes", name)
		}
		if field, ok := managedAttributes[lower]; ok {
			return fmt.Errorf("ldap: attribute %s is managed by sunset through %s; remove it from attributes", name, field)
		}
	}
	for _, g := range spec.Groups {
		if _, err := parseDN("ldap: group", g); err != nil {
			return err
		}
	}
	if spec.Password != nil && *spec.Password == "" {
		return errors.New("ldap: password is empty; an empty password cannot bind")
	}
	return nil
}

// Create adds the entry, its expiry and password, and its group
// memberships. It is all or nothing: if a step after the add fails, the
// entry is removed again (and the error says if that failed too).
func (c *Client) Create(ctx context.Context, spec AccountSpec) (Account, error) {
	dn, err := c.AccountDN(spec)
	if err != nil {
		return Account{}, err
	}
	if err := c.checkSpec(spec); err != nil {
		return Account{}, err
	}
	conn, release, err := c.connect(ctx)
	if err != nil {
		return Account{}, err
	}
	defer release()

	add := goldap.NewAddRequest(dn, nil)
	for _, a := range c.newEntryAttributes(dn, spec) {
		add.Attribute(a.Type, a.Vals)
	}
	if err := conn.Add(add); err != nil {
		if goldap.IsErrorWithCode(err, goldap.LDAPResultEntryAlreadyExists) {
			return Account{}, fmt.Errorf("ldap: create %s: %w (import it instead)", dn, ErrAlreadyExists)
		}
		return Account{}, fmt.Errorf("ldap: create %s: %w", dn, err)
	}

	var joined []string
	undo := func(cause error) (Account, error) {
		var errs []error
		for _, g := range joined {
			if err := c.removeMember(conn, g, dn); err != nil {
				errs = append(errs, err)
			}
		}
		if err := conn.Del(goldap.NewDelRequest(dn, nil)); err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return Account{}, fmt.Errorf("%w; rolling back the half-created %s also failed: %v", cause, dn, errors.Join(errs...))
		}
		return Account{}, fmt.Errorf("%w (the entry was removed again)", cause)
	}
	if spec.Password != nil && c.cfg.flavor() == FlavorOpenLDAP {
		if err := c.setPassword(conn, dn, *spec.Password); err != nil {
			return undo(err)
		}
	}
	for _, g := range spec.Groups {
		if err := c.addMember(conn, g, dn); err != nil {
			return undo(err)
		}
		joined = append(joined, g)
	}
	acct, err := c.get(ctx, conn, dn)
	if err != nil {
		return Account{}, err
	}
	return acct, nil
}

// newEntryAttributes is the add request's content: object classes, the
// RDN's own values (a directory requires them in the entry), the spec's
// attributes, flavour defaults, expiry and (AD) password.
func (c *Client) newEntryAttributes(dn string, spec AccountSpec) []goldap.Attribute {
	ad := c.cfg.flavor() == FlavorActiveDirectory
	ocs := spec.ObjectClasses
	defaultOCs := len(ocs) == 0
	if defaultOCs {
		ocs = []string{"inetOrgPerson"}
		if ad {
			ocs = []string{"top", "person", "organizationalPerson", "user"}
		}
	}
	attrs := map[string][]string{}
	var order []string
	set := func(name string, vals []string) {
		for k := range attrs {
			if strings.EqualFold(k, name) {
				attrs[k] = vals
				return
			}
		}
		attrs[name] = vals
		order = append(order, name)
	}
	has := func(name string) bool {
		for k := range attrs {
			if strings.EqualFold(k, name) {
				return true
			}
		}
		return false
	}
	names := make([]string, 0, len(spec.Attributes))
	for k := range spec.Attributes {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		set(k, spec.Attributes[k])
	}
	parsed, _ := goldap.ParseDN(dn)
	rdnValue := ""
	for _, ava := range parsed.RDNs[0].Attributes {
		rdnValue = ava.Value
		if !has(ava.Type) {
			set(ava.Type, []string{ava.Value})
		} else {
			for k, vals := range attrs {
				if strings.EqualFold(k, ava.Type) && !slices.Contains(vals, ava.Value) {
					attrs[k] = append(vals, ava.Value)
				}
			}
		}
	}
	if defaultOCs && !ad {
		// inetOrgPerson requires cn and sn; the account name stands in.
		for _, req := range []string{"cn", "sn"} {
			if !has(req) {
				set(req, []string{rdnValue})
			}
		}
	}
	if ad {
		if spec.UID != "" && !has("sAMAccountName") {
			set("sAMAccountName", []string{spec.UID})
		}
		if spec.Password != nil {
			set("unicodePwd", []string{ADPasswordValue(*spec.Password)})
			set("userAccountControl", []string{fmt.Sprint(UACNormalAccount)})
		}
	}
	if spec.ExpiresAt != nil {
		set(c.expiryAttribute(), []string{c.expiryValue(*spec.ExpiresAt)})
	}
	out := []goldap.Attribute{{Type: "objectClass", Vals: ocs}}
	for _, k := range order {
		out = append(out, goldap.Attribute{Type: k, Vals: attrs[k]})
	}
	return out
}

// setPassword uses the Password Modify extended operation so the server
// hashes the password with its own scheme. The password is never in the
// error.
func (c *Client) setPassword(conn *goldap.Conn, dn, pw string) error {
	if _, err := conn.PasswordModify(goldap.NewPasswordModifyRequest(dn, "", pw)); err != nil {
		return fmt.Errorf("ldap: set password of %s: %w", dn, err)
	}
	return nil
}

// Get reads the account: attributes, lock, expiry and every group that
// lists it. A missing entry is connector.ErrNotFound (wrapped).
func (c *Client) Get(ctx context.Context, dn string) (Account, error) {
	if err := c.checkScope(dn); err != nil {
		return Account{}, err
	}
	conn, release, err := c.connect(ctx)
	if err != nil {
		return Account{}, err
	}
	defer release()
	return c.get(ctx, conn, dn)
}

func (c *Client) get(ctx context.Context, conn *goldap.Conn, dn string) (Account, error) {
	e, err := c.lookup(conn, dn, append([]string{"*"}, c.stateAttributes()...))
	if err != nil {
		return Account{}, err
	}
	if e == nil {
		return Account{}, fmt.Errorf("ldap: %s: %w", dn, connector.ErrNotFound)
	}
	st, err := c.readState(e)
	if err != nil {
		return Account{}, err
	}
	groups, err := c.groupsListing(ctx, conn, dn)
	if err != nil {
		return Account{}, err
	}
	acct := Account{
		DN:         e.DN,
		Attributes: map[string][]string{},
		Groups:     groups,
		Locked:     st.locked,
		ExpiresAt:  st.expiresAt,
		StartsAt:   st.startsAt,
		State:      st.String(),
	}
	hidden := map[string]bool{}
	for _, a := range c.stateAttributes() {
		hidden[strings.ToLower(a)] = true
	}
	for _, a := range e.Attributes {
		lower := strings.ToLower(a.Name)
		switch {
		case lower == "objectclass":
			acct.ObjectClasses = a.Values
		case secretAttributes[lower], hidden[lower], lower == "memberof":
		default:
			acct.Attributes[a.Name] = a.Values
		}
	}
	return acct, nil
}

// Update moves the account from prev (the last applied spec, or the zero
// value after an import) to next: attributes in next are replaced when they
// differ, attributes only in prev are removed, the expiry is set or
// cleared, the password is written only when next carries one, groups in
// prev but not next are left, and groups in next are joined (again, if
// someone removed the account out of band). Renames are not supported:
// prev and next must name the same DN.
func (c *Client) Update(ctx context.Context, prev, next AccountSpec) (Account, error) {
	dn, err := c.AccountDN(next)
	if err != nil {
		return Account{}, err
	}
	if prevDN, err := c.AccountDN(prev); err == nil && !sameDN(prevDN, dn) {
		return Account{}, fmt.Errorf("ldap: cannot rename %s to %s; replace the account instead", prevDN, dn)
	}
	if err := c.checkSpec(next); err != nil {
		return Account{}, err
	}
	conn, release, err := c.connect(ctx)
	if err != nil {
		return Account{}, err
	}
	defer release()
	cur, err := c.get(ctx, conn, dn)
	if err != nil {
		return Account{}, err
	}

	mod := goldap.NewModifyRequest(dn, nil)
	for name, want := range next.Attributes {
		if !sameValues(cur.Attribute(name), want) {
			mod.Replace(name, want)
		}
	}
	for name := range prev.Attributes {
		if hasFold(next.Attributes, name) || len(cur.Attribute(name)) == 0 {
			continue
		}
		mod.Delete(name, nil)
	}
	if !c.sameExpiry(cur.ExpiresAt, next.ExpiresAt) {
		switch {
		case next.ExpiresAt != nil:
			mod.Replace(c.expiryAttribute(), []string{c.expiryValue(*next.ExpiresAt)})
		case c.cfg.flavor() == FlavorActiveDirectory:
			// 0 is what AD's own tools write when an expiry is cleared.
			mod.Replace("accountExpires", []string{"0"})
		default:
			mod.Delete("pwdEndTime", nil)
		}
	}
	if next.Password != nil && c.cfg.flavor() == FlavorActiveDirectory {
		mod.Replace("unicodePwd", []string{ADPasswordValue(*next.Password)})
	}
	if len(mod.Changes) > 0 {
		if err := conn.Modify(mod); err != nil {
			return Account{}, fmt.Errorf("ldap: update %s: %w", dn, err)
		}
	}
	if next.Password != nil && c.cfg.flavor() == FlavorOpenLDAP {
		if err := c.setPassword(conn, dn, *next.Password); err != nil {
			return Account{}, err
		}
	}
	for _, g := range prev.Groups {
		if !containsDN(next.Groups, g) && containsDN(cur.Groups, g) {
			if err := c.removeMember(conn, g, dn); err != nil {
				return Account{}, err
			}
		}
	}
	for _, g := range next.Groups {
		if !containsDN(cur.Groups, g) {
			if err := c.addMember(conn, g, dn); err != nil {
				return Account{}, err
			}
		}
	}
	return c.get(ctx, conn, dn)
}

func hasFold(m map[string][]string, name string) bool {
	for k := range m {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// sameValues compares value sets, order-insensitively.
func sameValues(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Strings(x)
	sort.Strings(y)
	return slices.Equal(x, y)
}
