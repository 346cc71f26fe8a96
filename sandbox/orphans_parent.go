package sandbox

import (
	"errors"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// BecomeSubreaper makes the launcher the reaper of the program's
// descendants: a child that daemonises (double fork, setsid) is reparented
// to us, not to init, so KillOrphans can end it with the sandbox.
func BecomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// KillOrphans SIGKILLs and reaps every remaining child of this process (the
// program's descendants that outlived it), until none is left. Call it
// only when no other child of ours is running (after the program exited
// and the resolver stopped).
func KillOrphans() error {
	var errs []error
	for round := 0; round < 100; round++ {
		pids := children()
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
				errs = append(errs, err)
			}
		}
		for _, pid := range pids {
			var ws unix.WaitStatus
			for {
				_, err := unix.Wait4(pid, &ws, 0, nil)
				if err != unix.EINTR {
					break
				}
			}
		}
	}
	return errors.Join(errs...)
}

// children lists the pids of this process's children, from every thread.
func children() []int { return childrenOf("self") }

// ProgramOf returns the pid of the program of the sandbox whose init is
// initPid (the init's only child), or 0 when it has none.
func ProgramOf(initPid int) int {
	if kids := childrenOf(strconv.Itoa(initPid)); len(kids) > 0 {
		return kids[0]
	}
	return 0
}

// childrenOf lists the children of process pid ("self" or a number), from
// every thread, as pids of our namespace.
func childrenOf(pid string) []int {
	tasks, err := os.ReadDir("/proc/" + pid + "/task")
	if err != nil {
		return nil
	}
	var pids []int
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + pid + "/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}
