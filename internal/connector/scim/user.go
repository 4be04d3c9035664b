package scim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schema URNs (RFC 7643 §8.7, RFC 7644 §3).
const (
	SchemaUser           = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaEnterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SchemaPatchOp        = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SchemaListResponse   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	SchemaError          = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// User is a SCIM user (RFC 7643 §4.1, with the enterprise extension §4.3).
//
// On write (CreateUser, ReplaceUser) the typed fields are authoritative:
// an empty DisplayName removes displayName, Active is always sent. Other
// attributes, such as a custom extension keyed by its schema URN, go in
// Attributes. On read, Attributes holds the whole resource as the server
// sent it (numbers as json.Number), for lookups by path with Attribute.
type User struct {
	ID          string
	ExternalID  string
	UserName    string
	DisplayName string
	GivenName   string
	FamilyName  string
	Emails      []Email
	// Active is whether the user may sign in. A server that sends no
	// "active" is read as active: absence of proof is not proof of
	// deactivation. "True"/"False" strings (Entra ID) are accepted.
	Active     bool
	Enterprise *EnterpriseUser
	// Groups are the ids of the groups the user belongs to (read only).
	Groups     []string
	Meta       Meta
	Attributes map[string]any
}

// Email is one of a user's e-mail addresses.
type Email struct {
	Value, Type string
	Primary     bool
}

// EnterpriseUser is the enterprise extension.
type EnterpriseUser struct {
	EmployeeNumber, CostCenter, Organization, Division, Department string
	// ManagerID is manager.value, the manager's SCIM id.
	ManagerID string
	// ManagerDisplayName is manager.displayName (read only).
	ManagerDisplayName string
}

// Meta is a resource's metadata (RFC 7643 §3.1).
type Meta struct {
	Created, LastModified *time.Time
	// Version is the entity tag (meta.version, or the ETag header). It is
	// sent as If-Match by ReplaceUser.
	Version  string
	Location string
}

// Attribute returns the value at an attribute path: "userName",
// "name.givenName", "urn:...:enterprise:2.0:User:department",
// "urn:...:2.0:User:manager.value". Names match case-insensitively
// (RFC 7643 §2.1). A URN-prefixed path is also found when the server
// flattened it into a top-level key.
func (u User) Attribute(path string) (any, bool) {
	return attributeAt(u.Attributes, path, SchemaUser)
}

// AttributeString is Attribute rendered as a string: strings as they are,
// numbers and booleans in JSON form; false for objects, lists and absence.
func (u User) AttributeString(path string) (string, bool) {
	v, ok := u.Attribute(path)
	if !ok {
		return "", false
	}
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

func attributeAt(m map[string]any, path, coreSchema string) (any, bool) {
	if m == nil || path == "" {
		return nil, false
	}
	container, rest := m, path
	if strings.HasPrefix(strings.ToLower(path), "urn:") {
		if v, ok := lookupOK(m, path); ok { // flattened "urn:...:attr"
			return v, v != nil
		}
		i := strings.LastIndex(path, ":")
		uri, attr := path[:i], path[i+1:]
		if !strings.EqualFold(uri, coreSchema) {
			ext, ok := lookup(m, uri).(map[string]any)
			if !ok {
				return nil, false
			}
			container = ext
		}
		rest = attr
	}
	name, sub, hasSub := strings.Cut(rest, ".")
	v, ok := lookupOK(container, name)
	if !ok || v == nil {
		return nil, false
	}
	if !hasSub {
		return v, true
	}
	inner, isMap := v.(map[string]any)
	if !isMap {
		return nil, false
	}
	v, ok = lookupOK(inner, sub)
	return v, ok && v != nil
}

// lookup finds a key case-insensitively (exact match first).
func lookup(m map[string]any, key string) any {
	v, _ := lookupOK(m, key)
	return v
}

func lookupOK(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func stringOf(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// parseBool accepts JSON booleans and the strings real providers send
// instead ("True", "false"). ok is false for anything else.
func parseBool(v any) (b, ok bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

func parseTime(v any) *time.Time {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil
	}
	t = t.UTC()
	return &t
}

func parseMeta(m map[string]any) Meta {
	meta, _ := lookup(m, "meta").(map[string]any)
	if meta == nil {
		return Meta{}
	}
	return Meta{
		Created:      parseTime(lookup(meta, "created")),
		LastModified: parseTime(lookup(meta, "lastModified")),
		Version:      stringOf(lookup(meta, "version")),
		Location:     stringOf(lookup(meta, "location")),
	}
}

// decodeUser reads a user resource. It fails only where guessing would be
// unsafe: no id, an "active" that is neither a boolean nor "true"/"false",
// "groups" that is not a list of objects (a membership must not be read
// as none).
func (c *Client) decodeUser(m map[string]any) (User, error) {
	u := User{Attributes: m, Active: true}
	u.ID = stringOf(lookup(m, "id"))
	if u.ID == "" {
		return User{}, fmt.Errorf("%w: a user without an id", ErrMalformedResponse)
	}
	u.UserName = stringOf(lookup(m, "userName"))
	u.ExternalID = stringOf(lookup(m, "externalId"))
	u.DisplayName = stringOf(lookup(m, "displayName"))
	if raw := lookup(m, "active"); raw != nil {
		b, ok := parseBool(raw)
		if !ok {
			return User{}, fmt.Errorf("%w: user %s has active=%s, neither true nor false", ErrMalformedResponse, c.quote(u.ID), c.quote(raw))
		}
		u.Active = b
	}
	if name, ok := lookup(m, "name").(map[string]any); ok {
		u.GivenName = stringOf(lookup(name, "givenName"))
		u.FamilyName = stringOf(lookup(name, "familyName"))
	}
	if emails, ok := lookup(m, "emails").([]any); ok {
		for _, e := range emails {
			em, ok := e.(map[string]any)
			if !ok {
				continue
			}
			primary, _ := parseBool(lookup(em, "primary"))
			u.Emails = append(u.Emails, Email{Value: stringOf(lookup(em, "value")), Type: stringOf(lookup(em, "type")), Primary: primary})
		}
	}
	if raw := lookup(m, "groups"); raw != nil {
		groups, ok := raw.([]any)
		if !ok {
			return User{}, fmt.Errorf("%w: user %s has groups that are %s, not a list", ErrMalformedResponse, c.quote(u.ID), c.quote(raw))
		}
		for _, g := range groups {
			gm, ok := g.(map[string]any)
			if !ok && g != nil {
				return User{}, fmt.Errorf("%w: user %s has a group that is %s, not an object", ErrMalformedResponse, c.quote(u.ID), c.quote(g))
			}
			if id := stringOf(lookup(gm, "value")); id != "" {
				u.Groups = append(u.Groups, id)
			}
		}
	}
	if ent, ok := lookup(m, SchemaEnterpriseUser).(map[string]any); ok {
		e := &EnterpriseUser{
			EmployeeNumber: stringOf(lookup(ent, "employeeNumber")),
			CostCenter:     stringOf(lookup(ent, "costCenter")),
			Organization:   stringOf(lookup(ent, "organization")),
			Division:       stringOf(lookup(ent, "division")),
			Department:     stringOf(lookup(ent, "department")),
		}
		if mgr, ok := lookup(ent, "manager").(map[string]any); ok {
			e.ManagerID = stringOf(lookup(mgr, "value"))
			e.ManagerDisplayName = stringOf(lookup(mgr, "displayName"))
		}
		u.Enterprise = e
	}
	u.Meta = parseMeta(m)
	return u, nil
}

// typedUserKeys are the attributes the typed fields own on write.
var typedUserKeys = []string{"schemas", "id", "meta", "groups", "userName", "externalId", "displayName", "active", "emails"}

// resource builds the JSON body for POST and PUT.
func (u User) resource() map[string]any {
	m := make(map[string]any, len(u.Attributes)+8)
	for k, v := range u.Attributes {
		m[k] = v
	}
	for _, k := range typedUserKeys {
		deleteFold(m, k)
	}
	m["userName"] = u.UserName
	m["active"] = u.Active
	if u.ExternalID != "" {
		m["externalId"] = u.ExternalID
	}
	if u.DisplayName != "" {
		m["displayName"] = u.DisplayName
	}

	// name: keep sub-attributes we do not model (formatted, middleName).
	name := copyMap(lookup(m, "name"))
	deleteFold(m, "name")
	deleteFold(name, "givenName")
	deleteFold(name, "familyName")
	if u.GivenName != "" {
		name["givenName"] = u.GivenName
	}
	if u.FamilyName != "" {
		name["familyName"] = u.FamilyName
	}
	if len(name) > 0 {
		m["name"] = name
	}

	if len(u.Emails) > 0 {
		emails := make([]any, 0, len(u.Emails))
		for _, e := range u.Emails {
			em := map[string]any{"value": e.Value}
			if e.Type != "" {
				em["type"] = e.Type
			}
			if e.Primary {
				em["primary"] = true
			}
			emails = append(emails, em)
		}
		m["emails"] = emails
	}

	if u.Enterprise != nil {
		ent := copyMap(lookup(m, SchemaEnterpriseUser))
		deleteFold(m, SchemaEnterpriseUser)
		for k, v := range map[string]string{
			"employeeNumber": u.Enterprise.EmployeeNumber, "costCenter": u.Enterprise.CostCenter,
			"organization": u.Enterprise.Organization, "division": u.Enterprise.Division,
			"department": u.Enterprise.Department,
		} {
			deleteFold(ent, k)
			if v != "" {
				ent[k] = v
			}
		}
		deleteFold(ent, "manager")
		if u.Enterprise.ManagerID != "" {
			ent["manager"] = map[string]any{"value": u.Enterprise.ManagerID}
		}
		if len(ent) > 0 {
			m[SchemaEnterpriseUser] = ent
		}
	}

	schemas := []any{SchemaUser}
	for k, v := range m {
		if _, isMap := v.(map[string]any); isMap && strings.HasPrefix(strings.ToLower(k), "urn:") {
			schemas = append(schemas, k)
		}
	}
	m["schemas"] = schemas
	return m
}

func copyMap(v any) map[string]any {
	out := map[string]any{}
	if m, ok := v.(map[string]any); ok {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func deleteFold(m map[string]any, key string) {
	for k := range m {
		if strings.EqualFold(k, key) {
			delete(m, k)
		}
	}
}
