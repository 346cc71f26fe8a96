package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/nsjail-net/nsjail-net/lifecycle"
)

func inspectCommand() *cli.Command {
	return interspersed(&cli.Command{
		Name:      "inspect",
		Usage:     "show everything about a live sandbox",
		ArgsUsage: "NAME",
		Description: `Shows what list shows, plus the sandbox's interfaces and addresses, its
routes, the resolv.conf its program sees, its published ports, the limits of
its profile, the host rules made for it, and the firewall rules in force inside
it with their packet and byte counters: a REJECT or DROP rule whose counters
grow is traffic being blocked. NAME is a sandbox name or id (see list).

The sandbox's network is read from outside through its namespace; nothing in
it is changed. --json prints one object, its keys described in docs/json.md.

Examples:
   sudo nsjail-net inspect lab1
   sudo nsjail-net inspect lab1 --json | jq '.firewall'`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON instead of text"},
		},
		Action: inspectAction,
	})
}

func inspectAction(c *cli.Context) error {
	g, err := parseGlobals(c)
	if err != nil {
		return failSetup(err)
	}
	args := positionals(c)
	if len(args) != 1 {
		return usageError(c, fmt.Errorf("want one sandbox name, got %d arguments", len(args)))
	}
	dir, rec, err := findSandbox(g, args[0])
	if err != nil {
		return failSetup(err)
	}
	info, err := lifecycle.Inspect(rec, lifecycle.InspectOptions{Finder: g.finder, SandboxDir: dir.SandboxDir(rec.ID)})
	if err != nil {
		return failSetup(err)
	}
	if c.Bool("json") {
		err = lifecycle.WriteJSON(os.Stdout, info)
	} else {
		err = lifecycle.WriteInspect(os.Stdout, info)
	}
	if err != nil {
		return failSetup(err)
	}
	return nil
}
