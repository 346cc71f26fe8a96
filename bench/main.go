// Command bench is `make bench`: the launch-latency, scaling, throughput
// and memory benchmark of nsjail-net (issue 7), run against the built
// binary inside a private lab, and written up as bench/results.md.
//
// Everything runs in a lab this program builds for itself, never in the
// machine's own network namespace:
//
//	parent (the machine's namespaces)
//	  └─ re-exec of itself with CLONE_NEWNET|CLONE_NEWNS   = the lab host
//	       mounts: / private, tmpfs on /run (+ /run/netns, /run/nsjail-net)
//	               and /tmp, sysfs of the lab's netns on /sys, a lab
//	               resolv.conf (nameserver 203.0.113.53)
//	       up0 203.0.113.1/24 ── veth ── world0 203.0.113.2/24, 203.0.113.10
//	       default via 203.0.113.2      (netns "world", `ip netns add`)
//
// When the lab process exits, its mount namespace (and with it /run/netns
// and the named namespaces) goes away; every process it started is killed
// by pid before that.
//
// Usage:
//
//	sudo go run ./bench -bin bin/nsjail-net -out bench/results.md [-n 50] [-quick]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// config is what the flags say.
type config struct {
	bin      string        // the nsjail-net binary, absolute
	floor    string        // bench/floor built, absolute; "" = rows skipped
	out      string        // results.md, absolute; "" = print only
	n        int           // measured runs per latency row
	warmup   int           // dropped runs before them
	live     int           // live sandboxes for the flat-cost row
	burst    int           // launches at once
	rounds   int           // rounds of the burst row
	tputRuns int           // runs of each throughput row
	iperfDur time.Duration // length of one iperf3 run
	quick    bool
}

func parseFlags() (config, error) {
	var c config
	flag.StringVar(&c.bin, "bin", "bin/nsjail-net", "the nsjail-net binary to benchmark")
	flag.StringVar(&c.floor, "floor", "bin/bench-floor", `bench/floor built (the least a Go launcher does; "" = skip its rows)`)
	flag.StringVar(&c.out, "out", "bench/results.md", `where to write the results as markdown ("" = only print)`)
	flag.IntVar(&c.n, "n", 50, "measured runs per latency row (after the warm-up runs)")
	flag.IntVar(&c.warmup, "warmup", 3, "warm-up runs dropped before each latency row")
	flag.IntVar(&c.live, "live", 200, "live sandboxes for the flat-cost row")
	flag.IntVar(&c.burst, "burst", 100, "launches at once")
	flag.BoolVar(&c.quick, "quick", false, "n=10, one round of the burst and throughput rows, 2 s iperf3 runs")
	flag.Parse()
	if flag.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	// Throughput gets more runs than the burst: one run of either row
	// moves by 10% with whatever else the machine does, and its verdict
	// compares medians.
	c.rounds, c.tputRuns, c.iperfDur = 3, 7, 3*time.Second
	if c.quick {
		c.rounds, c.tputRuns, c.iperfDur = 1, 1, 2*time.Second
		if !flagSet("n") {
			c.n = 10
		}
	}
	if c.n < 1 || c.warmup < 0 || c.live < 0 || c.burst < 1 {
		return c, fmt.Errorf("-n, -burst must be >= 1 and -warmup, -live >= 0")
	}
	var err error
	if c.bin, err = filepath.Abs(c.bin); err != nil {
		return c, fmt.Errorf("-bin %q: %w", c.bin, err)
	}
	if c.floor != "" {
		if c.floor, err = filepath.Abs(c.floor); err != nil {
			return c, fmt.Errorf("-floor %q: %w", c.floor, err)
		}
		if _, err := os.Stat(c.floor); err != nil {
			c.floor = "" // its rows say "not built"
		}
	}
	if _, err := os.Stat(c.bin); err != nil {
		return c, fmt.Errorf("-bin: %w (run `make build` first)", err)
	}
	if c.out != "" {
		if c.out, err = filepath.Abs(c.out); err != nil {
			return c, fmt.Errorf("-out %q: %w", c.out, err)
		}
	}
	return c, nil
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func main() {
	c, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if os.Getuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: needs root (it builds network namespaces); try: sudo make bench")
		os.Exit(2)
	}
	if parent, ok := os.LookupEnv(envParentNS); ok {
		os.Exit(labMain(c, parent))
	}
	// Only the lab child may touch namespaces; this process just waits.
	runtime.LockOSThread() // Pdeathsig is tied to this thread
	os.Exit(reexecInLab())
}
