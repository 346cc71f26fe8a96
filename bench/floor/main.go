// Command floor is the least a launcher written in Go can do. With no
// arguments it starts and exits: the cost of a Go process start. With a
// command it runs it in new network and mount namespaces, as
// `unshare -n -m` does (mounts made private, nothing else set up), and
// exits with its status. The benchmark times it beside unshare(1), so the
// part of a target that the language alone takes is measured, not guessed.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		return
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNET,
		// As an unshare flag, Go also makes every mount private in the
		// child, as unshare(1) does.
		Unshareflags: syscall.CLONE_NEWNS,
	}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(125)
	}
}
