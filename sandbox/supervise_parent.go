package sandbox

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// ForwardedSignals are passed on to the program.
var forwardedSignals = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

// CatchSignals starts catching the forwarded signals (and the terminal
// stop signals, so that restoring the terminal from the background cannot
// stop us). Call it before Start so that nothing is lost during setup.
func CatchSignals() chan os.Signal {
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, forwardedSignals...)
	// Caught, not ignored: an ignored disposition would be inherited by
	// the program across exec.
	signal.Notify(make(chan os.Signal, 1), unix.SIGTTOU, unix.SIGTTIN)
	return ch
}

// Wait supervises the running program: it forwards signals from sigs,
// handles job control when the program owns the terminal, and returns the
// program's exit status (128+N when killed by signal N).
func (c *Child) Wait(sigs <-chan os.Signal) int {
	done := make(chan unix.WaitStatus, 1)
	stopped := make(chan struct{})
	cont := make(chan struct{})
	go c.reap(done, stopped, cont)
	for {
		select {
		case s := <-sigs:
			_ = unix.Kill(c.Pid, s.(unix.Signal))
		case <-stopped:
			// The program stopped (Ctrl-Z): hand the terminal back and stop
			// ourselves so the shell sees the job stop; on SIGCONT give the
			// terminal back to the program and continue it.
			c.restoreTTY()
			_ = unix.Kill(os.Getpid(), unix.SIGSTOP)
			if c.tty != nil {
				_ = unix.IoctlSetPointerInt(int(c.tty.Fd()), unix.TIOCSPGRP, c.Pgid)
			}
			_ = unix.Kill(-c.Pgid, unix.SIGCONT)
			cont <- struct{}{}
		case ws := <-done:
			c.restoreTTY()
			switch {
			case ws.Exited():
				return ws.ExitStatus()
			case ws.Signaled():
				return 128 + int(ws.Signal())
			}
			return 125
		}
	}
}

// reap waits for the program, reporting stops when it owns the terminal.
func (c *Child) reap(done chan<- unix.WaitStatus, stopped, cont chan struct{}) {
	opts := 0
	if c.tty != nil {
		opts = unix.WUNTRACED
	}
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(c.Pid, &ws, opts, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			done <- unix.WaitStatus(125 << 8)
			return
		}
		if ws.Stopped() {
			stopped <- struct{}{}
			<-cont
			continue
		}
		done <- ws
		return
	}
}

// restoreTTY gives the terminal back to our process group.
func (c *Child) restoreTTY() {
	if c.tty == nil {
		return
	}
	_ = unix.IoctlSetPointerInt(int(c.tty.Fd()), unix.TIOCSPGRP, unix.Getpgrp())
}
