package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strconv"
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
	dirs, err := profilesDirs(c)
	if err != nil {
		return nil, err
	}
	g := &globals{
		log:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		stateDir: c.String("state-dir"),
		finder:   policy.NewFinder(dirs),
	}
	subnet, err := parseSubnet(c.String("subnet"))
	if err != nil {
		return nil, err
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

// parseSubnet reads --subnet, with a message a person can act on rather
// than netip's.
func parseSubnet(s string) (netip.Prefix, error) {
	addr, bits, ok := strings.Cut(s, "/")
	if !ok {
		return netip.Prefix{}, fmt.Errorf("--subnet %q: want an IPv4 subnet with its prefix length, e.g. %s", s, launch.DefaultSubnet)
	}
	a, err := netip.ParseAddr(addr)
	if err != nil || !a.Is4() {
		return netip.Prefix{}, fmt.Errorf("--subnet %q: %q is not an IPv4 address", s, addr)
	}
	n, err := strconv.Atoi(bits)
	if err != nil || n < 0 || n > 32 || bits != strconv.Itoa(n) {
		return netip.Prefix{}, fmt.Errorf("--subnet %q: prefix length %q is not a number from 0 to 32", s, bits)
	}
	return netip.PrefixFrom(a, n), nil
}

// profilesDirs is --profiles-dir: each must be a directory that exists (a
// typo would otherwise silently fall through to the next place a profile
// of that name is found).
func profilesDirs(c *cli.Context) ([]string, error) {
	dirs := c.StringSlice("profiles-dir")
	for _, d := range dirs {
		fi, err := os.Stat(d)
		var pe *fs.PathError
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("--profiles-dir %q: no such directory", d)
		case errors.As(err, &pe):
			return nil, fmt.Errorf("--profiles-dir %q: %v", d, pe.Err)
		case err != nil:
			return nil, fmt.Errorf("--profiles-dir %q: %w", d, err)
		case !fi.IsDir():
			return nil, fmt.Errorf("--profiles-dir %q: not a directory", d)
		}
	}
	return dirs, nil
}

// refuseEmpty refuses an empty value for any text flag of the command or
// a global one: "--profile ”" would otherwise mean "no profile given".
func refuseEmpty(c *cli.Context) error {
	for _, flags := range [][]cli.Flag{c.App.Flags, c.Command.Flags} {
		for _, f := range flags {
			name := f.Names()[0]
			if !c.IsSet(name) {
				continue
			}
			var vals []string
			switch f.(type) {
			case *cli.StringFlag:
				vals = []string{c.String(name)}
			case *cli.StringSliceFlag:
				vals = c.StringSlice(name)
			}
			if slices.Contains(vals, "") {
				return fmt.Errorf("%s is empty", dashed(name))
			}
		}
	}
	return nil
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
