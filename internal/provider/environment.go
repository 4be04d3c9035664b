package provider

import (
	"os"
	"os/user"
	"strings"
)

// defaultActor says who is acting when the configuration does not: an
// explicit SUNSET_ACTOR, then the CI system's user, then user@host.
func defaultActor(getenv func(string) string) string {
	for _, name := range []string{"SUNSET_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN"} {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
	}
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return name + "@" + host
}

// runURL names the CI run an apply belongs to, where the environment says,
// so an auditor can go from a ledger record to the job's log.
func runURL(getenv func(string) string) string {
	if server, repo, id := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID"); server != "" && repo != "" && id != "" {
		return strings.TrimRight(server, "/") + "/" + repo + "/actions/runs/" + id
	}
	for _, name := range []string{"CI_JOB_URL", "BUILD_URL", "TFC_RUN_URL"} {
		if v := getenv(name); v != "" {
			return v
		}
	}
	return ""
}
