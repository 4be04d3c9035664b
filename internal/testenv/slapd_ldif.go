package testenv

import (
	"bufio"
	"fmt"
	"io"
	"time"
)

// SlapdBulkSpec describes a synthetic directory for benchmarks.
type SlapdBulkSpec struct {
	// Accounts is the number of inetOrgPerson entries under SlapdPeopleDN,
	// named uid=user%07d.
	Accounts int
	// Groups is the number of groupOfNames entries under SlapdGroupsDN,
	// named cn=group%04d; account i is a member of group i%Groups.
	Groups int
	// Now anchors expiry dates: every third account has a pwdEndTime a
	// year after Now, every seventh one a pwdEndTime a day before Now, and
	// every tenth one is locked.
	Now time.Time
}

// SlapdWriteBulkLDIF streams an LDIF for StartSlapd's LDIFFile / BulkLoad.
// slapadd does not run overlays, so the memberOf values the memberof
// overlay would maintain are written explicitly. Memory stays flat: entries
// are generated as they are written.
func SlapdWriteBulkLDIF(w io.Writer, spec SlapdBulkSpec) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	groupDN := func(g int) string { return fmt.Sprintf("cn=group%04d,%s", g, SlapdGroupsDN) }
	userDN := func(i int) string { return fmt.Sprintf("uid=user%07d,%s", i, SlapdPeopleDN) }
	future := spec.Now.Add(365 * 24 * time.Hour).UTC().Format("20060102150405Z")
	past := spec.Now.Add(-24 * time.Hour).UTC().Format("20060102150405Z")
	for i := 0; i < spec.Accounts; i++ {
		fmt.Fprintf(bw, "dn: %s\nobjectClass: inetOrgPerson\nuid: user%07d\ncn: User %d\nsn: %d\nmail: user%07d@example.org\n",
			userDN(i), i, i, i, i)
		if spec.Groups > 0 {
			fmt.Fprintf(bw, "memberOf: %s\n", groupDN(i%spec.Groups))
		}
		switch {
		case i%7 == 0:
			fmt.Fprintf(bw, "pwdEndTime: %s\n", past)
		case i%3 == 0:
			fmt.Fprintf(bw, "pwdEndTime: %s\n", future)
		}
		if i%10 == 0 {
			fmt.Fprintf(bw, "pwdAccountLockedTime: 000001010000Z\n")
		}
		bw.WriteString("\n")
	}
	for g := 0; g < spec.Groups; g++ {
		fmt.Fprintf(bw, "dn: %s\nobjectClass: groupOfNames\ncn: group%04d\n", groupDN(g), g)
		n := 0
		for i := g; i < spec.Accounts; i += spec.Groups {
			fmt.Fprintf(bw, "member: %s\n", userDN(i))
			n++
		}
		if n == 0 {
			// groupOfNames needs a member; the base entry stands in.
			fmt.Fprintf(bw, "member: %s\n", SlapdBaseDN)
		}
		bw.WriteString("\n")
	}
	return bw.Flush()
}
