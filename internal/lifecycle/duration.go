package lifecycle

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxDuration bounds every duration sunset reads.
const maxDuration = 100 * 365 * 24 * time.Hour

// ParseDuration accepts Go durations ("36h", "90m") and whole days or weeks
// ("365d", "2w"), the units lifecycles are written in. Negative and zero
// durations are refused: every use in sunset is a window or a limit.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty duration: want e.g. \"14d\", \"2w\" or \"36h\"")
	}
	for _, unit := range []struct {
		suffix string
		size   time.Duration
	}{{"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}} {
		num, ok := strings.CutSuffix(s, unit.suffix)
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(num, 10, 32)
		if err != nil || n == 0 {
			return 0, fmt.Errorf("duration %q: want a positive whole number before %q", s, unit.suffix)
		}
		// 100 years is far beyond any lifecycle and keeps the product well
		// inside time.Duration's range; compare before multiplying, which
		// could overflow.
		if n > uint64(maxDuration/unit.size) {
			return 0, fmt.Errorf("duration %q is longer than 100 years", s)
		}
		return time.Duration(n) * unit.size, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: want e.g. \"14d\", \"2w\" or \"36h\"", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration %q must be positive", s)
	}
	if d > maxDuration {
		return 0, fmt.Errorf("duration %q is longer than 100 years", s)
	}
	return d, nil
}

// FormatDuration writes a duration the way ParseDuration reads it, in whole
// days where it divides evenly.
func FormatDuration(d time.Duration) string {
	day := 24 * time.Hour
	if d > 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}
