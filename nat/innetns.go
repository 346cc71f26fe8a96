package nat

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"

	"github.com/vishvananda/netns"
)

// InNetns runs f on a throwaway OS thread switched into ns (the CNI ns.Do
// pattern): the thread is locked for the switch and released only if
// switching back succeeded, so no goroutine ever runs in the wrong
// namespace. Sockets f opens stay in ns; processes f starts run there.
func InNetns(ns netns.NsHandle, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread() // never left its namespace
			errc <- fmt.Errorf("current network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread() // never left its namespace
			errc <- fmt.Errorf("entering network namespace: %w", err)
			return
		}
		ferr := f()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("switching back to the host namespace: %w", err))
			return // locked thread in the wrong namespace dies with the goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// RestoreInNetns applies iptables-restore --noflush text inside ns.
func RestoreInNetns(ns netns.NsHandle, v6 bool, text string) error {
	bin, err := RestoreBinary(v6)
	if err != nil {
		return err
	}
	return InNetns(ns, func() error {
		cmd := exec.Command(bin, "--noflush", "-w", "5")
		cmd.Stdin = strings.NewReader(text)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s in the sandbox: %w: %s", bin, err, out)
		}
		return nil
	})
}
