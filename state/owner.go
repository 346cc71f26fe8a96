package state

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// Owner identifies a live process robustly: its pid plus its start time
// (field 22 of /proc/<pid>/stat, in clock ticks since boot), so a recycled pid
// is not mistaken for the owner. Pids are those of the pid namespace of the
// mounted /proc.
type Owner struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
}

// Self returns the Owner of the calling process.
func Self() (Owner, error) {
	return OwnerOf(os.Getpid())
}

// OwnerOf returns the Owner of process pid, as it is now.
func OwnerOf(pid int) (Owner, error) {
	st, err := readProcStat(pid)
	if err != nil {
		return Owner{}, err
	}
	return Owner{PID: pid, StartTime: st.startTime}, nil
}

// Alive reports whether the process still exists and is the same process:
// its start time matches. A zombie (exited, not yet reaped) is not alive: it
// will never clean up after itself.
func (o Owner) Alive() bool {
	if o.PID <= 0 {
		return false
	}
	st, err := readProcStat(o.PID)
	if err != nil {
		return false
	}
	return st.startTime == o.StartTime && st.state != 'Z' && st.state != 'X'
}

// String renders the owner for messages: "pid 1234".
func (o Owner) String() string {
	return "pid " + strconv.Itoa(o.PID)
}

// procStat holds the fields of /proc/<pid>/stat this package uses.
type procStat struct {
	state     byte
	startTime uint64
}

// readProcStat reads /proc/<pid>/stat. The command name (field 2) is in
// parentheses and may itself contain spaces and ')', so fields are counted
// from the last ')'.
func readProcStat(pid int) (procStat, error) {
	if pid <= 0 {
		return procStat{}, fmt.Errorf("process %d: invalid pid", pid)
	}
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	b, err := readFileRaw(path)
	if err != nil {
		return procStat{}, fmt.Errorf("process %d: %w", pid, err)
	}
	st, err := parseProcStat(b)
	if err != nil {
		return procStat{}, fmt.Errorf("parsing %s: %w", path, err)
	}
	return st, nil
}

func parseProcStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("no ')' after the command name")
	}
	// After ")" come fields 3 (state), 4, ...; field 22 is the 20th of them.
	f := bytes.Fields(b[i+1:])
	const startField = 22 - 3
	if len(f) <= startField || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("%d fields after the command name, want at least %d", len(f), startField+1)
	}
	start, err := strconv.ParseUint(string(f[startField]), 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("start time (field 22): %w", err)
	}
	return procStat{state: f[0][0], startTime: start}, nil
}
