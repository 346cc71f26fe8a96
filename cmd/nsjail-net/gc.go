package main

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/nsjail-net/nsjail-net/launch"
	"github.com/nsjail-net/nsjail-net/lifecycle"
)

func gcCommand() *cli.Command {
	return interspersed(&cli.Command{
		Name:  "gc",
		Usage: "remove what sandboxes of dead launchers left behind",
		Description: `Removes everything whose owner is gone: the sandboxes whose launcher died
(SIGKILL, a crash, a power cut within a boot) with their host veths, host
rules, address leases, names, /run/netns and /etc/netns entries and state
files; then any host veth or per-sandbox iptables rule tagged with the id of a
sandbox that is not live, and any /etc/netns entry nsjail-net wrote for a
namespace that no longer exists. Live sandboxes, persistent ones whose supervisor is alive, the shared
base (bridge, NAT, chains) and anything without nsjail-net's owner tag are
never touched. Prints what it removed; nothing when there was nothing. --json
prints one object of arrays, [] for nothing (see docs/json.md).

'run' does the same, cheaply, at most once a minute when it starts.

Examples:
   sudo nsjail-net gc
   sudo nsjail-net gc --dry-run
   sudo nsjail-net gc --json`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "only show what would be removed"},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
		},
		Action: gcAction,
	})
}

func gcAction(c *cli.Context) error {
	g, err := parseGlobals(c)
	if err != nil {
		return failSetup(err)
	}
	if args := positionals(c); len(args) > 0 {
		return usageError(c, fmt.Errorf("unexpected argument %q", args[0]))
	}
	if err := requirePrivileges("gc", "it removes host network interfaces, firewall rules and state that dead sandboxes left"); err != nil {
		return failSetup(err)
	}
	dir, ok, err := lifecycle.OpenState(g.stateDir)
	if err != nil {
		return failSetup(err)
	}
	var report launch.GCReport
	if ok {
		report, err = launch.Sweep(dir, g.net.Bridge, launch.GCOptions{DryRun: c.Bool("dry-run")}, g.log)
	}
	var werr error
	if c.Bool("json") {
		werr = lifecycle.WriteJSON(os.Stdout, report)
	} else {
		writeGCReport(os.Stdout, report, c.Bool("dry-run"))
	}
	if err != nil {
		return failSetup(fmt.Errorf("gc incomplete: %w", err))
	}
	if werr != nil {
		return failSetup(werr)
	}
	return nil
}

// writeGCReport prints one line per item removed.
func writeGCReport(w io.Writer, r launch.GCReport, dry bool) {
	verb := "removed"
	if dry {
		verb = "would remove"
	}
	for _, s := range []struct {
		kind  string
		items []string
	}{
		{"sandbox", r.Sandboxes}, {"lease", r.Leases}, {"name", r.Names},
		{"port", r.Ports}, {"link", r.Links}, {"rule", r.Rules}, {"dir", r.Files},
	} {
		for _, it := range s.items {
			fmt.Fprintf(w, "%s %s %s\n", verb, s.kind, it)
		}
	}
}
