package main

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"
)

// stepProfile is where a launch spends its time, from the launcher's own
// `--log-level debug` step timings ("step done" and "undo done" records),
// the median of each step over a few runs.
type stepProfile struct {
	Profile string
	Runs    int
	Order   []string // steps in the order they are logged
	Median  map[string]time.Duration
}

const stepRuns = 7

// benchSteps runs `--log-level debug run --profile <profile> -- true`
// stepRuns times and collects the step timings.
func (l *lab) benchSteps(profile string) (stepProfile, error) {
	sp := stepProfile{Profile: profile, Median: map[string]time.Duration{}}
	all := map[string][]time.Duration{}
	for range stepRuns {
		cmd := l.command(append([]string{l.cfg.bin, "--log-level", "debug"}, l.nsj("run", "--profile", profile, "--", "true")[1:]...)...)
		var eb bytes.Buffer
		cmd.Stderr = &eb
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return sp, fmt.Errorf("debug run (%s): %w: %s", profile, err, lastLine(eb.Bytes()))
		}
		wall := time.Since(start)
		var inside time.Duration // "total" of the last step: Run's own span
		sc := bufio.NewScanner(&eb)
		for sc.Scan() {
			kv := logfmt(sc.Text())
			var name string
			var d string
			switch kv["msg"] {
			case "step done":
				name, d = kv["step"], kv["took"]
				if t, err := time.ParseDuration(kv["total"]); err == nil {
					inside = t
				}
				if name == "teardown" {
					name = "teardown (all undo steps)"
				}
			case "undo done":
				name, d = "undo: "+kv["step"], kv["took"]
			case "program exited":
				name, d = "program ran", kv["ran"]
			default:
				continue
			}
			took, err := time.ParseDuration(d)
			if err != nil || name == "" {
				continue
			}
			if _, seen := all[name]; !seen {
				sp.Order = append(sp.Order, name)
			}
			all[name] = append(all[name], took)
		}
		if inside > 0 && wall > inside {
			const outside = "outside the steps: process start-up, flags, profile load, exit"
			if _, seen := all[outside]; !seen {
				sp.Order = append(sp.Order, outside)
			}
			all[outside] = append(all[outside], wall-inside)
		}
		const whole = "whole launch (wall clock)"
		if _, seen := all[whole]; !seen {
			sp.Order = append(sp.Order, whole)
		}
		all[whole] = append(all[whole], wall)
		sp.Runs++
	}
	for name, ds := range all {
		slices.Sort(ds)
		sp.Median[name] = percentile(ds, 50)
	}
	return sp, nil
}

// logfmt splits a log/slog text record into its keys and values.
func logfmt(line string) map[string]string {
	kv := map[string]string{}
	for line != "" {
		line = strings.TrimLeft(line, " ")
		k, rest, ok := strings.Cut(line, "=")
		if !ok {
			break
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := 1
			for end < len(rest) && (rest[end] != '"' || rest[end-1] == '\\') {
				end++
			}
			v = strings.ReplaceAll(rest[1:min(end, len(rest))], `\"`, `"`)
			rest = rest[min(end+1, len(rest)):]
		} else {
			v, rest, _ = strings.Cut(rest, " ")
		}
		kv[k] = v
		line = rest
	}
	return kv
}
