package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/nsjail-net/nsjail-net/lifecycle"
)

func trustCommand() *cli.Command {
	return interspersed(&cli.Command{
		Name:      "trust",
		Usage:     "allow a project profile (.nsjail-net.toml) to be used",
		ArgsUsage: "[FILE]",
		Description: `When run is given no --profile, it uses the .nsjail-net.toml of the working
directory or of its nearest parent that has one, but only once you have
reviewed it and trusted it with this command. trust checks that FILE is a valid
profile and records its SHA-256 in ` + lifecycle.DefaultTrustStore + `
(root-owned, 0600). A file changed afterwards is refused until trusted again.

Without FILE, trusts the project profile that run would use from the current
directory. --revoke forgets FILE instead.

Examples:
   cd ~/src/myproject && sudo nsjail-net trust
   sudo nsjail-net trust ~/src/myproject/.nsjail-net.toml
   sudo nsjail-net trust --revoke ~/src/myproject/.nsjail-net.toml`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "revoke", Usage: "forget FILE instead of trusting it"},
		},
		Action: trustAction,
	})
}

func trustAction(c *cli.Context) error {
	g, err := parseGlobals(c)
	if err != nil {
		return failSetup(err)
	}
	args := positionals(c)
	if len(args) > 1 {
		return usageError(c, fmt.Errorf("want at most one FILE, got %d", len(args)))
	}
	var file string
	if len(args) == 1 {
		file = args[0]
	} else {
		cwd, err := os.Getwd()
		if err != nil {
			return failSetup(err)
		}
		if file, err = lifecycle.ProjectProfile(cwd); err != nil {
			return failSetup(err)
		}
		if file == "" {
			return failSetup(fmt.Errorf("no %s in %s or its parents: name the FILE to trust", lifecycle.ProjectFile, cwd))
		}
	}
	if os.Geteuid() != 0 {
		return failSetup(errors.New("trust needs root: the trust store is root-owned; run it with sudo"))
	}
	store := lifecycle.TrustStore{Path: lifecycle.DefaultTrustStore}
	if c.Bool("revoke") {
		if err := store.Revoke(file); err != nil {
			return failSetup(err)
		}
		fmt.Printf("no longer trusted: %s\n", file)
		return nil
	}
	prof, err := g.finder.Load(file)
	if err != nil {
		return failSetup(fmt.Errorf("not trusted: %w", err))
	}
	sum, err := store.Trust(file)
	if err != nil {
		return failSetup(err)
	}
	fmt.Printf("trusted %s (profile %q, sha256 %s)\n", prof.Origin, prof.Name, sum)
	return nil
}
