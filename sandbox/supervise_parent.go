package sandbox

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"

	"github.com/nsjail-net/nsjail-net/sandbox/stage"
)

// forwardedSignals are passed on to the program (see forward for when).
// SIGTSTP, SIGTTIN and SIGTTOU are deliberately absent: the launcher keeps
// their default action and stops with its job (terminal_parent.go).
var forwardedSignals = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

// fromTerminal are the signals a terminal sends to its whole foreground
// process group: keys (Ctrl-C, Ctrl-\) and resizes.
var fromTerminal = map[unix.Signal]bool{unix.SIGINT: true, unix.SIGQUIT: true, unix.SIGWINCH: true}

// CatchSignals starts catching the forwarded signals. Call it before Start
// so that nothing is lost during setup. Caught, never ignored: an ignored
// disposition would be inherited by the program across exec.
func CatchSignals() chan os.Signal {
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, forwardedSignals...)
	return ch
}

// Wait supervises the running program: it forwards signals from sigs and
// returns the program's exit status (128+N when killed by signal N).
func (c *Child) Wait(sigs <-chan os.Signal) int {
	done := make(chan unix.WaitStatus, 1)
	go c.reap(done)
	for {
		select {
		case s := <-sigs:
			c.forward(s.(unix.Signal))
		case ws := <-done:
			if c.init {
				ws = c.programStatus(ws)
			}
			switch {
			case ws.Exited():
				return ws.ExitStatus()
			case ws.Signaled():
				c.killedBy = ws.Signal()
				return 128 + int(ws.Signal())
			}
			return ExitSetup
		}
	}
}

// forward passes s on to the program unless the program has it already.
// A program sharing our process group (we have a controlling terminal) got
// a key or a resize from the terminal itself when we are in the foreground:
// sending it again would deliver Ctrl-C twice. Anything else, and every
// signal when the program has a group of its own, came to the launcher
// alone and is passed on.
func (c *Child) forward(s unix.Signal) {
	if c.tty != nil && fromTerminal[s] && c.tty.foreground() {
		return
	}
	if c.prog >= 0 {
		_ = unix.PidfdSendSignal(c.prog, s, nil, 0)
		return
	}
	_ = unix.Kill(c.Pid, s)
}

// programStatus returns the program's wait status as the init stage
// reported it before exiting, or the init stage's own (initWS) when it
// reported none (it was killed).
func (c *Child) programStatus(initWS unix.WaitStatus) unix.WaitStatus {
	defer c.sock.Close()
	if c.prog >= 0 {
		unix.Close(c.prog)
		c.prog = -1
	}
	var m stage.Message
	if err := stage.ReadMsg(c.r, &m); err != nil || m.Type != stage.MsgExited {
		return initWS
	}
	return unix.WaitStatus(m.Status)
}

// reap waits for the program to exit.
func (c *Child) reap(done chan<- unix.WaitStatus) {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(c.Pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			done <- unix.WaitStatus(ExitSetup << 8)
			return
		}
		done <- ws
		return
	}
}

// Err is nil when the program exited and a *SignaledError when a signal
// killed it; call it after Wait.
func (c *Child) Err() error {
	if c.killedBy == 0 {
		return nil
	}
	return &SignaledError{Signal: c.killedBy}
}

// ReleaseTerminal gives the terminal back once the program and everything it
// left behind have ended (see terminal.Release). Call it once, last.
func (c *Child) ReleaseTerminal() {
	c.tty.Release()
	c.tty = nil
}
