package main

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"

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

// publishFlag is --publish of run and create.
func publishFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "publish", Usage: "publish a sandbox port on the host: [HOST_IP:]HOST_PORT:SANDBOX_PORT[/tcp|udp]; binds 127.0.0.1 unless HOST_IP is given (0.0.0.0: every address) (repeatable)"}
}

// addHostFlag is --add-host of run and create.
func addHostFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "add-host", Usage: "add NAME:IP to the sandbox's /etc/hosts (repeatable)"}
}

// addHostFlags parses --add-host: NAME:IP, NAME an RFC 1123 host name, IP
// an IPv4 or IPv6 address (the name ends at the first ':', so
// "db:fd00::1" works; docker's "db=fd00::1" is taken too).
func addHostFlags(c *cli.Context) ([]dns.HostEntry, error) {
	var out []dns.HostEntry
	for _, s := range c.StringSlice("add-host") {
		e, err := parseAddHost(s)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func parseAddHost(s string) (dns.HostEntry, error) {
	sep := strings.IndexAny(s, ":=")
	if sep < 0 {
		return dns.HostEntry{}, fmt.Errorf("--add-host %q: want NAME:IP", s)
	}
	name, ip := s[:sep], s[sep+1:]
	if err := dns.ValidHostEntryName(name); err != nil {
		return dns.HostEntry{}, fmt.Errorf("--add-host %q: host name: %w", s, err)
	}
	addr, err := netip.ParseAddr(strings.Trim(ip, "[]"))
	if err != nil || addr.Zone() != "" {
		return dns.HostEntry{}, fmt.Errorf("--add-host %q: %q is not an IP address", s, ip)
	}
	return dns.HostEntry{Name: name, Addr: addr.Unmap()}, nil
}
