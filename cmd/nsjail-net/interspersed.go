package main

import (
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/nsjail-net/nsjail-net/lifecycle"
)

// interspersed lets cmd take its flags after its arguments too
// ("inspect lab1 --json" as well as "inspect --json lab1"): urfave/cli v2
// stops parsing flags at the first argument, so a Before hook sets the
// flags found among the arguments, and the action reads its arguments
// with positionals. Flags after "--" stay arguments.
func interspersed(cmd *cli.Command) *cli.Command {
	cmd.Before = applyTrailingFlags
	return cmd
}

// applyTrailingFlags sets the flags urfave/cli left among the arguments;
// --help among them prints the command's help and stops.
func applyTrailingFlags(c *cli.Context) error {
	_, flags, err := splitArgs(c)
	if err != nil {
		return usageError(c, err)
	}
	primary := primaryNames(c.Command.Flags)
	for _, f := range flags {
		if f.Name == "help" || f.Name == "h" {
			cli.HelpPrinter(c.App.Writer, cli.CommandHelpTemplate, c.Command)
			return &exitError{code: 0}
		}
		if err := c.Set(primary[f.Name], f.Value); err != nil {
			return usageError(c, err)
		}
	}
	return nil
}

// positionals returns the command's arguments without the flags that
// applyTrailingFlags took from among them.
func positionals(c *cli.Context) []string {
	args, _, err := splitArgs(c)
	if err != nil {
		return c.Args().Slice() // applyTrailingFlags reported it already
	}
	return args
}

func splitArgs(c *cli.Context) ([]string, []lifecycle.FlagSetting, error) {
	kinds := map[string]bool{"help": false, "h": false}
	for _, f := range c.Command.Flags {
		takes := false
		if d, ok := f.(cli.DocGenerationFlag); ok {
			takes = d.TakesValue()
		}
		for _, n := range f.Names() {
			kinds[n] = takes
		}
	}
	args := c.Args().Slice()
	if afterDashDash(c) {
		args = append([]string{"--"}, args...)
	}
	return lifecycle.SplitArgs(args, func(name string) (bool, bool) {
		takes, ok := kinds[name]
		return ok, takes
	})
}

// primaryNames maps every name of every flag (aliases included) to the
// flag's first name, the one its value is read by.
func primaryNames(flags []cli.Flag) map[string]string {
	m := map[string]string{}
	for _, f := range flags {
		names := f.Names()
		for _, n := range names {
			m[n] = names[0]
		}
	}
	return m
}

// cliArgs is the command line runCLI parses.
var cliArgs []string

// afterDashDash reports whether a "--" came right before the command's
// arguments ("delete -- -x"): urfave/cli consumes it without a trace, and
// the arguments after it must not be taken for flags.
func afterDashDash(c *cli.Context) bool {
	args := c.Args().Slice()
	i := len(cliArgs) - len(args) - 1
	return len(args) > 0 && i >= 0 && cliArgs[i] == "--" && slices.Equal(cliArgs[i+1:], args)
}
