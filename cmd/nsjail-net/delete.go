package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/nsjail-net/nsjail-net/launch"
	"github.com/nsjail-net/nsjail-net/sandbox"
	"github.com/nsjail-net/nsjail-net/state"
)

func deleteCommand() *cli.Command {
	return interspersed(&cli.Command{
		Name:      "delete",
		Usage:     "delete a persistent sandbox made by create (like ip netns delete)",
		ArgsUsage: "NAME",
		Description: `Stops the sandbox NAME made by "create": its pause program ends, its
launcher removes its veth, rules, lease, /run/netns entry and state. Programs
started in it with "exec" lose their network. For a sandbox started by "run",
use "stop".

Examples:
   sudo nsjail-net delete myproj
   sudo nsjail-net delete --timeout 30s myproj`,
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "then kill the launcher and clean up after it"},
		},
		Action: deleteAction,
	})
}

func deleteAction(c *cli.Context) error {
	setupErr := func(err error) error { return &exitError{code: sandbox.ExitSetup, err: err} }
	g, err := parseGlobals(c)
	if err != nil {
		return setupErr(err)
	}
	if len(positionals(c)) != 1 {
		return setupErr(errors.New("delete: want exactly one sandbox NAME"))
	}
	name := positionals(c)[0]
	if err := state.ValidName(name); err != nil {
		return setupErr(fmt.Errorf("delete: sandbox %w", err))
	}
	if err := requirePrivileges("delete", "it removes a sandbox's namespaces and host network interfaces"); err != nil {
		return setupErr(err)
	}
	dir, err := state.Open(g.stateDir)
	if err != nil {
		return setupErr(err)
	}
	rec, err := launch.Live(dir, name)
	if err != nil {
		return setupErr(err)
	}
	if !rec.Persistent {
		return setupErr(fmt.Errorf("delete: sandbox %q was started by run, not create: use nsjail-net stop %s", name, name))
	}
	// The launcher forwards SIGTERM to the pause, which exits; the launcher
	// then undoes everything and exits too.
	if err := unix.Kill(rec.Owner.PID, unix.SIGTERM); err != nil && !errors.Is(err, unix.ESRCH) {
		return setupErr(fmt.Errorf("delete %s: signalling its launcher (pid %d): %w", name, rec.Owner.PID, err))
	}
	deadline := time.Now().Add(c.Duration("timeout"))
	for rec.Owner.Alive() {
		if time.Now().After(deadline) {
			_ = unix.Kill(rec.Owner.PID, unix.SIGKILL)
			for rec.Owner.Alive() {
				time.Sleep(5 * time.Millisecond)
			}
			if err := launch.Reap(dir, rec, g.log); err != nil {
				return setupErr(fmt.Errorf("delete %s: cleaning up after its killed launcher: %w", name, err))
			}
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}
