// Package config reads the scanner's YAML configuration: the targets to
// inventory (with the provider's block and field names) and the policy the
// findings are judged by (SLA, allow-list, exclusions).
//
// Secrets may only be written as ${env:NAME}: a literal password, token or
// DSN in a file that is committed next to the code would itself be a leak.
// Every error names the file, the line and the field, never a secret value.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/ldap"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/postgres"
	"github.com/sunset-iam/terraform-provider-sunset/internal/connector/scim"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
	"github.com/sunset-iam/terraform-provider-sunset/internal/targets"
)

// MaxFileBytes bounds the configuration file.
const MaxFileBytes = 4 << 20

// DefaultSLA is how long after an identity's end its access may still be
// live before the finding turns from pending-revocation into stale-access.
const DefaultSLA = 24 * time.Hour

// Config is a loaded scanner configuration.
type Config struct {
	// File is the path the configuration was read from.
	File    string
	Targets []Target
	Policy  Policy
}

// Target is one named target, with the line that declares it.
type Target struct {
	targets.Config
	// Line is the line of the target's name in the file.
	Line int
	// Err is set when the target cannot be built (an environment variable
	// it names is unset). The scan reports it and is incomplete; the other
	// targets are still scanned.
	Err error
}

// Policy is what findings are judged by.
type Policy struct {
	// SLA is the grace between an identity's end and the revocation of its
	// access; SLASet says the file set it (a --sla flag overrides it).
	SLA    time.Duration
	SLASet bool
	// Location is the zone calendar dates are read in (policy.timezone).
	Location *time.Location
	// MaxGrant caps a new grant's lifetime in `sunset review` (policy.max_grant); 0 = no cap.
	MaxGrant time.Duration
	Allow    []Allow
	// Exclude maps a target name to account patterns that are never
	// reported as unmanaged (built-in and break-glass accounts).
	Exclude map[string][]Pattern
}

// Allow is one allow-list entry: an undeclared account that is accepted,
// with a reason, an approver and an expiry. An entry past its expiry stops
// allowing and is itself reported (expired-exception).
type Allow struct {
	Target     string
	Account    Pattern
	Reason     string
	ApprovedBy string
	Expires    lifecycle.EndDate
	Line       int
}

// Pattern is an account pattern: path.Match syntax ("svc_*", "cn=*,ou=x").
type Pattern struct {
	Text string
	Line int
}

// Match reports whether account matches the pattern.
func (p Pattern) Match(account string) bool {
	ok, err := path.Match(p.Text, account)
	return err == nil && ok
}

// Load reads and checks a configuration file. getenv resolves ${env:NAME}
// (os.Getenv when nil).
func Load(file string, getenv func(string) string) (*Config, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(ioLimit(f)); err != nil {
		return nil, fmt.Errorf("config %s: %w", file, err)
	}
	if buf.Len() > MaxFileBytes {
		return nil, fmt.Errorf("config %s is larger than %d MiB", file, MaxFileBytes>>20)
	}
	return Parse(buf.Bytes(), file, getenv)
}

// Parse reads a configuration from data; file names it in errors.
func Parse(data []byte, file string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	p := &parser{file: file, getenv: getenv}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config %s: not YAML: %s", file, yamlError(err))
	}
	cfg := &Config{File: file, Policy: Policy{SLA: DefaultSLA, Location: time.UTC, Exclude: map[string][]Pattern{}}}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, fmt.Errorf("config %s: the file is empty", file)
	}
	// A second document would be ignored: targets or a policy written after
	// a "---" would silently not apply.
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, fmt.Errorf("config %s: not YAML: %s", file, yamlError(err))
	default:
		return nil, p.errf(next.Line, "a second YAML document starts here; the configuration is one document (remove this \"---\" and merge what follows into the first)")
	}
	root := doc.Content[0]
	if err := p.mapping(root, "the document", map[string]func(*yaml.Node) error{
		"targets": func(n *yaml.Node) error { return p.targets(n, cfg) },
		"policy":  func(n *yaml.Node) error { return p.policy(n, cfg) },
	}); err != nil {
		return nil, err
	}
	for _, a := range cfg.Policy.Allow {
		if !cfg.hasTarget(a.Target) {
			return nil, p.errf(a.Line, "policy.allow: target %q is not defined under targets", a.Target)
		}
	}
	for name, pats := range cfg.Policy.Exclude {
		if !cfg.hasTarget(name) {
			return nil, p.errf(pats[0].Line, "policy.exclude: target %q is not defined under targets", name)
		}
	}
	return cfg, nil
}

// yamlAnchor matches the one kind of text yaml.v3 quotes from the file in
// its errors: an anchor's name. An unquoted secret that starts with '*'
// (bind_password: *Pa55w0rd) is read as an alias to the anchor
// "Pa55w0rd", and the error would print the password. Found by fuzzing.
var yamlAnchor = regexp.MustCompile(`(?s)anchor '.*'`)

func yamlError(err error) string {
	msg := err.Error()
	if loc := yamlAnchor.FindStringIndex(msg); loc != nil {
		msg = msg[:loc[0]] + "anchor (name not shown: a value that starts with * or & must be quoted)" + msg[loc[1]:]
	}
	return msg
}

func (c *Config) hasTarget(name string) bool {
	for _, t := range c.Targets {
		if t.Name == name {
			return true
		}
	}
	return false
}

// TargetLine is the line declaring the named target, 0 if none.
func (c *Config) TargetLine(name string) int {
	for _, t := range c.Targets {
		if t.Name == name {
			return t.Line
		}
	}
	return 0
}

type parser struct {
	file   string
	getenv func(string) string
}

func (p *parser) errf(line int, format string, args ...any) error {
	return fmt.Errorf("config %s:%d: %s", p.file, line, fmt.Sprintf(format, args...))
}

// mapping walks a mapping node, calling the handler of each key and
// refusing unknown and repeated keys.
func (p *parser) mapping(n *yaml.Node, what string, handlers map[string]func(*yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return p.errf(n.Line, "%s must be a mapping", what)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return p.errf(k.Line, "%s: keys must be plain names", what)
		}
		h, ok := handlers[k.Value]
		if !ok {
			return p.errf(k.Line, "%s: unknown field %q (known: %s)", what, k.Value, knownKeys(handlers))
		}
		if seen[k.Value] {
			return p.errf(k.Line, "%s: %q is set twice", what, k.Value)
		}
		seen[k.Value] = true
		if err := h(v); err != nil {
			return err
		}
	}
	return nil
}

func knownKeys(h map[string]func(*yaml.Node) error) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

func (p *parser) scalar(n *yaml.Node, field string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errf(n.Line, "%s must be a string", field)
	}
	return n.Value, nil
}

func (p *parser) boolean(n *yaml.Node, field string, dst *bool) error {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		return p.errf(n.Line, "%s must be true or false", field)
	}
	b, err := strconv.ParseBool(n.Value)
	*dst = b
	return err
}

func (p *parser) integer(n *yaml.Node, field string, dst *int) error {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		return p.errf(n.Line, "%s must be a whole number", field)
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		return p.errf(n.Line, "%s must be a whole number", field)
	}
	*dst = v
	return nil
}

var (
	envRef  = regexp.MustCompile(`^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$`)
	envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// str reads a plain field, which may also be a ${env:NAME} reference.
func (p *parser) str(n *yaml.Node, field string, dst *string, missing *[]string) error {
	v, err := p.scalar(n, field)
	if err != nil {
		return err
	}
	if m := envRef.FindStringSubmatch(v); m != nil {
		if *dst = p.getenv(m[1]); *dst == "" {
			*missing = append(*missing, fmt.Sprintf("%s names environment variable %s, which is unset or empty", field, m[1]))
		}
		return nil
	}
	if strings.Contains(v, "${") {
		return p.errf(n.Line, "%s: write a reference as the whole value, ${env:NAME}", field)
	}
	*dst = v
	return nil
}

// secret reads a secret field: only ${env:NAME} is accepted. The error for
// a literal never quotes the value.
func (p *parser) secret(n *yaml.Node, field string, dst *string, missing *[]string) error {
	v, err := p.scalar(n, field)
	if err != nil {
		return err
	}
	if envRef.FindStringSubmatch(v) == nil {
		return p.errf(n.Line, "%s holds a literal secret; write ${env:NAME} and set NAME in the environment (the value is not shown here)", field)
	}
	return p.str(n, field, dst, missing)
}

// envName reads a *_env field: the name of an environment variable.
func (p *parser) envVar(n *yaml.Node, field string, dst *string) error {
	v, err := p.scalar(n, field)
	if err != nil {
		return err
	}
	if !envName.MatchString(v) {
		return p.errf(n.Line, "%s must be the name of an environment variable", field)
	}
	*dst = v
	return nil
}

func (p *parser) targets(n *yaml.Node, cfg *Config) error {
	if n.Kind != yaml.MappingNode {
		return p.errf(n.Line, "targets must be a mapping of target names to a postgres, scim or ldap block")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := k.Value
		if !connector.TargetNamePattern.MatchString(name) {
			return p.errf(k.Line, "target name %q must start with a letter and hold only letters, digits, '_' and '-'", name)
		}
		if cfg.hasTarget(name) {
			return p.errf(k.Line, "target %q is defined twice", name)
		}
		t, err := p.target(name, k.Line, v)
		if err != nil {
			return err
		}
		cfg.Targets = append(cfg.Targets, t)
	}
	return nil
}

func (p *parser) target(name string, line int, n *yaml.Node) (Target, error) {
	t := Target{Config: targets.Config{Name: name}, Line: line}
	var missing []string
	at := "targets." + name
	err := p.mapping(n, at, map[string]func(*yaml.Node) error{
		targets.KindPostgres: func(v *yaml.Node) error {
			var dsn, dsnEnv, timeout string
			f := at + ".postgres"
			if err := p.mapping(v, f, map[string]func(*yaml.Node) error{
				"dsn":     func(v *yaml.Node) error { return p.secret(v, f+".dsn", &dsn, &missing) },
				"dsn_env": func(v *yaml.Node) error { return p.envVar(v, f+".dsn_env", &dsnEnv) },
				"timeout": func(v *yaml.Node) error { return p.str(v, f+".timeout", &timeout, &missing) },
			}); err != nil {
				return err
			}
			limit, err := targets.PostgresTimeout(timeout)
			if err != nil {
				return p.errf(v.Line, "%s: %v", at, err)
			}
			t.PostgresTimeout = limit
			if dsn == "" && dsnEnv != "" {
				if dsn = p.getenv(dsnEnv); dsn == "" {
					missing = append(missing, f+".dsn_env names environment variable "+dsnEnv+", which is unset or empty")
				}
			} else if dsn == "" && len(missing) == 0 {
				return p.errf(v.Line, "%s needs dsn (as ${env:NAME}) or dsn_env", f)
			}
			t.Postgres = &postgres.Config{DSN: dsn}
			return nil
		},
		targets.KindSCIM: func(v *yaml.Node) error {
			var fl targets.SCIMFields
			var urlEnv, tokenEnv string
			f := at + ".scim"
			if err := p.mapping(v, f, map[string]func(*yaml.Node) error{
				"url":            func(v *yaml.Node) error { return p.str(v, f+".url", &fl.URL, &missing) },
				"url_env":        func(v *yaml.Node) error { return p.envVar(v, f+".url_env", &urlEnv) },
				"token":          func(v *yaml.Node) error { return p.secret(v, f+".token", &fl.Token, &missing) },
				"token_env":      func(v *yaml.Node) error { return p.envVar(v, f+".token_env", &tokenEnv) },
				"deprovision":    func(v *yaml.Node) error { return p.str(v, f+".deprovision", &fl.Deprovision, &missing) },
				"ca_file":        func(v *yaml.Node) error { return p.str(v, f+".ca_file", &fl.CAFile, &missing) },
				"insecure_http":  func(v *yaml.Node) error { return p.boolean(v, f+".insecure_http", &fl.InsecureHTTP) },
				"timeout":        func(v *yaml.Node) error { return p.str(v, f+".timeout", &fl.Timeout, &missing) },
				"retry_wait_max": func(v *yaml.Node) error { return p.str(v, f+".retry_wait_max", &fl.RetryWaitMax, &missing) },
				"max_attempts":   func(v *yaml.Node) error { return p.integer(v, f+".max_attempts", &fl.MaxAttempts) },
			}); err != nil {
				return err
			}
			if fl.Deprovision != "" && !scim.ValidDeprovision(fl.Deprovision) {
				return p.errf(v.Line, "%s.deprovision %q is not one of deactivate, delete, deactivate_then_delete", f, fl.Deprovision)
			}
			for _, e := range []struct {
				val  *string
				env  string
				name string
			}{{&fl.URL, urlEnv, "url"}, {&fl.Token, tokenEnv, "token"}} {
				if *e.val == "" && e.env != "" {
					if *e.val = p.getenv(e.env); *e.val == "" {
						missing = append(missing, f+"."+e.name+"_env names environment variable "+e.env+", which is unset or empty")
					}
				}
			}
			if fl.URL == "" && len(missing) == 0 {
				return p.errf(v.Line, "%s needs url or url_env", f)
			}
			if fl.Token == "" && len(missing) == 0 {
				return p.errf(v.Line, "%s needs token (as ${env:NAME}) or token_env", f)
			}
			c, err := fl.Config("sunset-scan")
			if err != nil {
				return p.errf(v.Line, "%s: %v", at, err)
			}
			t.SCIM = &c
			return nil
		},
		targets.KindLDAP: func(v *yaml.Node) error {
			var fl targets.LDAPFields
			var pwEnv string
			f := at + ".ldap"
			if err := p.mapping(v, f, map[string]func(*yaml.Node) error{
				"url":                func(v *yaml.Node) error { return p.str(v, f+".url", &fl.URL, &missing) },
				"bind_dn":            func(v *yaml.Node) error { return p.str(v, f+".bind_dn", &fl.BindDN, &missing) },
				"bind_password":      func(v *yaml.Node) error { return p.secret(v, f+".bind_password", &fl.BindPassword, &missing) },
				"bind_password_env":  func(v *yaml.Node) error { return p.envVar(v, f+".bind_password_env", &pwEnv) },
				"base_dn":            func(v *yaml.Node) error { return p.str(v, f+".base_dn", &fl.BaseDN, &missing) },
				"flavor":             func(v *yaml.Node) error { return p.str(v, f+".flavor", &fl.Flavor, &missing) },
				"insecure":           func(v *yaml.Node) error { return p.boolean(v, f+".insecure", &fl.Insecure) },
				"start_tls":          func(v *yaml.Node) error { return p.boolean(v, f+".start_tls", &fl.StartTLS) },
				"ca_file":            func(v *yaml.Node) error { return p.str(v, f+".ca_file", &fl.CAFile, &missing) },
				"group_base_dn":      func(v *yaml.Node) error { return p.str(v, f+".group_base_dn", &fl.GroupBaseDN, &missing) },
				"empty_group_member": func(v *yaml.Node) error { return p.str(v, f+".empty_group_member", &fl.EmptyGroupMember, &missing) },
				"timeout":            func(v *yaml.Node) error { return p.str(v, f+".timeout", &fl.Timeout, &missing) },
			}); err != nil {
				return err
			}
			switch fl.Flavor {
			case "", string(ldap.FlavorOpenLDAP), string(ldap.FlavorActiveDirectory):
			default:
				return p.errf(v.Line, "%s.flavor %q is not one of openldap, active_directory", f, fl.Flavor)
			}
			if fl.BindPassword == "" && pwEnv != "" {
				if fl.BindPassword = p.getenv(pwEnv); fl.BindPassword == "" {
					missing = append(missing, f+".bind_password_env names environment variable "+pwEnv+", which is unset or empty")
				}
			}
			for _, req := range []struct{ v, name string }{{fl.URL, "url"}, {fl.BindDN, "bind_dn"}, {fl.BaseDN, "base_dn"}} {
				if req.v == "" && len(missing) == 0 {
					return p.errf(v.Line, "%s needs %s", f, req.name)
				}
			}
			if fl.BindPassword == "" && len(missing) == 0 {
				return p.errf(v.Line, "%s needs bind_password (as ${env:NAME}) or bind_password_env", f)
			}
			c, err := fl.Config()
			if err != nil {
				return p.errf(v.Line, "%s: %v", at, err)
			}
			t.LDAP = &c
			return nil
		},
	})
	if err != nil {
		return t, err
	}
	if verr := t.Validate(); verr != nil {
		return t, p.errf(line, "%v", verr)
	}
	if len(missing) > 0 {
		t.Err = errors.New(strings.Join(missing, "; "))
	}
	return t, nil
}

func (p *parser) policy(n *yaml.Node, cfg *Config) error {
	pol := &cfg.Policy
	return p.mapping(n, "policy", map[string]func(*yaml.Node) error{
		"sla": func(v *yaml.Node) error {
			s, err := p.scalar(v, "policy.sla")
			if err != nil {
				return err
			}
			d, err := lifecycle.ParseDuration(s)
			if err != nil {
				return p.errf(v.Line, "policy.sla: %v", err)
			}
			pol.SLA, pol.SLASet = d, true
			return nil
		},
		"max_grant": func(v *yaml.Node) error {
			s, err := p.scalar(v, "policy.max_grant")
			if err != nil {
				return err
			}
			d, err := lifecycle.ParseDuration(s)
			if err != nil {
				return p.errf(v.Line, "policy.max_grant: %v", err)
			}
			pol.MaxGrant = d
			return nil
		},
		"timezone": func(v *yaml.Node) error {
			s, err := p.scalar(v, "policy.timezone")
			if err != nil {
				return err
			}
			loc, err := time.LoadLocation(s)
			if err != nil || s == "" || s == "Local" {
				return p.errf(v.Line, "policy.timezone %q is not an IANA zone name such as Europe/Berlin", s)
			}
			pol.Location = loc
			return nil
		},
		"allow": func(v *yaml.Node) error {
			if v.Kind != yaml.SequenceNode {
				return p.errf(v.Line, "policy.allow must be a list of entries")
			}
			for i, e := range v.Content {
				a, err := p.allow(e, i, pol.Location)
				if err != nil {
					return err
				}
				pol.Allow = append(pol.Allow, a)
			}
			return nil
		},
		"exclude": func(v *yaml.Node) error {
			if v.Kind != yaml.MappingNode {
				return p.errf(v.Line, "policy.exclude must map target names to lists of account patterns")
			}
			for i := 0; i+1 < len(v.Content); i += 2 {
				k, list := v.Content[i], v.Content[i+1]
				if list.Kind != yaml.SequenceNode {
					return p.errf(list.Line, "policy.exclude.%s must be a list of account patterns", k.Value)
				}
				for _, item := range list.Content {
					s, err := p.scalar(item, "policy.exclude."+k.Value)
					if err != nil {
						return err
					}
					pat, err := p.pattern(s, item.Line, "policy.exclude."+k.Value)
					if err != nil {
						return err
					}
					pol.Exclude[k.Value] = append(pol.Exclude[k.Value], pat)
				}
				if len(list.Content) == 0 {
					return p.errf(list.Line, "policy.exclude.%s is empty", k.Value)
				}
			}
			return nil
		},
	})
}

func (p *parser) pattern(s string, line int, field string) (Pattern, error) {
	if s == "" {
		return Pattern{}, p.errf(line, "%s: an empty account pattern", field)
	}
	if _, err := path.Match(s, ""); err != nil {
		return Pattern{}, p.errf(line, "%s: pattern %q is malformed: %v", field, s, err)
	}
	return Pattern{Text: s, Line: line}, nil
}

func (p *parser) allow(n *yaml.Node, i int, loc *time.Location) (Allow, error) {
	a := Allow{Line: n.Line}
	f := fmt.Sprintf("policy.allow[%d]", i)
	var account, expires string
	var ignored []string
	set := func(dst *string, name string) func(*yaml.Node) error {
		return func(v *yaml.Node) error { return p.str(v, f+"."+name, dst, &ignored) }
	}
	if err := p.mapping(n, f, map[string]func(*yaml.Node) error{
		"target":      set(&a.Target, "target"),
		"account":     set(&account, "account"),
		"reason":      set(&a.Reason, "reason"),
		"approved_by": set(&a.ApprovedBy, "approved_by"),
		"expires":     set(&expires, "expires"),
	}); err != nil {
		return a, err
	}
	for _, req := range []struct{ v, name string }{{a.Target, "target"}, {account, "account"}, {a.Reason, "reason"}, {a.ApprovedBy, "approved_by"}, {expires, "expires"}} {
		if strings.TrimSpace(req.v) == "" {
			return a, p.errf(n.Line, "%s needs %s: an allow-list entry without a target, an account, a reason, an approver and an expiry is not an exception", f, req.name)
		}
	}
	pat, err := p.pattern(account, n.Line, f+".account")
	if err != nil {
		return a, err
	}
	a.Account = pat
	if a.Expires, err = lifecycle.ParseEndDate(expires, loc); err != nil {
		return a, p.errf(n.Line, "%s.expires: %v", f, err)
	}
	return a, nil
}

// Allowed returns the allow-list entry that accepts account in target at
// now, if any, and any matching entries that have expired (which no longer
// allow).
func (pol Policy) Allowed(target, account string, now time.Time) (ok *Allow, expired []*Allow) {
	for i := range pol.Allow {
		a := &pol.Allow[i]
		if a.Target != target || !a.Account.Match(account) {
			continue
		}
		if a.Expires.Passed(now) {
			expired = append(expired, a)
			continue
		}
		if ok == nil {
			ok = a
		}
	}
	return ok, expired
}

// Excluded reports whether account in target matches an exclusion pattern.
func (pol Policy) Excluded(target, account string) bool {
	for _, p := range pol.Exclude[target] {
		if p.Match(account) {
			return true
		}
	}
	return false
}
