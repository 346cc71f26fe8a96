package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// envParentNS carries the parent's "netns-inode:mntns-inode" to the lab
// child, which refuses to run if it still shares either.
const envParentNS = "NSJAIL_NET_BENCH_PARENT_NS"

// nsID is the inode of /proc/self/ns/<kind>.
func nsID(kind string) (uint64, error) {
	fi, err := os.Stat("/proc/self/ns/" + kind)
	if err != nil {
		return 0, fmt.Errorf("reading own %s namespace: %w", kind, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("reading own %s namespace: no inode", kind)
	}
	return st.Ino, nil
}

func nsIdentity() (string, error) {
	net, err := nsID("net")
	if err != nil {
		return "", err
	}
	mnt, err := nsID("mnt")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d:%d", net, mnt), nil
}

// reexecInLab runs this program again in new network and mount namespaces
// (clone flags: the child is never in the machine's namespaces) and
// returns its exit status. Interrupts are passed on, so that the child
// cleans up.
func reexecInLab() int {
	id, err := nsIdentity()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), envParentNS+"="+id)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS,
		Pdeathsig:  syscall.SIGKILL,
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "bench: starting the lab:", err)
		return 1
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return max(ee.ExitCode(), 1)
	default:
		fmt.Fprintln(os.Stderr, "bench: lab:", err)
		return 1
	}
}

// checkPrivate makes sure this process is not in the parent's network or
// mount namespace: a safety net against ever wiring the real machine.
func checkPrivate(parent string) error {
	id, err := nsIdentity()
	if err != nil {
		return err
	}
	var pnet, pmnt, net, mnt uint64
	if _, err := fmt.Sscanf(parent, "%d:%d", &pnet, &pmnt); err != nil {
		return fmt.Errorf("bad %s %q", envParentNS, parent)
	}
	if _, err := fmt.Sscanf(id, "%d:%d", &net, &mnt); err != nil {
		return fmt.Errorf("own namespaces %q: %w", id, err)
	}
	if net == pnet || mnt == pmnt {
		return errors.New("still in the machine's network or mount namespace; refusing to run")
	}
	// And never pid 1's (the variable could have been set by hand), where
	// pid 1's namespaces are visible (not in every container).
	for kind, own := range map[string]uint64{"net": net, "mnt": mnt} {
		fi, err := os.Stat("/proc/1/ns/" + kind)
		if err != nil {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Ino == own {
			return fmt.Errorf("in pid 1's %s namespace; refusing to run", kind)
		}
	}
	return nil
}
