package testenv

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	fparser "github.com/scim2/filter-parser/v2"
)

// scimUserHandler and scimGroupHandler are the library's ResourceHandler
// callbacks over the in-memory store. The library parses, validates and
// routes; these only store and answer.
type scimUserHandler struct {
	st      *scimStore
	patcher scimPatcher
}

type scimGroupHandler struct {
	st      *scimStore
	patcher scimPatcher
}

var (
	_ scim.ResourceHandler = scimUserHandler{}
	_ scim.ResourceHandler = scimGroupHandler{}
)

func (h scimUserHandler) Create(_ *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	h.st.mu.Lock()
	rec, err := h.st.insertUserLocked(attrs)
	if err != nil {
		h.st.mu.Unlock()
		return scim.Resource{}, err
	}
	sn := h.st.snapUser(rec)
	h.st.mu.Unlock()
	return sn.resource(true)
}

func (h scimUserHandler) Get(_ *http.Request, id string) (scim.Resource, error) {
	sn, ok := h.st.getUser(id)
	if !ok {
		return scim.Resource{}, scimNotFound(id)
	}
	return sn.resource(true)
}

func (h scimUserHandler) GetAll(_ *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	return h.st.list(params, true)
}

func (h scimUserHandler) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	return scimUsers.replace(h.st, r, id, attrs)
}

func (h scimUserHandler) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	return scimUsers.patch(h.st, h.patcher, r, id, ops)
}

func (h scimUserHandler) Delete(r *http.Request, id string) error {
	return scimUsers.delete(h.st, r, id)
}

func (h scimGroupHandler) Create(_ *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	rec, err := h.st.insertGroupLocked(attrs)
	if err != nil {
		return scim.Resource{}, err
	}
	return h.st.snapGroup(rec).resource(false)
}

func (h scimGroupHandler) Get(_ *http.Request, id string) (scim.Resource, error) {
	h.st.mu.RLock()
	rec, ok := h.st.groups.byID[id]
	var sn scimSnap
	if ok {
		sn = h.st.snapGroup(rec)
	}
	h.st.mu.RUnlock()
	if !ok {
		return scim.Resource{}, scimNotFound(id)
	}
	return sn.resource(false)
}

func (h scimGroupHandler) GetAll(_ *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	return h.st.list(params, false)
}

func (h scimGroupHandler) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	return scimGroups.replace(h.st, r, id, attrs)
}

func (h scimGroupHandler) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	return scimGroups.patch(h.st, h.patcher, r, id, ops)
}

func (h scimGroupHandler) Delete(r *http.Request, id string) error {
	return scimGroups.delete(h.st, r, id)
}

// scimKind is what differs between Users and Groups when a resource is
// replaced, patched or deleted: its table and the store's functions for
// it. The rest (the write lock, the lookup, If-Match, applying a PATCH to
// the stored document) is one piece of code for both.
type scimKind struct {
	isUser bool
	table  func(*scimStore) *scimTable
	snap   func(*scimStore, *scimRecord) scimSnap
	update func(*scimStore, *scimRecord, map[string]any) error
	remove func(*scimStore, *scimRecord)
}

var (
	scimUsers = scimKind{
		isUser: true,
		table:  func(s *scimStore) *scimTable { return &s.users },
		snap:   (*scimStore).snapUser,
		update: (*scimStore).updateUserLocked,
		remove: (*scimStore).deleteUserLocked,
	}
	scimGroups = scimKind{
		table:  func(s *scimStore) *scimTable { return &s.groups },
		snap:   (*scimStore).snapGroup,
		update: (*scimStore).updateGroupLocked,
		remove: (*scimStore).deleteGroupLocked,
	}
)

// findLocked returns the record id names, once the request's If-Match
// (RFC 7644 §3.14) allows the change. The caller holds the write lock.
func (k scimKind) findLocked(s *scimStore, r *http.Request, id string) (*scimRecord, error) {
	rec, ok := k.table(s).byID[id]
	if !ok {
		return nil, scimNotFound(id)
	}
	if err := scimCheckIfMatch(r, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

func (k scimKind) replace(s *scimStore, r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := k.findLocked(s, r, id)
	if err != nil {
		return scim.Resource{}, err
	}
	if err := k.update(s, rec, attrs); err != nil {
		return scim.Resource{}, err
	}
	return k.snap(s, rec).resource(k.isUser)
}

func (k scimKind) patch(s *scimStore, p scimPatcher, r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := k.findLocked(s, r, id)
	if err != nil {
		return scim.Resource{}, err
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.doc, &doc); err != nil {
		return scim.Resource{}, err
	}
	if err := p.apply(doc, ops); err != nil {
		return scim.Resource{}, err
	}
	if err := k.update(s, rec, doc); err != nil {
		return scim.Resource{}, err
	}
	return k.snap(s, rec).resource(k.isUser)
}

func (k scimKind) delete(s *scimStore, r *http.Request, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := k.findLocked(s, r, id)
	if err != nil {
		return err
	}
	k.remove(s, rec)
	return nil
}

// list answers GET /Users and GET /Groups: startIndex/count paging over
// insertion order, userName/externalId/id equality from an index, any other
// filter by a scan with the library's evaluator.
func (s *scimStore) list(params scim.ListRequestParams, isUser bool) (scim.Page, error) {
	var expr fparser.Expression
	if params.FilterValidator != nil {
		expr = params.FilterValidator.GetFilter()
		if err := scimUnescape(expr); err != nil {
			return scim.Page{}, scimerrors.ScimErrorInvalidFilter
		}
	}
	table, snap := &s.groups, s.snapGroup
	core, exts := s.groupSchema, []schema.Schema(nil)
	if isUser {
		table, snap = &s.users, s.snapUser
		core, exts = s.userSchema, s.userExts
	}
	start := params.StartIndex - 1
	if start < 0 {
		start = 0
	}
	page := func(all []scimSnap) []scimSnap {
		lo := min(start, len(all))
		hi := min(lo+max(params.Count, 0), len(all))
		return all[lo:hi]
	}

	var (
		snaps []scimSnap
		total int
	)
	s.mu.RLock()
	attr, value, indexed := "", "", false
	if isUser && expr != nil {
		attr, value, indexed = scimIndexed(expr, core.ID)
	}
	switch {
	case expr == nil:
		total = len(table.order)
		lo := min(start, total)
		hi := min(lo+max(params.Count, 0), total)
		snaps = make([]scimSnap, 0, hi-lo)
		for _, r := range table.order[lo:hi] {
			snaps = append(snaps, snap(r))
		}
		s.mu.RUnlock()
	case indexed:
		var rec *scimRecord
		switch attr {
		case "userName":
			rec = s.byUserName[strings.ToLower(value)]
		case "externalId":
			rec = s.byExtID[value]
		case "id":
			rec = s.users.byID[value]
		}
		var all []scimSnap
		if rec != nil {
			all = []scimSnap{snap(rec)}
		}
		s.mu.RUnlock()
		total, snaps = len(all), page(all)
	default:
		all := make([]scimSnap, 0, len(table.order))
		for _, r := range table.order {
			all = append(all, snap(r))
		}
		s.mu.RUnlock()
		m := newSCIMMatcher(expr, core, exts)
		matched := all[:0]
		for _, sn := range all {
			view, err := sn.filterView()
			if err != nil {
				return scim.Page{}, err
			}
			if m.match(view) {
				matched = append(matched, sn)
			}
		}
		total, snaps = len(matched), page(matched)
	}

	out := scim.Page{TotalResults: total, Resources: make([]scim.Resource, 0, len(snaps))}
	for _, sn := range snaps {
		res, err := sn.resource(isUser)
		if err != nil {
			return scim.Page{}, err
		}
		out.Resources = append(out.Resources, res)
	}
	return out, nil
}
