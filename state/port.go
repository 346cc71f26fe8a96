package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Published host ports. Each (protocol, port) has one file,
// ports/<proto>-<port> (e.g. ports/tcp-8080), holding the JSON list of the
// claims on that port, one per host address. A claim on 0.0.0.0 (every
// host address) overlaps any other claim on the same port, and the other
// way round; claims on two distinct specific addresses coexist. So a claim
// costs one file read and one atomic rewrite however many ports are
// published.
//
// ports/ is created by the first claim and removed when its last file
// goes, so a host that publishes nothing has none. Every change happens
// under Lock("ports"), so a file that does not parse can only be the
// remains of a crashed writer and is treated as empty.

// portsLock serialises every change to ports/.
const portsLock = "ports"

// portsDir holds the claim files.
const portsDir = "ports"

// ErrPortTaken: a host port is published by another live sandbox.
var ErrPortTaken = errors.New("already published")

// PortClaim is one sandbox's claim on a host address and port.
type PortClaim struct {
	Proto   string     `json:"proto"`
	HostIP  netip.Addr `json:"host_ip"`
	Port    uint16     `json:"port"`
	ID      string     `json:"id"`
	Owner   Owner      `json:"owner"`
	Created time.Time  `json:"created"`
}

// String renders the claim as in messages: "tcp 127.0.0.1:8080".
func (c PortClaim) String() string { return portString(c.Proto, c.HostIP, c.Port) }

func portString(proto string, ip netip.Addr, port uint16) string {
	return proto + " " + netip.AddrPortFrom(ip, port).String()
}

// reclaimable: the launcher that made the claim is gone.
func (c *PortClaim) reclaimable() bool { return !c.Owner.Alive() }

// overlaps reports whether two host addresses share a listening address:
// equal, or either is unspecified (0.0.0.0 or ::).
func overlaps(a, b netip.Addr) bool {
	return a == b || a.IsUnspecified() || b.IsUnspecified()
}

func checkPort(proto string, ip netip.Addr, port uint16) error {
	switch {
	case proto != "tcp" && proto != "udp":
		return fmt.Errorf("host port %s %d: protocol must be tcp or udp", proto, port)
	case port == 0:
		return fmt.Errorf("host port %s: port 0", proto)
	case !ip.IsValid() || ip.Zone() != "":
		return fmt.Errorf("host port %s %d: bad host address %v", proto, port, ip)
	}
	return nil
}

func (d *Dir) portsPath() string { return filepath.Join(d.Path, portsDir) }

func portFileName(proto string, port uint16) string {
	return proto + "-" + strconv.Itoa(int(port))
}

// readPortFile returns the claims in ports/<name>; a missing file, or one
// that does not parse, holds none.
func (d *Dir) readPortFile(name string) ([]PortClaim, error) {
	var claims []PortClaim
	err := readJSON(filepath.Join(d.portsPath(), name), &claims)
	switch {
	case err == nil:
		return claims, nil
	case errors.Is(err, fs.ErrNotExist), isParseError(err):
		return nil, nil
	}
	return nil, fmt.Errorf("reading port claims: %w", err)
}

// writePortFile replaces ports/<name> with claims, or removes it (and
// ports/ when that was its last file) when there are none. The caller
// holds the ports lock.
func (d *Dir) writePortFile(name string, claims []PortClaim) error {
	path := filepath.Join(d.portsPath(), name)
	if len(claims) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", path, err)
		}
		// Not empty (another port's file) or gone already: both fine.
		_ = unix.Rmdir(d.portsPath())
		return nil
	}
	if err := ensureDir(d.portsPath()); err != nil {
		return fmt.Errorf("creating %s: %w", d.portsPath(), err)
	}
	b, err := json.Marshal(claims)
	if err != nil {
		return fmt.Errorf("encoding port claims: %w", err)
	}
	return writeFileAtomic(d.portsPath(), name, append(b, '\n'))
}

// ClaimPort reserves host port proto hostIP:port (proto "tcp" or "udp")
// for sandbox id, owned by owner. A claim whose owner is dead is dropped on
// the way. An overlapping claim of another live sandbox (same address, or
// either address 0.0.0.0) is refused with an error matching ErrPortTaken:
//
//	host port tcp 127.0.0.1:8080 already published by sandbox 1a2b3c4d
//
// Claiming what the same id already holds succeeds.
func (d *Dir) ClaimPort(proto string, hostIP netip.Addr, port uint16, id string, owner Owner) error {
	if err := checkPort(proto, hostIP, port); err != nil {
		return err
	}
	want := portString(proto, hostIP, port)
	if err := validID(id); err != nil {
		return fmt.Errorf("claiming host port %s: %w", want, err)
	}
	name := portFileName(proto, port)
	return d.withLock(portsLock, func() error {
		claims, err := d.readPortFile(name)
		if err != nil {
			return fmt.Errorf("claiming host port %s: %w", want, err)
		}
		live := claims[:0]
		for _, c := range claims {
			if !c.reclaimable() {
				live = append(live, c)
			}
		}
		for _, c := range live {
			if !overlaps(c.HostIP, hostIP) {
				continue
			}
			if c.ID == id && c.HostIP == hostIP {
				return nil
			}
			if c.ID == id {
				continue // two overlapping entries of one sandbox: its own affair
			}
			also := ""
			if c.HostIP != hostIP {
				also = " (on " + netip.AddrPortFrom(c.HostIP, port).String() + ")"
			}
			return fmt.Errorf("host port %s %w by sandbox %s%s", want, ErrPortTaken, c.ID, also)
		}
		live = append(live, PortClaim{Proto: proto, HostIP: hostIP, Port: port, ID: id, Owner: owner, Created: time.Now().UTC()})
		if err := d.writePortFile(name, live); err != nil {
			return fmt.Errorf("claiming host port %s: %w", want, err)
		}
		return nil
	})
}

// ReleasePort frees host port proto hostIP:port if sandbox id holds it.
// A port not held is success; one held by another sandbox is refused with
// ErrNotOwner.
func (d *Dir) ReleasePort(proto string, hostIP netip.Addr, port uint16, id string) error {
	if err := checkPort(proto, hostIP, port); err != nil {
		return err
	}
	what := portString(proto, hostIP, port)
	name := portFileName(proto, port)
	return d.withLock(portsLock, func() error {
		claims, err := d.readPortFile(name)
		if err != nil {
			return fmt.Errorf("releasing host port %s: %w", what, err)
		}
		i := slices.IndexFunc(claims, func(c PortClaim) bool { return c.HostIP == hostIP })
		switch {
		case i < 0:
			return nil
		case claims[i].ID != id:
			return fmt.Errorf("releasing host port %s for sandbox %s: %w (%s)", what, id, ErrNotOwner, claims[i].ID)
		}
		if err := d.writePortFile(name, slices.Delete(claims, i, i+1)); err != nil {
			return fmt.Errorf("releasing host port %s: %w", what, err)
		}
		return nil
	})
}

// Ports returns every claim, live or not, sorted by protocol, port and
// address. It scans ports/ (for list, inspect and gc).
func (d *Dir) Ports() ([]PortClaim, error) {
	var out []PortClaim
	err := d.withLock(portsLock, func() error {
		names, err := d.portFiles()
		if err != nil {
			return err
		}
		for _, n := range names {
			claims, err := d.readPortFile(n)
			if err != nil {
				return err
			}
			out = append(out, claims...)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b PortClaim) int {
		if c := strings.Compare(a.Proto, b.Proto); c != 0 {
			return c
		}
		if a.Port != b.Port {
			return int(a.Port) - int(b.Port)
		}
		return a.HostIP.Compare(b.HostIP)
	})
	return out, err
}

// portFiles lists the claim files in ports/ (none when it is absent).
func (d *Dir) portFiles() ([]string, error) {
	ents, err := os.ReadDir(d.portsPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("listing port claims: %w", err)
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		proto, port, ok := strings.Cut(n, "-")
		if isTempOrHidden(n) || !ok || (proto != "tcp" && proto != "udp") {
			continue // not ours
		}
		if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 || strconv.Itoa(int(p)) != port {
			continue
		}
		names = append(names, n)
	}
	return names, nil
}

// ReapPorts removes, under Lock("ports"), every claim whose owner is dead,
// and every claim file that does not parse, and returns the ports freed
// ("tcp 127.0.0.1:8080"). For gc; it scans ports/.
func (d *Dir) ReapPorts() (reclaimed []string, err error) {
	err = d.withLock(portsLock, func() error {
		names, err := d.portFiles()
		if err != nil {
			return err
		}
		var errs []error
		for _, n := range names {
			var claims []PortClaim
			rerr := readJSON(filepath.Join(d.portsPath(), n), &claims)
			switch {
			case errors.Is(rerr, fs.ErrNotExist):
				continue
			case rerr != nil && !isParseError(rerr):
				errs = append(errs, rerr)
				continue
			}
			live := claims[:0:0]
			var gone []string
			for _, c := range claims {
				if c.reclaimable() {
					gone = append(gone, c.String())
				} else {
					live = append(live, c)
				}
			}
			if rerr == nil && len(gone) == 0 {
				continue
			}
			if err := d.writePortFile(n, live); err != nil {
				errs = append(errs, err)
				continue
			}
			if rerr != nil {
				gone = append(gone, n+" (unreadable)")
			}
			reclaimed = append(reclaimed, gone...)
		}
		return errors.Join(errs...)
	})
	return reclaimed, err
}
