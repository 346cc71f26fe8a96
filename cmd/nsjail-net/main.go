// Command nsjail-net runs a program with exactly the network it is allowed.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nsjail-net/nsjail-net/sandbox"
	_ "github.com/nsjail-net/nsjail-net/sandbox/stage" // hidden init and pause stages
)

func runCLI(args []string) int {
	cliArgs = args
	app := newApp()
	err := app.Run(args)
	if err == nil {
		return 0
	}
	var ex *exitError
	if errors.As(err, &ex) {
		if sig, ok := ex.err.(*sandbox.SignaledError); ok {
			// The program died of a signal and nothing else went wrong:
			// end the same way (a script's shell stops on Ctrl-C then).
			sandbox.DieBy(sig.Signal)
			return ex.code
		}
		if ex.err != nil {
			fmt.Fprintf(os.Stderr, "nsjail-net: %v\n", ex.err)
		}
		return ex.code
	}
	fmt.Fprintf(os.Stderr, "nsjail-net: %v\n", err)
	return sandbox.ExitSetup
}

func newApp() *cli.App {
	app := &cli.App{
		Name:    "nsjail-net",
		Usage:   "run a program with exactly the network it is allowed",
		Version: buildVersion(),
		Description: `nsjail-net runs a program in its own network namespace: a veth into a host
bridge with NAT, a firewall compiled from a TOML profile and its own
resolv.conf, or no network at all. It needs root (run it with sudo); the
program itself runs as you, with no capability.

Examples:
   sudo nsjail-net run --profile web -- curl -sI https://example.com
   sudo nsjail-net run -- ./untrusted-binary          # offline by default
   sudo nsjail-net run --profile ./myproject.toml --user alice -- make test
   nsjail-net profile list
   nsjail-net help run                                 # as "run --help"

Exit status, for every command:
   0         success (run, exec: the program exited 0)
   1         a check found a problem: profile check or show (a profile is
             not found or has errors), doctor (a check FAILed)
   125       nsjail-net failed: usage error (unknown command or flag, bad or
             empty value) or setup error; one line on stderr, "nsjail-net: ..."
   126, 127  run, exec: the program cannot be executed, or is not found
   128+N     run, exec: the program was killed by signal N
   other     run, exec: the program's own exit status`,
		ErrWriter: os.Stderr,
		// A flag's value is one value: --allow's port lists hold commas
		// ("udp:198.51.100.7:53,5353"); repeat a flag to give several.
		DisableSliceFlagSeparator: true,
		HideHelpCommand:           true,
		Flags:                     globalFlags(),
		Action:                    unknownCommand,
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usageError(c, err)
		},
		Commands: []*cli.Command{
			runCommand(),
			execCommand(),
			createCommand(),
			deleteCommand(),
			profileCommand(),
			listCommand(),
			inspectCommand(),
			stopCommand(),
			gcCommand(),
			doctorCommand(),
			trustCommand(),
			completionCommand(),
			completeCommand(),
		},
	}
	prepareCommands(app.Commands)
	// With a command named "help", urfave/cli adds no --help flag itself.
	app.Commands = append(app.Commands, helpCommand(false))
	app.Flags = append(app.Flags, cli.HelpFlag)
	return app
}

// prepareCommands gives every command the app's front door: a usage error
// (a bad flag) is one line on stderr with exit status 125 (usageError); a
// command with subcommands refuses an unknown one the same way and has a
// "help" of its own; an empty value for a flag is refused before the
// action runs (refuseEmpty).
func prepareCommands(cmds []*cli.Command) {
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = func(ctx *cli.Context, err error, _ bool) error {
				return usageError(ctx, err)
			}
		}
		if len(c.Subcommands) > 0 {
			c.HideHelpCommand = true
			if c.Action == nil {
				c.Action = unknownCommand
			}
			prepareCommands(c.Subcommands)
			c.Subcommands = append(c.Subcommands, helpCommand(true))
		}
		if action := c.Action; action != nil {
			c.Action = func(ctx *cli.Context) error {
				if err := refuseEmpty(ctx); err != nil {
					return usageError(ctx, err)
				}
				return action(ctx)
			}
		}
	}
}

// exitError carries the process exit code; err, if any, is printed.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// commandPath is the command's full name, "profile show" for a subcommand
// (urfave/cli's FullName gives only "show" there).
func commandPath(c *cli.Context) string {
	var names []string
	for _, x := range c.Lineage() {
		// The app's own root command carries the app's name.
		if x.Command != nil && x.Command.Name != "" && x.Command.Name != c.App.Name && (len(names) == 0 || names[0] != x.Command.Name) {
			names = append([]string{x.Command.Name}, names...)
		}
	}
	return strings.Join(names, " ")
}
