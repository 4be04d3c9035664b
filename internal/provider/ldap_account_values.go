package provider

// Conversions and comparisons between Terraform values and directory
// values for sunset_ldap_account, and secret handling.

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// ldapPassword is the write-only password from the configuration, if set.
func ldapPassword(config ldapAccountModel) *string {
	if !known(config.PasswordWO) {
		return nil
	}
	pw := config.PasswordWO.ValueString()
	return &pw
}

// ldapMaskPassword keeps the account's password out of every log line.
func ldapMaskPassword(ctx context.Context, pw *string) context.Context {
	if pw == nil || len(*pw) < minSecretLen {
		return ctx
	}
	ctx = tflog.MaskMessageStrings(ctx, *pw)
	return tflog.MaskAllFieldValuesStrings(ctx, *pw)
}

// ldapRedact turns a connector error into a message with no secret: the
// target's, and the account's password.
func ldapRedact(rt *runtime, err error, pw *string) string {
	msg := rt.redact(err.Error())
	if pw != nil && len(*pw) >= minSecretLen {
		msg = strings.ReplaceAll(msg, *pw, redacted)
	}
	return msg
}

// ldapSetStrings returns a known set's strings (nil otherwise), sorted.
func ldapSetStrings(ctx context.Context, s types.Set) []string {
	var out []string
	if known(s) {
		for _, e := range s.Elements() {
			if v, ok := e.(types.String); ok && known(v) {
				out = append(out, v.ValueString())
			}
		}
	}
	sort.Strings(out)
	return out
}

func ldapStringValues(in []string) []attr.Value {
	out := make([]attr.Value, 0, len(in))
	for _, s := range in {
		out = append(out, types.StringValue(s))
	}
	return out
}

func ldapSetText(v []string) string {
	if v == nil {
		return "none"
	}
	v = slices.Clone(v)
	sort.Strings(v)
	return "[" + strings.Join(v, "; ") + "]"
}

// ldapSameNames compares schema names (object classes) as sets,
// case-insensitively.
func ldapSameNames(a, b []string) bool {
	norm := func(in []string) []string {
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = strings.ToLower(s)
		}
		sort.Strings(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}

// ldapSameValues compares attribute values as sets.
func ldapSameValues(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Strings(x)
	sort.Strings(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

func ldapAttributesMap(ctx context.Context, m types.Map) (map[string][]string, diag.Diagnostics) {
	out := map[string][]string{}
	if !known(m) {
		return out, nil
	}
	diags := m.ElementsAs(ctx, &out, false)
	return out, diags
}

func ldapAttributeNames(m types.Map) []string {
	var out []string
	if known(m) {
		for k := range m.Elements() {
			out = append(out, k)
		}
	}
	return out
}
