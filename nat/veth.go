package nat

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// SandboxIfName is the sandbox's end of its veth pair.
const SandboxIfName = "eth0"

// VethName is the host end of a sandbox's veth pair: "nsj" + sandbox id,
// within the kernel's 15-character limit.
func VethName(id string) string { return "nsj" + id }

// VethAlias is the owner tag of a sandbox's host veth.
func VethAlias(id string) string { return OwnerTag + ":" + id }

// AddVeth creates the sandbox's veth pair in one request: the host end
// enslaved to the bridge, the peer created directly inside the sandbox's
// namespace as eth0, and brings it up. With isolated, the host end's bridge
// port is isolated, so the sandbox and its neighbours cannot reach each
// other; a sandbox whose profile allows reaching other sandboxes gets a
// normal port (isolated ports talk to normal ones, not to each other).
func AddVeth(h *netlink.Handle, bridge netlink.Link, id string, sandboxNS netns.NsHandle, isolated bool) (netlink.Link, error) {
	name := VethName(id)
	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{
			Name:        name,
			MasterIndex: bridge.Attrs().Index,
			MTU:         bridge.Attrs().MTU,
			TxQLen:      -1,
		},
		PeerName:      SandboxIfName,
		PeerNamespace: netlink.NsFd(sandboxNS),
	}
	if err := h.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("creating veth %q: %w", name, err)
	}
	link, err := h.LinkByName(name)
	if err == nil {
		err = h.LinkSetAlias(link, VethAlias(id))
	}
	if err == nil && isolated {
		err = h.LinkSetIsolated(link, true)
	}
	if err == nil {
		err = h.LinkSetUp(link)
	}
	if err != nil {
		_ = h.LinkDel(veth)
		return nil, fmt.Errorf("setting up veth %q: %w", name, err)
	}
	return link, nil
}

// DeleteVeth removes a sandbox's host veth (and with it the peer); absent is
// success. Only links carrying the sandbox's owner tag are removed.
func DeleteVeth(h *netlink.Handle, id string) error {
	name := VethName(id)
	link, err := h.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("looking up veth %q: %w", name, err)
	}
	if link.Attrs().Alias != VethAlias(id) {
		return fmt.Errorf("link %q is not ours (alias %q): left alone", name, link.Attrs().Alias)
	}
	if err := h.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("deleting veth %q: %w", name, err)
	}
	return nil
}

// SandboxAddrs is what the sandbox end gets.
type SandboxAddrs struct {
	Addr     netip.Prefix // e.g. 10.213.0.7/16
	Gateway  netip.Addr
	Addr6    netip.Prefix // invalid when IPv6 is off
	Gateway6 netip.Addr
}

// ConfigureSandboxLink sets eth0's addresses, brings it up and adds the
// default routes, through a netlink handle bound to the sandbox namespace.
func ConfigureSandboxLink(h *netlink.Handle, a SandboxAddrs) error {
	link, err := h.LinkByName(SandboxIfName)
	if err != nil {
		return fmt.Errorf("looking up %s in the sandbox: %w", SandboxIfName, err)
	}
	for _, p := range []netip.Prefix{a.Addr, a.Addr6} {
		if !p.IsValid() {
			continue
		}
		addr := &netlink.Addr{IPNet: prefixNet(p)}
		if p.Addr().Is6() {
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := h.AddrAdd(link, addr); err != nil {
			return fmt.Errorf("adding %s to the sandbox's %s: %w", p, SandboxIfName, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("bringing the sandbox's %s up: %w", SandboxIfName, err)
	}
	for _, gw := range []netip.Addr{a.Gateway, a.Gateway6} {
		if !gw.IsValid() {
			continue
		}
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: gw.AsSlice(), Family: family(gw)}
		if err := h.RouteAdd(r); err != nil {
			return fmt.Errorf("adding default route via %s in the sandbox: %w", gw, err)
		}
	}
	return nil
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func family(a netip.Addr) int {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// LoopbackUp brings lo up through a handle bound to a sandbox's namespace.
func LoopbackUp(h *netlink.Handle) error {
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("bringing the sandbox's lo up: %w", err)
	}
	return nil
}
