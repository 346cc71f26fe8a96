package stage

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// PauseArg is argv[0] of the program of a persistent sandbox (`create`):
// the launcher's own binary, which then only waits to be told to stop.
const PauseArg = "nsjail-net:pause"

// PausePath is what the init stage executes for it.
const PausePath = "/proc/self/exe"

// IsPause reports whether this process is a persistent sandbox's pause.
func IsPause() bool { return len(os.Args) > 0 && os.Args[0] == PauseArg }

// Pause waits for SIGTERM, SIGINT or SIGHUP and exits 0.
func Pause() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	<-ch
	os.Exit(0)
}
