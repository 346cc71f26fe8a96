package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"
)

// stats summarises the successful runs of one row.
type stats struct {
	N         int
	Median    time.Duration
	P95       time.Duration
	Min, Max  time.Duration
	Failures  int
	FirstFail string // the first failure's error and stderr tail
	// Medians of the process tree's minor page faults and CPU time (user +
	// system, from wait4's rusage, which counts the reaped descendants).
	// Faults do not depend on what else the machine is doing: on a VM
	// where each costs tens of microseconds they are the steadiest
	// measure of a launch's cost.
	Faults int64
	CPU    time.Duration
}

func summarise(d []time.Duration) stats {
	s := slices.Clone(d)
	slices.Sort(s)
	st := stats{N: len(s)}
	if len(s) == 0 {
		return st
	}
	st.Median = percentile(s, 50)
	st.P95 = percentile(s, 95)
	st.Min, st.Max = s[0], s[len(s)-1]
	return st
}

// percentile of sorted s: nearest rank for p<50 and p>50, the mean of the
// two middle values for the median of an even count.
func percentile(s []time.Duration, p int) time.Duration {
	if p == 50 && len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	rank := (p*len(s) + 99) / 100 // ceil(p/100 * n)
	return s[min(max(rank, 1), len(s))-1]
}

// series is one command timed over many runs.
type series struct {
	argv   []string
	onFail func() // if not nil, runs (untimed) after a failed run to clean up
	durs   []time.Duration
	usage  []usage
	fails  int
	first  string // the first failure
	broken bool   // failed every time so far: not worth the budget
}

func (s *series) stats() stats {
	st := summarise(s.durs)
	st.Failures, st.FirstFail = s.fails, s.first
	if len(s.usage) > 0 {
		f := make([]int64, len(s.usage))
		c := make([]time.Duration, len(s.usage))
		for i, u := range s.usage {
			f[i], c[i] = u.faults, u.cpu
		}
		slices.Sort(f)
		slices.Sort(c)
		st.Faults, st.CPU = f[len(f)/2], c[len(c)/2]
	}
	return st
}

// usage is what one run cost its process tree.
type usage struct {
	faults int64
	cpu    time.Duration
}

func usageOf(ps *os.ProcessState) usage {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return usage{}
	}
	return usage{faults: ru.Minflt, cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
}

// timeInterleaved runs every series warmup+n times, round-robin (round i
// runs each series once), so that a passing disturbance on the machine
// hits all rows alike and ratios taken between them stay fair. Each run is
// timed from just before exec to just after the process was reaped (Go's
// exec.Cmd.Run; the path is resolved beforehand). Warm-up rounds are
// dropped; failed runs are counted, not timed. Stdout goes to /dev/null,
// stderr to a file (no pipe-copying goroutine in the timed region).
func (l *lab) timeInterleaved(all []*series, n, warmup int) error {
	errFile, err := os.CreateTemp("", "bench-stderr-")
	if err != nil {
		return fmt.Errorf("creating stderr file: %w", err)
	}
	defer os.Remove(errFile.Name())
	defer errFile.Close()
	for round := range n + warmup {
		for _, s := range all {
			if s.broken {
				continue
			}
			d, u, err := l.timeOnce(s.argv, errFile)
			if err != nil {
				var runErr *runError
				if !errors.As(err, &runErr) {
					return err
				}
				s.fails++
				if s.first == "" {
					s.first = runErr.Error()
				}
				if s.onFail != nil {
					s.onFail()
				}
				s.broken = s.fails >= 5 && len(s.durs) == 0
				continue
			}
			if round >= warmup {
				s.durs = append(s.durs, d)
				s.usage = append(s.usage, u)
			}
		}
	}
	return nil
}

// runError is a failed timed run (as opposed to a failure of the harness).
type runError struct{ msg string }

func (e *runError) Error() string { return e.msg }

// timeOnce runs argv once, stderr to errFile, and times it.
func (l *lab) timeOnce(argv []string, errFile *os.File) (time.Duration, usage, error) {
	if err := errFile.Truncate(0); err != nil {
		return 0, usage{}, fmt.Errorf("truncating stderr file: %w", err)
	}
	if _, err := errFile.Seek(0, io.SeekStart); err != nil {
		return 0, usage{}, fmt.Errorf("rewinding stderr file: %w", err)
	}
	cmd := l.command(argv...)
	cmd.Stderr = errFile
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return d, usage{}, &runError{failure(err, errFile)}
	}
	return d, usageOf(cmd.ProcessState), nil
}

// failure describes a failed run: the error and the last line of stderr.
func failure(err error, stderr io.ReadSeeker) string {
	if _, serr := stderr.Seek(0, io.SeekStart); serr == nil {
		b, _ := io.ReadAll(io.LimitReader(stderr, 64<<10))
		if tail := lastLine(b); tail != "" {
			return fmt.Sprintf("%v: %s", err, tail)
		}
	}
	return err.Error()
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(bytes.ToValidUTF8(b, nil))), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// ms formats a duration in milliseconds.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.2f ms", v)
	}
}
