package provider

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/scim"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
)

// sourceSCIM is the Source of identities read from a SCIM directory.
const sourceSCIM = "scim"

// defaultOwnerAttribute is where the roster looks for a SCIM user's owner
// unless told otherwise: the manager of the enterprise extension.
const defaultOwnerAttribute = scim.SchemaEnterpriseUser + ":manager.displayName"

// maxSCIMFilterLen bounds a roster filter: far above any real one.
const maxSCIMFilterLen = 4096

// rosterSCIMModel is sunset_roster's `scim` input.
type rosterSCIMModel struct {
	Target           types.String `tfsdk:"target"`
	Filter           types.String `tfsdk:"filter"`
	EndDateAttribute types.String `tfsdk:"end_date_attribute"`
	OwnerAttribute   types.String `tfsdk:"owner_attribute"`
	DefaultOwner     types.String `tfsdk:"default_owner"`
	Kind             types.String `tfsdk:"kind"`
}

func rosterSCIMSchema() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Optional:            true,
		MarkdownDescription: "Read identities from a SCIM 2.0 directory (an identity provider or HR system that speaks SCIM), through one of the provider's `scim` targets. Every user listed becomes an identity named by its `userName`; a user with `active=false` is terminated and ends at once. An empty answer is an error, never \"everyone left\".",
		Attributes: map[string]schema.Attribute{
			"target": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Name of a `scim` target in the provider's `targets`.",
			},
			"filter": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "A SCIM filter (RFC 7644 §3.4.2.2) choosing the users, such as `userType eq \"Employee\"`; sent as written. Default: every user. Quote values as JSON strings.",
			},
			"end_date_attribute": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Attribute path of the end date: a core attribute (`nickName`), a sub-attribute (`name.honorificSuffix`) or an extension attribute with its schema URN (`urn:ietf:params:scim:schemas:extension:acme:2.0:User:endDate`). Its value is `YYYY-MM-DD` or RFC 3339. Default: none (users end only when deactivated).",
			},
			"owner_attribute": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Attribute path of the accountable owner. Default `" + defaultOwnerAttribute + "` (the manager's name in the enterprise extension).",
			},
			"default_owner": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Owner of users whose `owner_attribute` is empty or absent. Without it, such a user is an error: every identity needs an owner.",
			},
			"kind": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Kind of every identity read: `human` (the default) or `contractor`, or a non-human kind for a directory of service accounts.",
			},
		},
	}
}

// readSCIMRoster lists the directory's users as identities. others are the
// identities already declared (inline, file), for the case-only clash check.
func (rt *runtime) readSCIMRoster(ctx context.Context, m *rosterSCIMModel, others []lifecycle.Identity, diags *diag.Diagnostics) []lifecycle.Identity {
	ctx = rt.maskSecrets(ctx)
	at := path.Root("scim")
	kind := lifecycle.KindHuman
	if s := m.Kind.ValueString(); s != "" {
		k, err := lifecycle.ParseKind(s)
		if err != nil {
			diags.AddAttributeError(at.AtName("kind"), "Invalid kind", err.Error())
		}
		kind = k
	}
	endAttr, ownerAttr := m.EndDateAttribute.ValueString(), defaultOwnerAttribute
	if known(m.OwnerAttribute) {
		ownerAttr = m.OwnerAttribute.ValueString()
	}
	for _, a := range []struct{ name, v string }{{"end_date_attribute", endAttr}, {"owner_attribute", ownerAttr}} {
		if a.v != "" && !scim.ValidAttrPath(a.v) {
			diags.AddAttributeError(at.AtName(a.name), "Invalid "+a.name,
				fmt.Sprintf("%q is not a SCIM attribute path such as \"title\", \"name.familyName\" or \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department\".", a.v))
		}
	}
	filter := m.Filter.ValueString()
	if err := checkSCIMFilter(filter); err != nil {
		diags.AddAttributeError(at.AtName("filter"), "Invalid filter", err.Error())
	}
	if diags.HasError() {
		return nil
	}
	tgt, err := rt.target(m.Target.ValueString(), kindSCIM)
	if err != nil {
		diags.AddAttributeError(at.AtName("target"), "Invalid target", rt.redact(err.Error()))
		return nil
	}
	c, err := tgt.scimClient()
	if err != nil {
		diags.AddAttributeError(at.AtName("target"), "Invalid SCIM target", rt.redact(err.Error()))
		return nil
	}

	declared := make(map[string]string, len(others))
	for _, o := range others {
		declared[strings.ToLower(o.Name)] = o.Name
	}
	var out []lifecycle.Identity
	err = c.ListUsers(ctx, filter, 0, func(u scim.User) error {
		id := lifecycle.Identity{
			Name: u.UserName, Kind: kind, Source: sourceSCIM, SourceStatus: lifecycle.SourceActive,
			Attributes: map[string]string{"scim_id": u.ID},
		}
		if !u.Active {
			id.SourceStatus = lifecycle.SourceTerminated
		}
		if u.ExternalID != "" {
			id.Attributes["external_id"] = u.ExternalID
		}
		if endAttr != "" {
			if _, present := u.Attribute(endAttr); present {
				v, ok := u.AttributeString(endAttr)
				if !ok {
					return fmt.Errorf("user %q (id %s): %s is not a date string", u.UserName, u.ID, endAttr)
				}
				id.EndDate = strings.TrimSpace(v)
			}
		}
		if v, ok := u.AttributeString(ownerAttr); ok && strings.TrimSpace(v) != "" {
			id.Owner = v
		} else {
			id.Owner = m.DefaultOwner.ValueString()
		}
		id.Email = primaryEmail(u.Emails)
		if other, clash := declared[strings.ToLower(u.UserName)]; clash && other != u.UserName {
			return fmt.Errorf("user %q (id %s) and the declared identity %q differ only in case; SCIM userNames are case-insensitive, so they are the same person. Declare it once", u.UserName, u.ID, other)
		}
		out = append(out, id)
		return nil
	})
	if err != nil {
		diags.AddAttributeError(at, "Cannot read the SCIM directory",
			rt.redact(fmt.Sprintf("Listing users of target %q (%s): %v", tgt.name, c.Describe().Endpoint, err)))
		return nil
	}
	if len(out) == 0 {
		what := "no users"
		if filter != "" {
			what = fmt.Sprintf("no users matching filter %s", filter)
		}
		diags.AddAttributeError(at, "Empty SCIM roster",
			rt.redact(fmt.Sprintf("Target %q (%s) listed %s. An empty answer is suspect, not proof of absence: a wrong filter, a token scoped to nothing or a half-migrated tenant look like this, so the roster refuses to read it as \"everyone left\".",
				tgt.name, c.Describe().Endpoint, what)))
		return nil
	}
	return out
}

// checkSCIMFilter is the minimal check of a user's filter: it is theirs to
// write, and the server parses it; sunset only refuses what cannot be one.
func checkSCIMFilter(f string) error {
	switch {
	case len(f) > maxSCIMFilterLen:
		return fmt.Errorf("the filter is %d bytes long; the limit is %d", len(f), maxSCIMFilterLen)
	case strings.IndexFunc(f, unicode.IsControl) >= 0:
		return fmt.Errorf("the filter contains control characters")
	case f != "" && strings.TrimSpace(f) == "":
		return fmt.Errorf("the filter is blank; leave it unset to read every user")
	case !closedStrings(f):
		return fmt.Errorf("the filter %s has an unterminated string: quote values as JSON strings, such as userType eq \"Employee\"", f)
	}
	return nil
}

// closedStrings reports whether every JSON string in a filter is closed.
func closedStrings(f string) bool {
	in := false
	for i := 0; i < len(f); i++ {
		switch {
		case in && f[i] == '\\':
			i++ // an escaped character, such as \" or \\
		case f[i] == '"':
			in = !in
		}
	}
	return !in
}

func primaryEmail(es []scim.Email) string {
	for _, e := range es {
		if e.Primary {
			return e.Value
		}
	}
	if len(es) > 0 {
		return es[0].Value
	}
	return ""
}

// addSCIMProblem reports a problem with an identity read from SCIM on the
// scim input that produced the value at fault.
func addSCIMProblem(diags *diag.Diagnostics, p lifecycle.Problem, id lifecycle.Identity) {
	at := path.Root("scim")
	switch p.Field {
	case "end_date":
		at = at.AtName("end_date_attribute")
	case "owner":
		at = at.AtName("owner_attribute")
	case "kind":
		at = at.AtName("kind")
	}
	diags.AddAttributeError(at, "Invalid identity "+p.Field, fmt.Sprintf("%s (SCIM user id %s)", p.Error(), id.Attributes["scim_id"]))
}
