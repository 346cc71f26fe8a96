package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// gcStamp is the file whose mtime records the last sweep.
const gcStamp = "gc.stamp"

// GCDue reports whether a sweep for dead owners is due: true when none was
// recorded within the last interval, in which case it records one now. It
// lets `run` sweep "cheaply at start" without scanning every sandbox on
// every launch: one stat in the usual case. Two launchers racing may both
// get true; sweeps are idempotent, so that only costs a second sweep.
func (d *Dir) GCDue(interval time.Duration) (bool, error) {
	path := filepath.Join(d.Path, gcStamp)
	now := time.Now()
	fi, err := os.Stat(path)
	switch {
	case err == nil:
		// A stamp in the future (the clock went back) counts as due.
		if age := now.Sub(fi.ModTime()); age >= 0 && age < interval {
			return false, nil
		}
		if err := os.Chtimes(path, now, now); err != nil {
			return true, fmt.Errorf("recording gc time: %w", err)
		}
	case errors.Is(err, fs.ErrNotExist):
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			return true, fmt.Errorf("recording gc time: %w", err)
		}
	default:
		return true, fmt.Errorf("reading gc time: %w", err)
	}
	return true, nil
}
