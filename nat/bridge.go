package nat

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// EnsureBridge makes sure the bridge exists, carries gw (e.g. 10.213.0.1/16)
// and is up. It tolerates a bridge that already exists (another launcher may
// have created it a moment ago), re-reads it and checks its type.
func EnsureBridge(h *netlink.Handle, name string, gw netip.Prefix, gw6 netip.Prefix) (netlink.Link, error) {
	link, err := h.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return nil, fmt.Errorf("looking up bridge %q: %w", name, err)
		}
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, TxQLen: -1}}
		if err := h.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("creating bridge %q: %w", name, err)
		}
		if link, err = h.LinkByName(name); err != nil {
			return nil, fmt.Errorf("looking up bridge %q after creating it: %w", name, err)
		}
		if err := h.LinkSetAlias(link, OwnerTag); err != nil {
			return nil, fmt.Errorf("tagging bridge %q: %w", name, err)
		}
	}
	if link.Type() != "bridge" {
		return nil, fmt.Errorf("%q exists and is a %s, not a bridge: choose another name with --bridge", name, link.Type())
	}
	for _, p := range []netip.Prefix{gw, gw6} {
		if !p.IsValid() {
			continue
		}
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
		if p.Addr().Is6() {
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := h.AddrReplace(link, addr); err != nil {
			return nil, fmt.Errorf("adding gateway %s to bridge %q: %w", p, name, err)
		}
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := h.LinkSetUp(link); err != nil {
			return nil, fmt.Errorf("bringing bridge %q up: %w", name, err)
		}
	}
	return link, nil
}

// DeleteBridge removes the bridge if it is ours; absent is success.
func DeleteBridge(h *netlink.Handle, name string) error {
	link, err := h.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("looking up bridge %q: %w", name, err)
	}
	if link.Attrs().Alias != OwnerTag {
		return fmt.Errorf("bridge %q is not ours (alias %q): left alone", name, link.Attrs().Alias)
	}
	if err := h.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("deleting bridge %q: %w", name, err)
	}
	return nil
}
