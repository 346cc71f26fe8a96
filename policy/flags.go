package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Overrides are the command-line changes to a profile for one run.
type Overrides struct {
	Allow   []Rule       // --allow, in the order given
	Deny    []Rule       // --deny, in the order given
	DNS     []netip.Addr // --dns: replaces dns.servers when not empty
	Publish []Publish    // --publish: added to the profile's
}

// flagError is an *Error for a command-line value: `--allow "x": msg`.
func flagError(flag, value, msg string) *Error {
	return &Error{File: fmt.Sprintf("%s %q", flag, value), Msg: msg}
}

func actionFlag(a Action) string { return "--" + string(a) }

// ParseRuleFlag parses the value of --allow or --deny:
//
//	PROTO:DEST[:PORTS]
//
// PROTO is tcp, udp, icmp or any; DEST an address, a CIDR, a name, a
// "*.name" pattern, or "*" for any destination, with IPv6 in brackets
// ("[2001:db8::/32]"); PORTS (tcp and udp only) a comma-separated list of
// ports and "lo-hi" ranges. Examples: "tcp:203.0.113.0/24:443",
// "udp:198.51.100.7:53,5353", "icmp:203.0.113.0/24", "any:10.0.0.0/8",
// "tcp:[2001:db8::/32]:443", "tcp:*.github.com:443", "tcp:*:22".
//
// Errors are *Error values carrying the flag: `--allow
// "tcp:1.2.3.0/24:99999": port 99999 out of range 1-65535`.
func ParseRuleFlag(action Action, s string) (Rule, error) {
	if action != ActionAllow && action != ActionDeny {
		return Rule{}, fmt.Errorf("rule flag: unknown action %q", action)
	}
	flag := actionFlag(action)
	fail := func(format string, args ...any) (Rule, error) {
		return Rule{}, flagError(flag, s, fmt.Sprintf(format, args...))
	}
	const syntax = `want PROTO:DEST[:PORTS], e.g. "tcp:203.0.113.0/24:443", "udp:[2001:db8::1]:53", "icmp:*"`
	proto, rest, ok := strings.Cut(s, ":")
	if !ok {
		return fail("%s", syntax)
	}
	r := Rule{Action: action, Proto: Proto(proto), Comment: truncate(flag+" "+s, 200)}
	switch r.Proto {
	case ProtoTCP, ProtoUDP, ProtoICMP, ProtoAny:
	default:
		return fail("unknown protocol %q (allowed: %s)", proto, quoteList([]string{"tcp", "udp", "icmp", "any"}))
	}
	var dest, ports string
	var hasPorts bool
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return fail("missing ']' after IPv6 destination")
		}
		dest, rest = rest[1:end], rest[end+1:]
		if rest != "" && rest[0] != ':' {
			return fail("want ':' after ']'")
		}
		ports, hasPorts = strings.CutPrefix(rest, ":")
		if !strings.Contains(dest, ":") {
			return fail("brackets are for IPv6 addresses only, got %q", dest)
		}
	} else {
		dest, ports, hasPorts = strings.Cut(rest, ":")
		if strings.Contains(ports, ":") {
			return fail("put IPv6 destinations in brackets, e.g. %q", proto+":[2001:db8::1]:443")
		}
	}
	switch dest {
	case "":
		return fail("missing destination (%s; \"*\" is any)", syntax)
	case "*":
	default:
		if strings.ContainsRune(dest, ',') {
			return fail("one destination per flag; repeat %s for more", flag)
		}
		net, name, err := parseDest(dest)
		if err != nil {
			return fail("%s", err)
		}
		if name != "" {
			r.ToNames = []string{name}
		} else {
			r.ToNets = []netip.Prefix{net}
		}
	}
	if !hasPorts {
		return r, nil
	}
	if r.Proto != ProtoTCP && r.Proto != ProtoUDP {
		return fail("ports not allowed with proto %q (ports need \"tcp\" or \"udp\")", r.Proto)
	}
	for _, p := range strings.Split(ports, ",") {
		pr, err := parsePort(p)
		if err != nil {
			return fail("%s", err)
		}
		r.Ports = append(r.Ports, pr)
	}
	return r, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// ParsePublishFlag parses the value of --publish:
//
//	[HOST_IP:]HOST_PORT:SANDBOX_PORT[/PROTO]
//
// e.g. "8080:80/tcp", "127.0.0.1:8080:80/udp", "0.0.0.0:8080:80". PROTO is
// tcp (the default) or udp; HOST_IP an IPv4 address, 127.0.0.1 by default.
func ParsePublishFlag(s string) (Publish, error) {
	fail := func(format string, args ...any) (Publish, error) {
		return Publish{}, flagError("--publish", s, fmt.Sprintf(format, args...))
	}
	pub := Publish{Proto: ProtoTCP, HostIP: DefaultHostIP()}
	spec, proto, hasProto := strings.Cut(s, "/")
	if hasProto {
		switch Proto(proto) {
		case ProtoTCP, ProtoUDP:
			pub.Proto = Proto(proto)
		default:
			return fail("unknown protocol %q (allowed: \"tcp\", \"udp\")", proto)
		}
	}
	parts := strings.Split(spec, ":")
	switch len(parts) {
	case 2:
	case 3:
		a, err := parseHostIP(parts[0])
		if err != nil {
			return fail("%s", err)
		}
		pub.HostIP = a
		parts = parts[1:]
	default:
		return fail(`want [HOST_IP:]HOST_PORT:SANDBOX_PORT[/PROTO], e.g. "8080:80/tcp"`)
	}
	for i, p := range parts {
		if p == "" || len(p) > 6 || strings.Trim(p, "0123456789") != "" {
			return fail("bad port %q: want a number 1-65535", p)
		}
		n, _ := strconv.ParseInt(p, 10, 64)
		port, err := portNumber(n)
		if err != nil {
			return fail("%s", err)
		}
		if i == 0 {
			pub.HostPort = port
		} else {
			pub.SandboxPort = port
		}
	}
	return pub, nil
}

// ParseDNSFlag parses the value of --dns: an IP address.
func ParseDNSFlag(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, flagError("--dns", s, "want an IP address")
	}
	return a.Unmap(), nil
}

// ApplyOverrides applies command-line overrides to an effective profile.
// Command-line rules go before the profile's: --deny rules first, then
// --allow rules, each in the order given (so an explicit --deny is never
// undone by an --allow). --dns replaces dns.servers; --publish entries are
// added after the profile's, and a host port published twice is an error.
func (p *Profile) ApplyOverrides(o Overrides) error {
	var errs errList
	var rules []Rule
	for _, set := range [][]Rule{o.Deny, o.Allow} {
		for _, r := range set {
			if err := p.checkOverrideRule(r); err != nil {
				errs.add(err)
				continue
			}
			rules = append(rules, r.clone())
		}
	}
	if len(o.DNS) > 0 && p.Network.Mode != ModeBridge {
		errs.add(&Error{File: "--dns", Msg: fmt.Sprintf("profile %q has network.mode %q: no DNS", p.Name, p.Network.Mode)})
	}
	pubs := append([]Publish(nil), p.Publish...)
	for _, pub := range o.Publish {
		flag := fmt.Sprintf("--publish %q", pub.String())
		if p.Network.Mode != ModeBridge {
			errs.add(&Error{File: flag, Msg: fmt.Sprintf("profile %q has network.mode %q; publishing needs \"bridge\"", p.Name, p.Network.Mode)})
			continue
		}
		if pub.Proto != ProtoTCP && pub.Proto != ProtoUDP || pub.HostPort == 0 || pub.SandboxPort == 0 || !pub.HostIP.Is4() {
			errs.add(&Error{File: flag, Msg: "invalid publish entry"})
			continue
		}
		dup := false
		for _, q := range pubs {
			if q.Proto == pub.Proto && q.HostPort == pub.HostPort && overlaps(q.HostIP, pub.HostIP) {
				errs.add(&Error{File: flag, Msg: fmt.Sprintf("host port %d/%s already published (%s)", pub.HostPort, pub.Proto, q.String())})
				dup = true
				break
			}
		}
		if !dup {
			pubs = append(pubs, pub)
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	p.Firewall.Rules = append(rules, p.Firewall.Rules...)
	if len(o.DNS) > 0 {
		p.DNS.Servers = append([]netip.Addr(nil), o.DNS...)
	}
	p.Publish = pubs
	return nil
}

// checkOverrideRule rejects command-line rules that cannot apply to p.
func (p *Profile) checkOverrideRule(r Rule) error {
	flag := fmt.Sprintf("%s %q", actionFlag(r.Action), r.Comment)
	if c, ok := strings.CutPrefix(r.Comment, actionFlag(r.Action)+" "); ok {
		flag = fmt.Sprintf("%s %q", actionFlag(r.Action), c)
	}
	if p.Network.Mode != ModeBridge {
		return &Error{File: flag, Msg: fmt.Sprintf("profile %q has network.mode %q; rules need \"bridge\"", p.Name, p.Network.Mode)}
	}
	if !p.Network.IPv6 && len(r.ToNets) > 0 {
		for _, n := range r.ToNets {
			if n.Addr().Is4() {
				return nil
			}
		}
		return &Error{File: flag, Msg: fmt.Sprintf("profile %q has IPv6 off (network.ipv6 = false): this rule would match nothing", p.Name)}
	}
	return nil
}

// String renders a publish entry in --publish syntax.
func (p Publish) String() string {
	return fmt.Sprintf("%s:%d:%d/%s", p.HostIP, p.HostPort, p.SandboxPort, p.Proto)
}
