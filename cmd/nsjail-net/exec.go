package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/nsjail-net/nsjail-net/launch"
	"github.com/nsjail-net/nsjail-net/lifecycle"
	"github.com/nsjail-net/nsjail-net/sandbox"
	"github.com/nsjail-net/nsjail-net/state"
)

func execCommand() *cli.Command {
	return interspersed(&cli.Command{
		Name:      "exec",
		Usage:     "run another program inside a live sandbox",
		ArgsUsage: "NAME [--] PROGRAM [ARG...]",
		Description: `Runs PROGRAM in the network of the live sandbox NAME (started with
"run --name NAME" or "create NAME"): the same interfaces, firewall,
resolv.conf and hosts, dropped to a user with no capability exactly as the
sandbox's own program. Exit status as for run. The ip netns equivalent is
"ip netns exec NAME PROGRAM", which keeps root's capabilities.

Examples:
   sudo nsjail-net create lab1 --profile web
   sudo nsjail-net exec lab1 -- curl -sI https://example.com
   sudo nsjail-net exec --user alice --env DEBUG=1 lab1 -- ./client
   sudo nsjail-net exec lab1 -- ip addr`,
		Flags:  processFlagList(),
		Action: execAction,
	})
}

func execAction(c *cli.Context) error {
	setupErr := func(err error) error { return &exitError{code: sandbox.ExitSetup, err: err} }
	g, err := parseGlobals(c)
	if err != nil {
		return setupErr(err)
	}
	args := positionals(c)
	if len(args) == 0 {
		return setupErr(errors.New("exec: no sandbox name given (usage: nsjail-net exec NAME -- PROGRAM [ARG...])"))
	}
	name, argv := args[0], args[1:]
	if len(argv) > 0 && argv[0] == "--" {
		argv = argv[1:]
	}
	if err := state.ValidName(name); err != nil {
		return setupErr(fmt.Errorf("exec: sandbox %w", err))
	}
	if len(argv) == 0 {
		return setupErr(fmt.Errorf("exec %s: no program given", name))
	}
	if err := requirePrivileges("exec", "it enters a sandbox's namespaces"); err != nil {
		return setupErr(err)
	}
	pf, err := parseProcessFlags(c, false)
	if err != nil {
		return setupErr(err)
	}
	code, err := launch.Exec(launch.ExecSpec{
		StateDir: g.stateDir, Name: name, Argv: argv, Env: pf.env, User: pf.user,
		Workdir: pf.workdir, WorkdirExplicit: pf.workdirExplicit, ReadOnly: lifecycle.PolicyDirs(pf.user.Home),
		Stdio: sandbox.Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr},
		Log:   g.log,
	})
	if err != nil || code != 0 {
		return &exitError{code: code, err: err}
	}
	return nil
}
