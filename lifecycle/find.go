package lifecycle

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/nsjail-net/nsjail-net/state"
)

// ErrNotRunning: the sandbox has a record, but its launcher is gone (gc
// removes it).
var ErrNotRunning = errors.New("is not running (its launcher is gone; `nsjail-net gc` removes what is left)")

// Find returns the record of the live sandbox called ref: a name, or else
// a sandbox id (as `list` shows both). A sandbox whose owner is dead
// matches ErrNotRunning; none at all, state.ErrNotFound.
func Find(dir *state.Dir, ref string) (*state.Sandbox, error) {
	var (
		rec *state.Sandbox
		err error
	)
	if state.ValidName(ref) == nil {
		rec, err = dir.FindByName(ref)
	}
	if rec == nil {
		if byID, idErr := dir.ReadSandbox(ref); idErr == nil {
			rec, err = byID, nil
		}
	}
	if err == nil && rec == nil {
		err = fmt.Errorf("sandbox %q %w", ref, state.ErrNotFound)
	}
	if err != nil {
		if errors.Is(err, state.ErrNotFound) {
			return nil, fmt.Errorf("no sandbox %q (see `nsjail-net list`): %w", ref, state.ErrNotFound)
		}
		return nil, err
	}
	if !rec.Owner.Alive() {
		return rec, fmt.Errorf("sandbox %q %w", ref, ErrNotRunning)
	}
	return rec, nil
}

// ProgramAlive reports whether the sandbox's program (or, for a persistent
// sandbox, its namespace holder) is still the process the record names.
func ProgramAlive(rec *state.Sandbox) bool {
	if rec.Pid <= 0 || rec.PidStart == 0 {
		return false
	}
	return state.Owner{PID: rec.Pid, StartTime: rec.PidStart}.Alive()
}

// OpenState opens the state dir for reading commands; ok is false when it
// does not exist (no sandbox ever ran), in which case nothing is created.
func OpenState(path string) (dir *state.Dir, ok bool, err error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	dir, err = state.Open(path)
	if err != nil {
		return nil, false, err
	}
	return dir, true, nil
}
