package lifecycle

import (
	"encoding/json"
	"path/filepath"

	"github.com/nsjail-net/nsjail-net/dns"

	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nsjail-net/nsjail-net/launch"
	"github.com/nsjail-net/nsjail-net/nat"
	"github.com/nsjail-net/nsjail-net/policy"
	"github.com/nsjail-net/nsjail-net/state"
)

// Info is everything `inspect` shows about a live sandbox. Parts that
// could not be read are left empty and explained in Warnings.
type Info struct {
	Row
	ProfileOrigin string            `json:"profile_origin"`
	Stage         string            `json:"stage"`
	HostVeth      string            `json:"host_veth,omitempty"`
	Bridge        string            `json:"bridge,omitempty"`
	Interfaces    []Interface       `json:"interfaces"`
	Routes        []Route           `json:"routes"`
	ResolvConf    string            `json:"resolv_conf"`
	Published     []Published       `json:"published"`
	Limits        *Limits           `json:"limits,omitempty"`
	Firewall      []FirewallTable   `json:"firewall"`
	HostRules     []string          `json:"host_rules"`
	DNSQueries    []dns.QueryRecord `json:"dns_queries"`
	Warnings      []string          `json:"warnings"`
}

// Interface is a link inside the sandbox.
type Interface struct {
	Name  string   `json:"name"`
	Kind  string   `json:"kind"`
	State string   `json:"state"`
	MAC   string   `json:"mac,omitempty"`
	MTU   int      `json:"mtu"`
	Addrs []string `json:"addrs"`
}

// Route is a route of the sandbox's main table.
type Route struct {
	Dst string `json:"dst"` // "default" for the default route
	Gw  string `json:"gw,omitempty"`
	Dev string `json:"dev,omitempty"`
	Src string `json:"src,omitempty"`
}

// Published is a host port forwarded into the sandbox.
type Published struct {
	Proto       string `json:"proto"`
	HostIP      string `json:"host_ip"` // 0.0.0.0: every host address
	HostPort    int    `json:"host_port"`
	SandboxPort int    `json:"sandbox_port"`
}

// Limits are the profile's rate limits, in bits per second (0: none).
type Limits struct {
	EgressRate  uint64 `json:"egress_rate"`
	IngressRate uint64 `json:"ingress_rate"`
}

// InspectOptions tune Inspect.
type InspectOptions struct {
	// Finder, if set, reloads the sandbox's profile for its limits.
	Finder *policy.Finder
	// SandboxDir, if set, is the sandbox's state directory, where its
	// resolver publishes its recent queries.
	SandboxDir string
}

// Inspect gathers Info for a live sandbox. It reads the sandbox's network
// through netlink handles bound to its namespace, and its firewall by
// running iptables-save -c (and ip6tables-save -c) inside that namespace on
// a throwaway thread; nothing here changes the sandbox.
func Inspect(rec *state.Sandbox, o InspectOptions) (*Info, error) {
	info := &Info{
		Row: RowOf(rec, time.Now()), ProfileOrigin: rec.ProfileOrigin, Stage: rec.Stage,
		HostVeth: rec.HostVeth, Bridge: rec.Bridge,
		Interfaces: []Interface{}, Routes: []Route{}, Published: []Published{},
		Firewall: []FirewallTable{}, HostRules: []string{}, Warnings: []string{},
	}
	warn := func(format string, a ...any) { info.Warnings = append(info.Warnings, fmt.Sprintf(format, a...)) }

	rules, err := launch.DecodeRules(rec.HostRules)
	if err != nil {
		warn("host rules: %v", err)
	}
	for _, r := range rules {
		info.HostRules = append(info.HostRules, hostRuleString(r))
		if p, ok := publishedOf(r); ok {
			info.Published = append(info.Published, p)
		}
	}
	if o.Finder != nil {
		if l, err := limitsOf(o.Finder, rec); err != nil {
			warn("limits: reloading profile: %v", err)
		} else {
			info.Limits = l
		}
	}

	info.DNSQueries = []dns.QueryRecord{}
	if o.SandboxDir != "" {
		if b, err := os.ReadFile(filepath.Join(o.SandboxDir, launch.QueryLogFile)); err == nil {
			if err := json.Unmarshal(b, &info.DNSQueries); err != nil {
				warn("dns queries: %v", err)
			}
		}
	}

	if !ProgramAlive(rec) {
		return info, fmt.Errorf("sandbox %q: its program (pid %d) has exited", rec.Name, rec.Pid)
	}
	ns, err := netns.GetFromPid(rec.Pid)
	if err != nil {
		return info, fmt.Errorf("opening the network namespace of pid %d: %w", rec.Pid, err)
	}
	defer ns.Close()
	// The pid could have been recycled between the check and the open.
	if !ProgramAlive(rec) {
		return info, fmt.Errorf("sandbox %q: its program (pid %d) has exited", rec.Name, rec.Pid)
	}
	if err := readLinks(ns, info); err != nil {
		warn("interfaces and routes: %v", err)
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/root/etc/resolv.conf", rec.Pid)); err != nil {
		warn("resolv.conf: %v", err)
	} else {
		info.ResolvConf = string(b)
	}
	for _, f := range []struct{ family, tool string }{{"ipv4", "iptables-save"}, {"ipv6", "ip6tables-save"}} {
		out, err := outputInNetns(ns, f.tool, "-c")
		if err != nil {
			warn("firewall (%s): %v", f.family, err)
			continue
		}
		tables, err := ParseSaveCounters(f.family, string(out))
		if err != nil {
			warn("firewall (%s): %v", f.family, err)
			continue
		}
		for _, t := range tables {
			if !emptyTable(t) {
				info.Firewall = append(info.Firewall, t)
			}
		}
	}
	return info, nil
}

// emptyTable: only built-in chains with policy ACCEPT and no rules, as
// iptables-save shows tables that were merely touched.
func emptyTable(t FirewallTable) bool {
	for _, c := range t.Chains {
		if len(c.Rules) > 0 || c.Policy != "ACCEPT" {
			return false
		}
	}
	return true
}

// readLinks fills Interfaces and Routes through a netlink handle bound to
// the sandbox's namespace.
func readLinks(ns netns.NsHandle, info *Info) error {
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return fmt.Errorf("listing links: %w", err)
	}
	names := map[int]string{}
	var errs []error
	for _, l := range links {
		a := l.Attrs()
		names[a.Index] = a.Name
		it := Interface{Name: a.Name, Kind: l.Type(), State: a.OperState.String(), MTU: a.MTU, Addrs: []string{}}
		if len(a.HardwareAddr) > 0 {
			it.MAC = a.HardwareAddr.String()
		}
		addrs, err := h.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			errs = append(errs, fmt.Errorf("addresses of %s: %w", a.Name, err))
		}
		for _, ad := range addrs {
			it.Addrs = append(it.Addrs, ad.IPNet.String())
		}
		info.Interfaces = append(info.Interfaces, it)
	}
	routes, err := h.RouteList(nil, netlink.FAMILY_ALL)
	if err != nil {
		errs = append(errs, fmt.Errorf("listing routes: %w", err))
	}
	for _, r := range routes {
		rt := Route{Dst: "default", Dev: names[r.LinkIndex]}
		if ones, _ := maskOf(r.Dst); ones > 0 {
			rt.Dst = r.Dst.String()
		}
		if r.Gw != nil {
			rt.Gw = r.Gw.String()
		}
		if r.Src != nil {
			rt.Src = r.Src.String()
		}
		info.Routes = append(info.Routes, rt)
	}
	return errors.Join(errs...)
}

// hostRuleString renders a host rule as an iptables command.
func hostRuleString(r nat.Rule) string {
	tool := "iptables"
	if r.IPv6 {
		tool = "ip6tables"
	}
	return fmt.Sprintf("%s -t %s -A %s %s", tool, r.Table, r.Chain, ShellJoin(r.Args))
}

// publishedOf recognises the DNAT rule of a published port (see
// policy.HostRules).
func publishedOf(r nat.Rule) (Published, bool) {
	if r.Table != "nat" || r.Chain != policy.ChainDNAT {
		return Published{}, false
	}
	p := Published{HostIP: "0.0.0.0"}
	for i := 0; i+1 < len(r.Args); i++ {
		v := r.Args[i+1]
		switch r.Args[i] {
		case "-d":
			p.HostIP = strings.TrimSuffix(v, "/32")
		case "-p":
			p.Proto = v
		case "--dport":
			p.HostPort, _ = strconv.Atoi(v)
		case "--to-destination":
			if i := strings.LastIndexByte(v, ':'); i >= 0 {
				p.SandboxPort, _ = strconv.Atoi(v[i+1:])
			}
		}
	}
	return p, p.HostPort != 0 && p.SandboxPort != 0
}

// limitsOf reloads the sandbox's profile (by path, or by name when
// built-in) for its limits. The file may have changed since the launch.
func limitsOf(f *policy.Finder, rec *state.Sandbox) (*Limits, error) {
	ref := rec.ProfileOrigin
	if ref == "" || ref == policy.OriginBuiltin {
		ref = rec.Profile
	}
	if ref == "" {
		return nil, errors.New("the record names no profile")
	}
	p, err := f.Load(ref)
	if err != nil {
		return nil, err
	}
	return &Limits{EgressRate: p.Limits.EgressRate, IngressRate: p.Limits.IngressRate}, nil
}

// maskOf is the prefix length of dst; nil (or 0.0.0.0/0, ::/0) is the
// default route.
func maskOf(dst *net.IPNet) (ones, bits int) {
	if dst == nil {
		return 0, 0
	}
	return dst.Mask.Size()
}
