package sandbox

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// How the launcher lives with a terminal.
//
// With a controlling terminal the program joins the launcher's process
// group instead of getting one of its own, the way sudo (without use_pty),
// env and `unshare --fork` run their commands. The shell's job is then the
// launcher and its program together, and the kernel does job control for
// both: Ctrl-C and Ctrl-\ reach every process of the job, Ctrl-Z stops them
// all and `fg`/`bg` continue them all, a background program that reads the
// terminal stops with the launcher (SIGTTIN goes to the whole group), the
// rest of a pipeline (`run -- cmd | less`) keeps the terminal, and a shell in
// the sandbox makes process groups of its own under the same session.
//
// The launcher therefore never takes the terminal from anyone while the
// program runs; it does not catch SIGTSTP, SIGTTIN or SIGTTOU (it stops with
// its job) and does not forward what the terminal sent the whole group
// already (forwards.go). Only when the program has ended does it look at the
// terminal again (Release): a foreground process group left behind by the
// sandbox (a shell inside that made its own group and could not give the
// terminal back) is replaced by the launcher's own, and the modes are
// restored. Both changes use tcsetpgrp/tcsetattr with SIGTTOU blocked on
// the calling thread, the way shells call them: a background caller with
// SIGTTOU caught would get ERESTARTSYS and retry forever (the old busy loop).
//
// Without a controlling terminal (cron, CI, `setsid`) nobody does job
// control: the program gets its own process group, so that a signal sent to
// the launcher's group reaches it exactly once, through the launcher.
type terminal struct {
	f     *os.File // the controlling terminal (/dev/tty), close-on-exec
	pgrp  int      // the launcher's process group
	modes *unix.Termios
	// flags are the file status flags (F_GETFL) of our fds 0-2 that are
	// terminals: open files the program shares with the user's shell.
	flags map[int]int
}

// openTerminal returns the launcher's controlling terminal, or nil when it
// has none.
func openTerminal() *terminal {
	fd, err := unix.Open("/dev/tty", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil // ENXIO: no controlling terminal
	}
	t := &terminal{f: os.NewFile(uintptr(fd), "/dev/tty"), pgrp: unix.Getpgrp(), flags: map[int]int{}}
	if m, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
		t.modes = m
	}
	for std := 0; std <= 2; std++ {
		if _, err := unix.IoctlGetTermios(std, unix.TCGETS); err != nil {
			continue // not a terminal
		}
		if fl, err := unix.FcntlInt(uintptr(std), unix.F_GETFL, 0); err == nil {
			t.flags[std] = fl
		}
	}
	return t
}

// foreground reports whether the launcher's process group is the
// terminal's foreground group.
func (t *terminal) foreground() bool {
	pgrp, err := unix.IoctlGetInt(int(t.f.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == t.pgrp
}

// Release gives the terminal back after the program and everything it left
// have ended: the foreground group, if the sandbox's processes held it,
// output flow, shared opens and the status flags of the standard files,
// and then, if the launcher is in the foreground, the modes it found at
// start.
// A launcher in the background (its job was sent there with `bg`) leaves
// the terminal alone: it belongs to the shell.
func (t *terminal) Release() {
	if t == nil {
		return
	}
	defer t.f.Close()
	fd := int(t.f.Fd())
	if pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP); err == nil && pgrp != t.pgrp && pgrp > 0 && groupGone(pgrp) {
		_ = withTTOUBlocked(func() error { return unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, t.pgrp) })
	}
	// State the modes do not hold, left behind by the sandbox, would break
	// the terminal for the user's shell wherever the launcher stands:
	// output suspended (tcflow TCOOFF: the shell hangs writing its prompt,
	// and ^Q does not undo it) and exclusive mode (TIOCEXCL: no further
	// open of the terminal, as sudo, ssh and pinentry do). Resuming output
	// and leaving exclusive mode are no-ops when nothing was changed.
	_ = withTTOUBlocked(func() error { return unix.IoctlSetInt(fd, unix.TCXONC, unix.TCOON) })
	_ = unix.IoctlSetInt(fd, unix.TIOCNXCL, 0)
	// The file status flags of the open files the program shared with the
	// shell (O_NONBLOCK left set breaks the next reader's read).
	for std, fl := range t.flags {
		if now, err := unix.FcntlInt(uintptr(std), unix.F_GETFL, 0); err == nil && now != fl {
			_, _ = unix.FcntlInt(uintptr(std), unix.F_SETFL, fl)
		}
	}
	if t.modes != nil && t.foreground() {
		_ = withTTOUBlocked(func() error { return unix.IoctlSetTermios(fd, unix.TCSETS, t.modes) })
	}
}

// groupGone reports whether no process is left in process group pgrp.
func groupGone(pgrp int) bool {
	return unix.Kill(-pgrp, 0) == unix.ESRCH
}

// withTTOUBlocked runs f on one OS thread with SIGTTOU and SIGTTIN blocked
// there. The kernel lets a process outside the foreground group change the
// terminal when it blocks or ignores SIGTTOU (tty_check_change); blocking it
// on this thread alone leaves the process's dispositions, which the program
// would inherit, untouched.
func withTTOUBlocked(f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var set, old unix.Sigset_t
	for _, s := range []unix.Signal{unix.SIGTTOU, unix.SIGTTIN} {
		set.Val[(s-1)/64] |= 1 << ((uint(s) - 1) % 64)
	}
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, &old); err != nil {
		return err
	}
	defer func() { _ = unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil) }()
	return f()
}
