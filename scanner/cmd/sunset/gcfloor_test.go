package main

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// The floor holds until the first collection, then the runtime's pacing
// is back as it was.
func TestCollectFromFloor(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	percent := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(-1)
	defer debug.SetGCPercent(percent)
	defer debug.SetMemoryLimit(limit)

	collectFromFloor()
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Fatalf("GC percent during the floor = %d, want -1 (off)", got)
	}
	if got := debug.SetMemoryLimit(-1); got != gcFloor {
		t.Fatalf("memory limit during the floor = %d, want %d", got, gcFloor)
	}
	runtime.GC()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC() // the finalizer runs after a collection
		if debug.SetGCPercent(-1) == 100 {
			debug.SetGCPercent(100)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the pacing was not restored after a collection")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := debug.SetMemoryLimit(-1); got == gcFloor {
		t.Fatalf("memory limit still %d after the first collection", got)
	}
}

// GOGC in the environment is the user's choice.
func TestCollectFromFloorLeavesGOGC(t *testing.T) {
	t.Setenv("GOGC", "50")
	percent := debug.SetGCPercent(77)
	defer debug.SetGCPercent(percent)
	collectFromFloor()
	if got := debug.SetGCPercent(77); got != 77 {
		t.Fatalf("GC percent = %d with GOGC set, want it left alone (77)", got)
	}
}
