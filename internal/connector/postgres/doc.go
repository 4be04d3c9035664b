// Package postgres makes a PostgreSQL login role a lifecycle-bound
// credential: Create/Update give it a VALID UNTIL no later than its owner's
// end date, Revoke removes the access (NOLOGIN or DROP, memberships, live
// sessions), Verify reads back independently whether the access is gone, and
// Inventory streams every login role for the drift scanner.
//
// It imports nothing of Terraform.
//
// # Privileges
//
// The DSN's role needs CREATEROLE (and ADMIN on the groups it grants), plus
// pg_signal_backend to terminate sessions; a superuser is simplest. Only a
// superuser can alter or terminate superuser roles.
//
// # What "gone" means
//
// Verify answers gone only when the role is absent, or when rolcanlogin is
// false, it is a member of no role, and pg_stat_activity shows no session for
// it. VALID UNTIL alone is never treated as gone: it only applies to password
// authentication (cert, peer, trust and similar ignore it) and does not end
// sessions opened before it passed.
//
// # Databases
//
// Roles, memberships and sessions are cluster-wide: NOLOGIN, REVOKE of
// memberships, pg_terminate_backend and Verify cover every database from the
// one connection. REASSIGN OWNED and DROP OWNED (drop mode) act only on the
// database the DSN connects to. If the role owns objects or holds privileges
// in another database, DROP ROLE fails with the server's list of those
// databases; Revoke then returns an error after having disabled the role
// (NOLOGIN, no memberships, no sessions), so access is already cut off and
// Verify reports it gone, but the role still exists until someone runs
// REASSIGN/DROP OWNED in each listed database (or points a DSN at it).
//
// # Secrets
//
// The DSN's password (and any role password passed to Create/Update) never
// appears in an error, in Describe or in Config's String: errors are rebuilt
// from scrubbed text and unwrap only to the package's sentinels, context
// errors and scrubbed server errors (*pgconn.PgError). Role passwords made of
// ASCII are sent as a SCRAM-SHA-256 verifier computed here, so the plaintext
// never reaches the server's statement log either.
package postgres
