package launch

import (
	"errors"
	"log/slog"
	"os"
	"time"
)

// StopAtEnv names a setup step at which the launcher blocks forever, for
// the fault tests (SIGKILL at each stage, then gc). Test-only: it changes
// nothing unless set, and the program never sees it (NSJAIL_NET_* is
// stripped from its environment).
const StopAtEnv = "NSJAIL_NET_TEST_STOP_AT"

// steps logs each setup step with its duration (visible with
// --log-level debug).
type steps struct {
	stopAt string
	log    *slog.Logger
	start  time.Time
	last   time.Time
}

func newSteps(log *slog.Logger) *steps {
	now := time.Now()
	return &steps{log: log, start: now, last: now, stopAt: os.Getenv(StopAtEnv)}
}

func (s *steps) done(name string) {
	now := time.Now()
	s.log.Debug("step done", "step", name, "took", now.Sub(s.last).Round(time.Microsecond), "total", now.Sub(s.start).Round(time.Microsecond))
	s.last = now
	if s.stopAt != "" && s.stopAt == name {
		s.log.Warn("test hook: stopped after step", "step", name, "pid", os.Getpid())
		for { // until killed
			time.Sleep(time.Hour)
		}
	}
}

// undoStack holds the inverse of every change made so far.
type undoStack struct {
	log   *slog.Logger
	items []undoItem
}

type undoItem struct {
	name string
	fn   func() error
}

func (u *undoStack) push(name string, fn func() error) { u.items = append(u.items, undoItem{name, fn}) }

// run undoes everything in reverse order, keeping going past failures.
func (u *undoStack) run() error {
	var errs []error
	for i := len(u.items) - 1; i >= 0; i-- {
		it := u.items[i]
		start := time.Now()
		if err := it.fn(); err != nil {
			errs = append(errs, err)
		}
		u.log.Debug("undo done", "step", it.name, "took", time.Since(start).Round(time.Microsecond))
	}
	u.items = nil
	return errors.Join(errs...)
}
