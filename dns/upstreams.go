package dns

import (
	"net/netip"
	"os"
)

// ResolverAddr is where each sandbox's own resolver listens, on the
// sandbox's loopback: nameserver of its resolv.conf.
var ResolverAddr = netip.MustParseAddrPort("127.0.0.53:53")

// HostUpstreams are the host's resolvers as the launcher, in the host's
// namespace, can reach them: loopback stubs such as systemd-resolved's
// 127.0.0.53 included. The search and options lines come along.
func HostUpstreams() (Config, error) {
	var first Config
	for i, p := range hostResolvConfs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		c := Parse(b)
		if i == 0 {
			first = c
		}
		if len(c.Servers) > 0 {
			if len(c.Search) == 0 {
				c.Search = first.Search
			}
			return c, nil
		}
	}
	return first, nil
}

// AddrPorts gives each server port 53.
func AddrPorts(servers []netip.Addr) []netip.AddrPort {
	out := make([]netip.AddrPort, 0, len(servers))
	for _, s := range servers {
		out = append(out, netip.AddrPortFrom(s, 53))
	}
	return out
}
