provider "sunset" {
  # Every declaration, change and verified revocation is appended here.
  evidence = { file = "evidence/sunset.jsonl" }

  # Calendar-date end dates end at the next midnight in this zone.
  timezone = "Europe/Berlin"

  policy = {
    # Non-human identities may live at most this long.
    max_lifetime = { api_client = "90d", workload = "365d" }
    # The default already requires end dates of every non-human kind;
    # this also requires them of contractors.
    require_end_date = ["contractor", "service_account", "workload", "api_client", "bot"]
  }

  targets = {
    warehouse = { postgres = { dsn_env = "WAREHOUSE_DSN" } }
    slack     = { scim = { url = "https://api.slack.com/scim/v2", token_env = "SLACK_SCIM_TOKEN" } }
    corp = {
      ldap = {
        url               = "ldaps://ldap.corp.example"
        bind_dn           = "cn=sunset,dc=corp,dc=example"
        bind_password_env = "LDAP_BIND_PASSWORD"
        base_dn           = "ou=people,dc=corp,dc=example"
      }
    }
  }
}
