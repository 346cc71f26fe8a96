package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/nsjail-net/nsjail-net/launch"
	"github.com/nsjail-net/nsjail-net/lifecycle"
	"github.com/nsjail-net/nsjail-net/policy"
	"github.com/nsjail-net/nsjail-net/sandbox"
	"github.com/nsjail-net/nsjail-net/state"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a program in a new sandbox under a profile",
		ArgsUsage: "[--] PROGRAM [ARG...]",
		Description: `Runs PROGRAM in its own network namespace, configured by the profile, and
returns its exit status (128+N when killed by signal N; 125 when the launcher
or the setup fails, 126 when PROGRAM cannot be executed, 127 when it is not
found). Nothing is printed on success. Signals sent to the launcher are passed
on; if the launcher dies, the program dies with it; everything set up for the
sandbox is removed when it exits. Published ports (--publish) bind to
127.0.0.1 unless HOST_IP is given; inside, every port (80 too) is bindable
with no capability.

Examples:
   sudo nsjail-net run --profile web -- curl -sI https://example.com
   sudo nsjail-net run -- ./untrusted-binary            # profile "offline"
   sudo nsjail-net run --profile ./ci.toml --user alice --env CI=1 -- make test
   sudo nsjail-net run --clearenv -e GITHUB_TOKEN --env-file ci.env -- ./deploy
   sudo nsjail-net run --profile open --publish 8080:80 -- python3 -m http.server 80
   sudo nsjail-net run --profile web --allow 'tcp:203.0.113.0/24:8443' -- ./client
   sudo nsjail-net --log-level debug run --profile open -- true   # step timings`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "profile", Aliases: []string{"p"}, Usage: "profile name or path to a .toml file (default: offline)"},
			&cli.StringFlag{Name: "name", Usage: "sandbox name (^[a-z0-9][a-z0-9_.-]{0,30}$), unique among live sandboxes"},
			&cli.StringFlag{Name: "hostname", Usage: "hostname inside the sandbox, an RFC 1123 host name of at most 64 bytes (default: the sandbox name, '_' as '-')"},
			&cli.StringSliceFlag{Name: "allow", Usage: "allow egress for this run, before the profile's rules: PROTO:DEST[:PORTS], e.g. tcp:203.0.113.0/24:443 (repeatable)"},
			&cli.StringSliceFlag{Name: "deny", Usage: "deny egress for this run, before the profile's rules (repeatable)"},
			&cli.StringSliceFlag{Name: "dns", Usage: "use this resolver instead of the profile's (repeatable)"},
			publishFlag(),
			addHostFlag(),
			// Internal, for create: a persistent sandbox whose program is
			// the pause, reporting readiness on an inherited fd.
			&cli.BoolFlag{Name: "persistent", Hidden: true},
			&cli.IntFlag{Name: "ready-fd", Hidden: true},
		}, processFlagList()...),
		Action: runAction,
	}
}

func runAction(c *cli.Context) error {
	var ready *os.File
	if fd := c.Int("ready-fd"); fd > 2 {
		ready = os.NewFile(uintptr(fd), "ready")
	}
	setupErr := func(err error) error {
		if ready != nil {
			fmt.Fprintf(ready, "error: %v\n", err)
		}
		return &exitError{code: sandbox.ExitSetup, err: err}
	}
	g, err := parseGlobals(c)
	if err != nil {
		return setupErr(err)
	}
	if err := profileHint(c); err != nil {
		return setupErr(err)
	}
	argv := c.Args().Slice()
	if len(argv) == 0 {
		return setupErr(errors.New("run: no program given (usage: nsjail-net run [flags] -- PROGRAM [ARG...])"))
	}
	if name := c.String("name"); name != "" || c.IsSet("name") {
		if err := state.ValidName(name); err != nil {
			return setupErr(fmt.Errorf("--name: sandbox %w", err))
		}
	}
	hostname, err := hostnameFlag(c)
	if err != nil {
		return setupErr(err)
	}
	o, err := parseOverrides(c)
	if err != nil {
		return setupErr(err)
	}
	if err := requirePrivileges("run", "it creates namespaces and host network interfaces"); err != nil {
		return setupErr(err)
	}
	prof, err := loadProfile(c, g, o)
	if err != nil {
		return setupErr(err)
	}
	pf, err := parseProcessFlags(c, prof.Security.ClearEnv)
	if err != nil {
		return setupErr(err)
	}
	extraHosts, err := addHostFlags(c)
	if err != nil {
		return setupErr(err)
	}
	spec := launch.Spec{
		StateDir: g.stateDir, Net: g.net, Profile: prof, Name: c.String("name"),
		Argv: argv, Env: pf.env, User: pf.user, Workdir: pf.workdir, WorkdirExplicit: pf.workdirExplicit,
		Hostname: hostname, ExtraHosts: extraHosts, ReadOnly: lifecycle.PolicyDirs(pf.user.Home),
		Stdio: sandbox.Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr},
		Log:   g.log,
	}
	if c.Bool("persistent") {
		if spec.Name == "" {
			return setupErr(errors.New("--persistent needs --name"))
		}
		spec.Persistent, spec.Ready = true, ready
		spec.Path, spec.Argv, spec.Env = sandbox.PausePath, []string{sandbox.PauseArg}, []string{}
		spec.Workdir, spec.WorkdirExplicit = "/", true
	}
	code, err := launch.Run(spec)
	if err != nil && ready != nil {
		fmt.Fprintf(ready, "error: %v\n", err)
	}
	if err != nil || code != 0 {
		return &exitError{code: code, err: err}
	}
	return nil
}

// loadProfile resolves --profile and applies the command-line overrides.
func loadProfile(c *cli.Context, g *globals, o policy.Overrides) (*policy.Profile, error) {
	ref, project := c.String("profile"), false
	if ref == "" {
		// A trusted project profile (.nsjail-net.toml here or in a parent),
		// else offline.
		ref = "offline"
		cwd, err := os.Getwd()
		if err == nil {
			proj, err := lifecycle.ProjectProfile(cwd)
			if err != nil {
				return nil, err
			}
			if proj != "" {
				ref, project = proj, true
			}
		}
	}
	// Each file is read once: what Admit checks is what Load parsed.
	prof, err := g.finder.Load(ref)
	if err != nil {
		return nil, err
	}
	if err := lifecycle.Admit(prof, project); err != nil {
		return nil, err
	}
	if err := prof.ApplyOverrides(o); err != nil {
		return nil, err
	}
	return prof, nil
}

// parseOverrides reads --allow, --deny, --dns and --publish. It needs no
// privilege, so that a mistake in one is reported as such, by anyone.
// policy's errors name the flag and its value already.
func parseOverrides(c *cli.Context) (policy.Overrides, error) {
	var o policy.Overrides
	for _, s := range c.StringSlice("allow") {
		r, err := policy.ParseRuleFlag(policy.ActionAllow, s)
		if err != nil {
			return o, err
		}
		o.Allow = append(o.Allow, r)
	}
	for _, s := range c.StringSlice("deny") {
		r, err := policy.ParseRuleFlag(policy.ActionDeny, s)
		if err != nil {
			return o, err
		}
		o.Deny = append(o.Deny, r)
	}
	for _, s := range c.StringSlice("dns") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return o, fmt.Errorf("--dns %q: not an IP address", s)
		}
		o.DNS = append(o.DNS, a)
	}
	for _, s := range c.StringSlice("publish") {
		p, err := policy.ParsePublishFlag(s)
		if err != nil {
			return o, err
		}
		o.Publish = append(o.Publish, p)
	}
	return o, nil
}
