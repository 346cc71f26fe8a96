package policy

import (
	"net/netip"
	"strconv"
)

// Host-side chains. They are created and jumped to by the launcher's
// shared base (package nat); HostRules only fills them.
const (
	ChainInput        = "NSJNET-INPUT"       // filter INPUT
	ChainHostAllow    = "NSJNET-HOSTALLOW"   // filter, from NSJNET-INPUT: sandboxes that may reach the host
	ChainForward      = "NSJNET-FORWARD"     // filter FORWARD
	ChainSandboxAllow = "NSJNET-SBALLOW"     // filter, from NSJNET-FORWARD: sandboxes that may reach their neighbours
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
// used to add them and to delete them. Only firewall.allow_host and
// publish need any:
//
//   - allow_host: filter/NSJNET-HOSTALLOW accepts from the sandbox (v4,
//     and v6 when on);
//   - allow_sandboxes: filter/NSJNET-SBALLOW accepts, between bridge ports,
//     what the sandbox sends and the replies to it;
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
		for _, a := range []netip.Addr{sb.IP, sb.IP6} {
			if !a.IsValid() || (a.Is6() && !p.Network.IPv6) {
				continue
			}
			ip := hostPrefix(a).String()
			out = append(out,
				HostRule{Table: "filter", Chain: ChainSandboxAllow, IPv6: a.Is6(), Args: concat([]string{"-s", ip}, tag, []string{"-j", "ACCEPT"})},
				HostRule{Table: "filter", Chain: ChainSandboxAllow, IPv6: a.Is6(), Args: concat([]string{"-d", ip, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"}, tag, []string{"-j", "ACCEPT"})})
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
	return out
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
