package nat

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"os/exec"
	"strings"

	"github.com/coreos/go-iptables/iptables"
)

// Chains we own on the host. Everything of ours lives in them; each
// built-in chain holds exactly one jump to ours, inserted first.
const (
	ChainInput        = "NSJNET-INPUT"       // filter: the host guard for traffic from the bridge
	ChainHostAllow    = "NSJNET-HOSTALLOW"   // filter: per-sandbox allow_host exceptions
	ChainForward      = "NSJNET-FORWARD"     // filter: sandbox egress and return traffic
	ChainSandboxAllow = "NSJNET-SBALLOW"     // filter: per-sandbox allow_sandboxes exceptions, by source
	ChainSandboxPeers = "NSJNET-SBPEERS"     // filter: the same, by destination: both ends must allow
	ChainTranslated   = "NSJNET-TRANSLATED"  // filter: per-sandbox checks of host-translated (DNAT) destinations
	ChainPostrouting  = "NSJNET-POSTROUTING" // nat: MASQUERADE for the subnet
	ChainDNAT         = "NSJNET-DNAT"        // nat: per-sandbox published ports
)

// Base is the shared host configuration every bridged sandbox relies on.
type Base struct {
	Bridge  string
	Subnet  netip.Prefix // e.g. 10.213.0.0/16
	Subnet6 netip.Prefix // invalid: no IPv6 base
}

// jump is one built-in chain's jump into ours.
type jump struct {
	table, chain, target string
	match                []string
}

func (j jump) args() []string {
	a := append([]string{}, j.match...)
	return append(a, "-m", "comment", "--comment", OwnerTag, "-j", j.target)
}

var jumps = []jump{
	{table: "filter", chain: "INPUT", target: ChainInput},
	{table: "filter", chain: "FORWARD", target: ChainForward},
	{table: "nat", chain: "POSTROUTING", target: ChainPostrouting},
	{table: "nat", chain: "PREROUTING", target: ChainDNAT, match: []string{"-m", "addrtype", "--dst-type", "LOCAL"}},
	{table: "nat", chain: "OUTPUT", target: ChainDNAT, match: []string{"-m", "addrtype", "--dst-type", "LOCAL"}},
}

// subChains hold per-sandbox rules: created if missing, never flushed here.
var subChains = []struct{ table, chain string }{
	{"filter", ChainHostAllow},
	{"filter", ChainSandboxAllow},
	{"filter", ChainSandboxPeers},
	{"filter", ChainTranslated},
	{"nat", ChainDNAT},
}

// restoreText is the content of the chains we fully own, for
// iptables-restore --noflush: declaring a chain flushes and refills it in
// one transaction, so re-ensuring never opens a window without rules.
func (b Base) restoreText(v6 bool) string {
	subnet, reject := b.Subnet, "icmp-port-unreachable"
	if v6 {
		subnet, reject = b.Subnet6, "icmp6-port-unreachable"
	}
	br, tag := b.Bridge, "-m comment --comment "+OwnerTag
	var s strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&s, format+"\n", a...) }
	w("*filter")
	w(":%s - [0:0]", ChainInput)
	w(":%s - [0:0]", ChainForward)
	// Host guard: from the bridge, the host answers only what it started or
	// what a sandbox is allowed (NSJNET-HOSTALLOW); everything else, on any
	// of its addresses, is refused.
	w("-A %s -i %s -m conntrack --ctstate RELATED,ESTABLISHED %s -j ACCEPT", ChainInput, br, tag)
	if v6 {
		for _, t := range []string{"neighbour-solicitation", "neighbour-advertisement", "router-solicitation"} {
			w("-A %s -i %s -p ipv6-icmp -m icmp6 --icmpv6-type %s %s -j ACCEPT", ChainInput, br, t, tag)
		}
	}
	w("-A %s -i %s %s -j %s", ChainInput, br, tag, ChainHostAllow)
	w("-A %s -i %s -p tcp %s -j REJECT --reject-with tcp-reset", ChainInput, br, tag)
	w("-A %s -i %s %s -j REJECT --reject-with %s", ChainInput, br, tag, reject)
	// Forwarding: sandboxes reach each other through the host only where
	// both allow it (NSJNET-SBALLOW, then NSJNET-SBPEERS); their egress is
	// filtered inside their own namespace; replies and published ports
	// come back. Refusals here are ICMP unreachables, which a connecting
	// socket takes as a refusal at once: a TCP reset from FORWARD would
	// carry the translated address (below), unknown to the sandbox, and be
	// ignored.
	w("-A %s -i %s -o %s %s -j %s", ChainForward, br, br, tag, ChainSandboxAllow)
	w("-A %s -i %s -o %s %s -j REJECT --reject-with %s", ChainForward, br, br, tag, reject)
	// A connection the host translated (DNAT: Docker's published ports,
	// kube-proxy's services and node ports, libvirt's forwards) was let
	// out by the sandbox's firewall for the destination it asked for; the
	// one it is translated to must pass the sandbox's profile as well
	// (NSJNET-TRANSLATED, per sandbox), or it is refused. Checked on its
	// first packet: one refused is never confirmed, so its next is new
	// again.
	dnat := "-m conntrack --ctstate NEW -m conntrack --ctstate DNAT"
	w("-A %s -i %s -s %s %s %s -j %s", ChainForward, br, subnet, dnat, tag, ChainTranslated)
	w("-A %s -i %s %s %s -j REJECT --reject-with %s", ChainForward, br, dnat, tag, reject)
	w("-A %s -i %s -s %s %s -j ACCEPT", ChainForward, br, subnet, tag)
	w("-A %s -o %s -m conntrack --ctstate RELATED,ESTABLISHED %s -j ACCEPT", ChainForward, br, tag)
	w("-A %s -o %s -d %s -m conntrack --ctstate DNAT %s -j ACCEPT", ChainForward, br, subnet, tag)
	// Source check: from the bridge, only the sandbox subnet is forwarded,
	// whatever the host's FORWARD policy.
	w("-A %s -i %s %s -j DROP", ChainForward, br, tag)
	w("COMMIT")
	w("*nat")
	w(":%s - [0:0]", ChainPostrouting)
	w("-A %s -s %s ! -o %s %s -j MASQUERADE", ChainPostrouting, subnet, br, tag)
	// Published ports reached from the host itself: the source is a local
	// address the sandbox could not answer.
	w("-A %s -o %s -m addrtype --src-type LOCAL -m conntrack --ctstate DNAT %s -j MASQUERADE", ChainPostrouting, br, tag)
	w("COMMIT")
	return s.String()
}

// EnsureBase installs the shared chains and jumps, idempotently: it can run
// any number of times, concurrently with running sandboxes, and converges to
// exactly one jump per built-in chain, first in the chain. Callers serialise
// it with a file lock (iptables checks are not atomic).
func EnsureBase(b Base) error {
	families := []iptables.Protocol{iptables.ProtocolIPv4}
	if b.Subnet6.IsValid() {
		families = append(families, iptables.ProtocolIPv6)
	}
	for _, fam := range families {
		ipt, err := newIPT(fam)
		if err != nil {
			return err
		}
		for _, sc := range subChains {
			if err := ensureChain(ipt, sc.table, sc.chain); err != nil {
				return err
			}
		}
		if err := restoreNoflush(fam, b.restoreText(fam == iptables.ProtocolIPv6)); err != nil {
			return err
		}
		for _, j := range jumps {
			if err := ensureJump(ipt, j); err != nil {
				return err
			}
		}
	}
	return nil
}

// DeleteBase removes our jumps and chains; absent is success. Per-sandbox
// rules go with their chains, so call it only when no sandbox is live.
func DeleteBase(b Base) error {
	var errs []error
	for _, fam := range []iptables.Protocol{iptables.ProtocolIPv4, iptables.ProtocolIPv6} {
		ipt, err := newIPT(fam)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, j := range jumps {
			errs = append(errs, deleteJumps(ipt, j))
		}
		for _, c := range []struct{ table, chain string }{
			{"filter", ChainInput}, {"filter", ChainHostAllow}, {"filter", ChainForward}, {"filter", ChainSandboxAllow},
			{"filter", ChainSandboxPeers}, {"filter", ChainTranslated},
			{"nat", ChainPostrouting}, {"nat", ChainDNAT},
		} {
			errs = append(errs, deleteChain(ipt, c.table, c.chain))
		}
	}
	return errors.Join(errs...)
}

func newIPT(fam iptables.Protocol) (*iptables.IPTables, error) {
	ipt, err := iptables.New(iptables.IPFamily(fam), iptables.Timeout(10))
	if err != nil {
		return nil, fmt.Errorf("iptables (%s): %w: install the iptables package", famName(fam), err)
	}
	return ipt, nil
}

func famName(fam iptables.Protocol) string {
	if fam == iptables.ProtocolIPv6 {
		return "ipv6"
	}
	return "ipv4"
}

// ensureChain creates a chain; "exists" is success.
func ensureChain(ipt *iptables.IPTables, table, chain string) error {
	ok, err := ipt.ChainExists(table, chain)
	if err != nil {
		return fmt.Errorf("checking chain %s/%s: %w", table, chain, err)
	}
	if ok {
		return nil
	}
	if err := ipt.NewChain(table, chain); err != nil && !isExist(err) {
		return fmt.Errorf("creating chain %s/%s: %w", table, chain, err)
	}
	return nil
}

// deleteChain flushes and removes a chain; absent is success.
func deleteChain(ipt *iptables.IPTables, table, chain string) error {
	if err := ipt.ClearAndDeleteChain(table, chain); err != nil && !isNotExist(err) {
		return fmt.Errorf("deleting chain %s/%s: %w", table, chain, err)
	}
	return nil
}

// ensureJump converges the built-in chain to exactly one jump to our chain,
// in first position.
func ensureJump(ipt *iptables.IPTables, j jump) error {
	rules, err := ipt.List(j.table, j.chain)
	if err != nil {
		return fmt.Errorf("listing %s/%s: %w", j.table, j.chain, err)
	}
	want := "-A " + j.chain + " " + strings.Join(j.args(), " ")
	var ours []string
	first := ""
	for _, r := range rules {
		if !strings.HasPrefix(r, "-A ") {
			continue
		}
		if first == "" {
			first = r
		}
		if jumpsTo(r, j.target) {
			ours = append(ours, r)
		}
	}
	if len(ours) == 1 && first == want {
		return nil
	}
	if err := deleteJumps(ipt, j); err != nil {
		return err
	}
	if err := ipt.Insert(j.table, j.chain, 1, j.args()...); err != nil {
		return fmt.Errorf("inserting jump %s/%s -> %s: %w", j.table, j.chain, j.target, err)
	}
	return nil
}

// deleteJumps removes every jump from the built-in chain to ours.
func deleteJumps(ipt *iptables.IPTables, j jump) error {
	rules, err := ipt.List(j.table, j.chain)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return fmt.Errorf("listing %s/%s: %w", j.table, j.chain, err)
	}
	for _, r := range rules {
		if !strings.HasPrefix(r, "-A ") || !jumpsTo(r, j.target) {
			continue
		}
		spec := strings.Fields(r)[2:] // our rules carry no quoted spaces
		if err := ipt.DeleteIfExists(j.table, j.chain, spec...); err != nil {
			return fmt.Errorf("deleting jump %s/%s -> %s: %w", j.table, j.chain, j.target, err)
		}
	}
	return nil
}

func jumpsTo(rule, target string) bool {
	return strings.HasSuffix(rule, " -j "+target) || strings.Contains(rule, " -j "+target+" ")
}

// restoreNoflush applies text with iptables-restore --noflush.
func restoreNoflush(fam iptables.Protocol, text string) error {
	bin, err := RestoreBinary(fam == iptables.ProtocolIPv6)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "--noflush", "-w", "10")
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", bin, err, bytes.TrimSpace(out))
	}
	return nil
}

// RestoreBinary finds iptables-restore (or ip6tables-restore).
func RestoreBinary(v6 bool) (string, error) {
	name := "iptables-restore"
	if v6 {
		name = "ip6tables-restore"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if p, err2 := exec.LookPath("/usr/sbin/" + name); err2 == nil {
			return p, nil
		}
		return "", fmt.Errorf("%s not found: install the iptables package: %w", name, err)
	}
	return p, nil
}

// isExist and isNotExist are the one place that interprets iptables' errors.
func isExist(err error) bool {
	var e *iptables.Error
	return errors.As(err, &e) && strings.Contains(e.Error(), "exists")
}

func isNotExist(err error) bool {
	var e *iptables.Error
	if errors.As(err, &e) {
		return e.IsNotExist() || strings.Contains(e.Error(), "No chain/target/match by that name")
	}
	return false
}

// Digest identifies the base's content: a launcher that would install
// different chains (another version, other flags) sees a different digest
// and re-ensures the base instead of trusting a marker.
func (b Base) Digest() string {
	h := fnv.New64a()
	h.Write([]byte(b.restoreText(false)))
	if b.Subnet6.IsValid() {
		h.Write([]byte(b.restoreText(true)))
	}
	for _, j := range jumps {
		fmt.Fprintf(h, "%s %s %v\n", j.table, j.chain, j.args())
	}
	for _, c := range subChains {
		fmt.Fprintf(h, "%s %s\n", c.table, c.chain)
	}
	return fmt.Sprintf("%016x", h.Sum64())
}
