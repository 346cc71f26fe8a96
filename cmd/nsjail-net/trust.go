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
		Usage:     "allow a project profile, or one users other than root can write, to be used",
		ArgsUsage: "[FILE|NAME]",
		Description: `When run is given no --profile, it uses the .nsjail-net.toml of the working
directory or of its nearest parent that has one, but only once you have
reviewed it and trusted it with this command. So too for any profile of which
a file (its own or one it extends) could be written by a user other than
root: one in ~/.config/nsjail-net/profiles, say. trust loads FILE (or the
profile NAME) as run would, and records the SHA-256 of its file and of every
file it extends in ` + lifecycle.DefaultTrustStore + ` (root-owned, 0600).
If any of them changes afterwards, the profile is refused until trusted again.

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
		had, err := store.Revoke(file)
		if err != nil {
			return failSetup(err)
		}
		if !had {
			return failSetup(fmt.Errorf("trust --revoke %s: not in the trust store (give the profile file's path)", file))
		}
		fmt.Printf("no longer trusted: %s\n", file)
		return nil
	}
	prof, err := g.finder.Load(file)
	if err != nil {
		return failSetup(fmt.Errorf("not trusted: %w", err))
	}
	files, err := store.Trust(prof)
	if err != nil {
		return failSetup(err)
	}
	fmt.Printf("trusted %s (profile %q, sha256 %s)\n", files[0].Path, prof.Name, files[0].SHA256)
	for _, f := range files[1:] {
		fmt.Printf("  and the file it extends %s (sha256 %s)\n", f.Path, f.SHA256)
	}
	return nil
}
