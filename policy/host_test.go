package policy

import (
	"net/netip"
	"strings"
	"testing"
)

// hostLines renders the host rules of chain for testAddrs, one line each
// without the owner tag.
func hostLines(p *Profile, chain string) []string {
	var out []string
	for _, r := range HostRules(p, testAddrs()) {
		if r.Chain == chain {
			line := strings.Join(r.Args, " ")
			out = append(out, strings.Replace(line, " -m comment --comment nsjail-net:sb1", "", 1))
		}
	}
	return out
}

func TestTranslatedRules(t *testing.T) {
	net := func(s string) []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix(s)} }
	privateReturns := []string{
		"-s 10.213.0.7/32 -d 10.0.0.0/8 -j RETURN",
		"-s 10.213.0.7/32 -d 172.16.0.0/12 -j RETURN",
		"-s 10.213.0.7/32 -d 192.168.0.0/16 -j RETURN",
		"-s 10.213.0.7/32 -d 100.64.0.0/10 -j RETURN",
		"-s 10.213.0.7/32 -d 169.254.0.0/16 -j RETURN",
	}
	for _, c := range []struct {
		name string
		fw   Firewall
		want []string
	}{
		{"default deny, no rules: nothing is accepted, nothing to add",
			Firewall{Default: ActionDeny}, nil},
		{"names only: the host cannot check them",
			Firewall{Default: ActionDeny, Rules: []Rule{{Action: ActionAllow, Proto: ProtoTCP, ToNames: []string{"example.com"}}}}, nil},
		{"default allow: the private guard, then accept",
			Firewall{Default: ActionAllow}, append(append([]string{}, privateReturns...), "-s 10.213.0.7/32 -j ACCEPT")},
		{"allow_private: accept only",
			Firewall{Default: ActionAllow, AllowPrivate: true}, []string{"-s 10.213.0.7/32 -j ACCEPT"}},
		{"first match wins, trailing returns dropped",
			Firewall{Default: ActionDeny, AllowPrivate: true, Rules: []Rule{
				{Action: ActionDeny, Proto: ProtoAny, ToNets: net("10.244.1.0/24")},
				{Action: ActionAllow, Proto: ProtoTCP, ToNets: net("10.244.0.0/16"), Ports: []PortRange{{8080, 8080}}},
				{Action: ActionDeny, Proto: ProtoUDP, ToNets: net("192.0.2.0/24")},
			}}, []string{
				"-s 10.213.0.7/32 -d 10.244.1.0/24 -j RETURN",
				"-s 10.213.0.7/32 -d 10.244.0.0/16 -p tcp -m tcp --dport 8080 -j ACCEPT",
			}},
		{"IPv6 destinations are not IPv4 rules",
			Firewall{Default: ActionDeny, AllowPrivate: true, Rules: []Rule{{Action: ActionAllow, Proto: ProtoICMP, ToNets: net("2001:db8::/32")}}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &Profile{Network: Network{Mode: ModeBridge}, Firewall: c.fw}
			got := hostLines(p, ChainTranslated)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// allow_sandboxes: the sandbox's packets go to NSJNET-SBPEERS, which
// accepts only those to sandboxes that allow it too.
func TestSandboxPairRules(t *testing.T) {
	for _, c := range []struct {
		name          string
		allow         bool
		allows, peers []string
	}{
		{"off", false, nil, nil},
		{"on", true, []string{"-s 10.213.0.7/32 -j NSJNET-SBPEERS"}, []string{"-d 10.213.0.7/32 -j ACCEPT"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &Profile{Network: Network{Mode: ModeBridge}, Firewall: Firewall{Default: ActionDeny, AllowSandboxes: c.allow}}
			if got := hostLines(p, ChainSandboxAllow); strings.Join(got, "\n") != strings.Join(c.allows, "\n") {
				t.Errorf("%s: %q, want %q", ChainSandboxAllow, got, c.allows)
			}
			if got := hostLines(p, ChainSandboxPeers); strings.Join(got, "\n") != strings.Join(c.peers, "\n") {
				t.Errorf("%s: %q, want %q", ChainSandboxPeers, got, c.peers)
			}
		})
	}
}
