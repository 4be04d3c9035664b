package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"sync"
)

// gcFloor is the heap a scan may grow to before its first collection.
//
// A scan is an index of what the states declare, built at the start and
// kept to the end: nearly everything it allocates stays live. Collections
// while the heap is small (the runtime starts at 4 MiB and doubles) find
// little to free and each marks the whole index again; for a state of a
// hundred thousand credentials they cost a fifth of the scan's CPU. So the
// first collection waits until the process holds gcFloor, and from then on
// the runtime's default pacing (GOGC=100) holds as for any program: peak
// memory is at most gcFloor or the usual twice the live heap, whichever is
// more. GOGC or GOMEMLIMIT in the environment is left to the runtime.
const gcFloor = 128 << 20

// collectFromFloor applies gcFloor until the first collection.
//
// The runtime's smallest heap goal is 4 MiB scaled by GOGC/100, so GOGC
// raised to gcFloor/4 MiB×100 puts the first collection at gcFloor. The
// collection then finalizes a sentinel, which puts GOGC back: the next
// goal is twice the live heap, as usual. (A memory limit would collect
// again and again while the heap is above it, until the finalizer ran.)
func collectFromFloor() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	percent := debug.SetGCPercent(gcFloor / (4 << 20) * 100)
	if percent <= 0 {
		debug.SetGCPercent(percent) // off already: leave it so
		return
	}
	var once sync.Once
	restore := func() { once.Do(func() { debug.SetGCPercent(percent) }) }
	// The sentinel is garbage at once, so the first collection queues its
	// finalizer.
	runtime.SetFinalizer(&gcSentinel{}, func(*gcSentinel) { restore() })
}

// gcSentinel holds a pointer so that it is not a tiny allocation (a tiny
// object's finalizer may never run).
type gcSentinel struct{ _ *int }
