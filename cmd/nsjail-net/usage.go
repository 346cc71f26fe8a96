package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nsjail-net/nsjail-net/lifecycle"
	"github.com/nsjail-net/nsjail-net/policy"
	"github.com/nsjail-net/nsjail-net/sandbox"
)

// The exit statuses of every command (README "Exit status" and the app's
// --help say the same):
//
//	0        success (run, exec: the program exited 0)
//	1        a check found a problem: profile check or show (a profile does
//	         not load), doctor (a check FAILed)
//	125      nsjail-net itself failed: a usage error (unknown command or
//	         flag, a bad value) or a setup error (sandbox.ExitSetup)
//	126, 127 run, exec: the program cannot be executed, or is not found
//	128+N    run, exec: the program was killed by signal N
//	other    run, exec: the program's own exit status
const exitProblem = 1

// usageError reports a mistake on the command line: one line on stderr,
// naming the command, with a "did you mean" when one is close, else where
// to read more; exit status 125. urfave/cli's default prints the whole
// help to stdout, which a script wrapping a command would take for the
// program's output.
func usageError(c *cli.Context, err error) error {
	name := commandPath(c)
	if hint, ok := dockerHint(name, err); ok {
		return &exitError{code: sandbox.ExitSetup, err: errors.New(hint)}
	}
	msg, hint := humanUsage(c, name, err)
	if hint == "" {
		hint = "see 'nsjail-net --help'"
		if name != "" {
			hint = "see 'nsjail-net " + name + " --help'"
		}
	}
	if name != "" {
		msg = name + ": " + msg
	}
	return &exitError{code: sandbox.ExitSetup, err: fmt.Errorf("%s (%s)", msg, hint)}
}

// suggestedError is a usage error with its own hint (a "did you mean").
type suggestedError struct {
	msg, hint string
}

func (e *suggestedError) Error() string { return e.msg + " (" + e.hint + ")" }

// humanUsage turns the flag package's messages ("flag provided but not
// defined: -profil", "invalid value ... parse error") into the words a
// person would use, and finds a suggestion for a misspelt flag.
func humanUsage(c *cli.Context, cmdName string, err error) (msg, hint string) {
	var s *suggestedError
	if errors.As(err, &s) {
		return s.msg, s.hint
	}
	text := err.Error()
	flags := c.App.Flags
	if cmdName != "" {
		flags = c.Command.Flags
	}
	switch {
	case strings.HasPrefix(text, lifecycle.ErrUnknownFlag.Error()+": "):
		raw := strings.TrimPrefix(text, lifecycle.ErrUnknownFlag.Error()+": ")
		name, _, _ := strings.Cut(strings.TrimLeft(raw, "-"), "=")
		return unknownFlag(c, cmdName, flags, name)
	case strings.HasPrefix(text, "flag needs an argument: "):
		name := strings.TrimLeft(strings.TrimPrefix(text, "flag needs an argument: "), "-")
		return dashed(name) + " needs a value", ""
	case strings.HasPrefix(text, "invalid value ") || strings.HasPrefix(text, "invalid boolean value "):
		// invalid value "soon" for flag -timeout: parse error
		var value, name string
		rest := strings.TrimPrefix(strings.TrimPrefix(text, "invalid boolean value "), "invalid value ")
		if i := strings.LastIndex(rest, " for "); i > 0 {
			value = rest[:i]
			name, _, _ = strings.Cut(strings.TrimPrefix(strings.TrimPrefix(rest[i+5:], "flag "), "-"), ":")
			name = strings.TrimLeft(name, "-")
		}
		return fmt.Sprintf("%s %s: %s", dashed(name), value, wantFor(flags, name)), ""
	}
	return text, ""
}

// unknownFlag says what is wrong with --name: a global option given after
// the command, a command's option given before it, or a typo.
func unknownFlag(c *cli.Context, cmdName string, flags []cli.Flag, name string) (msg, hint string) {
	msg = "unknown flag " + dashed(name)
	if cmdName != "" && slices.Contains(flagNames(c.App.Flags), name) {
		return msg, fmt.Sprintf("%s is a global option: give it before %q", dashed(name), cmdName)
	}
	if cmdName == "" {
		var owners []string
		for _, cmd := range c.App.Commands {
			if !cmd.Hidden && slices.Contains(flagNames(cmd.Flags), name) {
				owners = append(owners, cmd.Name)
			}
		}
		if len(owners) > 0 {
			return msg, fmt.Sprintf("%s is an option of %s: give it after the command", dashed(name), strings.Join(owners, ", "))
		}
	}
	if len(name) < 2 {
		return msg, "" // any one letter is one edit from every other
	}
	long := slices.DeleteFunc(append(flagNames(flags), "help"), func(n string) bool { return len(n) < 2 })
	if alt := policy.Closest(name, long); alt != "" {
		return msg, "did you mean " + dashed(alt) + "?"
	}
	return msg, ""
}

// dashed is a flag's name as typed: -u, --user.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// flagNames are the names (aliases too) of the flags a person may use.
func flagNames(flags []cli.Flag) []string {
	var names []string
	for _, f := range flags {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		names = append(names, f.Names()...)
	}
	return names
}

// wantFor says what a flag of this kind takes.
func wantFor(flags []cli.Flag, name string) string {
	for _, f := range flags {
		if !slices.Contains(f.Names(), name) {
			continue
		}
		switch f.(type) {
		case *cli.DurationFlag:
			return "want a duration such as 500ms, 10s or 2m"
		case *cli.BoolFlag:
			return "want true or false (or no value)"
		case *cli.IntFlag, *cli.UintFlag, *cli.Int64Flag:
			return "want a whole number"
		}
	}
	return "not a valid value"
}

// unknownCommand is the action of the app and of every command that has
// subcommands: with no argument it prints the help; anything else is not
// a command (urfave/cli v2 would say "No help topic" and exit 3).
func unknownCommand(c *cli.Context) error {
	if c.NArg() == 0 {
		if commandPath(c) == "" {
			return cli.ShowAppHelp(c)
		}
		return cli.ShowSubcommandHelp(c)
	}
	cmds := c.App.Commands
	if commandPath(c) != "" {
		cmds = c.Command.Subcommands
	}
	return usageError(c, commandNotFound(c.Args().First(), cmds))
}

// commandNotFound is the error for an unknown command name, with the
// closest command's name when one is close.
func commandNotFound(name string, cmds []*cli.Command) error {
	var names []string
	for _, cmd := range cmds {
		if !cmd.Hidden {
			names = append(names, cmd.Names()...)
		}
	}
	msg := fmt.Sprintf("unknown command %q", name)
	if alt := policy.Closest(name, names); alt != "" {
		return &suggestedError{msg: msg, hint: fmt.Sprintf("did you mean %q?", alt)}
	}
	return errors.New(msg)
}

// helpCommand is "help [COMMAND [SUBCOMMAND]]": the same text as
// "COMMAND [SUBCOMMAND] --help". urfave/cli's own is hidden (HideHelpCommand):
// it exits 3 with "No help topic" for any command name.
func helpCommand(hidden bool) *cli.Command {
	return &cli.Command{
		Name:      "help",
		Usage:     "show the help of a command",
		ArgsUsage: "[COMMAND [SUBCOMMAND]]",
		Hidden:    hidden,
		Action: func(c *cli.Context) error {
			// "profile help show" is "help profile show".
			path := strings.Fields(commandPath(c))
			path = append(path[:len(path)-1], c.Args().Slice()...)
			cmds := c.App.Commands
			for _, name := range path {
				i := slices.IndexFunc(cmds, func(cmd *cli.Command) bool { return cmd.HasName(name) })
				if i < 0 {
					// Reported by the command help belongs to.
					return usageError(c.Lineage()[1], commandNotFound(name, cmds))
				}
				cmds = cmds[i].Subcommands
			}
			app := newApp()
			app.Writer, app.ErrWriter = c.App.Writer, c.App.ErrWriter
			args := append(append([]string{c.App.Name}, path...), "--help")
			saved := cliArgs
			defer func() { cliArgs = saved }()
			cliArgs = args
			return app.Run(args)
		},
	}
}
