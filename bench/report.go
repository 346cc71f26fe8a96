package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Targets of issue 7.
const (
	maxOpenVsUnshare    = 4.0
	minRecipeVsOpen     = 15.0
	maxOfflineVsUnshare = 1.5
	maxLiveVsNone       = 1.3
	maxBurstVsIdeal     = 2.0 // wall <= 2 * (launches * single) / cores
	minThroughput       = 0.90
	maxRSS              = 20_000_000 // bytes: 20 MB
)

// verdict is one target's outcome.
type verdict struct {
	Num      string
	Target   string
	Measured string
	Result   string // PASS, FAIL, or "n/a (why)"
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

func gbit(bps float64) string { return fmt.Sprintf("%.2f Gbit/s", bps/1e9) }

// idealBurst is (launches x single launch) / cores.
func (r *results) idealBurst() (time.Duration, bool) {
	open, ok := r.row(keyOpen)
	if !ok {
		return 0, false
	}
	return time.Duration(float64(open.St.Median) * float64(r.burst.Launches) / float64(r.machine.CPUs)), true
}

func (r *results) verdicts() []verdict {
	var v []verdict
	na := func(num, target, why string) { v = append(v, verdict{num, target, "", "n/a (" + why + ")"}) }
	unshare, okU := r.row(keyUnshare)
	open, okO := r.row(keyOpen)
	recipe, okR := r.row(keyRecipe)
	offline, okOff := r.row(keyOffline)

	t := fmt.Sprintf("`open` median <= %.0fx `unshare -n -m`", maxOpenVsUnshare)
	if okU && okO {
		x := ratio(open.St.Median, unshare.St.Median)
		v = append(v, verdict{"1", t, fmt.Sprintf("%.1fx (%s vs %s)", x, ms(open.St.Median), ms(unshare.St.Median)), passFail(x <= maxOpenVsUnshare)})
	} else {
		na("1", t, "not measured")
	}
	t = fmt.Sprintf("`open` >= %.0fx faster than the shell recipe", minRecipeVsOpen)
	if okR && okO {
		x := ratio(recipe.St.Median, open.St.Median)
		v = append(v, verdict{"1", t, fmt.Sprintf("%.1fx (%s vs %s)", x, ms(recipe.St.Median), ms(open.St.Median)), passFail(x >= minRecipeVsOpen)})
	} else {
		na("1", t, "not measured")
	}
	t = fmt.Sprintf("`offline` median <= %.1fx `unshare -n -m`", maxOfflineVsUnshare)
	if okU && okOff {
		x := ratio(offline.St.Median, unshare.St.Median)
		m := fmt.Sprintf("%.1fx (%s vs %s)", x, ms(offline.St.Median), ms(unshare.St.Median))
		if floor, ok := r.row(keyGoFloor); ok && floor.St.N > 0 {
			// What no Go launcher can beat here: see bench/floor.
			m += fmt.Sprintf("; a Go program that does nothing but clone and exec: %.1fx", ratio(floor.St.Median, unshare.St.Median))
		}
		v = append(v, verdict{"2", t, m, passFail(x <= maxOfflineVsUnshare)})
	} else {
		na("2", t, "not measured")
	}
	t = fmt.Sprintf("with %d live sandboxes, `open` median <= %.1fx with none (measured just before)", r.live.Want, maxLiveVsNone)
	if r.live.Skipped == "" && r.live.Open.N > 0 && r.live.Open0.N > 0 {
		x := ratio(r.live.Open.Median, r.live.Open0.Median)
		ok := x <= maxLiveVsNone && r.live.Up == r.live.Want
		m := fmt.Sprintf("%.2fx (%s vs %s)", x, ms(r.live.Open.Median), ms(r.live.Open0.Median))
		if r.live.Up != r.live.Want {
			m += fmt.Sprintf("; only %d of %d came up", r.live.Up, r.live.Want)
		}
		v = append(v, verdict{"3", t, m, passFail(ok)})
	} else {
		na("3", t, "not measured: "+r.live.Skipped)
	}
	t = fmt.Sprintf("%d launches at once: wall <= %.0fx (%d x single) / %d cores, no failures", r.burst.Launches, maxBurstVsIdeal, r.burst.Launches, r.machine.CPUs)
	if ideal, ok := r.idealBurst(); ok && len(r.burst.Rounds) > 0 {
		wall := r.burst.Median()
		x := ratio(wall, ideal)
		total := r.burst.Launches * len(r.burst.Rounds)
		v = append(v, verdict{"4", t,
			fmt.Sprintf("%s = %.2fx of %s; %d of %d failed", ms(wall), x, ms(ideal), r.burst.Failures, total),
			passFail(x <= maxBurstVsIdeal && r.burst.Failures == 0)})
	} else {
		na("4", t, "not measured")
	}
	t = fmt.Sprintf("TCP throughput through bridge, NAT, 20 rules >= %.0f%% of a direct veth", minThroughput*100)
	if s, d := medianF(r.tput.Sandbox), medianF(r.tput.Direct); s > 0 && d > 0 {
		v = append(v, verdict{"5", t, fmt.Sprintf("%.0f%% (%s vs %s)", 100*s/d, gbit(s), gbit(d)), passFail(s/d >= minThroughput)})
	} else {
		na("5", t, "not measured: "+r.tput.Err)
	}
	t = "launcher RSS <= 20 MB while the program runs (`open`)"
	if len(r.rss) > 0 && r.rss[0].Samples > 0 {
		v = append(v, verdict{"6", t, mb(r.rss[0].Max), passFail(r.rss[0].Max <= maxRSS)})
	} else {
		na("6", t, "not measured")
	}
	return v
}

// markdown renders the results: the file and what is printed.
func (r *results) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := r.machine
	p("# nsjail-net benchmark results\n\n")
	p("- date: %s\n", r.started.UTC().Format("2006-01-02 15:04 MST"))
	p("- machine: %d CPUs, %s; kernel %s; %s\n", m.CPUs, m.Model, m.Kernel, m.Iptables)
	p("- nsjail-net: %s (built with %s)\n", orDash(m.Version), m.Go)
	p("- method: inside a private lab (own network and mount namespaces, a `world` namespace behind a veth); each latency row is %d runs after %d dropped warm-ups, timed around Go's `exec.Cmd.Run` (launch to exit of `/bin/true`); total run time %s\n\n",
		r.cfg.n, r.cfg.warmup, r.elapsed.Round(time.Second))

	p("## Launch latency (`/bin/true`)\n\n")
	p("Page faults and CPU are medians for the whole process tree (wait4's rusage); faults do not vary with the machine's load.\n\n")
	p("| launcher | median | p95 | min | runs | page faults | CPU |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	line := func(label string, st stats) {
		p("| %s | %s | %s | %s | %s | %d | %s |\n", label, ms(st.Median), ms(st.P95), ms(st.Min), runs(st), st.Faults, ms(st.CPU))
	}
	for _, x := range r.rows {
		if x.Skip != "" {
			p("| %s | %s | | | | | |\n", x.Label, x.Skip)
			continue
		}
		line(x.Label, x.St)
	}
	if r.live.Open0.N > 0 {
		line("nsjail-net `open`, none alive (flat-cost phase)", r.live.Open0)
		line("nsjail-net `web`, none alive (flat-cost phase)", r.live.Web0)
	}
	if r.live.Open.N > 0 {
		line(fmt.Sprintf("nsjail-net `open`, %d sandboxes alive", r.live.Up), r.live.Open)
		line(fmt.Sprintf("nsjail-net `web`, %d sandboxes alive", r.live.Up), r.live.Web)
	}
	p("\n")

	p("## Ratios\n\n| ratio | value |\n| --- | ---: |\n")
	for _, x := range r.ratios() {
		p("| %s | %s |\n", x[0], x[1])
	}
	p("\n")

	p("## Load, traffic, memory\n\n")
	if len(r.burst.Rounds) > 0 {
		var rounds []string
		for _, d := range r.burst.Rounds {
			rounds = append(rounds, ms(d))
		}
		p("- %d launches at once (`open`, `/bin/true`): wall time per round %s (median %s); %d failed",
			r.burst.Launches, strings.Join(rounds, ", "), ms(r.burst.Median()), r.burst.Failures)
		if ideal, ok := r.idealBurst(); ok {
			p("; ideal (%d x single) / %d cores = %s", r.burst.Launches, m.CPUs, ms(ideal))
		}
		p("\n")
		if r.burst.FirstFail != "" {
			p("  - first failure: `%s`\n", r.burst.FirstFail)
		}
		if r.burst.Leftover != "" {
			p("  - leftover: %s\n", r.burst.Leftover)
		}
	}
	if r.live.Skipped != "" {
		p("- %d live sandboxes: not measured (%s)\n", r.live.Want, r.live.Skipped)
	} else {
		p("- %d live sandboxes (`open`, `sleep 600`): %d up, %d failed, all up after %s (%d at a time); %d state records, %d host veths; launchers' VmRSS mean %s, max %s; SIGTERM to all until all reaped %s\n",
			r.live.Want, r.live.Up, r.live.Failed, r.live.StartAll.Round(time.Millisecond), 2*m.CPUs, r.live.Records, r.live.Veths, mb(r.live.RSSMean), mb(r.live.RSSMax), r.live.StopAll.Round(time.Millisecond))
		if r.live.FirstFail != "" {
			p("  - first failure: `%s`\n", r.live.FirstFail)
		}
		if r.live.Leftover != "" {
			p("  - leftover after clean-up: %s\n", r.live.Leftover)
		} else {
			p("  - after clean-up: no state records, no veths left\n")
		}
	}
	if len(r.tput.Sandbox) > 0 {
		p("- TCP throughput (iperf3, %v per run, %d rounds, receiver side): sandbox -> world through veth, bridge, NAT and a 20-rule firewall %s (runs: %s); direct veth between two namespaces %s (runs: %s)\n",
			r.cfg.iperfDur, len(r.tput.Sandbox), gbit(medianF(r.tput.Sandbox)), gbits(r.tput.Sandbox), gbit(medianF(r.tput.Direct)), gbits(r.tput.Direct))
	} else {
		p("- TCP throughput: not measured (%s)\n", r.tput.Err)
	}
	for _, x := range r.rss {
		if x.Samples > 0 {
			p("- launcher VmRSS while supervising `sleep 5` (`%s`): max %s over %d samples\n", x.Profile, mb(x.Max), x.Samples)
		}
	}
	p("\n")

	r.stepTable(p)

	p("## Targets (issue 7)\n\n| # | target | measured | result |\n| --- | --- | --- | --- |\n")
	for _, v := range r.verdicts() {
		p("| %s | %s | %s | **%s** |\n", v.Num, v.Target, v.Measured, v.Result)
	}
	p("\n")
	if len(r.warnings) > 0 {
		p("## Warnings\n\n")
		for _, w := range r.warnings {
			p("- %s\n", w)
		}
		p("\n")
	}
	p("## Reproduce\n\n```\nmake build && sudo make bench      # writes bench/results.md (about 2-4 minutes)\nsudo go run ./bench -bin bin/nsjail-net -quick -out ''   # n=10, prints only\ngo test -run '^$' -bench . ./policy ./state\nsudo go test -run '^$' -bench 'VethSetup|RuleInstall' ./nat\n```\n")
	return b.String()
}

// ratios are the derived numbers the issue asks for.
func (r *results) ratios() [][2]string {
	var out [][2]string
	add := func(name string, a, b time.Duration) {
		if a > 0 && b > 0 {
			out = append(out, [2]string{name, fmt.Sprintf("%.2fx", ratio(a, b))})
		}
	}
	get := func(k string) time.Duration {
		if x, ok := r.row(k); ok {
			return x.St.Median
		}
		return 0
	}
	add("`open` / `unshare -n -m`", get(keyOpen), get(keyUnshare))
	add("`web` / `unshare -n -m`", get(keyWeb), get(keyUnshare))
	add("shell recipe / `open` (speed-up)", get(keyRecipe), get(keyOpen))
	add("shell recipe / `web` (speed-up)", get(keyRecipe), get(keyWeb))
	add("`offline` / `unshare -n -m`", get(keyOffline), get(keyUnshare))
	add("`unshare -n -m` / `/bin/true`", get(keyUnshare), get(keyTrue))
	add("Go floor (`bench/floor true`) / `unshare -n -m`", get(keyGoFloor), get(keyUnshare))
	add("Go process start (`bench/floor`) / `/bin/true`", get(keyGoStart), get(keyTrue))
	add(fmt.Sprintf("`open` with %d alive / with none (same phase)", r.live.Up), r.live.Open.Median, r.live.Open0.Median)
	add(fmt.Sprintf("`web` with %d alive / with none (same phase)", r.live.Up), r.live.Web.Median, r.live.Web0.Median)
	if ideal, ok := r.idealBurst(); ok {
		add(fmt.Sprintf("%d at once: wall / ((%d x single) / %d cores)", r.burst.Launches, r.burst.Launches, r.machine.CPUs), r.burst.Median(), ideal)
	}
	if s, d := medianF(r.tput.Sandbox), medianF(r.tput.Direct); s > 0 && d > 0 {
		out = append(out, [2]string{"throughput sandbox / direct veth (medians)", fmt.Sprintf("%.0f%%", 100*s/d)})
		out = append(out, [2]string{"throughput sandbox / direct veth (best runs)", fmt.Sprintf("%.0f%%", 100*slices.Max(r.tput.Sandbox)/slices.Max(r.tput.Direct))})
	}
	if len(r.rss) > 0 && r.rss[0].Samples > 0 {
		out = append(out, [2]string{"launcher RSS (`open`) / 20 MB", fmt.Sprintf("%.2f", float64(r.rss[0].Max)/maxRSS)})
	}
	return out
}

func runs(s stats) string {
	if s.Failures > 0 {
		return fmt.Sprintf("%d (+%d failed)", s.N, s.Failures)
	}
	return fmt.Sprint(s.N)
}

func gbits(v []float64) string {
	var s []string
	for _, x := range v {
		s = append(s, fmt.Sprintf("%.2f", x/1e9))
	}
	return strings.Join(s, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// stepTable renders the launcher's own step timings side by side.
func (r *results) stepTable(p func(string, ...any)) {
	if len(r.steps) == 0 {
		return
	}
	p("## Where a launch spends its time\n\n")
	p("Medians of %d runs of `nsjail-net --log-level debug run --profile P -- true` (the launcher's own step timings; \"outside the steps\" is the wall clock minus the launcher's own span).\n\n", r.steps[0].Runs)
	p("| step |")
	for _, sp := range r.steps {
		p(" `%s` |", sp.Profile)
	}
	p("\n| --- |")
	for range r.steps {
		p(" ---: |")
	}
	p("\n")
	var order []string
	seen := map[string]bool{}
	for _, sp := range r.steps {
		for _, s := range sp.Order {
			if !seen[s] {
				seen[s] = true
				order = append(order, s)
			}
		}
	}
	for _, s := range order {
		p("| %s |", s)
		for _, sp := range r.steps {
			if d, ok := sp.Median[s]; ok {
				p(" %s |", ms(d))
			} else {
				p(" |")
			}
		}
		p("\n")
	}
	p("\n")
}
