package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"sync"
	"time"
)

// burstResult is the "launches at once" row.
type burstResult struct {
	Launches  int
	Rounds    []time.Duration // wall time of each round, first start to last exit
	Failures  int             // over all rounds
	FirstFail string
	Leftover  string
}

// Median wall time of the rounds.
func (b burstResult) Median() time.Duration {
	if len(b.Rounds) == 0 {
		return 0
	}
	s := slices.Clone(b.Rounds)
	slices.Sort(s)
	return percentile(s, 50)
}

// benchBurst starts cfg.burst `run --profile open -- true` at once, cfg.rounds
// times, and times each round from the first start to the last exit.
func (l *lab) benchBurst() (burstResult, error) {
	r := burstResult{Launches: l.cfg.burst}
	argv := l.nsj("run", "--profile", "open", "--", "true")
	for range l.cfg.rounds {
		cmds := make([]*execution, r.Launches)
		for i := range cmds {
			cmds[i] = &execution{}
			cmds[i].cmd = l.command(argv...)
			cmds[i].cmd.Stderr = &cmds[i].stderr
		}
		var wg sync.WaitGroup
		start := time.Now()
		for _, e := range cmds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.err = e.cmd.Run()
			}()
		}
		wg.Wait()
		r.Rounds = append(r.Rounds, time.Since(start))
		for _, e := range cmds {
			if e.err != nil {
				r.Failures++
				if r.FirstFail == "" {
					r.FirstFail = fmt.Sprintf("%v: %s", e.err, lastLine(e.stderr.Bytes()))
				}
			}
		}
		// Every launcher has exited: nothing of theirs may remain.
		if recs, veths := liveCounts(); recs+veths > 0 && r.Leftover == "" {
			r.Leftover = fmt.Sprintf("%d records, %d veths left after a round", recs, veths)
		}
	}
	return r, nil
}

// execution is one concurrent run.
type execution struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	err    error
}
