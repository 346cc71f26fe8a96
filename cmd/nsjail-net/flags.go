package main

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/nsjail-net/nsjail-net/dns"
	"github.com/nsjail-net/nsjail-net/launch"
	"github.com/nsjail-net/nsjail-net/policy"
)

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "log-level", Value: "warn", Usage: "debug, info, warn or error; debug shows each setup step with its duration", EnvVars: []string{"NSJAIL_NET_LOG_LEVEL"}},
		&cli.StringFlag{Name: "state-dir", Value: "/run/nsjail-net", Usage: "where leases, locks and sandbox records live"},
		&cli.StringFlag{Name: "bridge", Value: launch.DefaultBridge, Usage: "host bridge the sandboxes attach to"},
		&cli.StringFlag{Name: "subnet", Value: launch.DefaultSubnet.String(), Usage: "IPv4 subnet of the bridge; the gateway is its first address"},
		&cli.StringSliceFlag{Name: "profiles-dir", Usage: "look for named profiles here first (repeatable)"},
	}
}

// globals are the parsed global flags.
type globals struct {
	log      *slog.Logger
	stateDir string
	net      launch.Network
	finder   *policy.Finder
}

func parseGlobals(c *cli.Context) (*globals, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.String("log-level"))
	}
	g := &globals{
		log:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		stateDir: c.String("state-dir"),
		finder:   policy.NewFinder(c.StringSlice("profiles-dir")),
	}
	subnet, err := netip.ParsePrefix(c.String("subnet"))
	if err != nil {
		return nil, fmt.Errorf("--subnet %q: %w", c.String("subnet"), err)
	}
	g.net = launch.Network{Bridge: c.String("bridge"), Subnet: subnet, Subnet6: launch.DefaultSubnet6}
	if err := g.net.Validate(); err != nil {
		return nil, err
	}
	if g.stateDir == "" || g.stateDir[0] != '/' {
		return nil, fmt.Errorf("--state-dir %q: need an absolute path", g.stateDir)
	}
	return g, nil
}

// hostnameFlag returns --hostname of run and create, "" when it is not
// given. It is checked here, before anything is changed, so that a bad one
// is refused with a message naming the flag.
func hostnameFlag(c *cli.Context) (string, error) {
	h := c.String("hostname")
	if !c.IsSet("hostname") {
		return "", nil
	}
	if err := dns.ValidHostname(h); err != nil {
		return "", fmt.Errorf("--hostname %q: %w", h, err)
	}
	return h, nil
}
