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

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

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
		Version: version,
		Description: `nsjail-net runs a program in its own network namespace: a veth into a host
bridge with NAT, a firewall compiled from a TOML profile and its own
resolv.conf, or no network at all. It needs root (run it with sudo); the
program itself runs as you, with no capability.

Examples:
   sudo nsjail-net run --profile web -- curl -sI https://example.com
   sudo nsjail-net run -- ./untrusted-binary          # offline by default
   sudo nsjail-net run --profile ./myproject.toml --user alice -- make test
   nsjail-net profile list`,
		ErrWriter:       os.Stderr,
		HideHelpCommand: true,
		Flags:           globalFlags(),
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
	oneLineUsageErrors(app.Commands)
	return app
}

// oneLineUsageErrors makes every command report a usage error (a bad flag)
// as the app does: one line on stderr naming the command and the problem,
// exit status 125. urfave/cli's default prints the whole help to stdout,
// which a script wrapping a command would take for the program's output.
func oneLineUsageErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = func(ctx *cli.Context, err error, _ bool) error {
				return usageError(ctx, err)
			}
		}
		oneLineUsageErrors(c.Subcommands)
	}
}

func usageError(c *cli.Context, err error) error {
	name := commandPath(c)
	if hint, ok := dockerHint(name, err); ok {
		return &exitError{code: sandbox.ExitSetup, err: errors.New(hint)}
	}
	if name == "" {
		return &exitError{code: sandbox.ExitSetup, err: fmt.Errorf("%w (see 'nsjail-net --help')", err)}
	}
	return &exitError{code: sandbox.ExitSetup, err: fmt.Errorf("%s: %w (see 'nsjail-net %s --help')", name, err, name)}
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
