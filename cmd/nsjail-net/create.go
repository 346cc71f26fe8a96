package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/nsjail-net/nsjail-net/policy"
	"github.com/nsjail-net/nsjail-net/sandbox"
	"github.com/nsjail-net/nsjail-net/state"
)

func createCommand() *cli.Command {
	return interspersed(&cli.Command{
		Name:      "create",
		Usage:     "create a persistent sandbox network with no program (like ip netns add)",
		ArgsUsage: "NAME",
		Description: `Creates the sandbox NAME under a profile and leaves it running after this
command exits, with no program of its own: a developer sandbox per project.
Run programs in it with "exec", see it with "list" and "ip netns list",
remove it with "delete". Its supervising launcher runs detached.

Examples:
   sudo nsjail-net create myproj --profile dev
   sudo nsjail-net exec myproj -- git fetch
   sudo nsjail-net delete myproj`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "profile", Aliases: []string{"p"}, Usage: "profile name or path to a .toml file (default: offline)"},
			&cli.StringSliceFlag{Name: "allow", Usage: "allow egress, before the profile's rules: PROTO:DEST[:PORTS] (repeatable)"},
			&cli.StringSliceFlag{Name: "deny", Usage: "deny egress, before the profile's rules (repeatable)"},
			&cli.StringSliceFlag{Name: "dns", Usage: "use this resolver instead of the profile's (repeatable)"},
			publishFlag(),
			addHostFlag(),
			&cli.StringFlag{Name: "hostname", Usage: "hostname inside the sandbox, an RFC 1123 host name of at most 64 bytes (default: NAME, '_' as '-')"},
		},
		Action: createAction,
	})
}

func createAction(c *cli.Context) error {
	setupErr := func(err error) error { return &exitError{code: sandbox.ExitSetup, err: err} }
	g, err := parseGlobals(c)
	if err != nil {
		return setupErr(err)
	}
	if err := profileHint(c); err != nil {
		return setupErr(err)
	}
	if len(positionals(c)) != 1 {
		return setupErr(errors.New("create: want exactly one sandbox NAME (usage: nsjail-net create NAME --profile P)"))
	}
	name := positionals(c)[0]
	if err := state.ValidName(name); err != nil {
		return setupErr(fmt.Errorf("create: sandbox %w", err))
	}
	hostname, err := hostnameFlag(c)
	if err != nil {
		return setupErr(err)
	}
	if _, err := addHostFlags(c); err != nil {
		return setupErr(err)
	}
	o, err := parseOverrides(c)
	if err != nil {
		return setupErr(err)
	}
	if err := requirePrivileges("create", "it creates namespaces and host network interfaces"); err != nil {
		return setupErr(err)
	}
	// Validate everything here, so that errors reach the terminal.
	if _, err := loadProfile(c, g, o); err != nil {
		return setupErr(err)
	}
	profile := c.String("profile")
	if policy.IsPath(profile) {
		if profile, err = filepath.Abs(profile); err != nil {
			return setupErr(err)
		}
	}
	// The detached launcher: "run" with the pause program, in its own
	// session, reporting readiness (or the error) on fd 3.
	args := []string{"nsjail-net", "--log-level", c.String("log-level"), "--state-dir", g.stateDir,
		"--bridge", g.net.Bridge, "--subnet", g.net.Subnet.String()}
	for _, d := range c.StringSlice("profiles-dir") {
		args = append(args, "--profiles-dir", d)
	}
	args = append(args, "run", "--name", name, "--user", "0", "--persistent", "--ready-fd", "3")
	if profile != "" {
		args = append(args, "--profile", profile)
	}
	if hostname != "" {
		args = append(args, "--hostname", hostname)
	}
	for _, f := range []string{"allow", "deny", "dns", "publish", "add-host"} {
		for _, v := range c.StringSlice(f) {
			args = append(args, "--"+f, v)
		}
	}
	args = append(args, "--", sandbox.PauseArg)

	r, w, err := os.Pipe()
	if err != nil {
		return setupErr(err)
	}
	defer r.Close()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return setupErr(err)
	}
	defer devnull.Close()
	cmd := &exec.Cmd{
		Path: "/proc/self/exe", Args: args, Env: os.Environ(),
		Stdin: devnull, Stdout: devnull, Stderr: devnull,
		ExtraFiles:  []*os.File{w},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return setupErr(fmt.Errorf("starting the sandbox's launcher: %w", err))
	}
	_ = cmd.Process.Release() // it outlives us
	msg, _ := io.ReadAll(r)
	if s := strings.TrimSpace(string(msg)); s != "ok" {
		if s == "" {
			s = "its launcher exited without a report"
		}
		return setupErr(fmt.Errorf("create %s: %s", name, strings.TrimPrefix(s, "error: ")))
	}
	return nil
}
