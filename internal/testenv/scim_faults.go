package testenv

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// SCIMFault is one kind of failure the test server can inject.
type SCIMFault string

const (
	// SCIMFaultTooMany answers 429 with a Retry-After header.
	SCIMFaultTooMany SCIMFault = "429"
	// SCIMFaultUnavailable answers 503 without touching the store.
	SCIMFaultUnavailable SCIMFault = "503"
	// SCIMFaultDrop closes the connection before the request is handled.
	SCIMFaultDrop SCIMFault = "drop"
	// SCIMFaultDropAfter handles the request, then closes the connection
	// without answering: the change happened but the client cannot know.
	// This is what makes a retried POST dangerous.
	SCIMFaultDropAfter SCIMFault = "drop-after"
	// SCIMFaultSlow handles the request at once, then holds the answer for
	// SlowDelay (longer than the client's timeout). Doing the work first
	// keeps runs deterministic: a server that worked *after* the delay could
	// replay a create after the client had since deleted the user.
	SCIMFaultSlow SCIMFault = "slow"
)

// SCIMTransientFaults is the default mix of transient faults.
var SCIMTransientFaults = []SCIMFault{SCIMFaultTooMany, SCIMFaultUnavailable, SCIMFaultDrop, SCIMFaultDropAfter, SCIMFaultSlow}

// scimFaults decides, deterministically from a seed, which requests fail.
type scimFaults struct {
	mu         sync.Mutex
	rng        *rand.Rand
	rate       float64
	kinds      []SCIMFault
	permanent  bool
	retryAfter string
	slow       time.Duration
	injected   int64
	queued     []SCIMFault // FailNext: injected first, in order
}

// next returns the fault to inject into this request, if any.
func (f *scimFaults) next() (SCIMFault, bool, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queued) > 0 {
		fault := f.queued[0]
		f.queued = f.queued[1:]
		f.injected++
		return fault, false, true
	}
	if f.permanent {
		f.injected++
		return "", true, true
	}
	if f.rate <= 0 || len(f.kinds) == 0 {
		return "", false, false
	}
	if f.rng.Float64() >= f.rate {
		return "", false, false
	}
	f.injected++
	return f.kinds[f.rng.IntN(len(f.kinds))], false, true
}

func (f *scimFaults) settings() (retryAfter string, slow time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.retryAfter, f.slow
}

// inject carries out a fault. It reports whether the request is finished.
func (s *SCIMServer) inject(w http.ResponseWriter, r *http.Request, fault SCIMFault, permanent bool, next http.Handler) bool {
	retryAfter, slow := s.faults.settings()
	if permanent {
		scimWriteError(w, http.StatusServiceUnavailable, "injected permanent failure")
		return true
	}
	switch fault {
	case SCIMFaultTooMany:
		w.Header().Set("Retry-After", retryAfter)
		scimWriteError(w, http.StatusTooManyRequests, "injected rate limit")
	case SCIMFaultUnavailable:
		scimWriteError(w, http.StatusServiceUnavailable, "injected outage")
	case SCIMFaultDrop:
		scimHangUp(w)
	case SCIMFaultDropAfter:
		next.ServeHTTP(&scimCapture{header: http.Header{}}, r)
		scimHangUp(w)
	case SCIMFaultSlow:
		c := &scimCapture{header: http.Header{}}
		next.ServeHTTP(c, r)
		t := time.NewTimer(slow)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done(): // the client gave up
			return true
		case <-s.closing:
			return true
		}
		for k, v := range c.header {
			w.Header()[k] = v
		}
		w.WriteHeader(c.status)
		_, _ = w.Write(c.body.Bytes())
	}
	return true
}

func scimHangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // net/http drops the connection
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func scimWriteError(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"` +
		strconv.Itoa(status) + `","detail":` + strconv.Quote(detail) + `}`))
}

// scimCapture buffers a response so it can be rewritten (quirks) or thrown
// away (drop-after).
type scimCapture struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *scimCapture) Header() http.Header { return c.header }

func (c *scimCapture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *scimCapture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}
