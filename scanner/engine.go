package scanner

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/sunset-iam/terraform-provider-sunset/internal/connector"
	"github.com/sunset-iam/terraform-provider-sunset/internal/evidence"
	"github.com/sunset-iam/terraform-provider-sunset/internal/lifecycle"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/config"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/locate"
	"github.com/sunset-iam/terraform-provider-sunset/scanner/state"
)

// TargetSpec is one target to inventory.
type TargetSpec struct {
	Name string
	// Line is the line of the target in the configuration file.
	Line int
	// Open builds the connector; the engine closes it. It is called once.
	Open func(context.Context) (connector.Target, error)
}

// Input is everything a scan reads.
type Input struct {
	// Now is the instant findings are judged at.
	Now time.Time
	// SLA is the grace between an identity's end and the revocation of its access.
	SLA    time.Duration
	Policy config.Policy
	// ConfigFile names the configuration, for locations of targets and
	// allow-list entries.
	ConfigFile string
	Targets    []TargetSpec
	// States are state files (raw v4 or show -json).
	States []string
	// Roster is an HR export (.json or .csv), optional.
	Roster string
	// Ledger is the evidence ledger, optional; LedgerKey its HMAC key.
	Ledger    string
	LedgerKey []byte
	// Source locates resource blocks, optional.
	Source *locate.Index
	// Progress, when set, receives one line per target as it is scanned.
	Progress func(string)
}

// Problem is a reason the scan is incomplete.
type Problem struct {
	Target  string `json:"target,omitempty"`
	Message string `json:"message"`
}

// TargetSummary says what was read from one target.
type TargetSummary struct {
	Name     string `json:"name"`
	System   string `json:"system,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
	Accounts int    `json:"accounts"`
	Declared int    `json:"declared"`
	Verified int    `json:"verified"`
	// Duration runs from the start of the target's listing (which overlaps
	// the reading of the declarations) to the end of its checks; Listing
	// is the listing alone (connect and inventory).
	Duration time.Duration `json:"duration_ns"`
	Listing  time.Duration `json:"listing_ns"`
	Error    string        `json:"error,omitempty"`
}

// Result is a scan's outcome.
type Result struct {
	Now        time.Time
	SLA        time.Duration
	Findings   []Finding
	Incomplete []Problem
	Targets    []TargetSummary
	// Declared counts what the inputs declared.
	DeclaredIdentities  int
	DeclaredCredentials int
	// ReadDeclared and ReadLedger are how long reading the states and the
	// roster, and verifying and reading the ledger, took.
	ReadDeclared, ReadLedger time.Duration
}

// Complete reports whether every target and input was read.
func (r *Result) Complete() bool { return len(r.Incomplete) == 0 }

// cred is the compact index entry of one declared credential: the scan keeps
// only this per credential, whatever the state's size.
type cred struct {
	key       string // TARGET/ACCOUNT
	identity  *identity
	idName    string
	typ       string
	address   string
	module    string
	name      string
	expiresAt string
	seen      bool
	seq       int32  // in engine.credSeq
	group     string // for group memberships
}

// ledgerCred is the last credential event the ledger holds for a key.
type ledgerCred struct {
	event    evidence.Event
	line     int
	identity string
	owner    string
	endDate  string
	system   string
	account  string // as the ledger spells it (the key may be canonical)
}

type engine struct {
	in      Input
	res     *Result
	ids     *identities
	creds   map[string]*cred   // TARGET/ACCOUNT
	credSeq []*cred            // the same, in the order the states declare them
	members map[string][]*cred // TARGET/USER → memberships of that user
	// memberLedger maps TARGET/USER to the ledger keys (TARGET/GROUP/USER)
	// of that user's group memberships, for the revoked ones' check.
	memberLedger map[string][]string
	perTgt       map[string]int // declared credentials per target
	ledger       map[string]*ledgerCred
	ledgerID     map[string]ledgerIdentity
	seen         map[string]bool // finding dedup by fingerprint
	credSlab     slab[cred]
	keyBuf       []byte // TARGET/ACCOUNT of the account being judged
	nextCred     int    // in credSeq: where findCred looks first
}

type ledgerIdentity struct {
	owner, kind, endDate string
	offboarded           time.Time
}

// Scan runs a scan. Its error is for inputs that cannot be read at all (a
// malformed state or roster, an unreadable ledger); a target that cannot be
// read is not an error but a Problem in Result.Incomplete, and the scan goes
// on with the other targets.
func Scan(ctx context.Context, in Input) (*Result, error) {
	if in.Now.IsZero() {
		return nil, errors.New("scanner: the scan instant is not set")
	}
	loc := in.Policy.Location
	if loc == nil {
		loc = time.UTC
	}
	e := &engine{
		in:           in,
		res:          &Result{Now: in.Now, SLA: in.SLA},
		ids:          newIdentities(loc),
		creds:        map[string]*cred{},
		members:      map[string][]*cred{},
		memberLedger: map[string][]string{},
		perTgt:       map[string]int{},
		ledger:       map[string]*ledgerCred{},
		ledgerID:     map[string]ledgerIdentity{},
		seen:         map[string]bool{},
	}
	// The targets are listed while the declarations are read (listing.go).
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	listings := startListings(lctx, in.Targets)
	next := 0 // the listings before next are finished and closed
	defer func() {
		stop()
		for _, l := range listings[next:] {
			l.drain()
		}
	}()
	t0 := time.Now()
	if err := e.readDeclared(); err != nil {
		return nil, err
	}
	t1 := time.Now()
	if err := e.readLedger(); err != nil {
		return nil, err
	}
	e.res.ReadDeclared, e.res.ReadLedger = t1.Sub(t0), time.Since(t1)
	e.judgeIdentities()
	e.checkAllowList()
	for _, l := range listings {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e.scanTarget(ctx, l)
		next++
	}
	e.checkUnscannedTargets()
	e.checkMissingEvidence()
	sortFindings(e.res.Findings)
	return e.res, nil
}

// ------------------------------------------------------------- declared

func (e *engine) readDeclared() error {
	e.sizeMaps()
	if e.in.Roster != "" {
		ids, err := lifecycle.ReadRosterFile(e.in.Roster)
		if err != nil {
			return err
		}
		for _, r := range ids {
			e.ids.fromRosterFile(r)
		}
	}
	for _, file := range e.in.States {
		if err := e.readState(file); err != nil {
			return err
		}
	}
	e.res.DeclaredCredentials = len(e.creds)
	return nil
}

// readState indexes what one state declares. The state is read on two
// goroutines (state.ReadFileVisit), and the Visitor, which builds the maps,
// runs on the second while this one waits.
func (e *engine) readState(file string) error {
	_, err := state.ReadFileVisit(file, state.Visitor{
		Identity: func(s state.Identity) error {
			e.ids.fromState(&s, e.resourceLoc(s.Resource, "managed", file))
			return nil
		},
		RosterEntry: func(r state.RosterEntry) error {
			e.ids.fromRosterEntry(&r, e.resourceLoc(r.Resource, "data", file))
			return nil
		},
		Credential: func(c state.Credential) error { return e.addCred(&c) },
	})
	return err
}

// addCred indexes one declared credential.
func (e *engine) addCred(c *state.Credential) error {
	key := credKey(c) // LDAP DNs join on one spelling (joinkey.go)
	n := len(e.creds)
	cr := e.credSlab.new()
	e.creds[key] = cr
	if len(e.creds) == n {
		// One probe of the map for the usual case, a new key; a key
		// already there was just overwritten: put the first back.
		var prev *cred
		for _, p := range e.credSeq {
			if credKeyOf(p) == key {
				prev = p
				break
			}
		}
		e.creds[key] = prev
		return fmt.Errorf("%s and %s both declare credential %s: one key must name one credential", prev.address, c.Address, c.ID)
	}
	*cr = cred{key: c.ID, idName: c.IdentityID, typ: c.Type, address: c.Address, module: c.Module, name: c.Name, expiresAt: c.ExpiresAt, group: c.GroupID, seq: int32(len(e.credSeq))}
	if c.IdentityID != "" {
		// Usually declared already; judgeIdentities finds the others.
		cr.identity = e.ids.find(c.IdentityID)
	}
	e.credSeq = append(e.credSeq, cr)
	e.perTgt[c.Target]++
	if c.Type == state.TypeSCIMMembership {
		user := c.UserID
		if user == "" {
			_, user, _ = strings.Cut(c.Account, "/")
		}
		if cr.group == "" {
			cr.group, _, _ = strings.Cut(c.Account, "/")
		}
		e.members[connector.ID(c.Target, user)] = append(e.members[connector.ID(c.Target, user)], cr)
	}
	return nil
}

// sizeMaps sizes the identity and credential maps for the states' bytes,
// so that a large state fills them without rehashing them as they grow. A
// sunset instance takes some 400 bytes of a state, and a state declares
// about as many identities as credentials; a wrong guess only costs a
// rehash or some unused room.
func (e *engine) sizeMaps() {
	var size int64
	for _, f := range e.in.States {
		if st, err := os.Stat(f); err == nil {
			size += st.Size()
		}
	}
	n := int(min(size/800, 1<<22))
	if n < 1024 {
		return
	}
	e.creds = make(map[string]*cred, n)
	e.credSeq = make([]*cred, 0, n)
	e.ids.byName = make(map[string]*identity, n)
	e.ids.order = make([]*identity, 0, n)
}

// resourceLoc locates a resource's block; zero when there are no sources
// or no block (the finding then falls back to a file in the repository:
// the target's configuration line).
func (e *engine) resourceLoc(r state.Resource, mode, _ string) locate.Location {
	if loc, ok := e.in.Source.Resource(r.Module, mode, r.Type, r.Name); ok {
		return loc
	}
	return locate.Location{}
}

// fallbackLoc is where a finding points when nothing declares it more
// precisely: the configuration, else the first state file, else the ledger.
func (e *engine) fallbackLoc() locate.Location {
	switch {
	case e.in.ConfigFile != "":
		return locate.Location{File: e.in.ConfigFile, Line: 1}
	case len(e.in.States) > 0:
		return locate.Location{File: e.in.States[0], Line: 1}
	case e.in.Ledger != "":
		return locate.Location{File: e.in.Ledger, Line: 1}
	case e.in.Roster != "":
		return locate.Location{File: e.in.Roster, Line: 1}
	}
	return locate.Location{}
}

// ---------------------------------------------------------------- ledger

func (e *engine) readLedger() error {
	if e.in.Ledger == "" {
		return nil
	}
	rep, err := evidence.VerifyFile(e.in.Ledger, e.in.LedgerKey)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	if rep.FirstBad != nil {
		e.add(Finding{
			Rule:     RuleLedgerTampered,
			Message:  fmt.Sprintf("The evidence ledger does not verify from line %d: %s. Evidence from that line on cannot be trusted.", rep.FirstBad.Line, rep.FirstBad.Reason),
			Checked:  fmt.Sprintf("hash chain of %d valid records; first bad line %d", rep.Records, rep.FirstBad.Line),
			Location: locate.Location{File: e.in.Ledger, Line: rep.FirstBad.Line},
			Account:  e.in.Ledger,
		})
	}
	f, err := os.Open(e.in.Ledger)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	defer f.Close()
	handle := func(line int, r evidence.Record) error {
		if r.Identity != nil && r.Identity.Name != "" {
			li := e.ledgerID[r.Identity.Name]
			switch r.Event {
			case evidence.EventIdentityDeclared, evidence.EventIdentityChanged:
				li = ledgerIdentity{owner: r.Identity.Owner, kind: r.Identity.Kind, endDate: r.Identity.EndDate}
			case evidence.EventIdentityOffboarded:
				li.offboarded = r.Time
				if li.owner == "" {
					li.owner, li.kind, li.endDate = r.Identity.Owner, r.Identity.Kind, r.Identity.EndDate
				}
			}
			e.ledgerID[r.Identity.Name] = li
		}
		switch r.Event {
		case evidence.EventCredentialIssued, evidence.EventCredentialChanged, evidence.EventRevokeFailed, evidence.EventCredentialRevoked:
		default:
			return nil
		}
		if r.Target == "" || r.Account == "" {
			return nil
		}
		key := joinKey(r.System, r.Target, r.Account)
		lc := e.ledger[key]
		if lc == nil {
			lc = &ledgerCred{account: r.Account}
			e.ledger[key] = lc
			if group, user, ok := strings.Cut(r.Account, "/"); ok && r.System == "scim" && group != "" && user != "" {
				u := connector.ID(r.Target, user)
				e.memberLedger[u] = append(e.memberLedger[u], key)
			}
		}
		lc.event, lc.line, lc.system = r.Event, line, r.System
		if r.Identity != nil {
			lc.identity, lc.owner, lc.endDate = r.Identity.Name, r.Identity.Owner, r.Identity.EndDate
		}
		return nil
	}
	err = evidence.Scan(f, handle)
	var le *evidence.LineError
	if err != nil && !errors.As(err, &le) {
		return fmt.Errorf("ledger %s: %w", e.in.Ledger, err)
	}
	if le != nil {
		// The chain is broken (reported above as ledger-tampered). The lines
		// from the bad one on are no longer evidence, but they still say
		// what happened as far as anyone wrote it: read them as plain
		// records so that, say, a revocation recorded after the bad line
		// is still judged as a revocation that did not stick rather than
		// as an account nobody declared.
		if err := readUnchained(e.in.Ledger, le.Line, handle); err != nil {
			return fmt.Errorf("ledger %s: %w", e.in.Ledger, err)
		}
	}
	return nil
}

// readUnchained passes every line from line `from` on that decodes as a
// record to fn, skipping lines that do not.
func readUnchained(path string, from int, fn func(int, evidence.Record) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), evidence.MaxRecordBytes)
	for line := 1; sc.Scan(); line++ {
		if line < from {
			continue
		}
		var r evidence.Record
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue
		}
		if err := fn(line, r); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		return err
	}
	return nil
}

// ------------------------------------------------------------ identities

func (e *engine) judgeIdentities() {
	// Credentials may name identities that no source declares any more:
	// the ledger's last declaration stands in for them.
	// In declaration order: the credentials lie in memory in that order,
	// and so, usually, do their identities.
	for _, c := range e.credSeq {
		if c.idName == "" || c.identity != nil {
			continue
		}
		if id := e.ids.byName[c.idName]; id != nil {
			c.identity = id
			continue
		}
		li, ok := e.ledgerID[c.idName]
		if !ok {
			continue
		}
		id := e.ids.get(c.idName)
		id.fromLedger = true
		id.owner, id.kind = li.owner, li.kind
		e.ids.addEnd(id, li.endDate)
		if !li.offboarded.IsZero() {
			id.setMore().offboardedAt = li.offboarded
		}
		if e.in.Ledger != "" {
			id.loc = locate.Location{File: e.in.Ledger, Line: 1}
		}
		c.identity = id
	}
	e.res.DeclaredIdentities = len(e.ids.order)

	byOwnerKey := map[string]*identity{}
	for _, id := range e.ids.order {
		if problem := id.judge(e.in.Now, e.ids.loc); problem != "" {
			loc := id.x().exceptionLoc
			if loc.IsZero() {
				loc = id.loc
			}
			e.add(Finding{
				Rule: RuleExpiredException, Identity: id.name, Owner: id.owner, EndDate: id.endDate,
				Message: fmt.Sprintf("The exception (%s, %q, approved by %q) of identity %s %s.", id.x().exception.Kind, id.x().exception.Reason, id.x().exception.ApprovedBy, id.name, problem),
				Checked: "exception expires " + id.x().exception.Expires, Location: loc, Address: id.address,
			})
		}
		if id.ended {
			byOwnerKey[strings.ToLower(id.name)] = id
			if id.email != "" {
				byOwnerKey[strings.ToLower(id.email)] = id
			}
		}
	}
	var lastOwner, lastKey string // identities share a few owners: lowered once per run of them
	for _, id := range e.ids.order {
		if id.ended || id.fromLedger {
			continue
		}
		var owner *identity
		ok := false
		if len(byOwnerKey) > 0 {
			if id.owner != lastOwner {
				lastOwner, lastKey = id.owner, strings.ToLower(strings.TrimSpace(id.owner))
			}
			owner, ok = byOwnerKey[lastKey]
		}
		switch {
		case strings.TrimSpace(id.owner) == "":
			e.add(Finding{Rule: RuleOrphanedOwner, Identity: id.name, EndDate: id.endDate, Location: id.loc, Address: id.address,
				Message: fmt.Sprintf("Identity %s has no owner.", id.name), Checked: "owner is empty"})
		case ok:
			e.add(Finding{Rule: RuleOrphanedOwner, Identity: id.name, Owner: id.owner, EndDate: id.endDate, Location: id.loc, Address: id.address,
				Message: fmt.Sprintf("Identity %s is owned by %s, an identity that ended %s.", id.name, id.owner, owner.judgedEnd.UTC().Format(time.RFC3339)),
				Checked: "owner " + id.owner + " is ended"})
		}
	}
	for _, c := range e.credSeq {
		if c.identity != nil {
			continue
		}
		key := c.key
		target, account, _ := connector.ParseID(key)
		msg := fmt.Sprintf("Credential %s names no identity (identity_id is empty).", key)
		check := "identity_id is empty"
		if c.idName != "" {
			msg = fmt.Sprintf("Credential %s belongs to identity %s, which no state, roster or ledger declares.", key, c.idName)
			check = "identity " + c.idName + " not found"
		}
		e.add(Finding{Rule: RuleOrphanedOwner, Target: target, Account: account, Identity: c.idName, Address: c.address,
			Message: msg, Checked: check, Location: e.credLoc(c, target)})
	}
}

// checkAllowList reports allow-list entries past their expiry once each.
func (e *engine) checkAllowList() {
	for _, a := range e.in.Policy.Allow {
		if !a.Expires.Passed(e.in.Now) {
			continue
		}
		e.add(Finding{
			Rule: RuleExpiredException, Target: a.Target, Account: a.Account.Text,
			Message: fmt.Sprintf("The allow-list entry for %s in target %s (%q, approved by %s) expired on %s and no longer allows anything.", a.Account.Text, a.Target, a.Reason, a.ApprovedBy, a.Expires),
			Checked: "policy.allow expires " + a.Expires.String(), Location: locate.Location{File: e.in.ConfigFile, Line: a.Line},
		})
	}
}

// credLoc is where a credential is declared: its resource block, else its
// identity's declaration, else its target's configuration line.
func (e *engine) credLoc(c *cred, target string) locate.Location {
	if loc, ok := e.in.Source.Resource(c.module, "managed", c.typ, c.name); ok {
		return loc
	}
	if c.identity != nil && !c.identity.loc.IsZero() && !c.identity.fromLedger {
		return c.identity.loc
	}
	if l := e.targetLoc(target); !l.IsZero() {
		return l
	}
	return e.fallbackLoc()
}

func (e *engine) targetLoc(target string) locate.Location {
	for _, t := range e.in.Targets {
		if t.Name == target && e.in.ConfigFile != "" {
			return locate.Location{File: e.in.ConfigFile, Line: t.Line}
		}
	}
	return e.fallbackLoc()
}

// ---------------------------------------------------------------- targets

func (e *engine) incomplete(target, format string, args ...any) {
	e.res.Incomplete = append(e.res.Incomplete, Problem{Target: target, Message: fmt.Sprintf(format, args...)})
}

// scanTarget judges one target's listing as it arrives, then verifies what
// the ledger says was revoked, and closes the target.
func (e *engine) scanTarget(ctx context.Context, l *listing) {
	spec := l.spec
	sum := TargetSummary{Name: spec.Name, Declared: e.perTgt[spec.Name]}
	defer func() {
		if l.target != nil {
			l.target.Close()
		}
		sum.Duration, sum.Listing = time.Since(l.start), l.took
		e.res.Targets = append(e.res.Targets, sum)
		if e.in.Progress != nil {
			status := fmt.Sprintf("%d accounts, %d declared", sum.Accounts, sum.Declared)
			if sum.Error != "" {
				status = "INCOMPLETE: " + sum.Error
			}
			e.in.Progress(fmt.Sprintf("%s (%s): %s in %s", spec.Name, sum.System, status, sum.Duration.Round(time.Millisecond)))
		}
	}()
	fail := func(err error) {
		sum.Error = err.Error()
		e.incomplete(spec.Name, "target %s could not be read: %v", spec.Name, err)
	}
	var verify []string // undeclared or declared keys the ledger says are revoked, seen usable
	var members []memberCheck
	var exp time.Time
	for b := l.next(); b != nil; b = l.next() {
		for i := range b {
			e.account(spec.Name, l.desc.System, b[i].account(&exp), &verify, &members)
		}
		l.recycle(b)
	}
	<-l.done
	t, err := l.target, l.err
	if l.openErr != nil {
		fail(l.openErr)
		return
	}
	d := l.desc
	sum.System, sum.Endpoint = d.System, d.Endpoint
	n := l.n
	sum.Accounts = n
	switch {
	case errors.Is(err, connector.ErrSuspectEmpty) && sum.Declared == 0:
		// An empty target where nothing is declared is plausible: the
		// connector flags every empty listing, the caller knows better.
	case err != nil:
		fail(fmt.Errorf("inventory: %w", err))
		return
	case n == 0 && sum.Declared > 0:
		fail(fmt.Errorf("inventory returned no accounts while state declares %d in this target: %w", sum.Declared, connector.ErrSuspectEmpty))
		return
	}
	for _, key := range verify {
		v, err := t.Verify(ctx, key)
		sum.Verified++
		if err != nil {
			fail(fmt.Errorf("verify %s: %w", key, err))
			continue
		}
		if v.Gone {
			continue
		}
		id := connector.ID(spec.Name, key)
		jk := joinKey(d.System, spec.Name, key)
		lc := e.ledger[jk]
		f := Finding{
			Rule: RuleRevocationNotPropagated, Target: spec.Name, System: d.System, Account: key, Identity: lc.identity,
			Message: fmt.Sprintf("The ledger records %s as revoked (line %d) but the target reports it usable: %s.", id, lc.line, v.Checked),
			Checked: v.Checked,
		}
		if c := e.creds[jk]; c != nil {
			f.Address, f.Location = c.address, e.credLoc(c, spec.Name)
			if c.identity != nil {
				f.Owner, f.EndDate = c.identity.owner, c.identity.endDate
			}
		} else {
			f.Location = e.targetLoc(spec.Name)
			if id := e.ids.byName[lc.identity]; id != nil {
				f.Owner, f.EndDate = id.owner, id.endDate
			} else if li, ok := e.ledgerID[lc.identity]; ok {
				f.Owner, f.EndDate = li.owner, li.endDate
			}
		}
		e.add(f)
	}
	e.checkMemberships(ctx, spec.Name, d.System, t, members, &sum, fail)
}

// memberCheck is a group membership of a usable user whose listing names
// no groups at all: providers leave groups out of their users (RFC 7643
// lets a server omit an attribute without values), so the listing cannot
// say the membership is gone.
type memberCheck struct {
	group, user, state string
	ledgerKey          string // a membership the ledger says was revoked
	declared           *cred  // a membership the state declares
}

// membershipVerifier is a target that checks one group membership by
// itself: the SCIM connector's VerifyGroupMembership, the same check a
// destroy's verification makes.
type membershipVerifier interface {
	VerifyGroupMembership(ctx context.Context, groupID, userID string) (connector.Verification, error)
}

// checkMemberships asks the target about the memberships the listing could
// not show. One it cannot verify makes the scan incomplete, never clean. A
// target without the check is judged by its listing alone.
func (e *engine) checkMemberships(ctx context.Context, target, system string, t connector.Target, checks []memberCheck, sum *TargetSummary, fail func(error)) {
	mv, ok := t.(membershipVerifier)
	if !ok {
		return
	}
	for _, m := range checks {
		v, err := mv.VerifyGroupMembership(ctx, m.group, m.user)
		sum.Verified++
		if err != nil {
			fail(fmt.Errorf("verify membership of %s in group %s: %w", m.user, m.group, err))
			continue
		}
		if v.Gone {
			continue
		}
		state := m.state + ", member of " + m.group + " (" + v.Checked + ")"
		if m.declared != nil {
			e.declaredAccount(target, system, m.group+"/"+m.user, m.declared, connector.Account{Key: m.group + "/" + m.user, Usable: true, State: state})
			continue
		}
		lc := e.ledger[m.ledgerKey]
		_, acct, _ := connector.ParseID(m.ledgerKey)
		e.add(Finding{
			Rule: RuleRevocationNotPropagated, Target: target, System: system, Account: acct, Identity: lc.identity, Owner: lc.owner, EndDate: lc.endDate,
			Message:  fmt.Sprintf("The ledger records the membership %s as revoked (line %d) but the target says user %s is in group %s again: %s.", m.ledgerKey, lc.line, m.user, m.group, v.Checked),
			Checked:  state,
			Location: e.targetLoc(target),
		})
	}
}

// canExpire reports whether a system can expire a credential by itself.
func canExpire(system string) bool { return system == "postgresql" || system == "ldap" }

// account judges one live account against the declarations. It runs once
// per account of every target: the maps are looked up with the key built
// in a reused buffer, and the key string is made only for a finding.
func (e *engine) account(target, system string, a connector.Account, verify *[]string, members *[]memberCheck) {
	e.keyBuf = appendJoinKey(e.keyBuf, system, target, a.Key)
	lc := e.ledger[string(e.keyBuf)]
	if c := e.findCred(e.keyBuf); c != nil {
		c.seen = true
		if lc != nil && lc.event == evidence.EventCredentialRevoked && a.Usable {
			*verify = append(*verify, a.Key)
			return
		}
		e.declaredAccount(target, system, a.Key, c, a)
	} else if lc != nil && lc.event == evidence.EventCredentialRevoked {
		*verify = append(*verify, a.Key)
	} else if a.Usable && !e.in.Policy.Excluded(target, a.Key) && !e.in.Policy.Excluded(target, a.Name) {
		if ok, _ := e.in.Policy.Allowed(target, a.Key, e.in.Now); ok == nil {
			if ok2, _ := e.in.Policy.Allowed(target, a.Name, e.in.Now); ok2 == nil {
				name := a.Key
				if a.Name != "" && a.Name != a.Key {
					name = fmt.Sprintf("%s (%s)", a.Key, a.Name)
				}
				e.add(Finding{
					Rule: RuleUnmanagedAccount, Target: target, System: system, Account: a.Key,
					Message: fmt.Sprintf("Account %s in target %s is usable and declared in no state, allow-list or exclusion.", name, target),
					Checked: a.State, Location: e.targetLoc(target),
				})
			}
		}
	}
	// Revoked group memberships of this user that are back.
	for _, key := range e.memberLedger[string(e.keyBuf)] {
		lc := e.ledger[key]
		_, acct, _ := connector.ParseID(key)
		group, _, _ := strings.Cut(acct, "/")
		if lc.event != evidence.EventCredentialRevoked || !a.Usable {
			continue
		}
		if !contains(a.Groups, group) {
			if len(a.Groups) == 0 {
				*members = append(*members, memberCheck{group: group, user: a.Key, state: a.State, ledgerKey: key})
			}
			continue
		}
		e.add(Finding{
			Rule: RuleRevocationNotPropagated, Target: target, System: system, Account: acct, Identity: lc.identity, Owner: lc.owner, EndDate: lc.endDate,
			Message:  fmt.Sprintf("The ledger records the membership %s as revoked (line %d) but the target lists user %s in group %s again.", key, lc.line, a.Key, group),
			Checked:  a.State + ", member of " + group,
			Location: e.targetLoc(target),
		})
	}
	// Group memberships of this user.
	for _, m := range e.members[string(e.keyBuf)] {
		m.seen = true
		if !a.Usable {
			continue
		}
		if !contains(a.Groups, m.group) {
			if len(a.Groups) == 0 {
				*members = append(*members, memberCheck{group: m.group, user: a.Key, state: a.State, declared: m})
			}
			continue
		}
		e.declaredAccount(target, system, m.group+"/"+a.Key, m, connector.Account{
			Key: m.group + "/" + a.Key, Usable: true, State: a.State + ", member of " + m.group,
		})
	}
}

// findCred is e.creds[key]. Targets often list accounts in the order they
// were created, which is often the order the state declares them: the
// credential after the last found is tried before the map.
func (e *engine) findCred(key []byte) *cred {
	if i := e.nextCred; i < len(e.credSeq) {
		if c := e.credSeq[i]; c.key == string(key) && c.typ != state.TypeLDAPAccount { // an LDAP key is not its id
			e.nextCred++
			return c
		}
	}
	c := e.creds[string(key)]
	if c != nil {
		e.nextCred = int(c.seq) + 1
	}
	return c
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// declaredAccount judges a declared credential (TARGET/ACCOUNT) against its
// live account.
func (e *engine) declaredAccount(target, system, account string, c *cred, a connector.Account) {
	ident := c.identity
	if ident == nil {
		return // reported as orphaned-owner already
	}
	// Most accounts are as declared: decided before any finding is built.
	if ident.ended {
		if !a.Usable {
			return
		}
	} else if ident.judgedEnd.IsZero() || c.typ == state.TypeSCIMMembership || !canExpire(system) ||
		(a.ExpiresAt != nil && !a.ExpiresAt.After(ident.judgedEnd)) {
		return
	}
	id := func() string { return connector.ID(target, account) } // for findings only
	f := Finding{Target: target, System: system, Account: account, Identity: ident.name, Owner: ident.owner,
		EndDate: ident.endDate, Address: c.address, Checked: a.State}
	switch {
	case ident.ended && a.Usable:
		f.Overdue = e.in.Now.Sub(ident.judgedEnd)
		if f.Overdue > e.in.SLA {
			f.Rule = RuleStaleAccess
			f.Message = fmt.Sprintf("%s is still usable %s after identity %s ended (SLA %s).", id(), FormatOverdue(f.Overdue), ident.name, lifecycle.FormatDuration(e.in.SLA))
		} else {
			f.Rule = RulePendingRevocation
			f.Message = fmt.Sprintf("%s is still usable; identity %s ended %s ago, within the SLA of %s.", id(), ident.name, orNow(FormatOverdue(f.Overdue)), lifecycle.FormatDuration(e.in.SLA))
		}
	case !ident.ended && canExpire(system) && !ident.judgedEnd.IsZero() && c.typ != state.TypeSCIMMembership:
		switch {
		case a.ExpiresAt == nil:
			f.Rule = RuleOutlivesLifecycle
			f.Message = fmt.Sprintf("%s has no target-side expiry; identity %s ends %s.", id(), ident.name, ident.judgedEnd.UTC().Format(time.RFC3339))
		case a.ExpiresAt.After(ident.judgedEnd):
			f.Rule = RuleOutlivesLifecycle
			f.Message = fmt.Sprintf("%s expires in the target at %s, %s after identity %s ends (%s).", id(), a.ExpiresAt.UTC().Format(time.RFC3339),
				FormatOverdue(a.ExpiresAt.Sub(ident.judgedEnd)), ident.name, ident.judgedEnd.UTC().Format(time.RFC3339))
		default:
			return
		}
	default:
		return
	}
	f.Location = e.credLoc(c, target)
	e.add(f)
}

func orNow(s string) string {
	if s == "" {
		return "just now"
	}
	return s
}

// checkUnscannedTargets makes the scan incomplete when state declares
// credentials in a target the configuration does not name: they were not
// checked, which is not the same as clean.
func (e *engine) checkUnscannedTargets() {
	configured := map[string]bool{}
	for _, t := range e.in.Targets {
		configured[t.Name] = true
	}
	var missing []string
	for t := range e.perTgt {
		if !configured[t] {
			missing = append(missing, t)
		}
	}
	sort.Strings(missing)
	for _, t := range missing {
		e.incomplete(t, "state declares %d credentials in target %s, which the configuration does not define: they were not checked", e.perTgt[t], t)
	}
}

// checkMissingEvidence reports credentials the ledger saw issued that are
// gone from every state with no revocation recorded.
func (e *engine) checkMissingEvidence() {
	if len(e.in.States) == 0 {
		return
	}
	for key, lc := range e.ledger {
		if lc.event == evidence.EventCredentialRevoked {
			continue
		}
		if _, ok := e.creds[key]; ok {
			continue
		}
		target, _, err := connector.ParseID(key)
		if err != nil {
			continue
		}
		account := lc.account
		f := Finding{
			Rule: RuleMissingEvidence, Target: target, System: lc.system, Account: account, Identity: lc.identity,
			Message:  fmt.Sprintf("The ledger's last record of %s is %s (line %d); it is in no state and no revocation is recorded.", connector.ID(target, account), lc.event, lc.line),
			Checked:  fmt.Sprintf("last ledger event %s; absent from %d state file(s)", lc.event, len(e.in.States)),
			Location: locate.Location{File: e.in.Ledger, Line: lc.line},
		}
		f.Owner, f.EndDate = lc.owner, lc.endDate
		if li, ok := e.ledgerID[lc.identity]; ok && f.Owner == "" {
			f.Owner, f.EndDate = li.owner, li.endDate
		}
		e.add(f)
	}
}

// add fills the rule's severity and the fingerprint and keeps the finding
// once.
func (e *engine) add(f Finding) {
	r, _ := RuleByID(f.Rule)
	f.Severity = r.Severity
	f.Fingerprint = Fingerprint(f.Rule, f.Target, f.Account, f.Identity)
	if f.Location.IsZero() {
		f.Location = e.fallbackLoc()
	}
	if e.seen[f.Fingerprint] {
		return
	}
	e.seen[f.Fingerprint] = true
	e.res.Findings = append(e.res.Findings, f)
}

// sortFindings orders by severity (highest first), rule, target, account,
// identity: stable output for diffs and tests.
func sortFindings(fs []Finding) {
	sort.Slice(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		for _, p := range [][2]string{{a.Rule, b.Rule}, {a.Target, b.Target}, {a.Account, b.Account}, {a.Identity, b.Identity}} {
			if p[0] != p[1] {
				return p[0] < p[1]
			}
		}
		return false
	})
}

// Counts returns the number of findings per severity.
func (r *Result) Counts() map[Severity]int {
	out := map[Severity]int{}
	for _, f := range r.Findings {
		out[f.Severity]++
	}
	return out
}

// AtOrAbove reports whether any finding is at or above the severity.
// SeverityNone never fails.
func (r *Result) AtOrAbove(s Severity) bool {
	if s == SeverityNone {
		return false
	}
	for _, f := range r.Findings {
		if f.Severity >= s {
			return true
		}
	}
	return false
}
