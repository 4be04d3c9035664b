package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RevokeMode says how Revoke removes a role's access.
type RevokeMode string

const (
	// RevokeDisable: NOLOGIN, revoke every membership, terminate sessions.
	// The role and what it owns stay. The default.
	RevokeDisable RevokeMode = "disable"
	// RevokeDrop: everything disable does, then REASSIGN OWNED to
	// ReassignTo, DROP OWNED and DROP ROLE (connected database only, see
	// the package doc).
	RevokeDrop RevokeMode = "drop"
)

// RevokeOptions chooses the mode. ReassignTo is required for drop: DROP
// OWNED without a REASSIGN would delete the role's tables.
type RevokeOptions struct {
	Mode       RevokeMode
	ReassignTo string
}

// RevokeResult says what Revoke did, for the evidence record.
type RevokeResult struct {
	// Existed is false when the role was already absent (still a success).
	Existed bool
	// Dropped is true when drop mode removed the role.
	Dropped bool
	// MembershipsRevoked lists the memberships removed, sorted.
	MembershipsRevoked []string
	// SessionsTerminated counts the backends ended.
	SessionsTerminated int
	// RemovedAt is the server's clock when the last step finished; zero
	// when the role was already absent.
	RemovedAt time.Time
}

// SQLSTATEs raised by the revoke script's refusals.
const (
	stateBuiltinRole = "SUN01"
	stateSelfRole    = "SUN02"
)

// disableBlock runs inside the script's explicit transaction. The role name
// arrives through a transaction-local setting, never inside the DO body,
// and every statement is built with format('%I').
const disableBlock = `DO $sunset$
DECLARE
	target text := current_setting('sunset.revoke_role');
	rid oid;
	g record;
BEGIN
	SELECT oid INTO rid FROM pg_roles WHERE rolname = target;
	IF rid IS NULL THEN
		RETURN;
	END IF;
	IF rid < 16384 OR left(target, 3) = 'pg_' THEN
		RAISE EXCEPTION USING ERRCODE = '` + stateBuiltinRole + `', MESSAGE = format('refusing to revoke built-in role %I', target);
	END IF;
	IF target = session_user OR target = current_user THEN
		RAISE EXCEPTION USING ERRCODE = '` + stateSelfRole + `', MESSAGE = format('refusing to revoke role %I: sunset is connected as it', target);
	END IF;
	EXECUTE format('ALTER ROLE %I NOLOGIN', target);
	FOR g IN SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = rid LOOP
		EXECUTE format('REVOKE %I FROM %I', g.rolname, target);
	END LOOP;
END
$sunset$`

const dropBlock = `DO $sunset$
DECLARE
	target text := current_setting('sunset.revoke_role');
	heir text := current_setting('sunset.reassign_to');
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = target) THEN
		RETURN;
	END IF;
	EXECUTE format('REASSIGN OWNED BY %I TO %I', target, heir);
	EXECUTE format('DROP OWNED BY %I', target);
	EXECUTE format('DROP ROLE %I', target);
END
$sunset$`

const serverMicros = `(extract(epoch FROM clock_timestamp()) * 1000000)::bigint`

// Revoke removes the role's access and terminates its sessions. It is
// idempotent: an absent role is a success with Existed=false.
//
// Order matters: NOLOGIN and the membership revokes are COMMITTED before
// any session is terminated, so no new session can start after the sweep;
// sweeps repeat until one finds no session, which also catches a session
// that was authenticating at that instant (failing that, Verify does). In drop
// mode the DROP runs only after that, in its own transaction, so a failed
// DROP (objects in other databases) still leaves the role disabled.
//
// The whole sequence is one multi-statement query: one round trip.
// Built-in roles and the role the client connects as are refused
// (ErrProtectedRole).
func (c *Client) Revoke(ctx context.Context, name string, opts RevokeOptions) (RevokeResult, error) {
	op := fmt.Sprintf("revoke role %q", name)
	if opts.Mode == "" {
		opts.Mode = RevokeDisable
	}
	if err := ValidateName(name); err != nil {
		return RevokeResult{}, c.scrub.wrap(op, err)
	}
	switch opts.Mode {
	case RevokeDisable:
	case RevokeDrop:
		if opts.ReassignTo == "" {
			return RevokeResult{}, c.scrub.wrap(op, fmt.Errorf("%w: drop mode needs reassign_to (DROP OWNED alone would delete what the role owns)", ErrInvalidSpec))
		}
		if err := ValidateName(opts.ReassignTo); err != nil {
			return RevokeResult{}, c.scrub.wrap(op, fmt.Errorf("reassign_to: %w", err))
		}
		if opts.ReassignTo == name {
			return RevokeResult{}, c.scrub.wrap(op, fmt.Errorf("%w: reassign_to is the role being dropped", ErrInvalidSpec))
		}
	default:
		return RevokeResult{}, c.scrub.wrap(op, fmt.Errorf("%w: mode %q (want %q or %q)", ErrInvalidSpec, opts.Mode, RevokeDisable, RevokeDrop))
	}

	lit := literal(name)
	script := []string{
		"BEGIN",
		// [1] role oid (NULL when absent) and its memberships, as json text.
		`SELECT set_config('sunset.revoke_role', ` + lit + `, true), r.oid,
			coalesce((SELECT json_agg(g.rolname ORDER BY g.rolname) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), '[]'::json)
		FROM (VALUES (1)) v LEFT JOIN pg_roles r ON r.rolname = ` + lit,
		disableBlock,
		"COMMIT",
		// [4] pids signalled, server clock.
		terminateSQL("(SELECT oid FROM pg_roles WHERE rolname = " + lit + ")"),
	}
	if opts.Mode == RevokeDrop {
		script = append(script,
			`SELECT set_config('sunset.revoke_role', `+lit+`, true), set_config('sunset.reassign_to', `+literal(opts.ReassignTo)+`, true)`,
			dropBlock,
			// [7] server clock after the drop.
			"SELECT "+serverMicros,
		)
	}

	conn, err := c.pool.Acquire(ctx)
	if err != nil {
		return RevokeResult{}, c.scrub.wrap(op, err)
	}
	defer conn.Release()
	pg := conn.Conn().PgConn()
	results, execErr := pg.Exec(ctx, strings.Join(script, ";\n")).ReadAll()
	if pg.TxStatus() != 'I' && !pg.IsClosed() {
		// The error hit inside BEGIN..COMMIT: leave the pooled session clean.
		_ = pg.Exec(ctx, "ROLLBACK").Close()
	}

	var res RevokeResult
	var oid string
	if len(results) > 1 && len(results[1].Rows) == 1 {
		row := results[1].Rows[0]
		oid = string(row[1])
		res.Existed = row[1] != nil
		if err := json.Unmarshal(row[2], &res.MembershipsRevoked); err != nil {
			return res, c.scrub.wrap(op, fmt.Errorf("reading memberships: %w", err))
		}
	}
	if execErr != nil {
		switch sqlState(execErr) {
		case stateBuiltinRole, stateSelfRole:
			execErr = fmt.Errorf("%w: %w", ErrProtectedRole, execErr)
		case "2BP01": // dependent_objects_still_exist: DROP ROLE, other databases
			execErr = fmt.Errorf("the role is disabled (NOLOGIN, memberships revoked, sessions signalled to terminate) but DROP ROLE failed: REASSIGN/DROP OWNED only act on the connected database; run them in the databases named below, then retry: %w", execErr)
		}
		if len(results) < 4 || results[3].Err != nil { // nothing was committed
			res = RevokeResult{}
		}
		return res, c.scrub.wrap(op, execErr)
	}
	if len(results) < 5 || len(results[4].Rows) != 1 || (opts.Mode == RevokeDrop && (len(results) < 8 || len(results[7].Rows) != 1)) {
		return res, c.scrub.wrap(op, fmt.Errorf("unexpected reply to the revoke script (%d results)", len(results)))
	}
	pids, at, err := parseTerminate(results[4].Rows[0])
	if err != nil {
		return res, c.scrub.wrap(op, err)
	}
	if opts.Mode == RevokeDrop {
		res.Dropped = res.Existed
		if at, err = micros(results[7].Rows[0][0]); err != nil {
			return res, c.scrub.wrap(op, err)
		}
	}
	// Signalled backends take a moment to leave pg_stat_activity. Sweep
	// again (re-signalling is harmless) until a sweep finds none: that also
	// catches a backend that was still authenticating when NOLOGIN
	// committed. No session at the first sweep: no extra round trip.
	seen := map[string]bool{}
	for _, p := range pids {
		seen[p] = true
	}
	deadline := time.Now().Add(c.cfg.TerminateWait)
	for pause := 2 * time.Millisecond; len(pids) > 0; pause = min(2*pause, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			return res, c.scrub.wrap(op, fmt.Errorf("%d session(s) of the role still present %s after pg_terminate_backend", len(pids), c.cfg.TerminateWait))
		}
		select {
		case <-ctx.Done():
			return res, c.scrub.wrap(op, ctx.Err())
		case <-time.After(pause):
		}
		rows, err := pg.Exec(ctx, terminateSQL(oid)).ReadAll()
		if err != nil {
			return res, c.scrub.wrap(op, err)
		}
		if pids, at, err = parseTerminate(rows[0].Rows[0]); err != nil {
			return res, c.scrub.wrap(op, err)
		}
		for _, p := range pids {
			seen[p] = true
		}
	}
	res.SessionsTerminated = len(seen)
	if res.Existed {
		res.RemovedAt = at
	}
	return res, nil
}

// terminateSQL signals every backend of the role with OID oidExpr (other
// than our own) and returns their pids (json) and the server clock. It does
// not use pg_terminate_backend's timeout, which polls every 100 ms per
// backend. Matching on usesysid, not usename, keeps working after DROP ROLE.
// A pid that exits between the scan and the signal yields a WARNING and
// false, not an error; lack of privilege is an ERROR.
func terminateSQL(oidExpr string) string {
	return `SELECT coalesce(json_agg(pid), '[]'::json), ` + serverMicros + `
	FROM (SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
	      WHERE usesysid = ` + oidExpr + ` AND pid <> pg_backend_pid()) s`
}

func parseTerminate(row [][]byte) (pids []string, at time.Time, err error) {
	var ints []int64
	if err = json.Unmarshal(row[0], &ints); err != nil {
		return nil, time.Time{}, fmt.Errorf("reading terminated sessions: %w", err)
	}
	for _, p := range ints {
		pids = append(pids, strconv.FormatInt(p, 10))
	}
	at, err = micros(row[1])
	return pids, at, err
}

func micros(b []byte) (time.Time, error) {
	us, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the server clock: %w", err)
	}
	return time.UnixMicro(us).UTC(), nil
}
