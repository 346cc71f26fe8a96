package state

import (
	"fmt"
	"net/netip"
	"strings"
)

// Pool is a range of addresses to lease from. The usable addresses are the
// Prefix minus its network address, minus its broadcast address (IPv4), and
// minus Reserved (e.g. the gateway). IPv4 /31 and /32 and IPv6 /127 and
// /128 have no network or broadcast address to exclude.
type Pool struct {
	Prefix   netip.Prefix
	Reserved []netip.Addr
}

// maxProbes bounds the probe of one Allocate for pools larger than this:
// such a pool cannot be scanned in full, and finding this many live leases
// in a row means it is, for practical purposes, full.
const maxProbes = 1 << 17

// check validates the pool and returns it with its prefix masked.
func (p Pool) check() (Pool, error) {
	if !p.Prefix.IsValid() {
		return p, fmt.Errorf("address pool %s: invalid prefix", p.Prefix)
	}
	for _, r := range p.Reserved {
		if r.Zone() != "" {
			return p, fmt.Errorf("address pool %s: reserved address %s has a zone", p.Prefix, r)
		}
	}
	p.Prefix = p.Prefix.Masked()
	return p, nil
}

// hostBits is the number of host bits of the prefix.
func (p Pool) hostBits() int {
	return p.Prefix.Addr().BitLen() - p.Prefix.Bits()
}

// span is the number of addresses in the prefix, capped at maxProbes.
func (p Pool) span() int {
	if h := p.hostBits(); h < 18 {
		if n := 1 << h; n < maxProbes {
			return n
		}
	}
	return maxProbes
}

// first is the first address of the prefix.
func (p Pool) first() netip.Addr { return p.Prefix.Addr() }

// next returns the address after a, wrapping to the first at the end of the
// prefix.
func (p Pool) next(a netip.Addr) netip.Addr {
	n := a.Next()
	if !n.IsValid() || !p.Prefix.Contains(n) {
		return p.first()
	}
	return n
}

// usable reports whether a may be leased.
func (p Pool) usable(a netip.Addr) bool {
	if !p.Prefix.Contains(a) {
		return false
	}
	if h := p.hostBits(); h >= 2 {
		if a == p.first() {
			return false // network address (v4), subnet-router anycast (v6)
		}
		if a.Is4() && !p.Prefix.Contains(a.Next()) {
			return false // broadcast
		}
	}
	for _, r := range p.Reserved {
		if r == a {
			return false
		}
	}
	return true
}

// hintName is the file name, under leases/, of the pool's allocation hint:
// ".next-10.213.0.0_16".
func (p Pool) hintName() string {
	return ".next-" + strings.ReplaceAll(p.Prefix.String(), "/", "_")
}
