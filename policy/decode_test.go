package policy

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// TestParseErrors asserts the exact message, with file:line:col, of every
// kind of error a profile file can have. Files are parsed as the built-in
// "web", so messages name "web.toml".
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // one line per error, in file order
	}{
		// Syntax.
		{"syntax", "[network\n", []string{`web.toml:1:9: expected ']' to close table name`}},
		{"duplicate key", "[network]\nmode = \"bridge\"\nmode = \"loopback\"\n", []string{`web.toml:3:1: key mode is already defined`}},
		// Unknown keys.
		{"unknown key", "[[firewall.rules]]\naction = \"allow\"\nproto = \"tcp\"\n\nportz = [1]\n", []string{`web.toml:5:1: unknown key "portz" (did you mean "ports"?)`}},
		{"unknown table", "[firewal]\ndefault = \"deny\"\n", []string{`web.toml:1:2: unknown table "firewal" (did you mean "firewall"?)`}},
		{"unknown key no suggestion", "colour = 1\n", []string{`web.toml:1:1: unknown key "colour" at the top level (allowed: version, description, extends, network, dns, firewall, publish, limits, security)`}},
		{"unknown guard", "[firewall]\nallow_hosts = true\n", []string{`web.toml:2:1: unknown key "allow_hosts" (did you mean "allow_host"?)`}},
		{"unknown key in inline table", "firewall.rules = [{action = \"allow\", portz = 1}]\n", []string{`web.toml:1:38: unknown key "portz" (did you mean "ports"?)`}},
		{"several unknown keys", "[network]\nmod = 1\n[dns]\nserver = []\n", []string{
			`web.toml:2:1: unknown key "mod" (did you mean "mode"?)`,
			`web.toml:4:1: unknown key "server" (did you mean "servers"?)`}},
		{"key case", "[network]\nMode = \"loopback\"\n", []string{`web.toml:2:1: unknown key "Mode" (did you mean "mode"?)`}},
		{"table case", "[Network]\nmode = \"loopback\"\n", []string{`web.toml:1:1: unknown table "Network" (did you mean "network"?)`}},
		// Types.
		{"table expected", "network = 5\n", []string{`web.toml:1:11: network must be a table ([network]), got integer`}},
		{"array of tables expected", "[firewall]\nrules = 5\n", []string{`web.toml:2:9: firewall.rules must be an array of tables ([[firewall.rules]]), got integer`}},
		{"single table for rules", "[firewall.rules]\naction = \"allow\"\n", []string{`web.toml:1:1: firewall.rules must be an array of tables ([[firewall.rules]]), got a table`}},
		{"bool expected", "[network]\nipv6 = \"yes\"\n", []string{`web.toml:2:8: network.ipv6 must be true or false, got string "yes"`}},
		{"clearenv bool", "[security]\nclearenv = 1\n", []string{`web.toml:2:12: security.clearenv must be true or false, got integer 1`}},
		{"string expected", "description = 5\n", []string{`web.toml:1:15: description must be a string, got integer 5`}},
		{"array expected", "[dns]\nservers = \"1.1.1.1\"\n", []string{`web.toml:2:11: dns.servers must be an array of strings, got string "1.1.1.1"`}},
		{"array element type", "[dns]\nsearch = [\"a.example\", 5]\n", []string{`web.toml:2:24: dns.search[2] must be a string, got integer 5`}},
		{"port type", "[[firewall.rules]]\naction = \"allow\"\nproto = \"tcp\"\nports = [1.5]\n", []string{`web.toml:4:10: firewall.rules[1].ports[1] must be a port number or a "lo-hi" range, got float 1.5`}},
		// Version.
		{"version", "version = 2\n", []string{`web.toml:1:11: unsupported version 2 (this nsjail-net reads version 1)`}},
		{"version type", "version = \"1\"\n", []string{`web.toml:1:11: version must be the integer 1, got string "1"`}},
		// Enums.
		{"mode", "[network]\nmode = \"bridged\"\n", []string{`web.toml:2:8: unknown value "bridged" in network.mode (allowed: "loopback", "bridge")`}},
		{"default", "[firewall]\ndefault = \"reject\"\n", []string{`web.toml:2:11: unknown value "reject" in firewall.default (allowed: "allow", "deny")`}},
		{"action", "[[firewall.rules]]\naction = \"permit\"\n", []string{`web.toml:2:10: unknown value "permit" in firewall.rules[1].action (allowed: "allow", "deny")`}},
		{"proto", "[[firewall.rules]]\naction = \"allow\"\nproto = \"sctp\"\n", []string{`web.toml:3:9: unknown value "sctp" in firewall.rules[1].proto (allowed: "tcp", "udp", "icmp", "any")`}},
		{"missing action", "[[firewall.rules]]\nproto = \"tcp\"\n", []string{`web.toml:1:1: missing action in firewall.rules[1] (allowed: "allow", "deny")`}},
		// Destinations.
		{"bad CIDR", "\n\n[[firewall.rules]]\naction = \"allow\"\n\n\n\n\n\n\n\nto = [\"10.0.0.0/33\"]\n", []string{`web.toml:12:7: bad CIDR "10.0.0.0/33" in firewall.rules[1].to: prefix length 33 out of range 0-32`}},
		{"CIDR host bits", "[[firewall.rules]]\naction = \"allow\"\nto = [\"10.1.2.3/8\"]\n", []string{`web.toml:3:7: bad CIDR "10.1.2.3/8" in firewall.rules[1].to: host bits set (did you mean "10.0.0.0/8"?)`}},
		{"CIDR address", "[[firewall.rules]]\naction = \"allow\"\nto = [\"10.0.0/8\"]\n", []string{`web.toml:3:7: bad CIDR "10.0.0/8" in firewall.rules[1].to: "10.0.0" is not an IP address`}},
		{"CIDR v6 length", "[[firewall.rules]]\naction = \"allow\"\nto = [\"2001:db8::/129\"]\n", []string{`web.toml:3:7: bad CIDR "2001:db8::/129" in firewall.rules[1].to: prefix length 129 out of range 0-128`}},
		{"bad v4 address", "[[firewall.rules]]\naction = \"allow\"\nto = [\"300.1.1.1\"]\n", []string{`web.toml:3:7: bad address "300.1.1.1" in firewall.rules[1].to: not an IPv4 address`}},
		{"bad v6 address", "[[firewall.rules]]\naction = \"allow\"\nto = [\"2001:db8:::1\"]\n", []string{`web.toml:3:7: bad address "2001:db8:::1" in firewall.rules[1].to: not an IPv6 address`}},
		{"bad name", "[[firewall.rules]]\naction = \"allow\"\nto = [\"exa mple..com\"]\n", []string{`web.toml:3:7: bad name "exa mple..com" in firewall.rules[1].to: character ' ' not allowed (letters, digits, '-', '_')`}},
		{"empty label", "[[firewall.rules]]\naction = \"allow\"\nto = [\"example..com\"]\n", []string{`web.toml:3:7: bad name "example..com" in firewall.rules[1].to: empty label`}},
		{"bad pattern", "[[firewall.rules]]\naction = \"allow\"\nto = [\"foo.*.com\"]\n", []string{`web.toml:3:7: bad pattern "foo.*.com" in firewall.rules[1].to: "*" is allowed only as a leading "*." (as in "*.example.com")`}},
		{"empty to", "[[firewall.rules]]\naction = \"allow\"\nto = []\n", []string{`web.toml:3:6: empty firewall.rules[1].to: omit "to" to match any destination`}},
		// Ports.
		{"port range", "[[firewall.rules]]\naction = \"allow\"\nproto = \"tcp\"\nports = [443, 99999]\n", []string{`web.toml:4:15: port 99999 out of range 1-65535 in firewall.rules[1].ports`}},
		{"port zero", "[[firewall.rules]]\naction = \"allow\"\nproto = \"udp\"\nports = [0]\n", []string{`web.toml:4:10: port 0 out of range 1-65535 in firewall.rules[1].ports`}},
		{"reversed range", "[[firewall.rules]]\naction = \"allow\"\nproto = \"tcp\"\nports = [\"9000-8000\"]\n", []string{`web.toml:4:10: reversed port range "9000-8000" in firewall.rules[1].ports (did you mean "8000-9000"?)`}},
		{"range bound", "[[firewall.rules]]\naction = \"allow\"\nproto = \"tcp\"\nports = [\"8000-70000\"]\n", []string{`web.toml:4:10: port 70000 out of range 1-65535 in firewall.rules[1].ports`}},
		{"bad port string", "[[firewall.rules]]\naction = \"allow\"\nproto = \"tcp\"\nports = [\"https\"]\n", []string{`web.toml:4:10: bad port "https" in firewall.rules[1].ports: want a number 1-65535 or a range "lo-hi"`}},
		{"ports on icmp", "[[firewall.rules]]\naction = \"allow\"\nproto = \"icmp\"\nports = [1]\n", []string{`web.toml:4:9: ports not allowed with proto "icmp" in firewall.rules[1] (ports need proto "tcp" or "udp")`}},
		{"ports on any", "[[firewall.rules]]\naction = \"allow\"\nports = [80]\n", []string{`web.toml:3:9: ports not allowed with proto "any" in firewall.rules[1] (ports need proto "tcp" or "udp")`}},
		{"empty ports", "[[firewall.rules]]\naction = \"allow\"\nproto = \"tcp\"\nports = []\n", []string{`web.toml:4:9: empty firewall.rules[1].ports: omit "ports" to match every port`}},
		{"comment quote", "[[firewall.rules]]\naction = \"allow\"\ncomment = 'say \"hi\"'\n", []string{`web.toml:3:11: bad comment "say \"hi\"" in firewall.rules[1].comment: character '"' not allowed`}},
		// Publish.
		{"publish host_port 0", "[[publish]]\nhost_port = 0\nsandbox_port = 80\n", []string{`web.toml:2:13: port 0 out of range 1-65535 in publish[1].host_port`}},
		{"publish missing port", "[[publish]]\nhost_port = 8080\n", []string{`web.toml:1:1: missing sandbox_port in publish[1]`}},
		{"publish proto", "[[publish]]\nhost_port = 53\nsandbox_port = 53\nproto = \"icmp\"\n", []string{`web.toml:4:9: unknown value "icmp" in publish[1].proto (allowed: "tcp", "udp")`}},
		{"publish host_ip", "[[publish]]\nhost_port = 80\nsandbox_port = 80\nhost_ip = \"localhost\"\n", []string{`web.toml:4:11: bad address "localhost" in publish[1].host_ip: want an IPv4 address such as "127.0.0.1" or "0.0.0.0"`}},
		{"publish host_ip v6", "[[publish]]\nhost_port = 80\nsandbox_port = 80\nhost_ip = \"::1\"\n", []string{`web.toml:4:11: bad address "::1" in publish[1].host_ip: published ports take an IPv4 host address`}},
		{"publish twice", "[[publish]]\nhost_port = 80\nsandbox_port = 80\n[[publish]]\nhost_port = 80\nsandbox_port = 81\nhost_ip = \"0.0.0.0\"\n", []string{`web.toml:5:13: host port 80/tcp published twice in publish[2] (also in publish[1])`}},
		{"publish in loopback", "[network]\nmode = \"loopback\"\n[[publish]]\nhost_port = 80\nsandbox_port = 80\n", []string{`web.toml:3:1: publish needs network.mode "bridge", but the mode is "loopback"`}},
		// Limits.
		{"rate unit", "[limits]\negress_rate = \"10mbps\"\n", []string{`web.toml:2:15: bad rate "10mbps" in limits.egress_rate: unknown unit "mbps" (allowed: bit, kbit, mbit, gbit; bits per second, so "10mbit", not "10mbps", which tc reads as bytes)`}},
		{"rate no unit", "[limits]\ningress_rate = \"100\"\n", []string{`web.toml:2:16: bad rate "100" in limits.ingress_rate: missing unit (bit, kbit, mbit, gbit)`}},
		{"rate type", "[limits]\negress_rate = 10\n", []string{`web.toml:2:15: limits.egress_rate must be a string with a unit, e.g. "10mbit", got integer 10`}},
		{"connections zero", "[limits]\nconnections = 0\n", []string{`web.toml:2:15: connections 0 out of range 1-1000000 in limits.connections`}},
		{"connections too many", "[limits]\nconnections = 1000001\n", []string{`web.toml:2:15: connections 1000001 out of range 1-1000000 in limits.connections`}},
		{"connections type", "[limits]\nconnections = \"many\"\n", []string{`web.toml:2:15: limits.connections must be an integer, got string "many"`}},
		// DNS.
		{"dns server", "[dns]\nservers = [\"dns.google\"]\n", []string{`web.toml:2:12: bad address "dns.google" in dns.servers: want an IP address`}},
		{"dns search pattern", "[dns]\nsearch = [\"*.corp.example\"]\n", []string{`web.toml:2:11: bad pattern "*.corp.example" in dns.search: patterns are not allowed here`}},
		{"dns option", "[dns]\noptions = [\"ndot:1\"]\n", []string{`web.toml:2:12: unknown option "ndot:1" in dns.options (did you mean "ndots"?): allowed: attempts:n, edns0, inet6, ndots:n, no-aaaa, no-check-names, no-reload, no-tld-query, rotate, single-request, single-request-reopen, timeout:n, trust-ad, use-vc`}},
		{"dns option value", "[dns]\noptions = [\"ndots\"]\n", []string{`web.toml:2:12: bad option "ndots" in dns.options: want ndots:n, e.g. "ndots:1"`}},
		{"dns allow", "[dns]\nallow = [\"exa mple..com\"]\n", []string{`web.toml:2:10: bad name "exa mple..com" in dns.allow: character ' ' not allowed (letters, digits, '-', '_')`}},
		{"dns allow pattern", "[dns]\nallow = [\"*.*.example.com\"]\n", []string{`web.toml:2:10: bad pattern "*.*.example.com" in dns.allow: "*" is allowed only as a leading "*." (as in "*.example.com")`}},
		// Extends.
		{"extends name", "extends = \"../x\"\n", []string{`web.toml:1:11: bad profile name "../x" in extends: names are 1-64 of a-z, 0-9, '_', '.', '-', start with a letter or digit, and have no ".."`}},
		// Several at once, reported in file order.
		{"all errors", "[network]\nmode = \"bridged\"\nipv6 = \"yes\"\n[[firewall.rules]]\naction = \"allow\"\nto = [5, \"10.0.0.0/33\"]\n", []string{
			`web.toml:2:8: unknown value "bridged" in network.mode (allowed: "loopback", "bridge")`,
			`web.toml:3:8: network.ipv6 must be true or false, got string "yes"`,
			`web.toml:6:7: firewall.rules[1].to[1] must be a string, got integer 5`,
			`web.toml:6:10: bad CIDR "10.0.0.0/33" in firewall.rules[1].to: prefix length 33 out of range 0-32`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("web", OriginBuiltin, []byte(tt.doc))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if got := err.Error(); got != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", got, strings.Join(tt.want, "\n"))
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false")
			}
			for _, e := range flatten(err) {
				var pe *Error
				if !errors.As(e, &pe) || pe.Line < 1 || pe.Col < 1 || pe.File != "web.toml" {
					t.Errorf("%v: not an *Error with a position in web.toml", e)
				}
			}
		})
	}
}

// flatten undoes errors.Join.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func TestParseUserFileName(t *testing.T) {
	_, err := Parse("x", "/etc/nsjail-net/profiles/x.toml", []byte("a = 1\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "/etc/nsjail-net/profiles/x.toml:1:1: ") {
		t.Errorf("got %v", err)
	}
}

func TestParseValues(t *testing.T) {
	doc := `
version = 1
description = "everything"

[network]
ipv6 = true

[dns]
servers = ["192.0.2.53", "2001:db8::53", "::ffff:192.0.2.54"]
search = ["Corp.Example.com."]
options = ["ndots:1", "edns0"]
allow = ["example.com", "*.GitHub.com"]

[firewall]
default = "allow"
allow_host = true
log_blocked = true

[[firewall.rules]]
action = "deny"
proto = "tcp"
to = ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7", "2001:db8::1", "*.example.com", "::ffff:192.0.2.0/120"]
ports = [443, "8000-8100", "22"]
comment = "registry"

[[firewall.rules]]
action = "allow"

[[publish]]
host_port = 8080
sandbox_port = 80

[[publish]]
host_port = 5353
sandbox_port = 53
proto = "udp"
host_ip = "0.0.0.0"

[limits]
egress_rate = "1.5mbit"
connections = 300
ingress_rate = "2gbit"

[security]
seccomp = false
clearenv = true
`
	p, err := Parse("all", "/x/all.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	pfx := netip.MustParsePrefix
	addr := netip.MustParseAddr
	want := &Profile{
		Name: "all", Origin: "/x/all.toml", Description: "everything",
		Network: Network{Mode: ModeBridge, IPv6: true},
		DNS: DNS{
			Servers: []netip.Addr{addr("192.0.2.53"), addr("2001:db8::53"), addr("192.0.2.54")},
			Search:  []string{"corp.example.com"},
			Options: []string{"ndots:1", "edns0"},
			Allow:   []string{"example.com", "*.github.com"},
		},
		Firewall: Firewall{Default: ActionAllow, AllowHost: true, LogBlocked: true, Rules: []Rule{
			{Action: ActionDeny, Proto: ProtoTCP,
				ToNets:  []netip.Prefix{pfx("203.0.113.0/24"), pfx("2001:db8::/32"), pfx("198.51.100.7/32"), pfx("2001:db8::1/128"), pfx("192.0.2.0/24")},
				ToNames: []string{"*.example.com"},
				Ports:   []PortRange{{443, 443}, {8000, 8100}, {22, 22}},
				Comment: "registry"},
			{Action: ActionAllow, Proto: ProtoAny},
		}},
		Publish: []Publish{
			{HostPort: 8080, SandboxPort: 80, Proto: ProtoTCP, HostIP: addr("127.0.0.1")},
			{HostPort: 5353, SandboxPort: 53, Proto: ProtoUDP, HostIP: addr("0.0.0.0")},
		},
		Limits:   Limits{EgressRate: 1_500_000, IngressRate: 2_000_000_000, Connections: 300},
		Security: Security{Seccomp: false, ClearEnv: true},
	}
	p.src, want.src = nil, nil
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got\n%+v\nwant\n%+v", p, want)
	}
}

func TestParseDefaults(t *testing.T) {
	p, err := Parse("empty", OriginBuiltin, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Network.Mode != ModeBridge || p.Network.IPv6 || p.Firewall.Default != ActionDeny ||
		p.Firewall.AllowHost || p.Firewall.AllowPrivate || p.Firewall.AllowSandboxes || p.Firewall.LogBlocked ||
		!p.Security.Seccomp || p.Security.ClearEnv || p.Limits != (Limits{Connections: DefaultConnections}) {
		t.Errorf("defaults: %+v", p)
	}
}
