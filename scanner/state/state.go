// Package state reads what Terraform state declares for sunset: identities
// (sunset_identity), credentials (the connector resources, keyed TARGET/ACCOUNT)
// and the roster data source's evaluated maps.
//
// It reads both forms a user has at hand: the raw state (version 4, from
// `terraform state pull` or a .tfstate file) and `terraform show -json`.
// Both are streamed resource by resource and instance by instance, so a
// state with a hundred thousand credentials is never held as a tree; only
// what sunset needs is passed on. Malformed input is refused with an error
// naming the file and the resource, never guessed at: a scan that misread
// what was declared could report the wrong access as clean.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
)

// Resource types sunset declares.
const (
	TypeIdentity       = "sunset_identity"
	TypeRoster         = "sunset_roster"
	TypePostgresRole   = "sunset_postgres_role"
	TypeSCIMUser       = "sunset_scim_user"
	TypeSCIMMembership = "sunset_scim_group_membership"
	TypeLDAPAccount    = "sunset_ldap_account"
)

// CredentialTypes are the resource types whose id is TARGET/ACCOUNT.
var CredentialTypes = map[string]bool{
	TypePostgresRole: true, TypeSCIMUser: true, TypeSCIMMembership: true, TypeLDAPAccount: true,
}

// IsSunset reports whether a resource type is one of sunset's.
func IsSunset(t string) bool {
	return t == TypeIdentity || t == TypeRoster || CredentialTypes[t]
}

// Resource locates a resource instance: its address as Terraform writes it
// (module path and for_each key included) and its type and name, which is
// what the .tf block that declares it says.
type Resource struct {
	Address string // module.db.sunset_postgres_role.app["alice"]
	Module  string // module.db, "" for the root module
	Type    string
	Name    string
	Deposed string // the deposed object's key, "" for the current object
}

// Identity is one sunset_identity instance.
type Identity struct {
	Resource
	Name, Kind, Owner, EndDate, StartDate, Status string
}

// Credential is one credential resource instance.
type Credential struct {
	Resource
	// ID is TARGET/ACCOUNT, split into Target and Account.
	ID, Target, Account string
	// IdentityID names the sunset_identity the credential belongs to; ""
	// when the resource names none.
	IdentityID string
	// ExpiresAt is the declared target-side expiry as written, "" if none.
	ExpiresAt string
	// GroupID and UserID are set for sunset_scim_group_membership.
	GroupID, UserID string
}

// RosterEntry is one identity in a sunset_roster data source's active,
// ended or exceptions map, as evaluated when the state was written.
type RosterEntry struct {
	Resource
	// Map is "active", "ended" or "exceptions".
	Map                                       string
	Name, Kind, Owner, Email, EndDate, EndsAt string
	Status, Reason, Source                    string
	Exception                                 *lifecycle.Exception
}

// Visitor receives what a state declares, in file order. A nil func skips
// that kind. An error stops the read and is returned. The funcs are called
// one at a time, from a goroutine of the read's own (see pipeline.go), and
// all before Read returns.
type Visitor struct {
	Identity    func(Identity) error
	Credential  func(Credential) error
	RosterEntry func(RosterEntry) error
}

// Declared is a whole state's declarations, for callers that want them in
// memory (small states, tests, the plan review).
type Declared struct {
	Identities  []Identity
	Credentials []Credential
	Roster      []RosterEntry
}

// Form names the two state forms.
type Form string

// The forms Read accepts.
const (
	FormRaw      Form = "raw state v4"
	FormShowJSON Form = "terraform show -json"
)

// MaxStateBytes bounds a state file; far above any real state of sunset's.
const MaxStateBytes = 4 << 30

// ReadFile reads a state file in either form and returns its declarations.
func ReadFile(path string) (*Declared, Form, error) {
	var d Declared
	form, err := ReadFileVisit(path, Visitor{
		Identity:    func(i Identity) error { d.Identities = append(d.Identities, i); return nil },
		Credential:  func(c Credential) error { d.Credentials = append(d.Credentials, c); return nil },
		RosterEntry: func(e RosterEntry) error { d.Roster = append(d.Roster, e); return nil },
	})
	if err != nil {
		return nil, form, err
	}
	return &d, form, nil
}

// ReadFileVisit streams a state file to v.
func ReadFileVisit(path string, v Visitor) (Form, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("state: %w", err)
	}
	defer f.Close()
	// The lexer is the file's only buffer: large reads, one copy.
	return readFrom(newLexer(io.LimitReader(f, MaxStateBytes), 1<<20), path, v)
}

// Read streams a state in either form to v. file names it in errors.
func Read(r io.Reader, file string, v Visitor) (Form, error) {
	return readFrom(newLexer(r, 64<<10), file, v)
}

func readFrom(l *lexer, file string, v Visitor) (Form, error) {
	form, err := pipeline(l, &emitter{file: file, v: v})
	if err != nil {
		return form, fmt.Errorf("state %s: %w", file, err)
	}
	return form, nil
}

// decoder reads a state's structure and walks the instances of sunset's
// resources (raw state) or every resource (show -json), checking all of it,
// and passes them on as items to the emitter, which runs at the same time
// (pipeline.go).
type decoder struct {
	dec *lexer
	// items, top and attrs are the batch being filled: the items and
	// their members and attributes' (values') members.
	items      []item
	top, attrs []member
	// push passes the batch on once it holds enough items.
	push func() error
}

// emitter turns walked items into declarations for the Visitor.
type emitter struct {
	file string
	v    Visitor
	// top and attrs are the members of the item being emitted; off is the
	// stream offset after it, for errors.
	top, attrs []member
	off        int64
	// last holds, per slot, the last value read for an attribute whose
	// values repeat from instance to instance (kinds, owners, dates, target
	// names): a value equal to the last one is that same string, not a new
	// one. See str.
	last [slots]string
	// lastDate is the last end date or expiry found valid.
	lastDate string
	// addr is where instance addresses are built.
	addr []byte
	// forEach is the instance's for_each key when it is a plain string,
	// as part of its address; "" otherwise.
	forEach string
}

// Slots of decoder.last, one per repeating attribute; noSlot for the
// others (names, ids).
const (
	noSlot = iota
	slotKind
	slotOwner
	slotEndDate
	slotStartDate
	slotStatus
	slotTarget
	slotExpiresAt
	slotGroupID
	slots
)

// errAt adds the byte offset, which is what locates a problem in a state
// file written on one line by `terraform show -json`.
func (d *decoder) errAt(format string, args ...any) error {
	return errAtOffset(d.dec.InputOffset(), format, args...)
}

// errAt is the decoder's errAt at the offset after the item being emitted.
func (e *emitter) errAt(format string, args ...any) error {
	return errAtOffset(e.off, format, args...)
}

func errAtOffset(off int64, format string, args ...any) error {
	return fmt.Errorf("at byte %d: %s", off, fmt.Sprintf(format, args...))
}

func (d *decoder) delim(want json.Delim, what string) error {
	tok, err := d.dec.Token()
	if err != nil {
		return d.errAt("%s: %v", what, syntaxMsg(err))
	}
	if tok != want {
		return d.errAt("%s: want %q, found %s", what, string(want), describeToken(tok))
	}
	return nil
}

func syntaxMsg(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the file ends early (truncated?)"
	}
	return err.Error()
}

func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return fmt.Sprintf("%q", string(t))
	case string:
		return "a string"
	case nil:
		return "null"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}

// key reads an object key, or reports the end of the object.
func (d *decoder) key(what string) (string, bool, error) {
	if !d.dec.More() {
		if err := d.delim('}', what); err != nil {
			return "", false, err
		}
		return "", false, nil
	}
	tok, err := d.dec.Token()
	if err != nil {
		return "", false, d.errAt("%s: %v", what, syntaxMsg(err))
	}
	k, ok := tok.(string)
	if !ok {
		return "", false, d.errAt("%s: want a key, found %s", what, describeToken(tok))
	}
	return k, true, nil
}

// skip consumes a value the reader does not need, checking it in full.
func (d *decoder) skip() error {
	if err := d.dec.Skip(); err != nil {
		return d.errAt("%v", syntaxMsg(err))
	}
	return nil
}

func (d *decoder) document() (Form, error) {
	if err := d.delim('{', "a state file"); err != nil {
		return "", err
	}
	var (
		version       *json.Number
		formatVersion string
	)
	for {
		k, ok, err := d.key("the state object")
		if err != nil {
			return "", err
		}
		if !ok {
			break
		}
		switch k {
		case "version":
			var n json.Number
			if err := d.dec.Decode(&n); err != nil {
				return "", d.errAt("version: %v", syntaxMsg(err))
			}
			version = &n
		case "format_version":
			if err := d.dec.Decode(&formatVersion); err != nil {
				return "", d.errAt("format_version: %v", syntaxMsg(err))
			}
		case "resources":
			// Terraform writes "version" first; a re-serialised file may
			// sort keys. The version is checked at the end either way.
			if version != nil && *version != "4" {
				return FormRaw, fmt.Errorf("state version %s is not supported: sunset reads version 4 (Terraform 0.12 and later); run `terraform state pull` with a current Terraform", *version)
			}
			if err := d.rawResources(); err != nil {
				return FormRaw, err
			}
		case "values":
			if err := d.showValues(); err != nil {
				return FormShowJSON, err
			}
		default:
			if err := d.skip(); err != nil {
				return "", err
			}
		}
	}
	if _, err := d.dec.Token(); !errors.Is(err, io.EOF) {
		return "", d.errAt("unexpected data after the state object")
	}
	switch {
	case version != nil && formatVersion != "":
		return "", errors.New("the file has both \"version\" and \"format_version\": neither a raw state nor `terraform show -json` output")
	case version != nil:
		if *version != "4" {
			return FormRaw, fmt.Errorf("state version %s is not supported: sunset reads version 4 (Terraform 0.12 and later)", *version)
		}
		return FormRaw, nil
	case formatVersion != "":
		if major, _, _ := strings.Cut(formatVersion, "."); major != "1" {
			return FormShowJSON, fmt.Errorf("format_version %q is not supported: sunset reads format 1.x of `terraform show -json`", formatVersion)
		}
		return FormShowJSON, nil
	default:
		return "", errors.New("neither \"version\" (raw state from `terraform state pull`) nor \"format_version\" (`terraform show -json`) is present: this is not a Terraform state")
	}
}

// ---------------------------------------------------------------- raw v4

func (d *decoder) rawResources() error {
	if err := d.delim('[', "resources"); err != nil {
		return err
	}
	for i := 0; d.dec.More(); i++ {
		if err := d.rawResource(i); err != nil {
			return err
		}
	}
	return d.delim(']', "resources")
}

func (d *decoder) rawResource(i int) error {
	if err := d.delim('{', fmt.Sprintf("resources[%d]", i)); err != nil {
		return err
	}
	var res struct{ mode, typ, name, module string }
	var pending []json.RawMessage
	where := func() string {
		if res.typ == "" {
			return fmt.Sprintf("resources[%d]", i)
		}
		return address(res.module, res.mode, res.typ, res.name, nil)
	}
	for {
		k, ok, err := d.key(where())
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		var dst *string
		switch k {
		case "mode":
			dst = &res.mode
		case "type":
			dst = &res.typ
		case "name":
			dst = &res.name
		case "module":
			dst = &res.module
		case "instances":
			if res.typ == "" || res.name == "" || res.mode == "" {
				// Not Terraform's order (it writes instances last): keep
				// them until the resource's type is known.
				if err := d.dec.Decode(&pending); err != nil {
					return d.errAt("%s: instances: %v", where(), syntaxMsg(err))
				}
				continue
			}
			if err := checkMode(res.mode); err != nil {
				return d.errAt("%s: %v", where(), err)
			}
			if err := d.rawInstances(res.mode, res.module, res.typ, res.name); err != nil {
				return err
			}
			continue
		default:
			if err := d.skip(); err != nil {
				return err
			}
			continue
		}
		if err := d.dec.Decode(dst); err != nil {
			return d.errAt("%s: %q must be a string: %v", where(), k, syntaxMsg(err))
		}
	}
	if res.typ == "" || res.name == "" {
		return d.errAt("resources[%d] has no type or name", i)
	}
	if pending != nil {
		if err := checkMode(res.mode); err != nil {
			return d.errAt("%s: %v", where(), err)
		}
		if !IsSunset(res.typ) {
			return nil
		}
		for _, raw := range pending {
			t0, a0 := len(d.top), len(d.attrs)
			if err := walkObject(raw, &d.top, "attributes", &d.attrs); err != nil {
				d.top, d.attrs = d.top[:t0], d.attrs[:a0]
				return d.errAt("%s: an instance is malformed: %v", where(), err)
			}
			if err := d.add(item{mode: res.mode, module: res.module, typ: res.typ, name: res.name, b: raw}, t0, a0); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkMode(mode string) error {
	if mode != "managed" && mode != "data" {
		return fmt.Errorf("mode %q is neither managed nor data", mode)
	}
	return nil
}

func (d *decoder) rawInstances(mode, module, typ, name string) error {
	what := address(module, mode, typ, name, nil)
	if err := d.delim('[', what+" instances"); err != nil {
		return err
	}
	sunset := IsSunset(typ)
	for d.dec.More() {
		if !sunset {
			if err := d.skip(); err != nil {
				return err
			}
			continue
		}
		if err := d.dec.Object(&d.top, "attributes", &d.attrs); err != nil {
			return d.errAt("%s: an instance is malformed: %v", what, syntaxMsg(err))
		}
		if err := d.add(item{mode: mode, module: module, typ: typ, name: name, b: d.dec.Bytes()}, d.dec.topAt, d.dec.nestedAt); err != nil {
			return err
		}
	}
	return d.delim(']', what+" instances")
}

// instance passes on one raw instance of a sunset resource, walked into
// e.top (its members) and e.attrs (its attributes' members) over b.
func (d *emitter) instance(mode, module, typ, name string, b []byte) error {
	what := func() string { return address(module, mode, typ, name, nil) } // for errors
	var indexKey, deposed, attrs, flat span
	for _, m := range d.top {
		switch string(memberName(b, m.key)) {
		case "index_key":
			indexKey = m.val
		case "deposed":
			deposed = m.val
		case "attributes":
			attrs = m.val
		case "attributes_flat":
			flat = m.val
		}
	}
	dep := ""
	if !deposed.empty() {
		var err error
		if dep, err = d.str(b, deposed, noSlot); err != nil {
			return d.errAt("%s: an instance is malformed: deposed: %v", what(), err)
		}
	}
	// The address is built in a reused buffer, the index key appended
	// straight from the input when it needs no escaping: one allocation.
	a := appendAddress(d.addr[:0], module, mode, typ, name)
	keyAt := -1 // where a plain string key lies in the address
	if k := b[indexKey.start:indexKey.end]; len(k) > 0 && string(k) != "null" {
		switch k[0] {
		case '"':
			if raw := k[1 : len(k)-1]; !indexKey.esc && plainKey(raw) {
				keyAt = len(a) + 2
				a = append(append(append(append(a, '[', '"'), raw...), '"'), ']')
				break
			}
			s, err := d.str(b, indexKey, noSlot)
			if err != nil {
				return d.errAt("%s: index_key: %v", what(), err)
			}
			a = appendKey(a, s)
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			f, err := strconv.ParseFloat(string(k), 64)
			if err != nil {
				return d.errAt("%s: index_key: %v", what(), err)
			}
			a = appendKey(a, f)
		default:
			return d.errAt("%s: index_key must be a string or a number", what())
		}
	}
	d.addr = a
	res := Resource{Address: string(a), Module: module, Type: typ, Name: name, Deposed: dep}
	// An identity's name and a credential's identity_id are usually the
	// for_each key: they are then that part of the address, not a string
	// of their own.
	d.forEach = ""
	if keyAt >= 0 {
		d.forEach = res.Address[keyAt : len(res.Address)-2]
	}
	if res.Deposed != "" {
		res.Address += " (deposed " + res.Deposed + ")"
	}
	if !flat.empty() && attrs.empty() {
		return d.errAt("%s: attributes_flat is the format of Terraform before 0.12; refresh the state with a current Terraform", res.Address)
	}
	return d.emit(mode, res, object{b: b, raw: attrs, members: d.attrs})
}

// memberName is a walked key's text: the bytes themselves for the usual
// key without escapes (a switch on string(name) then allocates nothing).
func memberName(b []byte, key span) []byte {
	if !key.esc {
		return b[key.start+1 : key.end-1]
	}
	return []byte(keyText(b, key))
}

// str reads a walked value that must be a string or null ("" for null).
// slot (of decoder.last) is for values that repeat from instance to
// instance.
func (d *emitter) str(b []byte, v span, slot int) (string, error) {
	raw := b[v.start:v.end]
	switch {
	case len(raw) >= 2 && raw[0] == '"' && !v.esc:
		raw = raw[1 : len(raw)-1]
		if slot == noSlot {
			if string(raw) == d.forEach && d.forEach != "" {
				return d.forEach, nil
			}
			return string(raw), nil
		}
		if string(raw) == d.last[slot] {
			return d.last[slot], nil
		}
		s := string(raw)
		d.last[slot] = s
		return s, nil
	case len(raw) >= 2 && raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	case string(raw) == "null":
		return "", nil
	}
	return "", fmt.Errorf("want a string, found %.20s", raw)
}

// address renders a Terraform resource address.
func address(module, mode, typ, name string, key any) string {
	return string(appendKey(appendAddress(nil, module, mode, typ, name), key))
}

// appendAddress appends a resource's address without its key.
func appendAddress(b []byte, module, mode, typ, name string) []byte {
	if module != "" {
		b = append(append(b, module...), '.')
	}
	if mode == "data" {
		b = append(b, "data."...)
	}
	return append(append(append(b, typ...), '.'), name...)
}

// appendKey appends an instance key (string or number; nothing for nil)
// as an address writes it.
func appendKey(b []byte, key any) []byte {
	switch k := key.(type) {
	case string:
		b = append(b, '[')
		if plainKey(k) {
			b = append(append(append(b, '"'), k...), '"')
		} else {
			b = strconv.AppendQuote(b, k)
		}
		b = append(b, ']')
	case float64:
		b = append(b, '[')
		b = strconv.AppendFloat(b, k, 'f', -1, 64)
		b = append(b, ']')
	}
	return b
}

// plainKey reports whether a for_each key needs no escaping in an address.
func plainKey[T string | []byte](k T) bool {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------- show -json

func (d *decoder) showValues() error {
	if err := d.delim('{', "values"); err != nil {
		return err
	}
	for {
		k, ok, err := d.key("values")
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if k != "root_module" {
			if err := d.skip(); err != nil {
				return err
			}
			continue
		}
		if err := d.showModule("root_module", ""); err != nil {
			return err
		}
	}
}

func (d *decoder) showModule(what, module string) error {
	if err := d.delim('{', what); err != nil {
		return err
	}
	for {
		k, ok, err := d.key(what)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		switch k {
		case "address":
			var a string
			if err := d.dec.Decode(&a); err != nil {
				return d.errAt("%s: address: %v", what, syntaxMsg(err))
			}
			if a != "" {
				module, what = a, a
			}
		case "resources":
			if err := d.delim('[', what+" resources"); err != nil {
				return err
			}
			for d.dec.More() {
				if err := d.showResource(what, module); err != nil {
					return err
				}
			}
			if err := d.delim(']', what+" resources"); err != nil {
				return err
			}
		case "child_modules":
			if err := d.delim('[', what+" child_modules"); err != nil {
				return err
			}
			for i := 0; d.dec.More(); i++ {
				if err := d.showModule(fmt.Sprintf("%s child_modules[%d]", what, i), ""); err != nil {
					return err
				}
			}
			if err := d.delim(']', what+" child_modules"); err != nil {
				return err
			}
		default:
			if err := d.skip(); err != nil {
				return err
			}
		}
	}
}

// showResource reads one resource of a module's resources.
func (d *decoder) showResource(what, module string) error {
	if err := d.dec.Object(&d.top, "values", &d.attrs); err != nil {
		return d.errAt("%s: a resource is malformed: %v", what, syntaxMsg(err))
	}
	return d.add(item{show: true, module: module, name: what, b: d.dec.Bytes()}, d.dec.topAt, d.dec.nestedAt)
}

// showResource passes on one walked resource of a module's resources,
// if it is one of sunset's.
func (d *emitter) showResource(what, module string, b []byte) error {
	d.forEach = ""
	var r struct{ address, mode, typ, name, deposed string }
	var values span
	for _, m := range d.top {
		var dst *string
		k := memberName(b, m.key)
		switch string(k) {
		case "address":
			dst = &r.address
		case "mode":
			dst = &r.mode
		case "type":
			dst = &r.typ
		case "name":
			dst = &r.name
		case "deposed_key":
			dst = &r.deposed
		case "values":
			values = m.val
			continue
		default:
			continue
		}
		s, err := d.str(b, m.val, noSlot)
		if err != nil {
			return d.errAt("%s: a resource is malformed: %q: %v", what, k, err)
		}
		*dst = s
	}
	if !IsSunset(r.typ) {
		return nil
	}
	if r.address == "" || r.name == "" || (r.mode != "managed" && r.mode != "data") {
		return d.errAt("%s: a %s resource lacks address, name or a valid mode", what, r.typ)
	}
	res := Resource{Address: r.address, Module: module, Type: r.typ, Name: r.name, Deposed: r.deposed}
	if res.Deposed != "" {
		res.Address += " (deposed " + res.Deposed + ")"
	}
	return d.emit(r.mode, res, object{b: b, raw: values, members: d.attrs})
}

// ------------------------------------------------------------ attributes

// object is a walked attributes (or values) object: raw is where it lies
// in b, members its members when it is an object.
type object struct {
	b       []byte
	raw     span
	members []member
}

// field sets *p to the string value of the member named key; a member
// that is neither a string nor null is an error naming it.
func (d *emitter) field(b []byte, v span, key []byte, slot int, p *string) error {
	s, err := d.str(b, v, slot)
	if err != nil {
		return fmt.Errorf("%q must be a string: %v", key, err)
	}
	*p = s
	return nil
}

type exceptionAttrs struct {
	Kind       *string `json:"kind"`
	Reason     *string `json:"reason"`
	ApprovedBy *string `json:"approved_by"`
	Expires    *string `json:"expires"`
}

type rosterEntryAttrs struct {
	Name      *string         `json:"name"`
	Kind      *string         `json:"kind"`
	Owner     *string         `json:"owner"`
	Email     *string         `json:"email"`
	EndDate   *string         `json:"end_date"`
	EndsAt    *string         `json:"ends_at"`
	Status    *string         `json:"status"`
	Reason    *string         `json:"reason"`
	Source    *string         `json:"source"`
	Exception *exceptionAttrs `json:"exception"`
}

type rosterAttrs struct {
	Active     map[string]rosterEntryAttrs `json:"active"`
	Ended      map[string]rosterEntryAttrs `json:"ended"`
	Exceptions map[string]rosterEntryAttrs `json:"exceptions"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// emit decodes one sunset instance's attributes and passes it on.
func (d *emitter) emit(mode string, res Resource, o object) error {
	attrs := o.b[o.raw.start:o.raw.end]
	if len(attrs) == 0 || string(attrs) == "null" {
		return d.errAt("%s has no attributes", res.Address)
	}
	if attrs[0] != '{' {
		return d.errAt("%s: attributes must be an object", res.Address)
	}
	bad := func(format string, args ...any) error {
		return d.errAt("%s: %s", res.Address, fmt.Sprintf(format, args...))
	}
	switch {
	case res.Type == TypeRoster && mode == "data":
		if d.v.RosterEntry == nil {
			return nil
		}
		var a rosterAttrs
		if err := json.Unmarshal(attrs, &a); err != nil {
			return bad("the roster's maps are malformed: %v", err)
		}
		for _, m := range []struct {
			name    string
			entries map[string]rosterEntryAttrs
		}{{"active", a.Active}, {"ended", a.Ended}, {"exceptions", a.Exceptions}} {
			for _, key := range sortedKeys(m.entries) {
				e := m.entries[key]
				re := RosterEntry{
					Resource: res, Map: m.name, Name: str(e.Name), Kind: str(e.Kind), Owner: str(e.Owner),
					Email: str(e.Email), EndDate: str(e.EndDate), EndsAt: str(e.EndsAt), Status: str(e.Status),
					Reason: str(e.Reason), Source: str(e.Source),
				}
				if re.Name == "" {
					re.Name = key
				}
				if re.Name != key {
					return bad("%s[%q] holds an identity named %q", m.name, key, re.Name)
				}
				if x := e.Exception; x != nil {
					re.Exception = &lifecycle.Exception{Kind: lifecycle.ExceptionKind(str(x.Kind)), Reason: str(x.Reason), ApprovedBy: str(x.ApprovedBy), Expires: str(x.Expires)}
				}
				if err := d.v.RosterEntry(re); err != nil {
					return err
				}
			}
		}
	case res.Type == TypeIdentity && mode == "managed":
		if d.v.Identity == nil {
			return nil
		}
		id := Identity{Resource: res}
		var idAttr span // read only when there is no name
		var idKey []byte
		for _, m := range o.members {
			var p *string
			slot := noSlot
			k := memberName(o.b, m.key)
			switch string(k) {
			case "id":
				idAttr, idKey = m.val, k
				continue
			case "name":
				p = &id.Name
			case "kind":
				p, slot = &id.Kind, slotKind
			case "owner":
				p, slot = &id.Owner, slotOwner
			case "end_date":
				p, slot = &id.EndDate, slotEndDate
			case "start_date":
				p, slot = &id.StartDate, slotStartDate
			case "status":
				p, slot = &id.Status, slotStatus
			default:
				continue
			}
			if err := d.field(o.b, m.val, k, slot, p); err != nil {
				return bad("attributes are malformed: %v", err)
			}
		}
		if idKey != nil {
			// Checked even when unused, as every wanted attribute is.
			if o.b[idAttr.start] != '"' && string(o.b[idAttr.start:idAttr.end]) != "null" {
				return bad("attributes are malformed: %q must be a string: want a string, found %.20s", idKey, o.b[idAttr.start:idAttr.end])
			}
			if id.Name == "" {
				if err := d.field(o.b, idAttr, idKey, noSlot, &id.Name); err != nil {
					return bad("attributes are malformed: %v", err)
				}
			}
		}
		if id.Name == "" {
			return bad("an identity without a name or id")
		}
		if id.EndDate != "" {
			if err := d.validDate(id.EndDate); err != nil {
				return bad("end_date: %v", err)
			}
		}
		return d.v.Identity(id)
	case CredentialTypes[res.Type] && mode == "managed":
		if d.v.Credential == nil {
			return nil
		}
		c := Credential{Resource: res}
		var target string
		for _, m := range o.members {
			var p *string
			slot := noSlot
			k := memberName(o.b, m.key)
			switch string(k) {
			case "id":
				p = &c.ID
			case "target":
				p, slot = &target, slotTarget
			case "identity_id":
				p = &c.IdentityID
			case "expires_at":
				p, slot = &c.ExpiresAt, slotExpiresAt
			case "group_id":
				p, slot = &c.GroupID, slotGroupID
			case "user_id":
				p = &c.UserID
			default:
				continue
			}
			if err := d.field(o.b, m.val, k, slot, p); err != nil {
				return bad("attributes are malformed: %v", err)
			}
		}
		if c.ID == "" {
			return bad("a credential without an id (want TARGET/ACCOUNT)")
		}
		t, acct, err := connector.ParseID(c.ID)
		if err != nil {
			return bad("%v", err)
		}
		c.Target, c.Account = t, acct
		if target != "" && target != t {
			return bad("target %q does not match the id's target %q", target, t)
		}
		if c.ExpiresAt != "" {
			if err := d.validDate(c.ExpiresAt); err != nil {
				return bad("expires_at: %v", err)
			}
		}
		return d.v.Credential(c)
	}
	return nil
}

func sortedKeys(m map[string]rosterEntryAttrs) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ParseTime reads an expiry or end instant as the state holds it:
// RFC 3339 or a calendar date (its end, in loc).
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	e, err := lifecycle.ParseEndDate(s, loc)
	if err != nil {
		return time.Time{}, err
	}
	return e.EndsAt(), nil
}

// validDate is the package's validDate, with the last valid date
// remembered: instances in a row usually repeat it.
func (d *emitter) validDate(s string) error {
	if s == d.lastDate {
		return nil
	}
	if err := validDate(s); err != nil {
		return err
	}
	d.lastDate = s
	return nil
}

// validDate checks an end date or expiry; states repeat the same few dates
// many times, so answers are remembered (a bounded number of them).
func validDate(s string) error {
	if err, ok := dateCache.Load(s); ok {
		if err == nil {
			return nil
		}
		return err.(error)
	}
	_, err := lifecycle.ParseEndDate(s, nil)
	if dateCacheN.Add(1) < 4096 {
		if err != nil {
			dateCache.Store(s, err)
		} else {
			dateCache.Store(s, nil)
		}
	}
	return err
}

var (
	dateCache  sync.Map
	dateCacheN atomic.Int64
)
