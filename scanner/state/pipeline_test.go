package state

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"strings"
	"testing"
)

// bigState is a raw state of n identities and n credentials with the
// shapes that take the reader's less usual paths: escaped and numeric
// for_each keys, a deposed object, a module, resources whose instances come
// before their type, and foreign resources in between. want is what it
// declares, as summary prints it.
func bigState(n int) (state []byte, want string) {
	var b, w bytes.Buffer
	b.WriteString(`{"version":4,"terraform_version":"1.11.4","serial":3,"lineage":"big","outputs":{},"resources":[`)
	b.WriteString(`{"mode":"managed","type":"time_static","name":"t","provider":"p","instances":[{"attributes":{"id":"x","rfc3339":"2027-01-01T00:00:00Z"}}]},`)
	b.WriteString(`{"mode":"managed","type":"sunset_identity","name":"svc","provider":"p","instances":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		key, name := fmt.Sprintf("svc-%06d", i), fmt.Sprintf("svc-%06d", i)
		if i%97 == 5 {
			key, name = fmt.Sprintf(`svc\"%d`, i), fmt.Sprintf(`svc"%d`, i)
		}
		fmt.Fprintf(&b, `{"index_key":"%s","schema_version":0,"attributes":{"end_date":"2029-12-%02d","id":"%s","kind":"service_account","labels":{"team":"a"},"name":"%s","owner":"o%d@example.com","status":"active"},"sensitive_attributes":[],"dependencies":["x"]}`,
			key, 1+i%28, key, key, i%3)
		fmt.Fprintf(&w, "I sunset_identity.svc[%q] name=%s kind=service_account owner=o%d@example.com end=2029-12-%02d status=active\n", name, name, i%3, 1+i%28)
	}
	b.WriteString(`]},{"mode":"managed","type":"time_static","name":"u","provider":"p","instances":[{"attributes":{"id":"y"}}]},`)
	// Instances before the type: kept until the resource is known.
	b.WriteString(`{"instances":[{"index_key":0,"attributes":{"id":"w/first","identity_id":"svc-000000","target":"w"}}],"mode":"managed","type":"sunset_postgres_role","name":"early","provider":"p"},`)
	fmt.Fprintf(&w, "C sunset_postgres_role.early[0] module=\"\" type=sunset_postgres_role name=early id=w/first target=w account=first identity=svc-000000 expires= group= user=\n")
	b.WriteString(`{"module":"module.db","mode":"managed","type":"sunset_postgres_role","name":"r","provider":"p","instances":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		key := fmt.Sprintf("svc-%06d", i)
		deposed := ""
		addr := fmt.Sprintf("module.db.sunset_postgres_role.r[%q]", key)
		if i == n/2 {
			deposed = `,"deposed":"0000abcd"`
			addr += " (deposed 0000abcd)"
		}
		fmt.Fprintf(&b, `{"index_key":"%s"%s,"schema_version":0,"attributes":{"connection_limit":-1,"expires_at":"2029-12-31","id":"w/r_%06d","identity_id":"%s","member_of":["g1","g2"],"name":"r_%06d","password_wo":null,"target":"w","valid_until":"2030-01-01T00:00:00Z"},"sensitive_attributes":[[{"type":"get_attr","value":"password_wo"}]]}`,
			key, deposed, i, key, i)
		fmt.Fprintf(&w, "C %s module=\"module.db\" type=sunset_postgres_role name=r id=w/r_%06d target=w account=r_%06d identity=%s expires=2029-12-31 group= user=\n", addr, i, i, key)
	}
	b.WriteString(`]}],"check_results":null}`)
	return b.Bytes(), sortedSummary(w.String())
}

// sortedSummary puts identities before credentials, as summary does.
func sortedSummary(s string) string {
	var ids, creds strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(line, "I ") {
			ids.WriteString(line)
		} else {
			creds.WriteString(line)
		}
	}
	return ids.String() + creds.String()
}

// chunks returns at most max bytes per Read, at random.
type chunks struct {
	r   io.Reader
	rnd *rand.Rand
	max int
}

func (c *chunks) Read(p []byte) (int, error) {
	if n := 1 + c.rnd.Intn(c.max); len(p) > n {
		p = p[:n]
	}
	return c.r.Read(p)
}

// A state many times the size of the reader's buffers reads the same
// whatever the size of the reads: items are decoded while the reader goes
// on in other buffers.
func TestALargeStateReadsTheSameInAnyPieces(t *testing.T) {
	in, want := bigState(3000)
	for _, max := range []int{1 << 20, 4096, 61, 7} {
		got, form, err := readAll(&chunks{bytes.NewReader(in), rand.New(rand.NewSource(int64(max))), max})
		if err != nil || form != FormRaw {
			t.Fatalf("reads of up to %d bytes: %s, %v", max, form, err)
		}
		if got != want {
			t.Fatalf("reads of up to %d bytes: declarations differ:\n%.2000s\nwant\n%.2000s", max, diffFrom(got, want), diffFrom(want, got))
		}
	}
}

// diffFrom is a from its first difference with b.
func diffFrom(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	i = strings.LastIndexByte(a[:i], '\n') + 1
	return a[i:]
}

// Whatever the reads, a damaged state is refused with the same error, and
// the first problem in the file is the one named: a bad attribute of an
// instance (found as the instance is decoded) before a syntax error further
// on (found as the file is read).
func TestTheFirstProblemInTheFileIsTheOneReported(t *testing.T) {
	in, _ := bigState(2000)
	at := func(s string, nth int) int { // the nth occurrence of s
		i := -1
		for ; nth > 0; nth-- {
			i += 1 + bytes.Index(in[i+1:], []byte(s))
		}
		return i
	}
	bad := at(`"end_date":"2029-12-`, 1500) + len(`"end_date":"`)
	cases := []struct {
		name string
		edit func([]byte) []byte
		want string
	}{
		{"bad end date, then a syntax error", func(b []byte) []byte {
			copy(b[bad:], "20291231xx")
			b[at(`"connection_limit"`, 1000)] = '#'
			return b
		}, `svc["svc-001499"]: end_date: `},
		{"syntax error, then a bad end date", func(b []byte) []byte {
			copy(b[bad:], "20291231xx")
			b[at(`"kind"`, 100)] = '#'
			return b
		}, "want an object key, found '#'"},
		{"truncated after a bad expiry", func(b []byte) []byte {
			i := at(`"expires_at":"`, 1700) + len(`"expires_at":"`)
			copy(b[i:], "never!")
			return b[:i+5000]
		}, `r["svc-001699"]: expires_at: `},
		{"truncated", func(b []byte) []byte { return b[:len(b)*2/3] }, "the file ends early"},
		{"a bad id in the last batch", func(b []byte) []byte {
			i := at(`"id":"w/r_`, 1999)
			copy(b[i:], `"id":"w/r_`)
			copy(b[i+len(`"id":"w`):], `x`)
			return b
		}, `id "wxr_001998" is not of the form TARGET/ACCOUNT`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.edit(bytes.Clone(in))
			var first string
			for _, max := range []int{1 << 20, 4096, 13} {
				_, _, err := readAll(&chunks{bytes.NewReader(b), rand.New(rand.NewSource(1)), max})
				if err == nil {
					t.Fatalf("reads of up to %d bytes: accepted", max)
				}
				if !strings.Contains(err.Error(), c.want) {
					t.Fatalf("reads of up to %d bytes: %v, want it to name %q", max, err, c.want)
				}
				if first == "" {
					first = err.Error()
				} else if err.Error() != first {
					t.Fatalf("reads of up to %d bytes: %v; whole: %s", max, err, first)
				}
			}
		})
	}
}

// A Visitor's error stops the read: it is returned and the Visitor is
// called no more.
func TestAVisitorErrorInALargeStateStopsTheRead(t *testing.T) {
	in, _ := bigState(3000)
	stop := errors.New("enough")
	calls := 0
	_, err := Read(bytes.NewReader(in), "big", Visitor{Credential: func(Credential) error {
		calls++
		if calls == 1500 {
			return stop
		}
		return nil
	}})
	if !errors.Is(err, stop) || calls != 1500 {
		t.Fatalf("err = %v after %d calls; want %v after 1500", err, calls, stop)
	}
}

// A Visitor that panics panics in the caller's goroutine, as it would if
// the Visitor ran there, and the read stops.
func TestAVisitorPanicReachesTheCaller(t *testing.T) {
	in, _ := bigState(3000)
	calls := 0
	defer func() {
		if p := recover(); p != "boom" || calls != 700 {
			t.Fatalf("recovered %v after %d calls; want boom after 700", p, calls)
		}
	}()
	Read(bytes.NewReader(in), "big", Visitor{Identity: func(Identity) error {
		if calls++; calls == 700 {
			panic("boom")
		}
		return nil
	}})
	t.Fatal("no panic")
}
