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
	"time"

	"golang.org/x/sys/unix"
)

// leasesLock serialises every change to leases/.
const leasesLock = "leases"

// Lease records that an address is in use by a sandbox. It is stored as
// JSON in leases/<addr>, a file created O_EXCL.
type Lease struct {
	Addr    netip.Addr `json:"addr"`
	ID      string     `json:"id"`
	Owner   Owner      `json:"owner"`
	Created time.Time  `json:"created"`
	// Persistent leases belong to sandboxes that outlive their launcher
	// (`create`); they are never reclaimed for a dead owner. See PersistLease.
	Persistent bool `json:"persistent,omitempty"`
}

// reclaimable reports whether a lease may be taken from its holder.
func (l *Lease) reclaimable() bool {
	return !l.Persistent && !l.Owner.Alive()
}

func (d *Dir) leasePath(a netip.Addr) string {
	return filepath.Join(d.Path, leasesDir, a.String())
}

func checkAddr(a netip.Addr) error {
	if !a.IsValid() {
		return errors.New("invalid address")
	}
	if a.Zone() != "" {
		return fmt.Errorf("address %s has a zone", a)
	}
	return nil
}

// Allocate leases a free address of pool p to sandbox id, owned by owner.
//
// Under Lock("leases") it starts at the pool's persisted hint (the address
// after the last one allocated) and probes forward, wrapping at the end of
// the prefix, for an address without a lease file. An existing lease whose
// owner is dead (or whose file is the unparsable remains of a crashed write)
// is reclaimed on the way. Moving on rather than reusing the lowest free
// address keeps the usual cost at one or two file creations however many
// leases are live, and delays the reuse of a just-released address (stale
// conntrack or neighbour entries for it have time to expire).
//
// Only a nearly full pool makes the probe long: it then visits every usable
// address once (at most 2^17 for larger pools) and fails with an error
// matching ErrPoolExhausted: "address pool 10.213.0.0/16 exhausted (65533
// leases live)".
func (d *Dir) Allocate(p Pool, id string, owner Owner) (netip.Addr, error) {
	p, err := p.check()
	if err != nil {
		return netip.Addr{}, err
	}
	if err := validID(id); err != nil {
		return netip.Addr{}, fmt.Errorf("allocating an address: %w", err)
	}
	var got netip.Addr
	err = d.withLock(leasesLock, func() error {
		a := d.readHint(p)
		live := 0
		for i, n := 0, p.span(); i < n; i, a = i+1, p.next(a) {
			if !p.usable(a) {
				continue
			}
			ok, err := d.tryLease(&Lease{Addr: a, ID: id, Owner: owner, Created: time.Now().UTC()})
			if err != nil {
				return err
			}
			if ok {
				got = a
				// The hint is only an optimisation: a failure to
				// write it costs the next Allocate a longer probe.
				_ = d.writeHint(p, p.next(a))
				return nil
			}
			live++
		}
		return fmt.Errorf("address pool %s %w (%d leases live)", p.Prefix, ErrPoolExhausted, live)
	})
	return got, err
}

// tryLease creates l's lease file, reclaiming a dead owner's. It reports
// false if the address is held by a live or persistent owner. Called with
// the leases lock held.
func (d *Dir) tryLease(l *Lease) (bool, error) {
	b, err := json.Marshal(l)
	if err != nil {
		return false, fmt.Errorf("encoding lease %s: %w", l.Addr, err)
	}
	ok, _, err := claimFile[Lease](d.leasePath(l.Addr), b)
	if err != nil {
		return false, fmt.Errorf("leasing %s: %w", l.Addr, err)
	}
	return ok, nil
}

// readHint returns the pool's next address to try, or its first address if
// the hint is missing, unreadable or not in the pool.
func (d *Dir) readHint(p Pool) netip.Addr {
	b, err := readFileRaw(filepath.Join(d.Path, leasesDir, p.hintName()))
	if err != nil {
		return p.first()
	}
	a, err := netip.ParseAddr(string(trimSpace(b)))
	if err != nil || !p.Prefix.Contains(a) {
		return p.first()
	}
	return a
}

// hintLen is the fixed size of a hint file: the longest IPv6 address (39
// characters) padded with spaces, then a newline.
const hintLen = 40

// writeHint overwrites the hint in place with a fixed-size record. It runs
// under the leases lock, and a torn hint only makes readHint start at the
// first address. Not truncating matters on disk file systems: ext4 flushes
// a file that is truncated and rewritten (auto_da_alloc), which costs
// milliseconds.
func (d *Dir) writeHint(p Pool, a netip.Addr) error {
	rec := []byte(fmt.Sprintf("%-*s\n", hintLen-1, a.String()))
	fd, err := openRaw(filepath.Join(d.Path, leasesDir, p.hintName()), unix.O_WRONLY|unix.O_CREAT|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	err = pwriteAll(fd, rec, 0)
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	return err
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// Release removes the lease on addr if it belongs to sandbox id. A missing
// lease is success; a lease of another sandbox is refused with an error
// matching ErrNotOwner.
func (d *Dir) Release(addr netip.Addr, id string) error {
	if err := checkAddr(addr); err != nil {
		return fmt.Errorf("releasing lease: %w", err)
	}
	return d.withLock(leasesLock, func() error {
		path := d.leasePath(addr)
		var l Lease
		if err := readJSON(path, &l); errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return fmt.Errorf("releasing lease %s: %w", addr, err)
		}
		if l.ID != id {
			return fmt.Errorf("releasing lease %s for sandbox %s: %w (%s)", addr, id, ErrNotOwner, l.ID)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("releasing lease: %w", err)
		}
		return nil
	})
}

// PersistLease marks the lease on addr, held by sandbox id, as persistent:
// it is kept when its owner dies, for a sandbox that outlives the command
// that created it. Only Release frees it. A missing lease matches
// ErrNotFound, another sandbox's lease ErrNotOwner.
func (d *Dir) PersistLease(addr netip.Addr, id string) error {
	if err := checkAddr(addr); err != nil {
		return fmt.Errorf("persisting lease: %w", err)
	}
	return d.withLock(leasesLock, func() error {
		path := d.leasePath(addr)
		var l Lease
		if err := readJSON(path, &l); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("lease %s %w", addr, ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("persisting lease %s: %w", addr, err)
		}
		if l.ID != id {
			return fmt.Errorf("persisting lease %s for sandbox %s: %w (%s)", addr, id, ErrNotOwner, l.ID)
		}
		l.Persistent = true
		b, err := json.Marshal(&l)
		if err != nil {
			return fmt.Errorf("encoding lease %s: %w", path, err)
		}
		return writeFileAtomic(filepath.Dir(path), filepath.Base(path), b)
	})
}

// Leases returns every lease, sorted by address. It scans leases/ and is
// meant for gc, list and doctor. Unreadable files are reported in the
// joined error; the others are still returned.
func (d *Dir) Leases() ([]Lease, error) {
	ls, corrupt, err := d.scanLeases()
	for _, c := range corrupt {
		err = errors.Join(err, c.err)
	}
	return ls, err
}

// corruptLease is a lease file that does not parse.
type corruptLease struct {
	addr netip.Addr
	err  error
}

// scanLeases reads every lease file. Files that do not parse are returned
// in corrupt, not in err.
func (d *Dir) scanLeases() (ls []Lease, corrupt []corruptLease, err error) {
	dir := filepath.Join(d.Path, leasesDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("listing leases: %w", err)
	}
	var errs []error
	for _, e := range ents {
		name := e.Name()
		if isTempOrHidden(name) {
			continue
		}
		path := filepath.Join(dir, name)
		a, perr := netip.ParseAddr(name)
		if perr != nil || a.Zone() != "" {
			errs = append(errs, fmt.Errorf("lease %s: file name is not an address", path))
			continue
		}
		var l Lease
		if err := readJSON(path, &l); errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		} else if isParseError(err) {
			corrupt = append(corrupt, corruptLease{addr: a, err: err})
			continue
		} else if err != nil {
			errs = append(errs, err)
			continue
		}
		if l.Addr != a {
			errs = append(errs, fmt.Errorf("lease %s: records address %s", path, l.Addr))
			continue
		}
		ls = append(ls, l)
	}
	slices.SortFunc(ls, func(x, y Lease) int { return x.Addr.Compare(y.Addr) })
	return ls, corrupt, errors.Join(errs...)
}

// ReapLeases removes, under Lock("leases"), every lease whose owner is dead
// (persistent leases excepted) and every lease file that does not parse
// (the remains of a crashed write; returned with only Addr set). Files that
// are not ours (names that are not addresses) are left alone and reported.
func (d *Dir) ReapLeases() (reclaimed []Lease, err error) {
	err = d.withLock(leasesLock, func() error {
		ls, corrupt, scanErr := d.scanLeases()
		errs := []error{scanErr}
		remove := func(l Lease) {
			if err := os.Remove(d.leasePath(l.Addr)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("removing lease: %w", err))
				return
			}
			reclaimed = append(reclaimed, l)
		}
		for _, l := range ls {
			if l.reclaimable() {
				remove(l)
			}
		}
		for _, c := range corrupt {
			remove(Lease{Addr: c.addr})
		}
		return errors.Join(errs...)
	})
	return reclaimed, err
}
