package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
)

// liveResult is the flat-cost row: launches measured with many sandboxes
// alive.
type liveResult struct {
	Want, Up, Failed int
	FirstFail        string
	StartAll         time.Duration // until all were up
	Records, Veths   int           // counted once all were up
	RSSMean, RSSMax  int64         // of the supervising launchers
	Open0, Web0      stats         // launches just before, with none alive
	Open, Web        stats         // launches with them alive
	StopAll          time.Duration // SIGTERM to all .. all reaped
	Leftover         string        // records or veths left after clean-up
	Skipped          string
}

const (
	liveStartTimeout = 3 * time.Minute
	liveCleanTimeout = time.Minute
)

// benchLive measures launches with no sandbox alive, then starts cfg.live
// sandboxes (`run --profile open -- sleep 600`) a few at a time, waits
// until every program runs, measures launches again (both measurements in
// the same phase, so that a change in the machine's load between phases
// does not pass for a cost of the live sandboxes), then stops them (SIGTERM to the launchers we started, by pid) and
// waits until their state and veths are gone.
func (l *lab) benchLive() (liveResult, error) {
	r := liveResult{Want: l.cfg.live}
	if r.Want == 0 {
		r.Skipped = "-live 0"
		return r, nil
	}
	open0 := &series{argv: l.nsj("run", "--profile", "open", "--", "true")}
	web0 := &series{argv: l.nsj("run", "--profile", "web", "--", "true")}
	if err := l.timeInterleaved([]*series{open0, web0}, l.cfg.n, l.cfg.warmup); err != nil {
		return r, err
	}
	r.Open0, r.Web0 = open0.stats(), web0.stats()

	var started []*tracked
	stderrs := map[*tracked]*bytes.Buffer{}
	defer func() {
		for _, t := range started {
			if !t.exited() {
				_ = t.stop(syscall.SIGTERM, 10*time.Second)
			}
		}
	}()

	limit := 2 * runtime.NumCPU()
	var pending []*tracked
	begin := time.Now()
	for len(started) < r.Want || len(pending) > 0 {
		if time.Since(begin) > liveStartTimeout {
			return r, fmt.Errorf("live sandboxes: %d of %d up after %v", r.Up, r.Want, liveStartTimeout)
		}
		for len(pending) < limit && len(started) < r.Want {
			cmd := l.command(l.nsj("run", "--profile", "open", "--", "sleep", "600")...)
			var eb bytes.Buffer
			cmd.Stderr = &eb
			t, err := l.procs.start(cmd)
			if err != nil {
				return r, err
			}
			stderrs[t] = &eb
			started = append(started, t)
			pending = append(pending, t)
		}
		time.Sleep(2 * time.Millisecond)
		still := pending[:0]
		for _, t := range pending {
			switch {
			case childRunning(t.pid(), "sleep"):
				r.Up++
			case t.exited():
				r.Failed++
				if r.FirstFail == "" {
					r.FirstFail = fmt.Sprintf("%v: %s", t.err, lastLine(stderrs[t].Bytes()))
				}
			default:
				still = append(still, t)
			}
		}
		pending = still
	}
	r.StartAll = time.Since(begin)
	r.Records, r.Veths = liveCounts()
	var n int64
	for _, t := range started {
		if t.exited() {
			continue
		}
		if rss, err := vmRSS(t.pid()); err == nil {
			r.RSSMean += rss
			r.RSSMax = max(r.RSSMax, rss)
			n++
		}
	}
	if n > 0 {
		r.RSSMean /= n
	}
	logf("%d sandboxes up (%d failed) in %v; %d records, %d veths; timing launches with them alive",
		r.Up, r.Failed, r.StartAll.Round(time.Millisecond), r.Records, r.Veths)

	if _, ok := settle(); !ok {
		logf("the CPUs are still busy with %d sandboxes alive; timing anyway", r.Up)
	}
	open := &series{argv: l.nsj("run", "--profile", "open", "--", "true")}
	web := &series{argv: l.nsj("run", "--profile", "web", "--", "true")}
	if err := l.timeInterleaved([]*series{open, web}, l.cfg.n, l.cfg.warmup); err != nil {
		return r, err
	}
	r.Open, r.Web = open.stats(), web.stats()

	stop := time.Now()
	for _, t := range started {
		if !t.exited() {
			_ = t.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	var stopErrs []string
	for _, t := range started {
		select {
		case <-t.done:
		case <-time.After(liveCleanTimeout - time.Since(stop)):
			if err := t.stop(syscall.SIGKILL, time.Second); err != nil {
				stopErrs = append(stopErrs, err.Error())
			}
		}
	}
	r.StopAll = time.Since(stop)
	for {
		recs, veths := liveCounts()
		if recs == 0 && veths == 0 {
			break
		}
		if time.Since(stop) > liveCleanTimeout {
			r.Leftover = fmt.Sprintf("%d records, %d veths left %v after SIGTERM", recs, veths, liveCleanTimeout)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(stopErrs) > 0 {
		r.Leftover += fmt.Sprintf(" (%d launchers killed)", len(stopErrs))
	}
	return r, nil
}

// logf prints progress to stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
