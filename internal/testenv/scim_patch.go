package testenv

import (
	"net/http"
	"reflect"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	fparser "github.com/scim2/filter-parser/v2"
)

// scimPatcher applies RFC 7644 §3.5.2 PATCH operations (already validated
// and lower-cased by the library, which is how PascalCase "Replace" from
// Entra ID gets accepted) to a decoded document.
type scimPatcher struct {
	core schema.Schema // with common attributes
	exts []schema.Schema
}

func (p scimPatcher) ext(uri string) (schema.Schema, bool) {
	for _, e := range p.exts {
		if e.ID == uri {
			return e, true
		}
	}
	return schema.Schema{}, false
}

func (p scimPatcher) apply(doc map[string]any, ops []scim.PatchOperation) error {
	for _, op := range ops {
		if op.Path != nil {
			if err := p.applyPath(doc, op.Op, op.Path, op.Value); err != nil {
				return err
			}
			continue
		}
		// No path: the value is a set of attribute paths (or extension
		// containers) relative to the resource itself.
		vals, ok := op.Value.(map[string]any)
		if !ok {
			return scimerrors.ScimErrorInvalidValue
		}
		for k, v := range vals {
			if _, isExt := p.ext(k); isExt {
				sub, _ := v.(map[string]any)
				for sk, sv := range sub {
					path, err := fparser.ParsePath([]byte(k + ":" + sk))
					if err != nil {
						return scimerrors.ScimErrorInvalidPath
					}
					if err := p.applyPath(doc, op.Op, &path, sv); err != nil {
						return err
					}
				}
				continue
			}
			path, err := fparser.ParsePath([]byte(k))
			if err != nil {
				return scimerrors.ScimErrorInvalidPath
			}
			if err := p.applyPath(doc, op.Op, &path, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p scimPatcher) applyPath(doc map[string]any, op string, path *fparser.Path, value any) error {
	container, sch := doc, p.core
	if uri := path.AttributePath.URI(); uri != "" && uri != p.core.ID {
		ext, ok := p.ext(uri)
		if !ok {
			return scimerrors.ScimErrorInvalidPath
		}
		m, _ := doc[uri].(map[string]any)
		if m == nil {
			if op == scim.PatchOperationRemove {
				return nil
			}
			m = map[string]any{}
			doc[uri] = m
		}
		container, sch = m, ext
	}
	attr, ok := sch.Attributes.ContainsAttribute(path.AttributePath.AttributeName)
	if !ok {
		return scimerrors.ScimErrorInvalidPath
	}
	if attr.Mutability() == "readOnly" {
		return scimerrors.ScimErrorMutability
	}
	name := attr.Name()

	if path.ValueExpression != nil {
		return p.applyFiltered(container, name, attr, path, op, value)
	}

	if sub := path.AttributePath.SubAttributeName(); sub != "" {
		subAttr, ok := attr.SubAttributes().ContainsAttribute(sub)
		if !ok {
			return scimerrors.ScimErrorInvalidPath
		}
		m, _ := container[name].(map[string]any)
		if op == scim.PatchOperationRemove {
			if m != nil {
				delete(m, subAttr.Name())
				if len(m) == 0 {
					delete(container, name)
				}
			}
			return nil
		}
		if m == nil {
			m = map[string]any{}
			container[name] = m
		}
		m[subAttr.Name()] = value
		return nil
	}

	switch {
	case op == scim.PatchOperationRemove && attr.MultiValued() && value != nil:
		// Entra ID removes members as {"op":"Remove","path":"members","value":[{"value":"id"}]}.
		drop, _ := value.([]any)
		list, _ := container[name].([]any)
		kept := list[:0:0]
		for _, el := range list {
			if !scimContains(drop, el) {
				kept = append(kept, el)
			}
		}
		scimSetList(container, name, kept)
	case op == scim.PatchOperationRemove:
		delete(container, name)
	case op == scim.PatchOperationAdd && attr.MultiValued():
		list, _ := container[name].([]any)
		add, _ := value.([]any)
		for _, el := range add {
			if !scimContains(list, el) {
				list = append(list, el)
			}
		}
		scimSetList(container, name, list)
	default:
		container[name] = value
	}
	return nil
}

// applyFiltered handles paths such as members[value eq "id"] and
// emails[type eq "work"].value.
func (p scimPatcher) applyFiltered(container map[string]any, name string, attr schema.CoreAttribute, path *fparser.Path, op string, value any) error {
	if err := scimUnescape(path.ValueExpression); err != nil {
		return scimerrors.ScimErrorInvalidFilter
	}
	m := scimElementMatcher(path.ValueExpression, attr)
	list, _ := container[name].([]any)
	sub := path.SubAttributeName()
	if sub != "" {
		subAttr, ok := attr.SubAttributes().ContainsAttribute(sub)
		if !ok {
			return scimerrors.ScimErrorInvalidPath
		}
		sub = subAttr.Name()
	}
	matched := 0
	kept := list[:0:0]
	for _, el := range list {
		em, isMap := el.(map[string]any)
		if !isMap || !m.match(em) {
			kept = append(kept, el)
			continue
		}
		matched++
		switch {
		case op == scim.PatchOperationRemove && sub == "":
			continue // drop the element
		case op == scim.PatchOperationRemove:
			delete(em, sub)
		case sub != "":
			em[sub] = value
		default:
			if vm, ok := value.(map[string]any); ok {
				for k, v := range vm {
					em[k] = v
				}
			}
		}
		kept = append(kept, em)
	}
	if matched == 0 && op != scim.PatchOperationRemove {
		return scimErr(http.StatusBadRequest, scimerrors.ScimTypeNoTarget, "the filter in path %q matched no value", path.String())
	}
	scimSetList(container, name, kept)
	return nil
}

func scimSetList(container map[string]any, name string, list []any) {
	if len(list) == 0 {
		delete(container, name)
		return
	}
	container[name] = list
}

// scimContains reports whether el is in list, comparing complex values by
// their "value" sub-attribute when both have one (members, emails).
func scimContains(list []any, el any) bool {
	ev, hasValue := scimValueOf(el)
	for _, x := range list {
		if xv, ok := scimValueOf(x); hasValue && ok && xv == ev {
			return true
		}
		if reflect.DeepEqual(x, el) {
			return true
		}
	}
	return false
}

func scimValueOf(v any) (string, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", false
	}
	s, ok := m["value"].(string)
	return s, ok
}
