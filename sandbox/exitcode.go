package sandbox

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Exit codes of the launcher, as for env(1), timeout(1) and container runtimes.
const (
	ExitSetup         = 125 // the launcher or the sandbox setup failed
	ExitNotExecutable = 126 // the program exists but cannot be executed
	ExitNotFound      = 127 // the program was not found
)

// ExitCodeFor maps a setup error to the launcher's exit code.
func ExitCodeFor(err error) int {
	var ce *ChildError
	if errors.As(err, &ce) && ce.Step == "exec" {
		switch {
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
			return ExitNotFound
		default:
			return ExitNotExecutable
		}
	}
	return ExitSetup
}
