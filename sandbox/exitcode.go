package sandbox

import (
	"errors"
	"os"
	"os/signal"
	"time"

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

// SignaledError reports that the program was killed by a signal. The
// launcher then ends by the same signal where it can (DieBy), so that a
// shell running a script sees what it would have seen without nsjail-net:
// bash stops a script whose foreground command died of the Ctrl-C it got.
type SignaledError struct{ Signal unix.Signal }

func (e *SignaledError) Error() string {
	return "program killed by " + unix.SignalName(e.Signal)
}

// DieBy ends the launcher by sig when it is one the launcher may die of
// quietly (no core dump): SIGINT, SIGHUP, SIGTERM, SIGKILL. It returns for
// any other signal, or when the launcher survived it, and the caller exits
// with 128+N instead.
func DieBy(sig unix.Signal) {
	switch sig {
	case unix.SIGINT, unix.SIGHUP, unix.SIGTERM:
		// Go's own handler for these kills the process by the signal once
		// nothing is notified of it.
		signal.Reset(sig)
	case unix.SIGKILL:
	default:
		return
	}
	_ = unix.Kill(os.Getpid(), sig)
	time.Sleep(time.Second) // delivery is asynchronous
}
