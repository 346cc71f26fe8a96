package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/nsjail-net/nsjail-net/lifecycle"
	"github.com/nsjail-net/nsjail-net/sandbox"
	"github.com/nsjail-net/nsjail-net/state"
)

// stopPoll is how often stop checks whether the program has exited.
const stopPoll = 20 * time.Millisecond

// stopCleanupWait bounds how long stop waits, after the program exited,
// for its launcher to remove the sandbox.
const stopCleanupWait = 5 * time.Second

func stopCommand() *cli.Command {
	return interspersed(&cli.Command{
		Name:      "stop",
		Usage:     "stop a live sandbox's program",
		ArgsUsage: "NAME",
		Description: `Sends SIGNAL (default TERM) to the program of sandbox NAME and to its process
group, waits up to --timeout for it to exit, then sends SIGKILL. The 'run' that
supervises the sandbox then cleans up and exits with the program's status
(143 for TERM, 137 for KILL); stop returns once that clean-up is done.

For a persistent sandbox (made by create) the signal goes to the process that
holds its namespace; use 'nsjail-net delete' to remove one.

Examples:
   sudo nsjail-net stop lab1
   sudo nsjail-net stop lab1 --signal INT --timeout 30s
   sudo nsjail-net stop --signal KILL lab1`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Value: "TERM", Usage: "signal to send first: a name (TERM, SIGINT, ...) or a number"},
			&cli.DurationFlag{Name: "timeout", Aliases: []string{"t"}, Value: 10 * time.Second, Usage: "how long to wait before SIGKILL"},
		},
		Action: stopAction,
	})
}

func stopAction(c *cli.Context) error {
	g, err := parseGlobals(c)
	if err != nil {
		return failSetup(err)
	}
	args := positionals(c)
	if len(args) != 1 {
		return usageError(c, fmt.Errorf("want one sandbox name, got %d arguments", len(args)))
	}
	sig, err := parseSignal(c.String("signal"))
	if err != nil {
		return usageError(c, fmt.Errorf("--signal %q: %w", c.String("signal"), err))
	}
	timeout := c.Duration("timeout")
	if timeout < 0 {
		return usageError(c, fmt.Errorf("--timeout %v: must not be negative", timeout))
	}
	_, rec, err := findSandbox(g, args[0])
	if err != nil {
		return failSetup(err)
	}
	if err := stopSandbox(rec, sig, timeout, g.log); err != nil {
		return failSetup(err)
	}
	if err := waitRemoved(rec); err != nil {
		return failSetup(err)
	}
	return nil
}

// stopSandbox signals the program (the only child of the sandbox's init)
// and waits up to timeout for the sandbox to end, then kills its init, which
// ends every process in the sandbox's pid namespace.
func stopSandbox(rec *state.Sandbox, sig unix.Signal, timeout time.Duration, log *slog.Logger) error {
	init := state.Owner{PID: rec.Pid, StartTime: rec.PidStart}
	if !lifecycle.ProgramAlive(rec) {
		return nil // already gone; its launcher is cleaning up
	}
	if prog := sandbox.ProgramOf(rec.Pid); prog > 0 {
		if err := unix.Kill(prog, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("signalling sandbox %q (program, pid %d): %w", rec.Name, prog, err)
		}
		log.Debug("signalled", "sandbox", rec.Name, "pid", prog, "signal", unix.SignalName(sig))
	}
	// No program found: it is exiting already, and the init with it.
	if waitDead(init, timeout) {
		return nil
	}
	if !init.Alive() {
		return nil
	}
	log.Debug("killing", "sandbox", rec.Name, "init", rec.Pid)
	if err := unix.Kill(rec.Pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("killing sandbox %q (init, pid %d): %w", rec.Name, rec.Pid, err)
	}
	if !waitDead(init, stopCleanupWait) {
		return fmt.Errorf("sandbox %q: pid %d still alive %v after SIGKILL", rec.Name, rec.Pid, stopCleanupWait)
	}
	return nil
}

// waitDead polls until p is no longer alive (a zombie counts as dead) or
// the timeout passes.
func waitDead(p state.Owner, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for p.Alive() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(stopPoll)
	}
	return true
}

// waitRemoved waits until the supervising launcher has finished its
// clean-up, so that stop returning means the sandbox is gone: `list` no
// longer shows it and its name is free. The launcher releases the lease,
// the name and what the program left after it removes the record, so its
// exit is the end, not the record's removal. The same holds for a
// persistent sandbox, whose detached launcher exits once its pause did.
func waitRemoved(rec *state.Sandbox) error {
	if !waitDead(rec.Owner, stopCleanupWait) {
		return fmt.Errorf("sandbox %q: its launcher (%s) has not finished its clean-up %v after the program exited", rec.Name, rec.Owner, stopCleanupWait)
	}
	return nil
}

// parseSignal accepts TERM, SIGTERM, term and 15.
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, errors.New("not a signal number")
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, errors.New("unknown signal (try TERM, INT, HUP, KILL or a number)")
}
