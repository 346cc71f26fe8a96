package launch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"

	"github.com/nsjail-net/nsjail-net/nat"
	"github.com/nsjail-net/nsjail-net/state"
)

// Network is the host side every bridged sandbox shares.
type Network struct {
	Bridge  string       // e.g. nsjnet0
	Subnet  netip.Prefix // e.g. 10.213.0.0/16; the gateway is its first address
	Subnet6 netip.Prefix // e.g. fd6e:736a:6e65::/64, used by profiles with ipv6 = true
}

// Defaults of the global flags.
var (
	DefaultBridge  = "nsjnet0"
	DefaultSubnet  = netip.MustParsePrefix("10.213.0.0/16")
	DefaultSubnet6 = netip.MustParsePrefix("fd6e:736a:6e65::/64")
)

// Validate checks the network flags.
func (n Network) Validate() error {
	if n.Bridge == "" || len(n.Bridge) > 15 {
		return fmt.Errorf("--bridge %q: a link name has 1 to 15 characters", n.Bridge)
	}
	for _, c := range n.Bridge {
		if c == '/' || c == ' ' || c == ':' || c < 0x21 || c > 0x7e {
			return fmt.Errorf("--bridge %q: character %q is not allowed in a link name", n.Bridge, c)
		}
	}
	if !n.Subnet.Addr().Is4() || n.Subnet.Bits() < 8 || n.Subnet.Bits() > 29 {
		return fmt.Errorf("--subnet %s: need an IPv4 prefix from /8 to /29", n.Subnet)
	}
	if n.Subnet != n.Subnet.Masked() {
		return fmt.Errorf("--subnet %s: host bits set (did you mean %s?)", n.Subnet, n.Subnet.Masked())
	}
	if n.Subnet6.IsValid() && (!n.Subnet6.Addr().Is6() || n.Subnet6.Bits() != 64) {
		return fmt.Errorf("IPv6 subnet %s: need a /64", n.Subnet6)
	}
	return nil
}

// Gateway is the bridge's address: the subnet's first address.
func (n Network) Gateway() netip.Addr { return n.Subnet.Addr().Next() }

// Gateway6 is the bridge's IPv6 address (::1 of the /64).
func (n Network) Gateway6() netip.Addr { return n.Subnet6.Addr().Next() }

// Pool is the address pool for sandboxes.
func (n Network) Pool() state.Pool {
	return state.Pool{Prefix: n.Subnet, Reserved: []netip.Addr{n.Gateway()}}
}

// Addr6For derives a sandbox's IPv6 address from its IPv4 lease: the /64
// with the IPv4 address in the low 32 bits, unique because the lease is.
func (n Network) Addr6For(v4 netip.Addr) netip.Addr {
	b := n.Subnet6.Addr().As16()
	v := v4.As4()
	copy(b[12:], v[:])
	return netip.AddrFrom16(b)
}

// baseMarker records that the shared base is in place for a bridge, so
// launches skip the iptables checks (a few processes each) while the bridge
// they were made for still exists.
type baseMarker struct {
	Digest  string `json:"digest"` // nat.Base.Digest of what was installed
	Bridge  string `json:"bridge"`
	Index   int    `json:"ifindex"`
	Subnet  string `json:"subnet"`
	Subnet6 string `json:"subnet6,omitempty"`
}

func markerPath(dir *state.Dir) string { return filepath.Join(dir.Path, "base.json") }

func readMarker(dir *state.Dir) (baseMarker, error) {
	var m baseMarker
	b, err := os.ReadFile(markerPath(dir))
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}

func (m baseMarker) covers(n Network, link netlink.Link, need6 bool) bool {
	return m.Digest == n.base().Digest() && m.Bridge == n.Bridge && m.Index == link.Attrs().Index &&
		m.Subnet == n.Subnet.String() && (!need6 || m.Subnet6 == n.Subnet6.String())
}

// base is the shared iptables base for this network. Its IPv6 chains go in
// even when no sandbox uses IPv6: the host guard must hold for IPv6 traffic
// from the bridge too (link-local included).
func (n Network) base() nat.Base {
	return nat.Base{Bridge: n.Bridge, Subnet: n.Subnet, Subnet6: n.Subnet6}
}

// ensureBase makes the shared base (bridge, forwarding, chains and jumps)
// present. The cheap path is one netlink lookup and one small file read.
func ensureBase(dir *state.Dir, h *netlink.Handle, n Network, need6 bool) (netlink.Link, error) {
	if err := nat.EnsureForwarding(need6); err != nil {
		return nil, err
	}
	if link, err := h.LinkByName(n.Bridge); err == nil {
		if m, err := readMarker(dir); err == nil && m.covers(n, link, need6) {
			return link, nil
		}
	}
	unlock, err := dir.Lock("base")
	if err != nil {
		return nil, err
	}
	defer unlock()
	m, merr := readMarker(dir)
	if merr != nil && !errors.Is(merr, fs.ErrNotExist) {
		m = baseMarker{} // unreadable marker: rebuild it
	}
	with6 := need6 || (m.Subnet6 != "" && m.Subnet6 == n.Subnet6.String())
	gw := netip.PrefixFrom(n.Gateway(), n.Subnet.Bits())
	var gw6 netip.Prefix
	if with6 {
		gw6 = netip.PrefixFrom(n.Gateway6(), n.Subnet6.Bits())
	}
	link, err := nat.EnsureBridge(h, n.Bridge, gw, gw6)
	if err != nil {
		return nil, err
	}
	if err := nat.EnsureSourceCheck(n.Bridge); err != nil {
		return nil, err
	}
	base := n.base()
	if err := nat.EnsureBase(base); err != nil {
		return nil, err
	}
	m = baseMarker{Digest: base.Digest(), Bridge: n.Bridge, Index: link.Attrs().Index, Subnet: n.Subnet.String()}
	if with6 {
		m.Subnet6 = n.Subnet6.String()
	}
	b, _ := json.Marshal(m)
	tmp := markerPath(dir) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return nil, fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, markerPath(dir)); err != nil {
		return nil, fmt.Errorf("writing %s: %w", markerPath(dir), err)
	}
	return link, nil
}
