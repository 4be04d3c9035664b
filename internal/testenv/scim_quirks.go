package testenv

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
)

// scimQuirks rewrites the library's strictly conforming answers into what
// Entra ID and other real providers send:
//
//   - "active" as a string, "True" / "False";
//   - list responses without "totalResults";
//   - full pages cut short before the end of the list (by 1 to 3 entries,
//     varying with startIndex), so a client that stops at the first short
//     page, or advances startIndex by count instead of by what it received,
//     loses users;
//   - PATCH answered with 204 No Content instead of the resource;
//   - error "status" as a JSON number instead of a string.
//
// PascalCase PATCH op names ("Replace", "Add") are accepted in both modes:
// the library already lower-cases them.
func scimQuirks(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &scimCapture{header: http.Header{}}
		next.ServeHTTP(c, r)
		status, body := scimRewrite(r, c.status, c.body.Bytes())
		for k, v := range c.header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		if status == http.StatusNoContent {
			w.Header().Del("Content-Type")
			w.WriteHeader(status)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}

func scimRewrite(r *http.Request, status int, body []byte) (int, []byte) {
	if r.Method == http.MethodPatch && status == http.StatusOK {
		return http.StatusNoContent, nil
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if d.Decode(&m) != nil {
		return status, body
	}
	schemas, _ := m["schemas"].([]any)
	switch {
	case slices.Contains(schemas, any("urn:ietf:params:scim:api:messages:2.0:ListResponse")):
		delete(m, "totalResults")
		resources, _ := m["Resources"].([]any)
		perPage, _ := strconv.Atoi(scimNumber(m["itemsPerPage"]))
		startIndex, _ := strconv.Atoi(scimNumber(m["startIndex"]))
		if perPage > 1 && len(resources) == perPage {
			keep := max(perPage-1-startIndex%3, 1)
			resources = resources[:keep]
		}
		for _, res := range resources {
			if rm, ok := res.(map[string]any); ok {
				scimActiveAsString(rm)
			}
		}
		if resources != nil {
			m["Resources"] = resources
		}
	case slices.Contains(schemas, any("urn:ietf:params:scim:api:messages:2.0:Error")):
		if n, err := strconv.Atoi(scimNumber(m["status"])); err == nil {
			m["status"] = n
		}
	default:
		scimActiveAsString(m)
	}
	out, err := json.Marshal(m)
	if err != nil {
		return status, body
	}
	return status, out
}

func scimNumber(v any) string {
	switch v := v.(type) {
	case json.Number:
		return v.String()
	case string:
		return v
	}
	return ""
}

func scimActiveAsString(m map[string]any) {
	if b, ok := m["active"].(bool); ok {
		if b {
			m["active"] = "True"
		} else {
			m["active"] = "False"
		}
	}
}
