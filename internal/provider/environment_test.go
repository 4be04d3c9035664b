package provider

import (
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaultActorOrder(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SUNSET_ACTOR": "ops-bot", "GITHUB_ACTOR": "octocat"}, "ops-bot"},
		{map[string]string{"GITHUB_ACTOR": "octocat", "GITLAB_USER_LOGIN": "tanuki"}, "octocat"},
		{map[string]string{"GITLAB_USER_LOGIN": "tanuki"}, "tanuki"},
	}
	for _, c := range cases {
		if got := defaultActor(envOf(c.env)); got != c.want {
			t.Errorf("defaultActor(%v) = %q, want %q", c.env, got, c.want)
		}
	}
	if got := defaultActor(envOf(nil)); !strings.Contains(got, "@") {
		t.Errorf("fallback actor %q is not user@host", got)
	}
}

func TestRunURL(t *testing.T) {
	gh := map[string]string{"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/infra", "GITHUB_RUN_ID": "42"}
	if got := runURL(envOf(gh)); got != "https://github.com/acme/infra/actions/runs/42" {
		t.Errorf("github run = %q", got)
	}
	if got := runURL(envOf(map[string]string{"CI_JOB_URL": "https://gitlab.example/j/1"})); got != "https://gitlab.example/j/1" {
		t.Errorf("gitlab run = %q", got)
	}
	if got := runURL(envOf(nil)); got != "" {
		t.Errorf("no CI: run = %q", got)
	}
}
