package testenv

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/google/uuid"
)

// scimRecord is one stored resource. doc holds the validated attributes as
// JSON (canonical attribute names, without id/meta/groups); every read
// decodes a fresh copy, so a response being marshalled can never race with a
// later change. All fields are guarded by scimStore.mu.
type scimRecord struct {
	id         string
	doc        []byte
	key        string // users: lower-cased userName (uniqueness index)
	externalID string
	created    time.Time
	modified   time.Time
	version    uint64
}

func (r *scimRecord) etag() string { return `W/"` + strconv.FormatUint(r.version, 10) + `"` }

// scimSnap is a copy of a record taken under the lock, plus the user's group
// memberships at that moment.
type scimSnap struct {
	id, externalID   string
	doc              []byte
	created, updated time.Time
	etag             string
	groups           []map[string]any
}

// scimTable keeps insertion order (for startIndex paging, which must be
// stable) and an id index.
type scimTable struct {
	byID  map[string]*scimRecord
	order []*scimRecord
}

func newSCIMTable() scimTable { return scimTable{byID: map[string]*scimRecord{}} }

func (t *scimTable) add(r *scimRecord) {
	t.byID[r.id] = r
	t.order = append(t.order, r)
}

func (t *scimTable) remove(id string) {
	delete(t.byID, id)
	for i, r := range t.order {
		if r.id == id {
			t.order = append(t.order[:i], t.order[i+1:]...)
			return
		}
	}
}

// scimStore is the in-memory directory behind the test server.
type scimStore struct {
	mu         sync.RWMutex
	users      scimTable
	groups     scimTable
	byUserName map[string]*scimRecord
	byExtID    map[string]*scimRecord
	memberOf   map[string]map[string]struct{} // user id -> group ids
	now        func() time.Time
	seedSeq    int

	userSchema  schema.Schema
	groupSchema schema.Schema
	userExts    []schema.Schema
}

func newSCIMStore(now func() time.Time) *scimStore {
	return &scimStore{
		users:       newSCIMTable(),
		groups:      newSCIMTable(),
		byUserName:  map[string]*scimRecord{},
		byExtID:     map[string]*scimRecord{},
		memberOf:    map[string]map[string]struct{}{},
		now:         now,
		userSchema:  schema.CoreUserSchema(),
		groupSchema: schema.CoreGroupSchema(),
		userExts:    []schema.Schema{schema.ExtensionEnterpriseUser(), scimHRExtension()},
	}
}

// SCIMHRSchema is a custom user extension of the test server, standing in
// for the tenant-specific extensions real directories add (Entra ID, Okta,
// Workday). It carries an HR end date so that roster tests can read an end
// date from an extension attribute path such as
// "urn:sunset:testenv:scim:schemas:extension:hr:2.0:User:endDate".
const SCIMHRSchema = "urn:sunset:testenv:scim:schemas:extension:hr:2.0:User"

func scimHRExtension() schema.Schema {
	return schema.Schema{
		ID:          SCIMHRSchema,
		Name:        optional.NewString("HRUser"),
		Description: optional.NewString("HR lifecycle attributes (testenv)"),
		Attributes: []schema.CoreAttribute{
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: "endDate"})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: "hireDate"})),
		},
	}
}

// withCommon adds id, externalId and meta to a schema, for filters and
// PATCH paths that name them.
func scimWithCommon(s schema.Schema) schema.Schema {
	attrs := make([]schema.CoreAttribute, 0, len(s.Attributes)+3)
	attrs = append(attrs, s.Attributes...)
	s.Attributes = append(attrs, schema.CommonAttributes()...)
	return s
}

func scimErr(status int, scimType scimerrors.ScimType, format string, args ...any) error {
	return scimerrors.ScimError{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

func scimNotFound(id string) error { return scimerrors.ScimErrorResourceNotFound(id) }

// checkIfMatch enforces RFC 7644 §3.14 preconditions on PUT/PATCH/DELETE.
func scimCheckIfMatch(r *http.Request, rec *scimRecord) error {
	if r == nil {
		return nil
	}
	want := strings.TrimSpace(r.Header.Get("If-Match"))
	if want == "" || want == "*" {
		return nil
	}
	for _, tag := range strings.Split(want, ",") {
		if strings.TrimSpace(tag) == rec.etag() {
			return nil
		}
	}
	return scimErr(http.StatusPreconditionFailed, "", "If-Match %s does not match the current version %s", want, rec.etag())
}

func (s *scimStore) newID() string { return uuid.NewString() }

// ---------------------------------------------------------------- users

func (s *scimStore) snapUser(r *scimRecord) scimSnap {
	sn := scimSnap{id: r.id, externalID: r.externalID, doc: r.doc, created: r.created, updated: r.modified, etag: r.etag()}
	for gid := range s.memberOf[r.id] {
		g := s.groups.byID[gid]
		if g == nil {
			continue
		}
		var gdoc struct {
			DisplayName string `json:"displayName"`
		}
		_ = json.Unmarshal(g.doc, &gdoc)
		sn.groups = append(sn.groups, map[string]any{"value": gid, "display": gdoc.DisplayName, "type": "direct"})
	}
	return sn
}

// resource turns a snapshot into what the library marshals.
func (sn scimSnap) resource(isUser bool) (scim.Resource, error) {
	var attrs map[string]any
	if err := json.Unmarshal(sn.doc, &attrs); err != nil {
		return scim.Resource{}, err
	}
	if isUser && len(sn.groups) > 0 {
		gs := make([]any, len(sn.groups))
		for i, g := range sn.groups {
			gs[i] = g
		}
		attrs["groups"] = gs
	}
	created, updated := sn.created, sn.updated
	res := scim.Resource{ID: sn.id, Attributes: attrs, Meta: scim.Meta{Created: &created, LastModified: &updated, Version: sn.etag}}
	if sn.externalID != "" {
		res.ExternalID = optional.NewString(sn.externalID)
	}
	return res, nil
}

// filterView is the map a filter is evaluated against: the document plus
// id, meta and extension attributes flattened as "urn:...:attr", which is
// where the library's evaluator looks for them.
func (sn scimSnap) filterView() (map[string]any, error) {
	var view map[string]any
	if err := json.Unmarshal(sn.doc, &view); err != nil {
		return nil, err
	}
	for k, v := range view {
		if strings.HasPrefix(k, "urn:") {
			if m, ok := v.(map[string]any); ok {
				for sk, sv := range m {
					view[k+":"+sk] = sv
				}
			}
		}
	}
	view["id"] = sn.id
	view["meta"] = map[string]any{
		"created":      sn.created.Format(time.RFC3339),
		"lastModified": sn.updated.Format(time.RFC3339),
		"version":      sn.etag,
	}
	return view, nil
}

func scimString(attrs map[string]any, key string) string {
	s, _ := attrs[key].(string)
	return s
}

// insertUser stores a validated attribute map. Caller holds s.mu.
func (s *scimStore) insertUserLocked(attrs map[string]any) (*scimRecord, error) {
	userName := scimString(attrs, "userName")
	if userName == "" {
		return nil, scimErr(http.StatusBadRequest, scimerrors.ScimTypeInvalidValue, "userName is required")
	}
	key := strings.ToLower(userName)
	if _, dup := s.byUserName[key]; dup {
		return nil, scimerrors.ScimErrorUniqueness
	}
	if _, ok := attrs["active"]; !ok {
		// Real providers create users active unless told otherwise.
		attrs["active"] = true
	}
	extID := scimString(attrs, "externalId")
	doc, err := json.Marshal(attrs)
	if err != nil {
		return nil, err
	}
	now := s.now()
	rec := &scimRecord{id: s.newID(), doc: doc, key: key, externalID: extID, created: now, modified: now, version: 1}
	s.users.add(rec)
	s.byUserName[key] = rec
	if extID != "" {
		s.byExtID[extID] = rec
	}
	return rec, nil
}

// updateUserLocked swaps a user's document, keeping indexes in step. It
// moves lastModified and the version only when something changed, so that a
// repeated deactivation does not rewrite the time of the first one.
func (s *scimStore) updateUserLocked(rec *scimRecord, attrs map[string]any) error {
	userName := scimString(attrs, "userName")
	if userName == "" {
		return scimErr(http.StatusBadRequest, scimerrors.ScimTypeInvalidValue, "userName is required")
	}
	key := strings.ToLower(userName)
	if other, dup := s.byUserName[key]; dup && other != rec {
		return scimerrors.ScimErrorUniqueness
	}
	doc, err := json.Marshal(attrs)
	if err != nil {
		return err
	}
	if string(doc) == string(rec.doc) {
		return nil
	}
	delete(s.byUserName, rec.key)
	if rec.externalID != "" && s.byExtID[rec.externalID] == rec {
		delete(s.byExtID, rec.externalID)
	}
	rec.doc, rec.key, rec.externalID = doc, key, scimString(attrs, "externalId")
	s.byUserName[key] = rec
	if rec.externalID != "" {
		s.byExtID[rec.externalID] = rec
	}
	s.touchLocked(rec)
	return nil
}

func (s *scimStore) touchLocked(rec *scimRecord) {
	now := s.now()
	if !now.After(rec.modified) {
		// Keep lastModified strictly increasing even on a coarse clock.
		now = rec.modified.Add(time.Millisecond)
	}
	rec.modified = now
	rec.version++
}

func (s *scimStore) deleteUserLocked(rec *scimRecord) {
	s.users.remove(rec.id)
	delete(s.byUserName, rec.key)
	if rec.externalID != "" && s.byExtID[rec.externalID] == rec {
		delete(s.byExtID, rec.externalID)
	}
	for gid := range s.memberOf[rec.id] {
		g := s.groups.byID[gid]
		if g == nil {
			continue
		}
		var gattrs map[string]any
		if json.Unmarshal(g.doc, &gattrs) != nil {
			continue
		}
		gattrs["members"] = scimDropMember(gattrs["members"], rec.id)
		if doc, err := json.Marshal(gattrs); err == nil {
			g.doc = doc
			s.touchLocked(g)
		}
	}
	delete(s.memberOf, rec.id)
}

func scimDropMember(members any, userID string) any {
	list, _ := members.([]any)
	out := make([]any, 0, len(list))
	for _, m := range list {
		if mm, ok := m.(map[string]any); ok && mm["value"] == userID {
			continue
		}
		out = append(out, m)
	}
	return out
}

func (s *scimStore) getUser(id string) (scimSnap, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec, ok := s.users.byID[id]
	if !ok {
		return scimSnap{}, false
	}
	return s.snapUser(rec), true
}

// ---------------------------------------------------------------- groups

func (s *scimStore) snapGroup(r *scimRecord) scimSnap {
	return scimSnap{id: r.id, externalID: r.externalID, doc: r.doc, created: r.created, updated: r.modified, etag: r.etag()}
}

// normaliseMembersLocked checks that every member is an existing user and
// fills in display names, so that a client bug (adding a user id that does
// not exist) fails loudly as it would on a real provider.
func (s *scimStore) normaliseMembersLocked(attrs map[string]any) (map[string]struct{}, error) {
	ids := map[string]struct{}{}
	list, _ := attrs["members"].([]any)
	out := make([]any, 0, len(list))
	for _, m := range list {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil, scimErr(http.StatusBadRequest, scimerrors.ScimTypeInvalidValue, "a member must be an object")
		}
		id, _ := mm["value"].(string)
		u, ok := s.users.byID[id]
		if !ok {
			return nil, scimErr(http.StatusBadRequest, scimerrors.ScimTypeInvalidValue, "member %q is not an existing user", id)
		}
		if _, dup := ids[id]; dup {
			continue
		}
		ids[id] = struct{}{}
		var udoc struct {
			UserName string `json:"userName"`
		}
		_ = json.Unmarshal(u.doc, &udoc)
		out = append(out, map[string]any{"value": id, "display": udoc.UserName, "type": "User"})
	}
	if len(out) > 0 {
		attrs["members"] = out
	} else {
		delete(attrs, "members")
	}
	return ids, nil
}

func (s *scimStore) setMembershipLocked(groupID string, before, after map[string]struct{}) {
	for uid := range before {
		if _, keep := after[uid]; !keep {
			delete(s.memberOf[uid], groupID)
			if len(s.memberOf[uid]) == 0 {
				delete(s.memberOf, uid)
			}
		}
	}
	for uid := range after {
		if s.memberOf[uid] == nil {
			s.memberOf[uid] = map[string]struct{}{}
		}
		s.memberOf[uid][groupID] = struct{}{}
	}
}

func (s *scimStore) groupMembersLocked(rec *scimRecord) map[string]struct{} {
	var doc struct {
		Members []struct {
			Value string `json:"value"`
		} `json:"members"`
	}
	_ = json.Unmarshal(rec.doc, &doc)
	ids := make(map[string]struct{}, len(doc.Members))
	for _, m := range doc.Members {
		ids[m.Value] = struct{}{}
	}
	return ids
}

func (s *scimStore) insertGroupLocked(attrs map[string]any) (*scimRecord, error) {
	if scimString(attrs, "displayName") == "" {
		return nil, scimErr(http.StatusBadRequest, scimerrors.ScimTypeInvalidValue, "displayName is required")
	}
	ids, err := s.normaliseMembersLocked(attrs)
	if err != nil {
		return nil, err
	}
	doc, err := json.Marshal(attrs)
	if err != nil {
		return nil, err
	}
	now := s.now()
	rec := &scimRecord{id: s.newID(), doc: doc, externalID: scimString(attrs, "externalId"), created: now, modified: now, version: 1}
	s.groups.add(rec)
	s.setMembershipLocked(rec.id, nil, ids)
	return rec, nil
}

func (s *scimStore) updateGroupLocked(rec *scimRecord, attrs map[string]any) error {
	if scimString(attrs, "displayName") == "" {
		return scimErr(http.StatusBadRequest, scimerrors.ScimTypeInvalidValue, "displayName is required")
	}
	ids, err := s.normaliseMembersLocked(attrs)
	if err != nil {
		return err
	}
	doc, err := json.Marshal(attrs)
	if err != nil {
		return err
	}
	if string(doc) == string(rec.doc) {
		return nil
	}
	before := s.groupMembersLocked(rec)
	rec.doc, rec.externalID = doc, scimString(attrs, "externalId")
	s.setMembershipLocked(rec.id, before, ids)
	s.touchLocked(rec)
	return nil
}

func (s *scimStore) deleteGroupLocked(rec *scimRecord) {
	s.setMembershipLocked(rec.id, s.groupMembersLocked(rec), nil)
	s.groups.remove(rec.id)
}
