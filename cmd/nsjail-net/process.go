package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/nsjail-net/nsjail-net/sandbox"
)

// processFlags is who and where the program runs, from --user, --env and
// --workdir (shared by run and exec).
type processFlags struct {
	user            *sandbox.User
	env             []string
	workdir         string
	workdirExplicit bool
}

func parseProcessFlags(c *cli.Context) (*processFlags, error) {
	user, err := sandbox.LookupUser(c.String("user"))
	if err != nil {
		return nil, fmt.Errorf("--user: %w", err)
	}
	env, err := programEnv(os.Environ(), user, c.String("user") != "" || os.Getenv("SUDO_UID") != "", c.StringSlice("env"))
	if err != nil {
		return nil, err
	}
	pf := &processFlags{user: user, env: env, workdir: c.String("workdir"), workdirExplicit: c.IsSet("workdir")}
	if pf.workdir == "" {
		if pf.workdir, err = os.Getwd(); err != nil {
			pf.workdir = "/"
		}
	}
	return pf, nil
}
