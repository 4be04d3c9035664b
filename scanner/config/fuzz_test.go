package config

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzParseConfig: any bytes either load as a configuration or are refused
// with an error; neither the error, nor a target's own error, nor a
// target printed with %v, %+v or %#v ever shows a secret: a literal written
// in dsn, token or bind_password (which are refused), or the value of an
// environment variable a secret field names. Seeds: the examples this
// package's tests and the CI workflows use, and under testdata/fuzz the
// mistakes people make with secrets.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("targets:\n  w:\n    postgres:\n      dsn: postgres://svc:Sup3rS3cretLiteral@db.internal:5432/app\n"))
	f.Add([]byte("targets:\n  c:\n    ldap: {url: ldaps://dc1.corp.example, bind_dn: 'CN=sunset,OU=Service,DC=corp', base_dn: 'DC=corp', bind_password: Sup3rS3cretLiteral, flavor: active_directory}\n"))
	f.Add([]byte("targets:\n  s:\n    scim:\n      url: https://api.example.com/scim/v2\n      token: \"Sup3rS3cretLiteral\"\n"))
	getenv := func(name string) string {
		if strings.HasPrefix(name, "UNSET") {
			return ""
		}
		return "envsecret-" + name + "-q7Zx"
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "sunset.yaml", getenv)
		var shown []string
		if err != nil {
			if cfg != nil {
				t.Fatalf("a configuration with the error %v", err)
			}
			shown = append(shown, err.Error())
		} else {
			for _, tg := range cfg.Targets {
				shown = append(shown, fmt.Sprintf("%v|%+v|%#v|%s", tg, tg, tg, tg.Config))
				if tg.Err != nil {
					shown = append(shown, tg.Err.Error())
				}
			}
		}
		for _, secret := range secretsIn(data, getenv) {
			for _, s := range shown {
				if strings.Contains(s, secret) {
					t.Fatalf("secret %q shown: %s", secret, s)
				}
			}
		}
	})
}

var (
	secretKeys = map[string]bool{"dsn": true, "token": true, "bind_password": true}
	secretEnv  = map[string]bool{"dsn_env": true, "token_env": true, "bind_password_env": true}
	envRefText = regexp.MustCompile(`^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$`)
	secretLine = regexp.MustCompile(`(?m)(?:^|[{,\s])(?:dsn|token|bind_password)\s*:\s*([^\s,}#][^,}\n#]*)`)
)

// secretsIn lists what must never be shown: the literals written as secret
// fields (as YAML reads them, or, for a file YAML refuses, as the lines
// spell them, with any *, & or ! in front taken off: YAML would have read
// those as an alias, an anchor or a tag), and the environment values secret
// fields name. A string that the file also holds where it is no secret
// (a target name, a URL, a key) is left out: an error may name those.
func secretsIn(data []byte, getenv func(string) string) []string {
	var cands, public []string
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) == nil {
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					k, v := n.Content[i], n.Content[i+1]
					public = append(public, k.Value)
					switch {
					case secretKeys[k.Value] && (v.Kind == yaml.ScalarNode || v.Kind == yaml.AliasNode):
						if m := envRefText.FindStringSubmatch(v.Value); m != nil {
							cands = append(cands, getenv(m[1]))
						} else {
							cands = append(cands, v.Value)
						}
					case secretEnv[k.Value] && v.Kind == yaml.ScalarNode:
						cands = append(cands, getenv(v.Value))
					case v.Kind == yaml.ScalarNode:
						public = append(public, v.Value)
						if m := envRefText.FindStringSubmatch(v.Value); m != nil {
							public = append(public, getenv(m[1]))
						} else if strings.HasSuffix(k.Value, "_env") {
							public = append(public, getenv(v.Value))
						}
					default:
						walk(v)
					}
				}
				return
			}
			if n.Kind == yaml.ScalarNode {
				public = append(public, n.Value)
			}
			for _, c := range n.Content {
				walk(c)
			}
		}
		walk(&doc)
	} else {
		for _, m := range secretLine.FindAllSubmatch(data, -1) {
			v := strings.Trim(strings.TrimSpace(string(m[1])), `"'`)
			cands = append(cands, v, strings.TrimLeft(v, "*&!"))
		}
	}
	var out []string
	for _, c := range cands {
		if len(c) < 6 || strings.Count(string(data), c) > 1 {
			continue // too short to tell apart, or also written elsewhere
		}
		shared := false
		for _, p := range public {
			shared = shared || strings.Contains(p, c)
		}
		if !shared {
			out = append(out, c)
		}
	}
	return out
}

// Found by fuzzing: an unquoted secret that starts with '*' is a YAML
// alias, and yaml.v3's error named it ("unknown anchor 'Pa55w0rd-Wint3r'").
func TestParseDoesNotShowAnAliasName(t *testing.T) {
	_, err := Parse([]byte("targets:\n  c:\n    ldap:\n      url: ldaps://dc1\n      bind_dn: cn=a\n      base_dn: dc=x\n      bind_password: *Pa55w0rd-Wint3r\n"), "sunset.yaml", nil)
	if err == nil || strings.Contains(err.Error(), "Pa55w0rd") || !strings.Contains(err.Error(), "must be quoted") {
		t.Fatalf("err = %v", err)
	}
}
