package launch

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nsjail-net/nsjail-net/nat"
	"github.com/nsjail-net/nsjail-net/state"
)

// GCInterval is how often GCIfDue sweeps: at most once per interval, across
// all launchers sharing a state dir.
const GCInterval = time.Minute

// orphanDirAge is how old a per-sandbox directory without a record must be
// before gc removes it: `run` creates the directory a few milliseconds
// before it writes the record.
const orphanDirAge = time.Minute

// GCReport lists what a sweep removed (or, dry, would remove).
type GCReport struct {
	Sandboxes []string `json:"sandboxes"` // records of dead launchers: "name (id)"
	Leases    []string `json:"leases"`    // addresses
	Names     []string `json:"names"`
	Ports     []string `json:"ports"` // published host port claims
	Links     []string `json:"links"` // host veths without a live sandbox
	Rules     []string `json:"rules"` // per-sandbox host rules without a live sandbox
	Files     []string `json:"files"` // per-sandbox directories without a record, unused /etc/netns entries
}

// MarshalJSON writes every list, [] when empty (`gc --json`, see
// docs/json.md).
func (r GCReport) MarshalJSON() ([]byte, error) {
	type plain GCReport // without this method
	for _, l := range []*[]string{&r.Sandboxes, &r.Leases, &r.Names, &r.Ports, &r.Links, &r.Rules, &r.Files} {
		if *l == nil {
			*l = []string{}
		}
	}
	return json.Marshal(plain(r))
}

// Empty reports whether the sweep found nothing.
func (r GCReport) Empty() bool {
	return len(r.Sandboxes)+len(r.Leases)+len(r.Names)+len(r.Ports)+len(r.Links)+len(r.Rules)+len(r.Files) == 0
}

// GCOptions change a sweep.
type GCOptions struct {
	// DryRun reports what would be removed and changes nothing. Leases and
	// names are then those of the dead sandboxes' records only.
	DryRun bool
}

// GC removes everything whose owner is gone: the sandboxes whose launcher
// died (see Reap), leases and names of dead owners, and host veths and
// per-sandbox iptables rules tagged with the id of a sandbox that is not
// live. It never touches a live sandbox's resources, nor anything without
// our owner tag. Sweeps are serialised by Lock("gc") and idempotent.
func GC(dir *state.Dir, bridge string, log *slog.Logger) (GCReport, error) {
	return Sweep(dir, bridge, GCOptions{}, log)
}

// GCIfDue runs GC when none ran in the last GCInterval (one stat otherwise),
// so that `run` can call it at every start. It reports whether it swept.
func GCIfDue(dir *state.Dir, bridge string, log *slog.Logger) (GCReport, bool, error) {
	due, err := dir.GCDue(GCInterval)
	if err != nil {
		log.Debug("gc stamp", "err", err)
	}
	if !due {
		return GCReport{}, false, nil
	}
	r, err := GC(dir, bridge, log)
	return r, true, err
}

// Sweep is GC with options.
func Sweep(dir *state.Dir, bridge string, o GCOptions, log *slog.Logger) (GCReport, error) {
	var r GCReport
	unlock, err := dir.Lock("gc")
	if err != nil {
		return r, err
	}
	defer unlock()
	var errs []error

	// 1. Sandboxes whose owner is dead (persistent ones are owned by their
	//    detached supervisor: the same rule applies).
	recs, err := dir.Sandboxes()
	errs = append(errs, err)
	for _, rec := range recs {
		if rec.Owner.Alive() {
			continue
		}
		label := rec.ID
		if rec.Name != "" {
			label = rec.Name + " (" + rec.ID + ")"
		}
		if o.DryRun {
			r.Sandboxes = append(r.Sandboxes, label)
			if rec.IP != "" {
				r.Leases = append(r.Leases, rec.IP)
			}
			if rec.Name != "" {
				r.Names = append(r.Names, rec.Name)
			}
			continue
		}
		if err := Reap(dir, rec, log); err != nil {
			errs = append(errs, err)
			continue
		}
		log.Info("reaped sandbox of a dead launcher", "sandbox", label, "launcher", rec.Owner)
		r.Sandboxes = append(r.Sandboxes, label)
	}

	// 2. Leases, names and host port claims of dead owners (their record may be gone).
	if !o.DryRun {
		leases, err := dir.ReapLeases()
		errs = append(errs, err)
		for _, l := range leases {
			r.Leases = append(r.Leases, l.Addr.String())
		}
		names, err := dir.ReapNames()
		errs = append(errs, err)
		r.Names = append(r.Names, names...)
		ports, err := dir.ReapPorts()
		errs = append(errs, err)
		r.Ports = append(r.Ports, ports...)
	}

	// 3. Host resources tagged with a sandbox that is not live.
	links, err := sweepLinks(dir, bridge, o.DryRun)
	errs = append(errs, err)
	r.Links = links
	rules, err := sweepRules(dir, o.DryRun)
	errs = append(errs, err)
	r.Rules = rules

	// 4. Per-sandbox directories without a record, and ip netns entries
	//    without a namespace.
	files, err := sweepDirs(dir, o.DryRun)
	errs = append(errs, err)
	etc, err := sweepEtcNetns(dir, o.DryRun, log)
	errs = append(errs, err)
	r.Files = append(files, etc...)
	return r, errors.Join(errs...)
}

// liveSandbox reports whether sandbox id has a record with a live owner.
// It is read after the resource was seen: `run` writes its record before
// it creates any host resource and removes it after deleting them, so a
// resource seen first and then found without a live record is an orphan.
func liveSandbox(dir *state.Dir, id string) bool {
	rec, err := dir.ReadSandbox(id)
	if err != nil {
		// Unreadable (not merely absent) records count as live: gc leaves
		// what it cannot prove dead.
		return !errors.Is(err, state.ErrNotFound)
	}
	return rec.Owner.Alive()
}

// sweepLinks deletes host links named nsj<id> whose alias is the owner tag
// of sandbox <id>, when that sandbox is not live.
func sweepLinks(dir *state.Dir, bridge string, dry bool) ([]string, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("listing host links: %w", err)
	}
	var (
		out  []string
		errs []error
	)
	for _, l := range links {
		a := l.Attrs()
		id, ok := vethOwner(a.Name, a.Alias)
		if !ok || a.Name == bridge || liveSandbox(dir, id) {
			continue
		}
		if !dry {
			if err := nat.DeleteVeth(h, id); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		out = append(out, a.Name)
	}
	return out, errors.Join(errs...)
}

// vethOwner returns the sandbox id of a host veth of ours: named
// nat.VethName(id) and tagged nat.VethAlias(id).
func vethOwner(name, alias string) (string, bool) {
	id, ok := strings.CutPrefix(alias, nat.OwnerTag+":")
	if !ok || id == "" || name != nat.VethName(id) {
		return "", false
	}
	return id, true
}

// sweepDirs removes sandboxes/<id>/ directories that have no record and
// are older than orphanDirAge.
func sweepDirs(dir *state.Dir, dry bool) ([]string, error) {
	parent := filepath.Dir(dir.SandboxDir("x"))
	ents, err := os.ReadDir(parent)
	if err != nil {
		return nil, fmt.Errorf("listing sandbox dirs: %w", err)
	}
	var (
		out  []string
		errs []error
	)
	for _, e := range ents {
		id := e.Name()
		if !e.IsDir() || strings.HasPrefix(id, ".") {
			continue
		}
		if _, err := dir.ReadSandbox(id); !errors.Is(err, state.ErrNotFound) {
			continue // has a record, or is not a sandbox id
		}
		fi, err := e.Info()
		if err != nil || time.Since(fi.ModTime()) < orphanDirAge {
			continue
		}
		if !dry {
			if err := dir.RemoveSandbox(id); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		out = append(out, dir.SandboxDir(id))
	}
	return out, errors.Join(errs...)
}
