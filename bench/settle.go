package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Settling: namespaces are destroyed asynchronously by the kernel (the
// netns clean-up work runs after the last process left), so a phase that
// just ended can still cost CPU while the next is timed. Before each
// phase, wait until the CPUs have been idle for a while.
const (
	settleWindow  = 250 * time.Millisecond
	settleIdle    = 0.90 // fraction of CPU time idle over one window
	settleTimeout = 8 * time.Second
)

// cpuTimes returns total and idle (idle + iowait) jiffies from /proc/stat.
func cpuTimes() (total, idle uint64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("reading /proc/stat: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: %q: %w", s, err)
		}
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return total, idle, nil
}

// settle waits until one window was at least settleIdle idle, or
// settleTimeout passed; it returns how long it waited and whether the
// machine settled.
func settle() (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < settleTimeout {
		t0, i0, err := cpuTimes()
		if err != nil {
			return time.Since(start), false
		}
		time.Sleep(settleWindow)
		t1, i1, err := cpuTimes()
		if err != nil {
			return time.Since(start), false
		}
		if t1 > t0 && float64(i1-i0)/float64(t1-t0) >= settleIdle {
			return time.Since(start), true
		}
	}
	return time.Since(start), false
}
