package testenv

import (
	"encoding/json"
	"fmt"
	"strings"

	efilter "github.com/elimity-com/scim/filter"
	"github.com/elimity-com/scim/schema"
	fparser "github.com/scim2/filter-parser/v2"
)

// scimUnescape rewrites every string comparison value in a parsed filter
// from its escaped form to the real value. The parser keeps the escapes as
// written (`a\"b`), so without this a value holding a quote or a backslash
// could never match, and the server would be less strict than RFC 7644
// §3.4.2.2 (values are JSON strings) asks.
func scimUnescape(e fparser.Expression) error {
	switch e := e.(type) {
	case *fparser.AttributeExpression:
		s, ok := e.CompareValue.(string)
		if !ok || !strings.Contains(s, `\`) {
			return nil
		}
		var out string
		if err := json.Unmarshal([]byte(`"`+s+`"`), &out); err != nil {
			return fmt.Errorf("bad escape in filter value: %w", err)
		}
		e.CompareValue = out
	case *fparser.LogicalExpression:
		if err := scimUnescape(e.Left); err != nil {
			return err
		}
		return scimUnescape(e.Right)
	case *fparser.NotExpression:
		return scimUnescape(e.Expression)
	case *fparser.ValuePath:
		return scimUnescape(e.ValueFilter)
	}
	return nil
}

// scimIndexed recognises `userName eq "x"`, `externalId eq "x"` and
// `id eq "x"`, which the store answers from an index instead of a scan.
func scimIndexed(e fparser.Expression, coreID string) (attr, value string, ok bool) {
	ae, isAttr := e.(*fparser.AttributeExpression)
	if !isAttr || !strings.EqualFold(string(ae.Operator), string(fparser.EQ)) || ae.AttributePath.SubAttribute != nil {
		return "", "", false
	}
	if uri := ae.AttributePath.URI(); uri != "" && uri != coreID {
		return "", "", false
	}
	v, isStr := ae.CompareValue.(string)
	if !isStr {
		return "", "", false
	}
	for _, a := range []string{"userName", "externalId", "id"} {
		if strings.EqualFold(ae.AttributePath.AttributeName, a) {
			return a, v, true
		}
	}
	return "", "", false
}

// scimMatcher evaluates a filter with the library's evaluator. The
// evaluator panics on type mismatches (a string operator against a boolean
// attribute); a panic is a non-match, never a crash of the test server.
type scimMatcher struct{ v efilter.Validator }

func newSCIMMatcher(e fparser.Expression, core schema.Schema, exts []schema.Schema) scimMatcher {
	return scimMatcher{v: efilter.NewFilterValidator(e, scimWithCommon(core), exts...)}
}

func (m scimMatcher) match(view map[string]any) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return m.v.PassesFilter(view) == nil
}

// scimElementMatcher evaluates a PATCH value filter (members[value eq "x"])
// against one element of a multi-valued attribute.
func scimElementMatcher(e fparser.Expression, attr schema.CoreAttribute) scimMatcher {
	return scimMatcher{v: efilter.NewFilterValidator(e, schema.Schema{Attributes: efilter.MultiValuedFilterAttributes(attr)})}
}
