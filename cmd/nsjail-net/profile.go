package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/nsjail-net/nsjail-net/policy"
)

// profileCommand is "nsjail-net profile": list, show and check profiles.
// It reads the global --profiles-dir flag (repeatable) for the search
// order; see policy.NewFinder.
func profileCommand() *cli.Command {
	return &cli.Command{
		Name:  "profile",
		Usage: "list, show and check network profiles",
		Description: `A profile (TOML) says what a sandbox may reach. --profile takes a name or a
path (anything with a '/' or ending in .toml). Names are looked up, first
hit wins, in:
   1. each --profiles-dir, in the order given
   2. /etc/nsjail-net/profiles
   3. $XDG_CONFIG_HOME/nsjail-net/profiles of the invoking user
      (~/.config/nsjail-net/profiles; under sudo, SUDO_USER's)
   4. the built-in profiles: offline, web, open, dev
A built-in name is taken from a directory only if root alone could have
written the file (it and every directory above it root-owned, and not
writable by group or others); anywhere else a file of that name is ignored.
run refuses a profile of which a file could be written by another user
until it is trusted ("nsjail-net trust PATH").
The format is described in docs/profiles.md; "nsjail-net profile show web"
prints a complete example.

Examples:
   nsjail-net profile list
   nsjail-net profile show dev
   nsjail-net profile check ./myproject.toml web`,
		Subcommands: []*cli.Command{profileListCommand(), profileShowCommand(), profileCheckCommand()},
	}
}

func profileFinder(c *cli.Context) (*policy.Finder, error) {
	dirs, err := profilesDirs(c)
	if err != nil {
		return nil, failSetup(err)
	}
	return policy.NewFinder(dirs), nil
}

func profileListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the profiles found, with where they come from",
		Description: `Lists every profile in the search order, sorted by name: its name, origin
(the file, or "builtin") and description. A profile hidden by one of the
same name earlier in the search order is marked "shadowed"; a file with a
built-in name that users other than root could write is marked "ignored";
one that does not load on its own is marked with its first error (see
"profile check").

Example:
   nsjail-net --profiles-dir ./profiles profile list`,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError(c, fmt.Errorf("unexpected argument %q", c.Args().First()))
			}
			f, err := profileFinder(c)
			if err != nil {
				return err
			}
			ents, err := f.List()
			if err != nil {
				return failSetup(err)
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tORIGIN\tDESCRIPTION")
			for _, e := range ents {
				desc := e.Description
				switch {
				case e.Err != nil:
					first, _, _ := strings.Cut(e.Err.Error(), "\n")
					desc = "(error: " + first + ")"
				case e.Ignored:
					desc = "(ignored: a built-in name, in a file users other than root could write)"
				case e.ShadowedBy != "":
					desc = "(shadowed by " + e.ShadowedBy + ") " + desc
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Name, e.Origin, desc)
			}
			return tw.Flush()
		},
	}
}

func profileShowCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "print the effective profile as TOML",
		ArgsUsage: "NAME|PATH",
		Description: `Prints the profile that "run --profile NAME|PATH" would use: its extends
chain applied and every default spelled out, as TOML that can itself be
used as a profile. The first lines say where it came from:
   # origin: /etc/nsjail-net/profiles/api.toml
   # extends: web (builtin)

Examples:
   nsjail-net profile show web
   nsjail-net profile show ./myproject.toml > effective.toml`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError(c, fmt.Errorf("want one profile NAME or PATH, got %d arguments", c.NArg()))
			}
			f, err := profileFinder(c)
			if err != nil {
				return err
			}
			p, err := f.Load(c.Args().First())
			if err != nil {
				return &exitError{code: exitProblem, err: prefixLines(err)}
			}
			out, err := p.TOML()
			if err != nil {
				return failSetup(fmt.Errorf("rendering profile %q: %w", p.Name, err))
			}
			_, err = c.App.Writer.Write(out)
			return err
		},
	}
}

func profileCheckCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "check profiles for errors",
		ArgsUsage: "NAME|PATH...",
		Description: `Loads each profile as "run" would (decode, validate, extends) and prints
"ok: NAME" for each good one; errors go to standard error, one per line,
as FILE:LINE:COLUMN: MESSAGE, all of them, not only the first:
   nsjail-net: web.toml:9:1: unknown key "portz" (did you mean "ports"?)
Exits 0 when every profile loads, 1 when one does not (not found, or an
error), 125 on a usage error.

Examples:
   nsjail-net profile check ./myproject.toml
   nsjail-net profile check web dev /etc/nsjail-net/profiles/*.toml`,
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usageError(c, errors.New("want at least one profile NAME or PATH"))
			}
			f, err := profileFinder(c)
			if err != nil {
				return err
			}
			failed := 0
			for _, ref := range c.Args().Slice() {
				if _, err := f.Load(ref); err != nil {
					failed++
					fmt.Fprintf(c.App.ErrWriter, "nsjail-net: %v\n", prefixLines(err))
					continue
				}
				fmt.Fprintf(c.App.Writer, "ok: %s\n", ref)
			}
			if failed > 0 {
				return &exitError{code: exitProblem}
			}
			return nil
		},
	}
}

// prefixLines puts "nsjail-net: " before every line of a multi-line error
// after the first (runCLI prefixes the first): a profile's errors are one
// per line, FILE:LINE:COLUMN: MESSAGE.
func prefixLines(err error) error {
	msg := strings.ReplaceAll(err.Error(), "\n", "\nnsjail-net: ")
	return errors.New(msg)
}
