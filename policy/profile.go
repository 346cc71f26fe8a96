package policy

import "net/netip"

// Mode is the network mode of a sandbox. The zero value means "unset" while
// profiles are merged; a loaded profile always has one of the constants.
type Mode string

// Network modes.
const (
	ModeLoopback Mode = "loopback" // only lo
	ModeBridge   Mode = "bridge"   // veth on the host bridge, NAT
)

// Action is what a firewall rule (or the default) does with a packet.
type Action string

// Firewall actions. Deny rejects (TCP reset, ICMP port unreachable) so that
// programs fail at once instead of hanging.
const (
	ActionAllow Action = "allow"
	ActionDeny  Action = "deny"
)

// Proto is the protocol a rule or a publish entry applies to.
type Proto string

// Protocols. Publish entries take only TCP and UDP.
const (
	ProtoTCP  Proto = "tcp"
	ProtoUDP  Proto = "udp"
	ProtoICMP Proto = "icmp" // ICMP in IPv4, ICMPv6 in IPv6
	ProtoAny  Proto = "any"
)

// PortRange is an inclusive range of ports; a single port has Lo == Hi.
type PortRange struct{ Lo, Hi uint16 }

// Rule is one [[firewall.rules]] entry (or one --allow / --deny flag).
type Rule struct {
	Action Action
	Proto  Proto
	// ToNets are the destination addresses and networks; a single address
	// is a /32 or /128. Empty ToNets and empty ToNames match any destination.
	ToNets []netip.Prefix
	// ToNames are domain names or "*.example.com" patterns, validated but
	// compiled by the DNS resolver, not by Compile.
	ToNames []string
	// Ports are destination ports (TCP and UDP only); empty = every port.
	Ports   []PortRange
	Comment string
}

// Publish maps a port on the host to a port in the sandbox.
type Publish struct {
	HostPort, SandboxPort uint16
	Proto                 Proto      // tcp or udp
	HostIP                netip.Addr // IPv4; default 127.0.0.1, 0.0.0.0 = every host address
}

// Network is the [network] table.
type Network struct {
	Mode Mode
	IPv6 bool
}

// DNS is the [dns] table.
type DNS struct {
	Servers []netip.Addr // upstream resolvers; empty = the host's
	Search  []string     // resolv.conf search domains
	Options []string     // resolv.conf options, e.g. "ndots:1"
	Allow   []string     // names/patterns that resolve; empty = all
}

// Firewall is the [firewall] table. The three Allow* guards are false by
// default, which means the guard is active.
type Firewall struct {
	Default        Action
	AllowHost      bool
	AllowPrivate   bool
	AllowSandboxes bool
	LogBlocked     bool
	Rules          []Rule
}

// Limits is the [limits] table. Rates are in bits per second, 0 meaning
// no limit; Connections 0 means unset (DefaultConnections applies).
type Limits struct {
	EgressRate  uint64
	IngressRate uint64
	// Connections bounds the connections the sandbox has open at once,
	// and its new connections to Connections a minute (see Compile).
	Connections uint32
}

// Security is the [security] table.
type Security struct {
	Seccomp bool // default true
	// Hide adds host paths hidden inside the sandbox; Keep takes paths
	// out of DefaultHidden (see HiddenPaths).
	Hide []string
	Keep []string
	// ClearEnv starts the program from an empty environment plus a few
	// variables (see the --clearenv flag) instead of the caller's.
	ClearEnv bool
}

// Profile is an effective (or, from Parse, single-file) profile.
type Profile struct {
	Name        string // file base name without .toml
	Origin      string // absolute path of the file, or "builtin"
	Description string
	Extends     string // parent name as written; already applied by Finder.Load
	Network     Network
	DNS         DNS
	Firewall    Firewall
	Publish     []Publish
	Limits      Limits
	Security    Security

	// lineage lists the parents applied by Load ("web (builtin)"), for
	// TOML's header comment.
	lineage []string
	// src records where keys that later checks (overrides, merge) refer to
	// were set: "network.mode", "publish".
	src map[string]pos
	// sources are the files Load read, this one first (see Sources).
	sources []Source
}

// OriginBuiltin is the Origin of profiles embedded in the binary.
const OriginBuiltin = "builtin"

// Version is the only profile format version.
const Version = 1

// Defaults applied after loading (and after merging with parents).
const (
	DefaultMode        = ModeBridge
	DefaultAction      = ActionDeny
	DefaultConnections = 4096
	// MaxConnections bounds limits.connections.
	MaxConnections = 1_000_000
)

// DefaultHostIP returns the address published ports bind to when a publish
// entry gives no host_ip: 127.0.0.1.
func DefaultHostIP() netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 0, 1}) }

// applyDefaults fills the keys no layer set.
func (p *Profile) applyDefaults(set map[string]bool) {
	if p.Network.Mode == "" {
		p.Network.Mode = DefaultMode
	}
	if p.Firewall.Default == "" {
		p.Firewall.Default = DefaultAction
	}
	if !set["security.seccomp"] {
		p.Security.Seccomp = true
	}
	if p.Limits.Connections == 0 {
		p.Limits.Connections = DefaultConnections
	}
}

// clone returns a deep copy of p.
func (p *Profile) clone() *Profile {
	c := *p
	c.DNS.Servers = append([]netip.Addr(nil), p.DNS.Servers...)
	c.DNS.Search = append([]string(nil), p.DNS.Search...)
	c.DNS.Options = append([]string(nil), p.DNS.Options...)
	c.DNS.Allow = append([]string(nil), p.DNS.Allow...)
	c.Firewall.Rules = make([]Rule, len(p.Firewall.Rules))
	for i, r := range p.Firewall.Rules {
		c.Firewall.Rules[i] = r.clone()
	}
	c.Publish = append([]Publish(nil), p.Publish...)
	c.Security.Hide = append([]string(nil), p.Security.Hide...)
	c.Security.Keep = append([]string(nil), p.Security.Keep...)
	c.lineage = append([]string(nil), p.lineage...)
	c.sources = append([]Source(nil), p.sources...)
	c.src = make(map[string]pos, len(p.src))
	for k, v := range p.src {
		c.src[k] = v
	}
	return &c
}

func (r Rule) clone() Rule {
	r.ToNets = append([]netip.Prefix(nil), r.ToNets...)
	r.ToNames = append([]string(nil), r.ToNames...)
	r.Ports = append([]PortRange(nil), r.Ports...)
	return r
}
