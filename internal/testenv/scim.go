package testenv

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
)

// scimEnterpriseSchema is the enterprise extension URN (RFC 7643 §4.3).
const scimEnterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// SCIMBasePath is where the test server mounts SCIM: URL ends with it.
const SCIMBasePath = "/scim/v2"

// The SCIM test server, in short:
//
//	srv := testenv.SCIMForTest(t, testenv.SCIMOptions{})   // strict, no faults
//	ids, _ := srv.SeedUsers(1000)                          // straight into the store
//	c, _ := scim.New(scim.Config{URL: srv.URL, Token: srv.Token})
//	srv.SetUserActive(ids[0], true)                        // out-of-band drift
//	srv.SetFaultRate(0.3) / srv.SetPermanentFailure(true)  // faults at runtime
//	srv.FailNext(1, testenv.SCIMFaultDropAfter)            // one precise fault
//	srv.SetQuirks(true)                                    // answer like Entra ID
//	srv.SetGroupMembers(testenv.SCIMMembersFilterOnly)     // groups without members, like AWS
//
// It is github.com/elimity-com/scim (routing, schema validation, filter
// parsing, PATCH validation) over an in-memory store (scim_store.go), behind
// a front door that injects faults, checks the bearer token and, in quirks
// mode, rewrites answers (scim_quirks.go).

// SCIMOptions configures a test SCIM server. The zero value is a strict,
// fault-free server over plain HTTP on 127.0.0.1.
type SCIMOptions struct {
	// Token is the bearer token the server requires; random when empty.
	Token string
	// Quirks starts the server answering the way Entra ID does (see
	// scimQuirks). Switchable at runtime with SetQuirks.
	Quirks bool
	// GroupMembers is how groups show their members (scim_members.go);
	// the zero value lists them. Switchable with SetGroupMembers.
	GroupMembers SCIMGroupMembers
	// TLS serves HTTPS with a self-signed certificate (SCIMServer.CACertPEM).
	TLS bool
	// MaxResults caps count on list requests, as providers do (default 1000).
	MaxResults int
	// FaultSeed seeds the fault schedule so that a run is reproducible.
	FaultSeed uint64
	// FaultRate is the share of requests, 0..1, that get a transient fault.
	FaultRate float64
	// FaultKinds are the faults drawn from (default SCIMTransientFaults).
	FaultKinds []SCIMFault
	// RetryAfter is the Retry-After value sent with an injected 429
	// (default "1"; seconds or an HTTP-date).
	RetryAfter string
	// SlowDelay is how long a slow answer takes (default 3s). Make it
	// longer than the client's per-request timeout.
	SlowDelay time.Duration
	// Now is the server clock for meta.created/lastModified (default time.Now).
	Now func() time.Time
}

// SCIMServer is a real SCIM 2.0 service provider (github.com/elimity-com/scim
// over an in-memory store) on a loopback port.
type SCIMServer struct {
	// URL is the SCIM base URL, e.g. http://127.0.0.1:41234/scim/v2.
	URL string
	// Token is the bearer token the server accepts.
	Token string
	// CACertPEM is the server certificate when TLS is on.
	CACertPEM []byte

	srv       *httptest.Server
	store     *scimStore
	api       http.Handler
	faults    *scimFaults
	quirks    atomic.Bool
	members   atomic.Int32 // a SCIMGroupMembers
	requests  atomic.Int64
	closing   chan struct{}
	closeOnce sync.Once
}

// SCIMStats counts what the server saw.
type SCIMStats struct {
	Requests int64 // every request, including injected failures
	Faults   int64 // requests that got an injected fault
}

// StartSCIM starts a server. Call Close when done.
func StartSCIM(opts SCIMOptions) (*SCIMServer, error) {
	if opts.Token == "" {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		opts.Token = "scim-" + hex.EncodeToString(b)
	}
	if opts.MaxResults <= 0 {
		opts.MaxResults = 1000
	}
	if opts.FaultKinds == nil {
		opts.FaultKinds = SCIMTransientFaults
	}
	if opts.RetryAfter == "" {
		opts.RetryAfter = "1"
	}
	if opts.SlowDelay <= 0 {
		opts.SlowDelay = 3 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	seed := opts.FaultSeed
	if seed == 0 {
		seed = 1
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("scim testenv: listen on loopback: %w", err)
	}
	scheme := "http"
	if opts.TLS {
		scheme = "https"
	}
	s := &SCIMServer{
		URL:     scheme + "://" + ln.Addr().String() + SCIMBasePath,
		Token:   opts.Token,
		store:   newSCIMStore(opts.Now),
		closing: make(chan struct{}),
		faults: &scimFaults{
			rng:        mrand.New(mrand.NewPCG(seed, seed^0x5c1f)),
			rate:       opts.FaultRate,
			kinds:      append([]SCIMFault(nil), opts.FaultKinds...),
			retryAfter: opts.RetryAfter,
			slow:       opts.SlowDelay,
		},
	}
	s.quirks.Store(opts.Quirks)
	s.members.Store(int32(opts.GroupMembers))

	api, err := s.newAPI(opts.MaxResults)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	s.api = api
	s.srv = httptest.NewUnstartedServer(s)
	_ = s.srv.Listener.Close()
	s.srv.Listener = ln
	if opts.TLS {
		s.srv.StartTLS()
		s.CACertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	} else {
		s.srv.Start()
	}
	return s, nil
}

// SCIMForTest starts a server that is closed when the test ends.
func SCIMForTest(tb testing.TB, opts SCIMOptions) *SCIMServer {
	tb.Helper()
	s, err := StartSCIM(opts)
	if err != nil {
		tb.Fatalf("start SCIM test server: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

func (s *SCIMServer) newAPI(maxResults int) (http.Handler, error) {
	st := s.store
	users := scimUserHandler{st: st, patcher: scimPatcher{core: scimWithCommon(st.userSchema), exts: st.userExts}}
	groups := scimGroupHandler{st: st, patcher: scimPatcher{core: scimWithCommon(st.groupSchema)}}
	exts := make([]scim.SchemaExtension, 0, len(st.userExts))
	for _, e := range st.userExts {
		exts = append(exts, scim.SchemaExtension{Schema: e})
	}
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{
			DocumentationURI: optional.NewString("https://github.com/sunset-iam/terraform-provider-sunset"),
			AuthenticationSchemes: []scim.AuthenticationScheme{{
				Type: scim.AuthenticationTypeOauthBearerToken, Name: "OAuth Bearer Token",
				Description: "Authentication with a bearer token", Primary: true,
			}},
			MaxResults:       maxResults,
			SupportFiltering: true,
			SupportPatch:     true,
		},
		ResourceTypes: []scim.ResourceType{
			{
				ID: optional.NewString("User"), Name: "User", Endpoint: "/Users",
				Description: optional.NewString("User Account"),
				Schema:      st.userSchema, SchemaExtensions: exts, Handler: users,
			},
			{
				ID: optional.NewString("Group"), Name: "Group", Endpoint: "/Groups",
				Description: optional.NewString("Group"),
				Schema:      st.groupSchema, Handler: groups,
			},
		},
	}, scim.WithBaseURL(s.URL))
	if err != nil {
		return nil, fmt.Errorf("scim testenv: %w", err)
	}
	// The library routes on "/v2/..." after trimming "/v2"; strip the rest
	// of our mount point.
	return http.StripPrefix(strings.TrimSuffix(SCIMBasePath, "/v2"), srv), nil
}

// ServeHTTP is the front door: faults (as a proxy or rate limiter in front
// of the service would produce them), then authentication, then quirks, then
// the library.
func (s *SCIMServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if r.URL.Path != SCIMBasePath && !strings.HasPrefix(r.URL.Path, SCIMBasePath+"/") {
		scimWriteError(w, http.StatusNotFound, "not a SCIM endpoint")
		return
	}
	next := s.api
	if mode := SCIMGroupMembers(s.members.Load()); mode != SCIMMembersListed {
		next = scimMembersQuirk(mode, next)
	}
	if s.quirks.Load() {
		next = scimQuirks(next)
	}
	if fault, permanent, ok := s.faults.next(); ok {
		if s.inject(w, r, fault, permanent, s.authorised(next)) {
			return
		}
	}
	s.authorised(next).ServeHTTP(w, r)
}

func (s *SCIMServer) authorised(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sunset-testenv"`)
			scimWriteError(w, http.StatusUnauthorized, "a valid bearer token is required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Close stops the server, cutting short any slow answer in progress.
func (s *SCIMServer) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// SetQuirks switches Entra-style answers on or off.
func (s *SCIMServer) SetQuirks(on bool) { s.quirks.Store(on) }

// SetFaultRate sets the share (0..1) of requests that get a transient
// fault; 0 is back to normal.
func (s *SCIMServer) SetFaultRate(rate float64) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.rate = rate
}

// SetFaultKinds chooses which transient faults are drawn.
func (s *SCIMServer) SetFaultKinds(kinds ...SCIMFault) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.kinds = append([]SCIMFault(nil), kinds...)
}

// SetRetryAfter sets the Retry-After value sent with injected 429s.
func (s *SCIMServer) SetRetryAfter(v string) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.retryAfter = v
}

// FailNext injects kind into the next n requests, whatever the rate: the
// deterministic way to say "lose the answer to this create".
func (s *SCIMServer) FailNext(n int, kind SCIMFault) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	for range n {
		s.faults.queued = append(s.faults.queued, kind)
	}
}

// SetPermanentFailure makes every request fail with 503 until switched off.
func (s *SCIMServer) SetPermanentFailure(on bool) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.permanent = on
}

// Stats reports request and fault counts so far.
func (s *SCIMServer) Stats() SCIMStats {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return SCIMStats{Requests: s.requests.Load(), Faults: s.faults.injected}
}

// ---------------------------------------------------------------- out of band

// SCIMUser is a user to put straight into the store, bypassing HTTP.
type SCIMUser struct {
	UserName, DisplayName, GivenName, FamilyName, ExternalID, Email string
	// Inactive creates the user with active=false.
	Inactive bool
	// EmployeeNumber and Department go to the enterprise extension.
	EmployeeNumber, Department string
	// EndDate goes to the SCIMHRSchema extension ("endDate").
	EndDate string
}

func (u SCIMUser) doc() map[string]any {
	d := map[string]any{"userName": u.UserName, "active": !u.Inactive}
	if u.DisplayName != "" {
		d["displayName"] = u.DisplayName
	}
	if u.GivenName != "" || u.FamilyName != "" {
		name := map[string]any{}
		if u.GivenName != "" {
			name["givenName"] = u.GivenName
		}
		if u.FamilyName != "" {
			name["familyName"] = u.FamilyName
		}
		d["name"] = name
	}
	if u.ExternalID != "" {
		d["externalId"] = u.ExternalID
	}
	if u.Email != "" {
		d["emails"] = []any{map[string]any{"value": u.Email, "type": "work", "primary": true}}
	}
	if u.EmployeeNumber != "" || u.Department != "" {
		ent := map[string]any{}
		if u.EmployeeNumber != "" {
			ent["employeeNumber"] = u.EmployeeNumber
		}
		if u.Department != "" {
			ent["department"] = u.Department
		}
		d[scimEnterpriseSchema] = ent
	}
	if u.EndDate != "" {
		d[SCIMHRSchema] = map[string]any{"endDate": u.EndDate}
	}
	return d
}

// AddUser stores one user and returns its id.
func (s *SCIMServer) AddUser(u SCIMUser) (string, error) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	rec, err := s.store.insertUserLocked(u.doc())
	if err != nil {
		return "", err
	}
	return rec.id, nil
}

// SeedUsers stores n generated users (seed-0000001, ...) with core and
// enterprise attributes and returns their ids in order.
func (s *SCIMServer) SeedUsers(n int) ([]string, error) {
	ids := make([]string, 0, n)
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	for range n {
		s.store.seedSeq++
		i := s.store.seedSeq
		name := fmt.Sprintf("seed-%07d", i)
		rec, err := s.store.insertUserLocked(SCIMUser{
			UserName: name, DisplayName: fmt.Sprintf("Seed User %d", i),
			GivenName: "Seed", FamilyName: fmt.Sprintf("User%d", i),
			ExternalID: "ext-" + name, Email: name + "@example.test",
			EmployeeNumber: fmt.Sprint(i), Department: fmt.Sprintf("dept-%d", i%10),
		}.doc())
		if err != nil {
			return ids, err
		}
		ids = append(ids, rec.id)
	}
	return ids, nil
}

// UpdateUser changes a user out of band (as an admin console would),
// moving meta.lastModified and the version when something changed.
func (s *SCIMServer) UpdateUser(id string, change func(doc map[string]any)) error {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	rec, ok := s.store.users.byID[id]
	if !ok {
		return fmt.Errorf("scim testenv: no user %q", id)
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.doc, &doc); err != nil {
		return err
	}
	change(doc)
	return s.store.updateUserLocked(rec, doc)
}

// SetUserActive reactivates or deactivates a user out of band.
func (s *SCIMServer) SetUserActive(id string, active bool) error {
	return s.UpdateUser(id, func(doc map[string]any) { doc["active"] = active })
}

// DeleteUser removes a user out of band.
func (s *SCIMServer) DeleteUser(id string) error {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	rec, ok := s.store.users.byID[id]
	if !ok {
		return fmt.Errorf("scim testenv: no user %q", id)
	}
	s.store.deleteUserLocked(rec)
	return nil
}

// SCIMUserState is a user as stored, for assertions.
type SCIMUserState struct {
	ID, UserName, ExternalID string
	Active                   bool
	Groups                   []string
	Created, LastModified    time.Time
	Version                  string
	// Attributes is the stored document (canonical attribute names,
	// extensions under their schema URN).
	Attributes map[string]any
}

// User returns a user's stored state.
func (s *SCIMServer) User(id string) (SCIMUserState, bool) {
	sn, ok := s.store.getUser(id)
	if !ok {
		return SCIMUserState{}, false
	}
	var doc map[string]any
	_ = json.Unmarshal(sn.doc, &doc)
	st := SCIMUserState{
		ID: sn.id, ExternalID: sn.externalID, UserName: scimString(doc, "userName"),
		Created: sn.created, LastModified: sn.updated, Version: sn.etag, Attributes: doc,
	}
	st.Active, _ = doc["active"].(bool)
	for _, g := range sn.groups {
		st.Groups = append(st.Groups, g["value"].(string))
	}
	return st, true
}

// UserIDByUserName finds a user by userName (case-insensitive).
func (s *SCIMServer) UserIDByUserName(userName string) (string, bool) {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	rec, ok := s.store.byUserName[strings.ToLower(userName)]
	if !ok {
		return "", false
	}
	return rec.id, true
}

// UserCount is the number of stored users.
func (s *SCIMServer) UserCount() int {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	return len(s.store.users.order)
}

// AddGroup stores a group with the given member user ids.
func (s *SCIMServer) AddGroup(displayName string, memberIDs ...string) (string, error) {
	members := make([]any, 0, len(memberIDs))
	for _, id := range memberIDs {
		members = append(members, map[string]any{"value": id})
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	rec, err := s.store.insertGroupLocked(map[string]any{"displayName": displayName, "members": members})
	if err != nil {
		return "", err
	}
	return rec.id, nil
}

// GroupMembers returns the user ids in a group.
func (s *SCIMServer) GroupMembers(id string) ([]string, bool) {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	rec, ok := s.store.groups.byID[id]
	if !ok {
		return nil, false
	}
	var out []string
	for uid := range s.store.groupMembersLocked(rec) {
		out = append(out, uid)
	}
	slices.Sort(out)
	return out, true
}
