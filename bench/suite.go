package main

import (
	"fmt"
	"time"
)

// row is one latency measurement: a command launched n times.
type row struct {
	Key   string // stable name used by the targets
	Label string // what the table shows
	St    stats
	Skip  string // why it was not measured; "" = measured
}

// results is everything one run measured.
type results struct {
	cfg      config
	started  time.Time
	elapsed  time.Duration
	machine  machine
	rows     []row
	steps    []stepProfile
	tput     tputResult
	rss      []rssResult
	burst    burstResult
	live     liveResult
	warnings []string
	// failed names the rows and phases that failed (a failed launch, a
	// phase that measured nothing): such a run is not written over the
	// committed results.
	failed []string
}

func (r *results) row(key string) (row, bool) {
	for _, x := range r.rows {
		if x.Key == key {
			return x, x.Skip == "" && x.St.N > 0
		}
	}
	return row{}, false
}

func (r *results) warn(format string, args ...any) {
	r.warnings = append(r.warnings, fmt.Sprintf(format, args...))
}

// settled waits for idle CPUs before a phase and notes when it never came.
func (r *results) settled(phase string) {
	if waited, ok := settle(); !ok {
		r.warn("%s: the CPUs were still busy after %v of waiting (another load on the machine?); numbers may be noisy", phase, waited.Round(time.Second))
	}
}

// Row keys.
const (
	keyTrue     = "true"
	keyUnshare  = "unshare"
	keyBwrap    = "bwrap"
	keyGoStart  = "gostart"
	keyGoFloor  = "gofloor"
	keyFirejail = "firejail"
	keyRecipe   = "recipe"
	keyOffline  = "offline"
	keyOpen     = "open"
	keyWeb      = "web"
)

// phase is one part of the suite.
type phase struct {
	name string
	run  func(l *lab, r *results) error
}

// runSuite runs the phases in order, the heavy ones last. A phase's
// error ends the suite only when nothing sensible can follow.
func runSuite(l *lab) (*results, error) {
	res := &results{cfg: l.cfg, started: time.Now(), machine: describeMachine(l)}
	phases := []phase{
		{"launch latency", latencyPhase},
		{"step timings", stepsPhase},
		{"throughput", throughputPhase},
		{"memory", memoryPhase},
		{"launches at once", burstPhase},
		{"flat cost", livePhase},
	}
	for i, p := range phases {
		res.settled(p.name)
		logf("[%d/%d] %s", i+1, len(phases), p.name)
		if err := p.run(l, res); err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
	}
	res.elapsed = time.Since(res.started)
	return res, nil
}

// latencyPhase times every launcher, interleaved (see timeInterleaved).
func latencyPhase(l *lab, res *results) error {
	latency := []struct {
		key, label, tool string
		argv             []string
	}{
		{keyTrue, "`/bin/true` alone", "", []string{"true"}},
		{keyUnshare, "`unshare -n -m /bin/true`", "", []string{"unshare", "-n", "-m", "true"}},
		{keyGoStart, "Go floor: a Go program that only starts and exits (`bench/floor`)", "floor", []string{"floor"}},
		{keyGoFloor, "Go floor: a Go program running `/bin/true` in new network and mount namespaces, nothing else (`bench/floor true`)", "floor", []string{"floor", "true"}},
		{keyBwrap, "`bwrap --unshare-net` (no network)", "bwrap", []string{"bwrap", "--dev-bind", "/", "/", "--unshare-net", "true"}},
		{keyFirejail, "`firejail --net=none`", "firejail", []string{"firejail", "--quiet", "--net=none", "true"}},
		{keyRecipe, "shell recipe: `ip netns` + veth + bridge + iptables, set up and torn down", "", nil},
		{keyOffline, "nsjail-net `offline` (lo only)", "", l.nsj("run", "--profile", "offline", "--", "true")},
		{keyOpen, "nsjail-net `open` (bridge, NAT, firewall, DNS)", "", l.nsj("run", "--profile", "open", "--", "true")},
		{keyWeb, "nsjail-net `web` (bridge, NAT, firewall, DNS)", "", l.nsj("run", "--profile", "web", "--", "true")},
	}
	var timed []*series
	rowOf := map[*series]int{}
	for _, x := range latency {
		res.rows = append(res.rows, row{Key: x.key, Label: x.label})
		if x.tool != "" && l.paths[x.tool] == "" {
			res.rows[len(res.rows)-1].Skip = "not installed"
			if x.tool == "floor" {
				res.rows[len(res.rows)-1].Skip = "not built (`make bench` builds it)"
			}
			logf("  %s: not installed", x.key)
			continue
		}
		s := &series{argv: x.argv}
		if x.key == keyRecipe {
			var undo func()
			var err error
			if s, undo, err = l.recipeSeries(); err != nil {
				return err
			}
			defer undo()
		}
		rowOf[s] = len(res.rows) - 1
		timed = append(timed, s)
	}
	logf("  %d rounds (+%d warm-up) of %d commands", l.cfg.n, l.cfg.warmup, len(timed))
	if err := l.timeInterleaved(timed, l.cfg.n, l.cfg.warmup); err != nil {
		return err
	}
	for _, s := range timed {
		r := &res.rows[rowOf[s]]
		r.St = s.stats()
		if r.St.Failures > 0 {
			res.warn("%s: %d failed runs; first: %s", r.Key, r.St.Failures, r.St.FirstFail)
			res.failed = append(res.failed, r.Key)
		}
	}
	return nil
}

func stepsPhase(l *lab, res *results) error {
	for _, p := range []string{"open", "offline"} {
		sp, err := l.benchSteps(p)
		if err != nil {
			res.warn("step timings: %v", err)
			res.failed = append(res.failed, "steps "+p)
			continue
		}
		res.steps = append(res.steps, sp)
	}
	return nil
}

func throughputPhase(l *lab, res *results) error {
	logf("  %d x %v: sandbox (20 rules) and direct veth, alternating", l.cfg.tputRuns, l.cfg.iperfDur)
	var err error
	if res.tput, err = l.benchThroughput(); err != nil {
		res.tput.Err = err.Error()
		res.warn("throughput: %v", err)
		res.failed = append(res.failed, "throughput")
	}
	return nil
}

// memoryPhase samples a launcher's RSS for `open` and `offline` at the
// same time (each runs `sleep 5`).
func memoryPhase(l *lab, res *results) error {
	type out struct {
		r   rssResult
		err error
	}
	profiles := []string{"open", "offline"}
	outs := make([]chan out, len(profiles))
	for i, p := range profiles {
		outs[i] = make(chan out, 1)
		go func() {
			r, err := l.benchRSS(p)
			outs[i] <- out{r, err}
		}()
	}
	for _, ch := range outs {
		o := <-ch
		if o.err != nil {
			res.warn("memory: %v", o.err)
			res.failed = append(res.failed, "memory")
		}
		res.rss = append(res.rss, o.r)
	}
	return nil
}

func burstPhase(l *lab, res *results) error {
	logf("  %d launches at once (open, /bin/true), %d rounds", l.cfg.burst, l.cfg.rounds)
	var err error
	res.burst, err = l.benchBurst()
	return err
}

func livePhase(l *lab, res *results) error {
	logf("  open and web with none alive, then with %d live sandboxes", l.cfg.live)
	var err error
	if res.live, err = l.benchLive(); err != nil {
		res.live.Skipped = err.Error()
		res.warn("flat cost: %v", err)
		res.failed = append(res.failed, "flat cost")
	}
	return nil
}
