package policy

import (
	"net/netip"
	"strconv"
	"strings"
)

// Host-side chains. They are created and jumped to by the launcher's
// shared base (package nat); HostRules only fills them.
const (
	ChainInput        = "NSJNET-INPUT"       // filter INPUT
	ChainHostAllow    = "NSJNET-HOSTALLOW"   // filter, from NSJNET-INPUT: sandboxes that may reach the host
	ChainForward      = "NSJNET-FORWARD"     // filter FORWARD
	ChainSandboxAllow = "NSJNET-SBALLOW"     // filter, from NSJNET-FORWARD: sandboxes that may reach their neighbours
	ChainSandboxPeers = "NSJNET-SBPEERS"     // filter, from NSJNET-SBALLOW: sandboxes that may be reached by them
	ChainTranslated   = "NSJNET-TRANSLATED"  // filter, from NSJNET-FORWARD: where host-translated (DNAT) connections may go
	ChainPostrouting  = "NSJNET-POSTROUTING" // nat POSTROUTING
	ChainDNAT         = "NSJNET-DNAT"        // nat PREROUTING and OUTPUT
)

// HostRule is one rule in the host's namespace, in go-iptables form:
// Args are passed to Append/Insert/Delete/Exists as they are (no shell
// quoting).
type HostRule struct {
	Table, Chain string
	Args         []string
	IPv6         bool // ip6tables rather than iptables
}

// SandboxAddrs are the sandbox's addresses as HostRules needs them.
type SandboxAddrs struct {
	ID     string
	IP     netip.Addr // IPv4 address of the sandbox's eth0
	IP6    netip.Addr // IPv6 address, when the profile has IPv6 on
	Bridge string     // the host bridge, e.g. nsjnet0
}

// OwnerTag is the comment every per-sandbox host rule carries, so that
// teardown and crash clean-up find exactly the rules of one sandbox.
func OwnerTag(id string) string { return "nsjail-net:" + id }

// HostRules returns the host-side rules a sandbox needs: the same list is
// used to add them and to delete them.
//
//   - allow_host: filter/NSJNET-HOSTALLOW accepts from the sandbox (v4,
//     and v6 when on);
//   - allow_sandboxes: between bridge ports, filter/NSJNET-SBALLOW sends
//     what the sandbox sends to NSJNET-SBPEERS, which accepts what goes
//     to the sandbox: a packet passes only between two sandboxes that both
//     allow it (replies alike);
//   - connections the host translates (DNAT: Docker's published ports,
//     kube-proxy's services): filter/NSJNET-TRANSLATED checks the
//     destination they are translated to (see translatedRules);
//   - each publish entry: nat/NSJNET-DNAT to the sandbox port. The shared
//     base (nat.Base) accepts DNATed connections towards the bridge and
//     masquerades those from the host's own addresses, so 127.0.0.1:PORT
//     works from the host (with route_localnet on the bridge).
func HostRules(p *Profile, sb SandboxAddrs) []HostRule {
	tag := []string{"-m", "comment", "--comment", OwnerTag(sb.ID)}
	var out []HostRule
	if p.Network.Mode != ModeBridge {
		return nil
	}
	if p.Firewall.AllowHost {
		if sb.IP.IsValid() {
			out = append(out, HostRule{Table: "filter", Chain: ChainHostAllow,
				Args: concat([]string{"-s", hostPrefix(sb.IP).String()}, tag, []string{"-j", "ACCEPT"})})
		}
		if p.Network.IPv6 && sb.IP6.IsValid() {
			out = append(out, HostRule{Table: "filter", Chain: ChainHostAllow, IPv6: true,
				Args: concat([]string{"-s", hostPrefix(sb.IP6).String()}, tag, []string{"-j", "ACCEPT"})})
		}
	}
	if !sb.IP.IsValid() {
		return out
	}
	if p.Firewall.AllowSandboxes {
		// Bridged frames between sandboxes pass the host's FORWARD chain
		// (br_netfilter), where the shared base drops them but for these.
		// Without br_netfilter, the ingress guard inside the sandbox that
		// does not allow it refuses (see Compile).
		for _, a := range []netip.Addr{sb.IP, sb.IP6} {
			if !a.IsValid() || (a.Is6() && !p.Network.IPv6) {
				continue
			}
			ip := hostPrefix(a).String()
			out = append(out,
				HostRule{Table: "filter", Chain: ChainSandboxAllow, IPv6: a.Is6(), Args: concat([]string{"-s", ip}, tag, []string{"-j", ChainSandboxPeers})},
				HostRule{Table: "filter", Chain: ChainSandboxPeers, IPv6: a.Is6(), Args: concat([]string{"-d", ip}, tag, []string{"-j", "ACCEPT"})})
		}
	}
	for _, pub := range p.Publish {
		proto := string(pub.Proto)
		hp, sp := strconv.Itoa(int(pub.HostPort)), strconv.Itoa(int(pub.SandboxPort))
		var dest []string
		if !pub.HostIP.IsUnspecified() {
			dest = []string{"-d", hostPrefix(pub.HostIP).String()}
		}
		out = append(out, HostRule{Table: "nat", Chain: ChainDNAT, Args: concat(dest,
			[]string{"-p", proto, "-m", proto, "--dport", hp}, tag,
			[]string{"-j", "DNAT", "--to-destination", sb.IP.String() + ":" + sp})})
	}
	for _, a := range []netip.Addr{sb.IP, sb.IP6} {
		if a.IsValid() && (a.Is4() || p.Network.IPv6) {
			out = append(out, translatedRules(p, a, tag)...)
		}
	}
	return out
}

// translatedRules are the rules of filter/NSJNET-TRANSLATED for the
// sandbox address a. The sandbox's own firewall saw the destination it
// connected to; when the host translates it (DNAT), the host checks the
// destination it is translated to against the profile, in the same
// order: the private guard (unless allow_private), the rules with
// addresses or with no destination at all (first match wins: allow
// accepts, deny returns), the default. Rules with names only are left
// out: the resolver opens the addresses it answered, not what the host
// turns them into. What returns, NSJNET-FORWARD refuses. The host and
// sandboxes guards need nothing here: a connection translated to the host
// goes through NSJNET-INPUT, one to the bridge through NSJNET-SBALLOW.
// A sandbox none of whose rules accepts gets no rule at all.
func translatedRules(p *Profile, a netip.Addr, tag []string) []HostRule {
	f, _ := newFamily(a.Is6(), hostPrefix(a), a) // a host prefix holding a: always valid
	w := &writer{f: f}
	src := []string{"-s", hostPrefix(a).String()}
	var out []HostRule
	add := func(target string, match ...string) {
		var args []string
		for _, m := range match {
			args = append(args, strings.Fields(m)...)
		}
		out = append(out, HostRule{Table: "filter", Chain: ChainTranslated, IPv6: a.Is6(),
			Args: concat(src, args, tag, []string{"-j", target})})
	}
	if !p.Firewall.AllowPrivate {
		for _, n := range f.private {
			add("RETURN", dst(n))
		}
	}
	for _, r := range p.Firewall.Rules {
		target := "RETURN"
		if r.Action == ActionAllow {
			target = "ACCEPT"
		}
		for _, d := range f.dests(r) {
			for _, ports := range portMatches(r.Proto, r.Ports) {
				add(target, d, w.proto(r.Proto), ports)
			}
		}
	}
	if p.Firewall.Default == ActionAllow {
		add("ACCEPT")
	}
	// What comes after the last accept returns anyway.
	last := -1
	for i, r := range out {
		if r.Args[len(r.Args)-1] == "ACCEPT" {
			last = i
		}
	}
	return out[:last+1]
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
