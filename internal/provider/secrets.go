package provider

import (
	"context"
	"net/url"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// redacted replaces a secret wherever it would be shown.
const redacted = "<redacted>"

// minSecretLen keeps very short values (like "x" in a test DSN) from being
// treated as secrets and blanking out unrelated text.
const minSecretLen = 4

// collectSecrets lists every secret the targets hold, so that logs and error
// messages can be scrubbed of them whatever a library puts in its errors.
func collectSecrets(targets map[string]*target) []string {
	var out []string
	add := func(s string) {
		if len(s) >= minSecretLen {
			out = append(out, s)
		}
	}
	for _, t := range targets {
		switch {
		case t.postgres != nil:
			dsn := t.postgres.DSN.ValueString()
			add(dsn)
			add(dsnPassword(dsn))
		case t.scim != nil:
			add(t.scim.Token.ValueString())
		case t.ldap != nil:
			add(t.ldap.BindPassword.ValueString())
		}
	}
	return out
}

var kvPassword = regexp.MustCompile(`(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

// dsnPassword extracts the password of a URL or key=value PostgreSQL DSN.
func dsnPassword(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			return p
		}
	}
	if m := kvPassword.FindStringSubmatch(dsn); m != nil {
		return strings.Trim(m[1], "'")
	}
	return ""
}

// maskSecrets makes tflog blank out every secret in messages and fields.
func (rt *runtime) maskSecrets(ctx context.Context) context.Context {
	if len(rt.secrets) == 0 {
		return ctx
	}
	ctx = tflog.MaskMessageStrings(ctx, rt.secrets...)
	return tflog.MaskAllFieldValuesStrings(ctx, rt.secrets...)
}

// redact removes every known secret from a message meant for a user, a log
// or the ledger.
func (rt *runtime) redact(s string) string {
	for _, secret := range rt.secrets {
		s = strings.ReplaceAll(s, secret, redacted)
		if esc := url.QueryEscape(secret); esc != secret {
			s = strings.ReplaceAll(s, esc, redacted)
		}
		if esc := url.PathEscape(secret); esc != secret {
			s = strings.ReplaceAll(s, esc, redacted)
		}
		// As the password is written in a postgres:// DSN's userinfo.
		if esc := url.UserPassword("", secret).String()[1:]; esc != secret {
			s = strings.ReplaceAll(s, esc, redacted)
		}
	}
	return s
}
