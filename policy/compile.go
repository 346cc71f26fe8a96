package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Chains compiled into the sandbox's own network namespace.
const (
	// ChainEgress holds DNS and the guards; OUTPUT jumps to it for every
	// packet that is not loopback or a reply.
	ChainEgress = "NSJNET-EGRESS"
	// ChainRules holds the profile's rules and its default.
	ChainRules = "NSJNET-RULES"
	// ChainLimit refuses a connection past limits.connections.
	ChainLimit = "NSJNET-LIMIT"
)

// NFLOG settings used when firewall.log_blocked is on.
const (
	NFLogGroup = 6763
	nflogLimit = "10/sec"
)

// Env is what Compile needs to know about the sandbox's network.
type Env struct {
	SandboxID string
	Subnet    netip.Prefix // the bridge subnet, e.g. 10.213.0.0/16
	Gateway   netip.Addr   // the host's address on it, e.g. 10.213.0.1
	Subnet6   netip.Prefix // valid only when the profile has IPv6 on
	Gateway6  netip.Addr
	// DNS are the resolvers the sandbox may query on port 53, udp and
	// tcp; always allowed, before the guards.
	DNS []netip.Addr
	// DNSGuard refuses port 53 (udp and tcp) to anything but the DNS
	// addresses above and loopback, where the sandbox's own resolver
	// listens: no lookup bypasses it, whatever the program configures.
	DNSGuard bool
}

// Ruleset is complete iptables-restore input (filter table only) for the
// sandbox's fresh network namespace. IPv6 is "" when the profile has IPv6
// off.
type Ruleset struct{ IPv4, IPv6 string }

// Compile turns an effective profile into the egress firewall of the
// sandbox's own network namespace. The program inside has no capability
// there, so it cannot change the rules, and they die with the namespace.
//
// Order (IPv4 and IPv6 alike): loopback; replies (established/related);
// IPv6 neighbour discovery; the connection limit; DNS to env.DNS; the
// guards host, sandboxes, private (each either rejects, or, when turned
// off, sends its traffic straight to the rules so that a later guard does
// not catch it); the rules, first match wins; the default.
//
// Two more parts bound what the sandbox can do to the host:
//   - limits.connections, counted here in the sandbox's own connection
//     table: a new connection past that many open is refused, and in
//     the mangle table new connections that the rules let out are held
//     to that many a minute (a burst of as many, at most 10000, the
//     kernel's limit). Every entry the sandbox adds to the host's table
//     is one of its own connections, so the host holds at most the
//     open ones plus those closed in the last two minutes (conntrack's
//     TIME_WAIT, which connlimit does not count): about three times
//     the limit.
//   - without allow_sandboxes, the ingress guard in INPUT refuses new
//     connections from other sandboxes (the subnet but the gateway, and
//     link-local addresses), so allow_sandboxes opens the way only
//     between two sandboxes that both set it, even on a host where
//     bridged frames bypass iptables (no br_netfilter).
func Compile(p *Profile, env Env) (*Ruleset, error) {
	if !simpleName(env.SandboxID, 64, true) {
		return nil, fmt.Errorf("compiling profile %q: bad sandbox id %q", p.Name, env.SandboxID)
	}
	if p.Network.Mode == ModeLoopback {
		rs := &Ruleset{IPv4: loopbackRules()}
		if p.Network.IPv6 {
			rs.IPv6 = rs.IPv4
		}
		return rs, nil
	}
	if p.Network.Mode != ModeBridge {
		return nil, fmt.Errorf("compiling profile %q: unknown network mode %q", p.Name, p.Network.Mode)
	}
	if err := checkCompilable(p); err != nil {
		return nil, fmt.Errorf("compiling profile %q: %w", p.Name, err)
	}
	v4, err := newFamily(false, env.Subnet, env.Gateway)
	if err != nil {
		return nil, fmt.Errorf("compiling profile %q: %w", p.Name, err)
	}
	rs := &Ruleset{IPv4: compileFamily(p, env, v4)}
	if p.Network.IPv6 {
		v6, err := newFamily(true, env.Subnet6, env.Gateway6)
		if err != nil {
			return nil, fmt.Errorf("compiling profile %q: %w", p.Name, err)
		}
		rs.IPv6 = compileFamily(p, env, v6)
	}
	return rs, nil
}

// checkCompilable re-checks rules that may not come from a validated
// file (overrides built by hand).
func checkCompilable(p *Profile) error {
	switch p.Firewall.Default {
	case ActionAllow, ActionDeny:
	default:
		return fmt.Errorf("bad firewall.default %q", p.Firewall.Default)
	}
	for i, r := range p.Firewall.Rules {
		where := fmt.Sprintf("rule %d", i+1)
		switch {
		case r.Action != ActionAllow && r.Action != ActionDeny:
			return fmt.Errorf("%s: bad action %q", where, r.Action)
		case r.Proto != ProtoTCP && r.Proto != ProtoUDP && r.Proto != ProtoICMP && r.Proto != ProtoAny:
			return fmt.Errorf("%s: bad proto %q", where, r.Proto)
		case len(r.Ports) > 0 && r.Proto != ProtoTCP && r.Proto != ProtoUDP:
			return fmt.Errorf("%s: ports with proto %q", where, r.Proto)
		}
		for _, pr := range r.Ports {
			if pr.Lo == 0 || pr.Lo > pr.Hi {
				return fmt.Errorf("%s: bad port range %d-%d", where, pr.Lo, pr.Hi)
			}
		}
		for _, n := range r.ToNets {
			if !n.IsValid() {
				return fmt.Errorf("%s: invalid destination", where)
			}
		}
		if e := checkComment(r.Comment); e != nil {
			return fmt.Errorf("%s: %s", where, e)
		}
	}
	return nil
}

func loopbackRules() string {
	return strings.Join([]string{
		"*filter",
		":INPUT ACCEPT [0:0]",
		":FORWARD DROP [0:0]",
		":OUTPUT ACCEPT [0:0]",
		"-A OUTPUT -o lo -j ACCEPT",
		`-A OUTPUT -m comment --comment "mode: loopback" -j DROP`,
		"COMMIT",
		"",
	}, "\n")
}

// family holds what differs between IPv4 and IPv6.
type family struct {
	v6      bool
	icmp    string // protocol name of ICMP
	unreach string // --reject-with for everything but TCP
	subnet  netip.Prefix
	gateway netip.Addr
	private []netip.Prefix
	// groupcast are the broadcast and multicast destinations.
	groupcast []netip.Prefix
}

// private6 are the IPv6 ranges of the private guard. Besides unique local
// and link-local addresses, it refuses every prefix that carries an IPv4
// address: a translator or relay on the path (the host's, the LAN's, the
// provider's) turns such a packet back into IPv4, so 64:ff9b::a00:1 would
// reach 10.0.0.1, or 64:ff9b::a9fe:a9fe the metadata service, past the
// IPv4 guard. They are refused whole: where the IPv4 address sits depends
// on the operator (RFC 6052 allows several layouts), and the sandbox has
// IPv4 of its own for public destinations. Being guards, they come before
// the rules, so no rule re-opens them; allow_private does.
var private6 = []string{
	"fc00::/7",       // unique local (RFC 4193)
	"fe80::/10",      // link-local
	"64:ff9b::/96",   // NAT64 well-known prefix (RFC 6052): IPv4 in the last 32 bits
	"64:ff9b:1::/48", // NAT64 local-use prefix (RFC 8215): IPv4 wherever the operator puts it
	"2002::/16",      // 6to4 (RFC 3056): 2002:AABB:CCDD::/48 goes to A.B.C.D through a relay
	"2001::/32",      // Teredo (RFC 4380): server and client IPv4 addresses inside
	"::ffff:0:0/96",  // IPv4-mapped (RFC 4291): a SIIT translator (RFC 7915) sends it as IPv4
	"::/96",          // IPv4-compatible (deprecated, RFC 4291), with :: and ::1
}

func newFamily(v6 bool, subnet netip.Prefix, gw netip.Addr) (family, error) {
	name := "IPv4"
	f := family{v6: v6, icmp: "icmp", unreach: "icmp-port-unreachable", subnet: subnet.Masked(), gateway: gw}
	f.private = prefixes("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16")
	f.groupcast = prefixes("255.255.255.255/32", "224.0.0.0/4")
	if v6 {
		name = "IPv6"
		f.icmp, f.unreach = "ipv6-icmp", "icmp6-port-unreachable"
		f.private = prefixes(private6...)
		f.groupcast = prefixes("ff00::/8")
	}
	switch {
	case !subnet.IsValid() || subnet.Addr().Is6() != v6 || subnet.Addr().Is4In6():
		return f, fmt.Errorf("no %s sandbox subnet (got %v)", name, subnet)
	case !gw.IsValid() || gw.Is6() != v6 || !subnet.Contains(gw):
		return f, fmt.Errorf("%s gateway %v not in subnet %v", name, gw, subnet)
	}
	return f, nil
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func (f family) match(a netip.Addr) bool { return a.IsValid() && a.Unmap().Is6() == f.v6 }

// writer accumulates iptables-restore lines.
type writer struct {
	b   strings.Builder
	f   family
	log string // NFLOG prefix start ("nsjail-net <id>"), "" when off
}

func (w *writer) add(chain string, args ...string) {
	w.b.WriteString("-A " + chain)
	for _, a := range args {
		if a != "" {
			w.b.WriteString(" " + a)
		}
	}
	w.b.WriteString("\n")
}

func comment(c string) string { return `-m comment --comment "` + c + `"` }

// accept appends an ACCEPT for match.
func (w *writer) accept(chain, match, c string) {
	w.add(chain, match, comment(c), "-j ACCEPT")
}

// reject appends the rejection of match for proto: a TCP reset for TCP,
// ICMP port unreachable for the rest (both for ProtoAny), preceded by a
// rate-limited NFLOG when logging is on. dest and ports are match parts
// without the protocol.
func (w *writer) reject(chain, dest string, proto Proto, ports, c string) {
	if w.log != "" {
		prefix := truncate(w.log+" "+c, 63)
		w.add(chain, dest, w.proto(proto), ports, comment(c), "-m limit --limit "+nflogLimit,
			fmt.Sprintf(`-j NFLOG --nflog-group %d --nflog-prefix "%s"`, NFLogGroup, prefix))
	}
	if proto == ProtoTCP || proto == ProtoAny {
		w.add(chain, dest, "-p tcp", ports, comment(c), "-j REJECT --reject-with tcp-reset")
	}
	if proto != ProtoTCP {
		w.add(chain, dest, w.proto(proto), ports, comment(c), "-j REJECT --reject-with "+w.f.unreach)
	}
}

// proto renders the -p match ("" for any).
func (w *writer) proto(p Proto) string {
	switch p {
	case ProtoTCP, ProtoUDP:
		return "-p " + string(p)
	case ProtoICMP:
		return "-p " + w.f.icmp
	}
	return ""
}

func dst(p netip.Prefix) string { return "-d " + p.String() }

func hostPrefix(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

func compileFamily(p *Profile, env Env, f family) string {
	w := &writer{f: f}
	if p.Firewall.LogBlocked {
		w.log = "nsjail-net " + env.SandboxID
	}
	w.b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	w.b.WriteString(":" + ChainEgress + " - [0:0]\n:" + ChainRules + " - [0:0]\n:" + ChainLimit + " - [0:0]\n")
	for i, r := range p.Firewall.Rules {
		if len(r.ToNames) > 0 {
			w.b.WriteString(":" + NameChain(i) + " - [0:0]\n")
		}
	}
	w.add("OUTPUT", "-o lo -j ACCEPT")
	w.add("OUTPUT", "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
	if f.v6 {
		w.ndp()
	}
	conns := connections(p)
	w.add("OUTPUT", fmt.Sprintf("-m conntrack --ctstate NEW -m connlimit --connlimit-above %d --connlimit-mask 0", conns),
		comment("limit: connections"), "-j "+ChainLimit)
	w.add("OUTPUT", "-j "+ChainEgress)

	for _, a := range env.DNS {
		if f.match(a) {
			d := dst(hostPrefix(a.Unmap()))
			w.accept(ChainEgress, d+" -p udp -m udp --dport 53", "dns")
			w.accept(ChainEgress, d+" -p tcp -m tcp --dport 53", "dns")
		}
	}
	if env.DNSGuard {
		w.reject(ChainEgress, "-m udp --dport 53", ProtoUDP, "", "guard: dns")
		w.reject(ChainEgress, "-m tcp --dport 53", ProtoTCP, "", "guard: dns")
	}
	w.guards(p.Firewall)
	w.add(ChainEgress, "-j "+ChainRules)

	for i, r := range p.Firewall.Rules {
		w.rule(r, ruleComment(r, i))
		if len(r.ToNames) > 0 {
			// Addresses the sandbox's resolver hands out for these names
			// are added to this rule's own chain, at the rule's place.
			w.add(ChainRules, comment(ruleComment(r, i)+": names"), "-j "+NameChain(i))
		}
	}
	if p.Firewall.Default == ActionAllow {
		w.accept(ChainRules, "", "default")
	} else {
		w.reject(ChainRules, "", ProtoAny, "", "default")
	}
	w.reject(ChainLimit, "", ProtoAny, "", "limit: connections")
	if !p.Firewall.AllowSandboxes {
		w.ingressGuard()
	}
	w.b.WriteString("COMMIT\n")
	// New connections the rules let out, at most conns a minute: dropped
	// past that, so TCP retries them later. Here (after filter) only
	// connections that leave count.
	w.b.WriteString("*mangle\n:POSTROUTING ACCEPT [0:0]\n")
	rate := fmt.Sprintf("-m limit --limit %d/minute --limit-burst %d", min(conns, maxLimitPerMinute), min(conns, maxLimitBurst))
	w.add("POSTROUTING", "! -o lo -m conntrack --ctstate NEW", rate, comment("limit: new connections"), "-j RETURN")
	w.add("POSTROUTING", "! -o lo -m conntrack --ctstate NEW", comment("limit: new connections"), "-j DROP")
	w.b.WriteString("COMMIT\n")
	return w.b.String()
}

// The kernel's limit match takes at most 10000 a second and a burst of
// at most 10000.
const (
	maxLimitPerMinute = 600_000
	maxLimitBurst     = 10_000
)

// connections is the profile's connection limit; DefaultConnections when
// unset (a profile built by hand).
func connections(p *Profile) uint32 {
	if p.Limits.Connections == 0 {
		return DefaultConnections
	}
	return p.Limits.Connections
}

// ingressGuard refuses, in INPUT, new connections from other sandboxes:
// the sandbox subnet but its gateway (the host, and host processes
// reaching a published port, masqueraded to it) and, in IPv6, link-local
// sources; the sandbox's own connections to itself come in on lo.
// Neighbour discovery is not a new connection to conntrack.
func (w *writer) ingressGuard() {
	w.add("INPUT", "-i lo -j ACCEPT")
	w.add("INPUT", "-s "+hostPrefix(w.f.gateway).String(), comment("guard: sandboxes (in): the host"), "-j ACCEPT")
	srcs := []string{w.f.subnet.String()}
	if w.f.v6 {
		srcs = append(srcs, "fe80::/10")
	}
	for _, s := range srcs {
		w.reject("INPUT", "-s "+s+" -m conntrack --ctstate NEW", ProtoAny, "", "guard: sandboxes (in)")
	}
}

// ndp lets IPv6 neighbour and router discovery out, to link-scope
// multicast, link-local addresses and the sandbox subnet only: without it
// IPv6 does not work at all.
func (w *writer) ndp() {
	icmp := "-p ipv6-icmp -m icmp6 --icmpv6-type "
	for _, d := range []string{"ff02::/16", "fe80::/10", w.f.subnet.String()} {
		w.accept("OUTPUT", "-d "+d+" "+icmp+"neighbour-solicitation", "ndp")
		w.accept("OUTPUT", "-d "+d+" "+icmp+"neighbour-advertisement", "ndp")
	}
	w.accept("OUTPUT", "-d ff02::/16 "+icmp+"router-solicitation", "ndp")
	w.accept("OUTPUT", "-d ff02::/16 "+icmp+"143", "ndp: mldv2 report")
}

// guards writes the host, sandboxes and private guards. A guard that is
// turned off sends its addresses straight to the rules ("-g"), so that a
// later, wider guard (private covers the usual 10.213.0.0/16) does not
// block what the profile opened.
func (w *writer) guards(fw Firewall) {
	gw := dst(hostPrefix(w.f.gateway))
	if fw.AllowHost {
		w.add(ChainEgress, gw, comment("guard off: host"), "-g "+ChainRules)
	} else {
		w.reject(ChainEgress, gw, ProtoAny, "", "guard: host")
	}
	sb := dst(w.f.subnet)
	if fw.AllowSandboxes {
		w.add(ChainEgress, sb, comment("guard off: sandboxes"), "-g "+ChainRules)
	} else {
		w.reject(ChainEgress, sb, ProtoAny, "", "guard: sandboxes")
		// Broadcast and multicast reach every port of the bridge, and
		// a non-isolated port (a sandbox with allow_sandboxes) takes
		// them even from an isolated one when bridged frames bypass
		// iptables (no br_netfilter). The subnet's own broadcast
		// address is in the subnet, above; IPv6 neighbour discovery,
		// which needs multicast, is let out before this chain.
		for _, m := range w.f.groupcast {
			w.reject(ChainEgress, dst(m), ProtoAny, "", "guard: sandboxes (broadcast, multicast)")
		}
	}
	if !fw.AllowPrivate {
		for _, p := range w.f.private {
			w.reject(ChainEgress, dst(p), ProtoAny, "", "guard: private")
		}
	}
}

// rule writes one profile rule: one line (or reject pair) per destination
// of this family and per multiport chunk of its ports.
func (w *writer) rule(r Rule, c string) {
	for _, d := range w.f.dests(r) {
		for _, ports := range portMatches(r.Proto, r.Ports) {
			if r.Action == ActionAllow {
				w.add(ChainRules, d, w.proto(r.Proto), ports, comment(c), "-j ACCEPT")
			} else {
				w.reject(ChainRules, d, r.Proto, ports, c)
			}
		}
	}
}

// dests renders the destination matches of rule r in this family: [""]
// for a rule with no destination at all (any), one per network of this
// family, none for names (the resolver fills those in).
func (f family) dests(r Rule) []string {
	if len(r.ToNets) == 0 && len(r.ToNames) == 0 {
		return []string{""}
	}
	var out []string
	for _, n := range r.ToNets {
		if n.Addr().Is6() == f.v6 {
			out = append(out, dst(n))
		}
	}
	return out
}

// maxMultiport is the number of ports the multiport match takes; a range
// counts as two.
const maxMultiport = 15

// portMatches renders the port matches of a rule: [""] without ports,
// else one match per chunk of at most 15 multiport slots.
func portMatches(proto Proto, ports []PortRange) []string {
	if len(ports) == 0 {
		return []string{""}
	}
	one := func(pr PortRange) string {
		if pr.Lo == pr.Hi {
			return strconv.Itoa(int(pr.Lo))
		}
		return fmt.Sprintf("%d:%d", pr.Lo, pr.Hi)
	}
	if len(ports) == 1 {
		return []string{fmt.Sprintf("-m %s --dport %s", proto, one(ports[0]))}
	}
	var out []string
	var chunk []string
	slots := 0
	flush := func() {
		if len(chunk) > 0 {
			out = append(out, "-m multiport --dports "+strings.Join(chunk, ","))
		}
		chunk, slots = nil, 0
	}
	for _, pr := range ports {
		n := 1
		if pr.Lo != pr.Hi {
			n = 2
		}
		if slots+n > maxMultiport {
			flush()
		}
		chunk = append(chunk, one(pr))
		slots += n
	}
	flush()
	return out
}

func ruleComment(r Rule, i int) string {
	if r.Comment != "" {
		return r.Comment
	}
	return "rule " + strconv.Itoa(i+1)
}

// NameChain is the chain of rule i (0-based) that holds the addresses
// resolved for its names.
func NameChain(i int) string { return "NSJNET-N" + strconv.Itoa(i+1) }

// NameRuleLines renders the rule lines that open addr for rule i (0-based)
// of p: "-A <chain> ..." lines for iptables-restore --noflush. The same
// lines with -A turned into -D delete them (see DeleteLines), so adding
// and removing use one builder.
func NameRuleLines(p *Profile, i int, addr netip.Addr) []string {
	r := p.Firewall.Rules[i]
	addr = addr.Unmap()
	f := family{v6: addr.Is6(), icmp: "icmp", unreach: "icmp-port-unreachable"}
	if f.v6 {
		f.icmp, f.unreach = "ipv6-icmp", "icmp6-port-unreachable"
	}
	w := &writer{f: f}
	d := dst(hostPrefix(addr))
	c := ruleComment(r, i) + ": " + addr.String()
	for _, ports := range portMatches(r.Proto, r.Ports) {
		if r.Action == ActionAllow {
			w.add(NameChain(i), d, w.proto(r.Proto), ports, comment(c), "-j ACCEPT")
		} else {
			w.reject(NameChain(i), d, r.Proto, ports, c)
		}
	}
	return strings.Split(strings.TrimSuffix(w.b.String(), "\n"), "\n")
}

// DeleteLines turns "-A" lines into the "-D" lines that remove them.
func DeleteLines(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = "-D" + strings.TrimPrefix(l, "-A")
	}
	return out
}
