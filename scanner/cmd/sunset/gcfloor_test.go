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
	want := gcFloor / (4 << 20) * 100
	if got := debug.SetGCPercent(want); got != want {
		t.Fatalf("GC percent during the floor = %d, want %d", got, want)
	}
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Fatalf("memory limit = %d, want it left alone (%d)", got, limit)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC() // the finalizer runs after a collection
		time.Sleep(10 * time.Millisecond)
		if got := debug.SetGCPercent(100); got == 100 {
			break
		} else if got != want {
			t.Fatalf("GC percent after a collection = %d, want 100", got)
		} else {
			debug.SetGCPercent(want)
		}
		if time.Now().After(deadline) {
			t.Fatal("the pacing was not restored after a collection")
		}
	}
}

// GOGC=off stays off.
func TestCollectFromFloorLeavesGCOff(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	percent := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(percent)
	collectFromFloor()
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Fatalf("GC percent = %d, want -1 (off)", got)
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
