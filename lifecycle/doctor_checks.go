package lifecycle

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nsjail-net/nsjail-net/launch"
	"github.com/nsjail-net/nsjail-net/nat"
)

// neededCaps are the capabilities `run` uses.
var neededCaps = []struct {
	c    uint
	name string
}{
	{unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"}, {unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"},
	{unix.CAP_SETUID, "CAP_SETUID"}, {unix.CAP_SETGID, "CAP_SETGID"}, {unix.CAP_SETPCAP, "CAP_SETPCAP"},
}

func missingCaps() ([]string, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return nil, err
	}
	var missing []string
	for _, c := range neededCaps {
		if data[c.c/32].Effective&(1<<(c.c%32)) == 0 {
			missing = append(missing, c.name)
		}
	}
	return missing, nil
}

func isPrivileged() bool {
	m, err := missingCaps()
	return err == nil && len(m) == 0
}

func checkPrivileges() Check {
	c := Check{Name: "privileges"}
	missing, err := missingCaps()
	switch {
	case err != nil:
		c.Status, c.Detail = Fail, fmt.Sprintf("reading capabilities: %v", err)
	case len(missing) > 0:
		c.Status, c.Detail = Fail, fmt.Sprintf("uid %d, missing %s", os.Geteuid(), strings.Join(missing, ", "))
		c.Fix = "run nsjail-net with sudo (it creates namespaces and host interfaces)"
	default:
		c.Detail = fmt.Sprintf("uid %d with the capabilities run needs", os.Geteuid())
	}
	return c
}

// probe is the outcome of trying kernel features in a throwaway namespace.
type probe struct {
	netns, veth, bridge, nat, conntrack error
}

// probeKernel creates a network namespace on a thread that never returns
// to the pool, and inside it a veth pair, a bridge, a MASQUERADE rule and a
// conntrack match. The namespace dies with the thread: nothing is left.
func probeKernel() probe {
	res := make(chan probe, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with us
		var p probe
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			p.netns = err
			res <- p
			return
		}
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			p.veth, p.bridge = err, err
		} else {
			p.veth = h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "doctor0"}, PeerName: "doctor1"})
			p.bridge = h.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "doctorbr0"}})
			h.Close()
		}
		ipt := func(args ...string) error {
			path, err := lookTool("iptables")
			if err != nil {
				return err
			}
			out, err := exec.Command(path, append([]string{"-w", "5"}, args...)...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("%w: %s", err, bytes.TrimSpace(out))
			}
			return nil
		}
		p.nat = ipt("-t", "nat", "-A", "POSTROUTING", "-s", "192.0.2.0/24", "-j", "MASQUERADE")
		p.conntrack = ipt("-A", "FORWARD", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT")
		res <- p
	}()
	return <-res
}

func checkKernel(root bool) []Check {
	names := []string{"kernel: network namespaces", "kernel: veth", "kernel: bridge", "kernel: NAT", "kernel: conntrack"}
	if !root {
		out := make([]Check, len(names))
		for i, n := range names {
			out[i] = Check{Name: n, Status: Warn, Detail: "not tested: needs root", Fix: "run `sudo nsjail-net doctor`"}
		}
		return out
	}
	p := probeKernel()
	mk := func(name string, err error, module, fix string) Check {
		if err != nil {
			return Check{Name: name, Status: Fail, Detail: err.Error(), Fix: fix}
		}
		return Check{Name: name, Detail: "works (" + module + ")"}
	}
	if p.netns != nil {
		c := mk(names[0], p.netns, "", "a kernel with CONFIG_NET_NS, and not inside a container that forbids unshare")
		out := []Check{c}
		for _, n := range names[1:] {
			out = append(out, Check{Name: n, Status: Warn, Detail: "not tested: no network namespace"})
		}
		return out
	}
	return []Check{
		mk(names[0], nil, "unshare(CLONE_NEWNET)", ""),
		mk(names[1], p.veth, "veth", "load the veth module: modprobe veth"),
		mk(names[2], p.bridge, "bridge", "load the bridge module: modprobe bridge"),
		mk(names[3], p.nat, "MASQUERADE", "load NAT: modprobe nf_nat (iptable_nat or nft_chain_nat for your backend)"),
		mk(names[4], p.conntrack, "conntrack match", "load conntrack: modprobe nf_conntrack xt_conntrack"),
	}
}

// checkIptables: the binaries, the backend, and rules in the other backend.
func checkIptables() []Check {
	bin := Check{Name: "iptables"}
	var missing []string
	for _, t := range []string{"iptables", "iptables-restore", "iptables-save", "ip6tables", "ip6tables-restore", "ip6tables-save"} {
		if _, err := lookTool(t); err != nil {
			missing = append(missing, t)
		}
	}
	path, _ := lookTool("iptables")
	version := ""
	if path != "" {
		out, err := exec.Command(path, "-V").Output()
		if err == nil {
			version = strings.TrimSpace(string(out))
		}
	}
	switch {
	case path == "":
		bin.Status, bin.Detail, bin.Fix = Fail, "iptables not found", "install the iptables package"
		return []Check{bin}
	case len(missing) > 0:
		bin.Status, bin.Detail, bin.Fix = Warn, version+"; missing "+strings.Join(missing, ", "), "install the iptables package (IPv6 profiles need ip6tables)"
	default:
		bin.Detail = version + " at " + path
	}

	backend := Check{Name: "iptables backend"}
	cur, other, otherSave := "", "", ""
	switch {
	case strings.Contains(version, "nf_tables"):
		cur, other, otherSave = "nf_tables", "legacy", "iptables-legacy-save"
	case strings.Contains(version, "legacy"):
		cur, other, otherSave = "legacy", "nf_tables", "iptables-nft-save"
	default:
		cur = "legacy (old iptables without a backend name)"
	}
	backend.Detail = cur
	if otherSave != "" {
		n, err := otherBackendRules(other, otherSave)
		switch {
		case err != nil:
			backend.Detail += fmt.Sprintf("; could not read the %s backend: %v", other, err)
		case n > 0:
			backend.Status = Warn
			backend.Detail += fmt.Sprintf("; the %s backend holds %d rules too (another tool, e.g. Docker, uses it): both apply, and ours cannot override theirs", other, n)
			backend.Fix = fmt.Sprintf("make every tool use one backend (update-alternatives --config iptables), or check that the %s rules do not drop %s traffic", other, launch.DefaultSubnet)
		default:
			backend.Detail += fmt.Sprintf("; no rules in the %s backend", other)
		}
	}
	return []Check{bin, backend}
}

// otherBackendRules counts the rules ("-A" lines) of the other iptables
// backend. The legacy backend is read only when its tables exist, so that
// reading does not load its modules.
func otherBackendRules(other, save string) (int, error) {
	if other == "legacy" {
		b, err := os.ReadFile("/proc/net/ip_tables_names")
		if errors.Is(err, fs.ErrNotExist) || (err == nil && len(bytes.TrimSpace(b)) == 0) {
			return 0, nil
		}
	}
	path, err := lookTool(save)
	if err != nil {
		return 0, nil // that backend is not installed
	}
	out, err := exec.Command(path).Output()
	if err != nil {
		return 0, err
	}
	n := 0
	for l := range strings.Lines(string(out)) {
		if strings.HasPrefix(l, "-A ") {
			n++
		}
	}
	return n, nil
}

func checkForwarding() Check {
	c := Check{Name: "IPv4 forwarding"}
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	switch {
	case err != nil:
		c.Status, c.Detail = Warn, err.Error()
	case strings.TrimSpace(string(b)) == "1":
		c.Detail = "on"
	default:
		c.Status, c.Detail = Warn, "off: run turns it on for bridged sandboxes (net.ipv4.ip_forward=1)"
		c.Fix = "nothing to do, unless something on this host turns it off again (then set net.ipv4.ip_forward=1 in /etc/sysctl.d)"
	}
	return c
}

func checkForwardPolicy(root bool) Check {
	c := Check{Name: "FORWARD policy"}
	if !root {
		c.Status, c.Detail, c.Fix = Warn, "not read: needs root", "run `sudo nsjail-net doctor`"
		return c
	}
	path, err := lookTool("iptables")
	if err != nil {
		c.Status, c.Detail = Warn, err.Error()
		return c
	}
	out, err := exec.Command(path, "-w", "5", "-S", "FORWARD").Output()
	if err != nil {
		c.Status, c.Detail = Warn, fmt.Sprintf("iptables -S FORWARD: %v", err)
		return c
	}
	policy, jump := "", false
	for l := range strings.Lines(string(out)) {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == "-P" {
			policy = f[2]
		}
		if strings.Contains(l, "-j "+nat.ChainForward) {
			jump = true
		}
	}
	c.Detail = "policy " + policy
	if policy != "ACCEPT" {
		c.Detail += " (as Docker sets it): fine, our jump to " + nat.ChainForward + " comes first and accepts sandbox traffic"
		if !jump {
			c.Detail += "; the jump is added by the next run"
		}
	}
	return c
}

// checkSubnet looks for host routes, other than the bridge's, that
// overlap the sandbox subnet.
func checkSubnet(cfg DoctorConfig) Check {
	c := Check{Name: "subnet " + cfg.Subnet.String()}
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		c.Status, c.Detail = Warn, fmt.Sprintf("listing host routes: %v", err)
		return c
	}
	brIndex := -1
	if l, err := netlink.LinkByName(cfg.Bridge); err == nil {
		brIndex = l.Attrs().Index
	}
	var clash []string
	for _, r := range routes {
		if r.Dst == nil || r.LinkIndex == brIndex || r.Type != unix.RTN_UNICAST {
			continue
		}
		p, ok := prefixOf(r.Dst)
		if !ok || p.Bits() == 0 || !p.Overlaps(cfg.Subnet) {
			continue
		}
		dev := fmt.Sprint(r.LinkIndex)
		if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
			dev = l.Attrs().Name
		}
		clash = append(clash, p.String()+" dev "+dev)
	}
	if len(clash) > 0 {
		c.Status = Fail
		c.Detail = "overlaps host routes: " + strings.Join(clash, ", ")
		c.Fix = "choose a free subnet with --subnet (e.g. --subnet 10.214.0.0/16)"
		return c
	}
	c.Detail = "no host route overlaps it"
	return c
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), bits).Masked(), true
}

// checkLeftovers reports what `gc` would remove.
func checkLeftovers(cfg DoctorConfig, root bool) Check {
	c := Check{Name: "leftovers"}
	if !root {
		c.Status, c.Detail, c.Fix = Warn, "not checked: needs root", "run `sudo nsjail-net doctor`"
		return c
	}
	dir, ok, err := OpenState(cfg.StateDir)
	switch {
	case err != nil:
		c.Status, c.Detail = Warn, err.Error()
		return c
	case !ok:
		c.Detail = "none (no state dir yet)"
		return c
	}
	r, err := launch.Sweep(dir, cfg.Bridge, launch.GCOptions{DryRun: true}, cfg.Log)
	var items []string
	add := func(kind string, xs []string) {
		if len(xs) > 0 {
			items = append(items, fmt.Sprintf("%d %s (%s)", len(xs), kind, strings.Join(xs, ", ")))
		}
	}
	add("sandboxes of dead launchers", r.Sandboxes)
	add("host links", r.Links)
	add("host rules", r.Rules)
	add("orphan sandbox dirs", r.Files)
	if err != nil {
		items = append(items, "errors: "+err.Error())
	}
	if len(items) == 0 {
		c.Detail = "none"
		return c
	}
	c.Status = Warn
	c.Detail = "gc would remove " + strings.Join(items, "; ")
	c.Fix = "sudo nsjail-net gc"
	return c
}
