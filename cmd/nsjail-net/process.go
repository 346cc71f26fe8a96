package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/nsjail-net/nsjail-net/sandbox"
)

// processFlagList are the flags of run and exec that say who the program
// runs as, where, and with what environment.
func processFlagList() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "run as this user name or uid, from /etc/passwd or NSS (LDAP, SSSD) (default: the user behind sudo, else you)"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set K=V in the program's environment, or pass your K with a bare K (repeatable)"},
		&cli.StringSliceFlag{Name: "env-file", Usage: "read K=V lines from this file, as docker does ('#' comments, a bare K passes yours); --env wins (repeatable)"},
		&cli.BoolFlag{Name: "clearenv", Usage: "start from an empty environment plus PATH, HOME, USER, LOGNAME, TERM and LANG instead of yours"},
		&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory of the program (default: the current one)"},
	}
}

// processFlags is who and where the program runs, from --user, --env,
// --env-file, --clearenv and --workdir (shared by run and exec).
type processFlags struct {
	user            *sandbox.User
	env             []string
	workdir         string
	workdirExplicit bool
}

// parseProcessFlags reads processFlagList; clear is the profile's
// security.clearenv, which --clearenv can only turn on.
func parseProcessFlags(c *cli.Context, clear bool) (*processFlags, error) {
	user, err := sandbox.LookupUser(c.String("user"))
	if err != nil {
		return nil, fmt.Errorf("--user: %w", err)
	}
	var extra []string
	for _, f := range c.StringSlice("env-file") {
		lines, err := readEnvFile(f, user)
		if err != nil {
			return nil, err
		}
		extra = append(extra, lines...)
	}
	extra = append(extra, c.StringSlice("env")...)
	switched := c.String("user") != "" || os.Getenv("SUDO_UID") != ""
	env, err := programEnv(os.Environ(), user, switched, clear || c.Bool("clearenv"), extra)
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
