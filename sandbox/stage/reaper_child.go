package stage

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// runAsInit is what the init stage becomes once it has dropped every
// privilege, when it is pid 1 of a pid namespace (the sandbox's for run, one
// nested in the sandbox's for exec): the parent of the program and the
// reaper of whatever the program leaves behind.
//
// Why not exec the program as pid 1: the kernel delivers to a namespace's
// init only the signals it has a handler for, so a program that handles
// nothing would ignore SIGTERM, and nobody would reap the zombies of its
// daemonised children. When this process exits, the kernel kills every
// process left in the namespace and waits for them: the sandbox ends with
// its program, however deep its process tree. When the launcher dies, the
// parent-death signal (re-armed by finalizeAndFind) kills this process, and
// so the sandbox, whoever killed the launcher.
//
// This process holds what the program holds (same ids, no capability, the
// same seccomp filter, no_new_privs), and is not dumpable, so the program
// cannot read or write its memory. Signals: the launcher sends the program
// its signals directly (pidfd), and those the terminal sends the job reach
// the program too; a namespace's init ignores every signal it has no
// handler for, but Go installs handlers that exit on SIGINT, SIGTERM,
// SIGHUP and SIGQUIT, so those are caught here and dropped. Caught, not
// ignored: the program gets them at their defaults.
func runAsInit(sock *os.File, path string, cfg *ChildConfig) {
	dropExitSignals()
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fail(sock, step("set not dumpable", err))
	}
	// ForkExec forks from this locked thread, whose credentials, filter
	// and no_new_privs the program inherits; it reports exec's failure.
	pid, err := syscall.ForkExec(path, cfg.Argv, &syscall.ProcAttr{
		Env:   cfg.Env,
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		fail(sock, step("exec", fmt.Errorf("%s: %w", cfg.Argv[0], err)))
	}
	started, _ := EncodeMsg(Message{Type: MsgStarted}) // no field to fail on
	if _, err := sock.Write(started); err != nil {
		os.Exit(125) // the launcher is gone; so are we, with the namespace
	}
	status := reapUntil(pid)
	exited, _ := EncodeMsg(Message{Type: MsgExited, Status: int(status)})
	_, _ = sock.Write(exited)
	os.Exit(0)
}

// reapUntil reaps every child, the program's orphans included, until the
// program itself has exited, and returns its wait status.
func reapUntil(program int) unix.WaitStatus {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		switch {
		case err == unix.EINTR:
		case err != nil:
			return unix.WaitStatus(125 << 8) // ECHILD: cannot happen, the program is a child
		case pid == program:
			return ws
		}
	}
}

// dropExitSignals catches and drops the signals on which Go's runtime would
// exit (SIGINT, SIGTERM, SIGHUP, SIGQUIT): a stage that stays beside the
// program must not end, and end the program with it, when the terminal
// sends them to the whole job. Caught, not ignored: a program forked
// afterwards starts with them at their defaults.
func dropExitSignals() {
	signal.Notify(make(chan os.Signal, 1), unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
}
