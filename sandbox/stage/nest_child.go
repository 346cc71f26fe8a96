package stage

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// NestArg, as argv[1] of the init stage, asks for a pid namespace nested in
// the one the stage was born in (exec into a sandbox: the launcher entered
// the sandbox's for the fork).
//
// A new pid namespace can only be made under the caller's own (the kernel
// refuses CLONE_NEWPID below a namespace entered by setns), so the launcher
// cannot make it directly. This stage is born into the sandbox's, makes the
// nested one for its children, and starts the real init stage there as its
// pid 1 (runAsInit), handing it the sync socket and the namespaces to join
// (fds 3-5). It then only waits: it exits with that stage's status, and
// dies with the launcher (parent-death signal, armed by Init), taking that
// stage, and so the nested namespace, with it. What the exec'd program
// leaves behind thus ends with it, as for run.
const NestArg = "nest"

func nest() {
	if err := unix.Unshare(unix.CLONE_NEWPID); err != nil {
		os.Exit(125) // the launcher reads EOF and reports the stage gone
	}
	dropExitSignals()
	// Forked from this (locked) thread, whose children go to the nested
	// namespace. No Pdeathsig here: the child sees no parent across the
	// namespace, and arms its own (Init).
	pid, err := syscall.ForkExec("/proc/self/exe", []string{InitArg}, &syscall.ProcAttr{
		Files: []uintptr{0, 1, 2, syncFd, joinNetFd, joinUTSFd},
	})
	if err != nil {
		os.Exit(125)
	}
	for _, fd := range []int{syncFd, joinNetFd, joinUTSFd} {
		unix.Close(fd)
	}
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || !ws.Exited() {
			os.Exit(125)
		}
		os.Exit(ws.ExitStatus())
	}
}
