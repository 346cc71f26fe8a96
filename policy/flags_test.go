package policy

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestParseRuleFlag(t *testing.T) {
	pfx := netip.MustParsePrefix
	tests := []struct {
		action Action
		in     string
		want   Rule
	}{
		{ActionAllow, "tcp:203.0.113.0/24:443", Rule{Proto: ProtoTCP, ToNets: []netip.Prefix{pfx("203.0.113.0/24")}, Ports: []PortRange{{443, 443}}}},
		{ActionAllow, "udp:198.51.100.7:53,5353", Rule{Proto: ProtoUDP, ToNets: []netip.Prefix{pfx("198.51.100.7/32")}, Ports: []PortRange{{53, 53}, {5353, 5353}}}},
		{ActionDeny, "icmp:203.0.113.0/24", Rule{Proto: ProtoICMP, ToNets: []netip.Prefix{pfx("203.0.113.0/24")}}},
		{ActionDeny, "any:10.0.0.0/8", Rule{Proto: ProtoAny, ToNets: []netip.Prefix{pfx("10.0.0.0/8")}}},
		{ActionAllow, "tcp:[2001:db8::/32]:443", Rule{Proto: ProtoTCP, ToNets: []netip.Prefix{pfx("2001:db8::/32")}, Ports: []PortRange{{443, 443}}}},
		{ActionAllow, "tcp:[2001:db8::1]", Rule{Proto: ProtoTCP, ToNets: []netip.Prefix{pfx("2001:db8::1/128")}}},
		{ActionAllow, "tcp:*.github.com:443", Rule{Proto: ProtoTCP, ToNames: []string{"*.github.com"}, Ports: []PortRange{{443, 443}}}},
		{ActionAllow, "tcp:*:22,8000-8100", Rule{Proto: ProtoTCP, Ports: []PortRange{{22, 22}, {8000, 8100}}}},
		{ActionAllow, "any:*", Rule{Proto: ProtoAny}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRuleFlag(tt.action, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Action = tt.action
			tt.want.Comment = "--" + string(tt.action) + " " + tt.in
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseRuleFlagErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"tcp:1.2.3.0/24:99999", `--allow "tcp:1.2.3.0/24:99999": port 99999 out of range 1-65535`},
		{"tcp:1.2.3.0/24:9000-8000", `--allow "tcp:1.2.3.0/24:9000-8000": reversed port range "9000-8000" (did you mean "8000-9000"?)`},
		{"tcp:1.2.3.0/24:", `--allow "tcp:1.2.3.0/24:": bad port "": want a number 1-65535 or a range "lo-hi"`},
		{"tcp:10.0.0.0/33:443", `--allow "tcp:10.0.0.0/33:443": bad CIDR "10.0.0.0/33": prefix length 33 out of range 0-32`},
		{"tcp:exa mple..com:443", `--allow "tcp:exa mple..com:443": bad name "exa mple..com": character ' ' not allowed (letters, digits, '-', '_')`},
		{"icmp:1.2.3.4:80", `--allow "icmp:1.2.3.4:80": ports not allowed with proto "icmp" (ports need "tcp" or "udp")`},
		{"any:1.2.3.4:80", `--allow "any:1.2.3.4:80": ports not allowed with proto "any" (ports need "tcp" or "udp")`},
		{"sctp:1.2.3.4", `--allow "sctp:1.2.3.4": unknown protocol "sctp" (allowed: "tcp", "udp", "icmp", "any")`},
		{"tcp", `--allow "tcp": want PROTO:DEST[:PORTS], e.g. "tcp:203.0.113.0/24:443", "udp:[2001:db8::1]:53", "icmp:*"`},
		{"tcp::443", `--allow "tcp::443": missing destination (want PROTO:DEST[:PORTS], e.g. "tcp:203.0.113.0/24:443", "udp:[2001:db8::1]:53", "icmp:*"; "*" is any)`},
		{"tcp:2001:db8::1:443", `--allow "tcp:2001:db8::1:443": put IPv6 destinations in brackets, e.g. "tcp:[2001:db8::1]:443"`},
		{"tcp:[2001:db8::1:443", `--allow "tcp:[2001:db8::1:443": missing ']' after IPv6 destination`},
		{"tcp:[1.2.3.4]:443", `--allow "tcp:[1.2.3.4]:443": brackets are for IPv6 addresses only, got "1.2.3.4"`},
		{"tcp:[2001:db8::1]x", `--allow "tcp:[2001:db8::1]x": want ':' after ']'`},
		{"tcp:1.2.3.4,5.6.7.8:443", `--allow "tcp:1.2.3.4,5.6.7.8:443": one destination per flag; repeat --allow for more`},
		{"tcp:300.1.1.1:443", `--allow "tcp:300.1.1.1:443": bad address "300.1.1.1": not an IPv4 address`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseRuleFlag(ActionAllow, tt.in)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got  %v\nwant %s", err, tt.want)
			}
			var pe *Error
			if !errors.As(err, &pe) || !errors.Is(err, ErrInvalid) {
				t.Errorf("not a policy *Error: %T", err)
			}
		})
	}
	if _, err := ParseRuleFlag(ActionDeny, "udp:1.2.3.4:0"); err == nil || err.Error() != `--deny "udp:1.2.3.4:0": port 0 out of range 1-65535` {
		t.Errorf("deny flag: %v", err)
	}
}

func TestParsePublishFlag(t *testing.T) {
	addr := netip.MustParseAddr
	ok := []struct {
		in   string
		want Publish
	}{
		{"8080:80/tcp", Publish{8080, 80, ProtoTCP, addr("127.0.0.1")}},
		{"8080:80", Publish{8080, 80, ProtoTCP, addr("127.0.0.1")}},
		{"127.0.0.1:8080:80/udp", Publish{8080, 80, ProtoUDP, addr("127.0.0.1")}},
		{"0.0.0.0:8080:80", Publish{8080, 80, ProtoTCP, addr("0.0.0.0")}},
	}
	for _, tt := range ok {
		got, err := ParsePublishFlag(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %+v, %v", tt.in, got, err)
		}
	}
	bad := []struct{ in, want string }{
		{"0:80", `--publish "0:80": port 0 out of range 1-65535`},
		{"8080:70000", `--publish "8080:70000": port 70000 out of range 1-65535`},
		{"8080:80/icmp", `--publish "8080:80/icmp": unknown protocol "icmp" (allowed: "tcp", "udp")`},
		{"localhost:8080:80", `--publish "localhost:8080:80": bad address "localhost": want an IPv4 address such as "127.0.0.1" or "0.0.0.0"`},
		{"[::1]:8080:80", `--publish "[::1]:8080:80": want [HOST_IP:]HOST_PORT:SANDBOX_PORT[/PROTO], e.g. "8080:80/tcp"`},
		{"8080", `--publish "8080": want [HOST_IP:]HOST_PORT:SANDBOX_PORT[/PROTO], e.g. "8080:80/tcp"`},
		{"http:80", `--publish "http:80": bad port "http": want a number 1-65535`},
	}
	for _, tt := range bad {
		if _, err := ParsePublishFlag(tt.in); err == nil || err.Error() != tt.want {
			t.Errorf("%s:\ngot  %v\nwant %s", tt.in, err, tt.want)
		}
	}
	if _, err := ParseDNSFlag("one.one.one.one"); err == nil || err.Error() != `--dns "one.one.one.one": want an IP address` {
		t.Errorf("ParseDNSFlag: %v", err)
	}
}

func mustRule(t *testing.T, a Action, s string) Rule {
	t.Helper()
	r, err := ParseRuleFlag(a, s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustPublish(t *testing.T, s string) Publish {
	t.Helper()
	p, err := ParsePublishFlag(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestApplyOverrides(t *testing.T) {
	f := &Finder{Builtin: testBuiltins()}
	p, err := f.Load("web")
	if err != nil {
		t.Fatal(err)
	}
	err = p.ApplyOverrides(Overrides{
		Allow:   []Rule{mustRule(t, ActionAllow, "tcp:203.0.113.0/24:22"), mustRule(t, ActionAllow, "udp:*:443")},
		Deny:    []Rule{mustRule(t, ActionDeny, "tcp:203.0.113.9")},
		DNS:     []netip.Addr{netip.MustParseAddr("192.0.2.53")},
		Publish: []Publish{mustPublish(t, "8080:80")},
	})
	if err != nil {
		t.Fatal(err)
	}
	var comments []string
	for _, r := range p.Firewall.Rules {
		comments = append(comments, r.Comment)
	}
	want := "--deny tcp:203.0.113.9|--allow tcp:203.0.113.0/24:22|--allow udp:*:443|"
	if got := strings.Join(comments, "|"); got != want {
		t.Errorf("rule order %q, want %q", got, want)
	}
	if len(p.DNS.Servers) != 1 || len(p.Publish) != 1 {
		t.Errorf("dns %v publish %v", p.DNS.Servers, p.Publish)
	}

	tests := []struct {
		name string
		ref  string
		o    Overrides
		want string
	}{
		{"duplicate publish", "web", Overrides{Publish: []Publish{mustPublish(t, "8080:80"), mustPublish(t, "0.0.0.0:8080:81")}},
			`--publish "0.0.0.0:8080:81/tcp": host port 8080/tcp already published (127.0.0.1:8080:80/tcp)`},
		{"udp and tcp do not collide", "web", Overrides{Publish: []Publish{mustPublish(t, "8080:80"), mustPublish(t, "8080:80/udp")}}, ""},
		{"loopback rules", "offline", Overrides{Allow: []Rule{mustRule(t, ActionAllow, "tcp:*:443")}},
			`--allow "tcp:*:443": profile "offline" has network.mode "loopback"; rules need "bridge"`},
		{"loopback publish", "offline", Overrides{Publish: []Publish{mustPublish(t, "8080:80")}},
			`--publish "127.0.0.1:8080:80/tcp": profile "offline" has network.mode "loopback"; publishing needs "bridge"`},
		{"v6 rule with v6 off", "web", Overrides{Deny: []Rule{mustRule(t, ActionDeny, "tcp:[2001:db8::/32]")}},
			`--deny "tcp:[2001:db8::/32]": profile "web" has IPv6 off (network.ipv6 = false): this rule would match nothing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.Load(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			before := len(p.Firewall.Rules)
			err = p.ApplyOverrides(tt.o)
			if tt.want == "" {
				if err != nil {
					t.Errorf("unexpected %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Errorf("got  %v\nwant %s", err, tt.want)
			}
			if len(p.Firewall.Rules) != before {
				t.Errorf("profile changed despite the error")
			}
		})
	}
}
