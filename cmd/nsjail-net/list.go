package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nsjail-net/nsjail-net/lifecycle"
	"github.com/nsjail-net/nsjail-net/sandbox"
)

func listCommand() *cli.Command {
	return interspersed(&cli.Command{
		Name:    "list",
		Aliases: []string{"ls"},
		Usage:   "list the live sandboxes",
		Description: `Prints one line per live sandbox: its name, profile, address, the pid of its
program, how long it has run, and its command. Persistent sandboxes (made by
create) are marked. With --json, prints an array of objects with the fields
name, id, pid, profile, ip, ip6, created (RFC 3339), uptime_seconds, command
(an array), persistent and launcher_pid (see docs/json.md). With -q, prints
only their names, one a line (the id of a sandbox started without a name).

Sandboxes whose launcher died are not listed; a note on stderr counts them,
and 'nsjail-net gc' removes them.

Examples:
   sudo nsjail-net list
   sudo nsjail-net list -q
   sudo nsjail-net list --json | jq -r '.[].name'`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only names (ids of unnamed sandboxes), one a line"},
		},
		Action: listAction,
	})
}

func listAction(c *cli.Context) error {
	g, err := parseGlobals(c)
	if err != nil {
		return failSetup(err)
	}
	if args := positionals(c); len(args) > 0 {
		return usageError(c, fmt.Errorf("unexpected argument %q", args[0]))
	}
	rows := []lifecycle.Row{}
	dir, ok, err := lifecycle.OpenState(g.stateDir)
	if err != nil {
		return failSetup(withRootHint(err))
	}
	var readErr error
	if ok {
		var dead int
		rows, dead, readErr = lifecycle.Rows(dir, time.Now())
		if dead > 0 {
			fmt.Fprintf(os.Stderr, "nsjail-net: %d sandbox(es) of dead launchers not shown: `nsjail-net gc` removes them\n", dead)
		}
	}
	switch {
	case c.Bool("json") && c.Bool("quiet"):
		return usageError(c, errors.New("--json and --quiet: choose one"))
	case c.Bool("json"):
		err = lifecycle.WriteJSON(os.Stdout, rows)
	case c.Bool("quiet"):
		err = lifecycle.WriteRefs(os.Stdout, rows)
	default:
		err = lifecycle.WriteTable(os.Stdout, rows)
	}
	if err = errors.Join(err, readErr); err != nil {
		return failSetup(err)
	}
	return nil
}

// failSetup is a launcher error: exit status 125, as for run.
func failSetup(err error) error {
	return &exitError{code: sandbox.ExitSetup, err: err}
}

// withRootHint adds a hint to a permission error on root-owned state.
func withRootHint(err error) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w (run it with sudo)", err)
	}
	return err
}
