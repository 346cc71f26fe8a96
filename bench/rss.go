package main

import (
	"bytes"
	"fmt"
	"syscall"
	"time"
)

// rssResult is the launcher's memory while it supervises a program.
type rssResult struct {
	Profile string
	Max     int64 // the largest VmRSS sampled
	Samples int
}

// benchRSS starts `run --profile <profile> -- sleep 5`, waits until sleep
// runs, samples the launcher's VmRSS for a second and lets it finish.
func (l *lab) benchRSS(profile string) (rssResult, error) {
	r := rssResult{Profile: profile}
	cmd := l.command(l.nsj("run", "--profile", profile, "--", "sleep", "5")...)
	var eb bytes.Buffer
	cmd.Stderr = &eb
	t, err := l.procs.start(cmd)
	if err != nil {
		return r, err
	}
	defer func() {
		if !t.exited() {
			_ = t.stop(syscall.SIGTERM, 10*time.Second)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !childRunning(t.pid(), "sleep") {
		if t.exited() || time.Now().After(deadline) {
			return r, fmt.Errorf("launcher (%s) did not start sleep: %s", profile, lastLine(eb.Bytes()))
		}
		time.Sleep(2 * time.Millisecond)
	}
	for range 10 {
		if rss, err := vmRSS(t.pid()); err == nil {
			r.Max = max(r.Max, rss)
			r.Samples++
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case <-t.done:
	case <-time.After(10 * time.Second):
		return r, fmt.Errorf("launcher (%s) still running 10 s after sleep 5 started", profile)
	}
	if t.err != nil {
		return r, fmt.Errorf("launcher (%s): %w: %s", profile, t.err, lastLine(eb.Bytes()))
	}
	if r.Samples == 0 {
		return r, fmt.Errorf("launcher (%s): no VmRSS sample", profile)
	}
	return r, nil
}
