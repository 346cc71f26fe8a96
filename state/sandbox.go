package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Sandbox is the record of one sandbox, stored as sandboxes/<id>.json.
type Sandbox struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Owner Owner  `json:"owner"` // the supervising launcher

	Pid      int    `json:"pid"` // the sandboxed init/program pid
	PidStart uint64 `json:"pid_start"`
	// NetnsIno is the inode of the sandbox's network namespace, so gc can
	// end whatever its program left running inside after its launcher died.
	NetnsIno uint64 `json:"netns_ino,omitempty"`

	Profile       string `json:"profile"`
	ProfileOrigin string `json:"profile_origin"`

	IP       string `json:"ip,omitempty"`
	IP6      string `json:"ip6,omitempty"`
	HostVeth string `json:"host_veth,omitempty"`
	Bridge   string `json:"bridge,omitempty"`

	Created    time.Time `json:"created"`
	Command    []string  `json:"command"`
	Persistent bool      `json:"persistent,omitempty"`
	// NoSeccomp records a profile that turned the seccomp filter off, so
	// that `exec` into the sandbox applies the same.
	NoSeccomp bool `json:"no_seccomp,omitempty"`
	// Hide and Keep are the profile's [security] lists, so that `exec`
	// hides the same host paths (policy.HiddenFor).
	Hide []string `json:"hide,omitempty"`
	Keep []string `json:"keep,omitempty"`

	// Stage is the last setup step reached, for gc and debugging.
	Stage string `json:"stage"`
	// HostRules is opaque to this package: per-sandbox host rules to
	// delete on gc.
	HostRules []json.RawMessage `json:"host_rules,omitempty"`
}

const recordExt = ".json"

func (d *Dir) sandboxesPath() string { return filepath.Join(d.Path, sandboxesDir) }

// SandboxDir is <dir>/sandboxes/<id>/, the directory for per-sandbox files
// (resolv.conf, hosts). WriteSandbox creates it; RemoveSandbox removes it.
func (d *Dir) SandboxDir(id string) string {
	return filepath.Join(d.sandboxesPath(), id)
}

func (d *Dir) recordPath(id string) string {
	return filepath.Join(d.sandboxesPath(), id+recordExt)
}

// WriteSandbox creates or replaces the record of s atomically (temp file
// in the same directory, then rename; no fsync, see the package doc), and
// creates SandboxDir(s.ID) if missing. Readers see the old record or the
// new one, never a partial one.
func (d *Dir) WriteSandbox(s *Sandbox) error {
	if err := validID(s.ID); err != nil {
		return fmt.Errorf("writing sandbox record: %w", err)
	}
	if s.Name != "" {
		if err := ValidName(s.Name); err != nil {
			return fmt.Errorf("writing sandbox record %s: %w", s.ID, err)
		}
	}
	if err := ensureDir(d.SandboxDir(s.ID)); err != nil {
		return fmt.Errorf("creating sandbox dir: %w", err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encoding sandbox record %s: %w", s.ID, err)
	}
	return writeFileAtomic(d.sandboxesPath(), s.ID+recordExt, append(b, '\n'))
}

// ReadSandbox reads the record of sandbox id; a missing one matches
// ErrNotFound.
func (d *Dir) ReadSandbox(id string) (*Sandbox, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	return d.readRecord(d.recordPath(id), id)
}

func (d *Dir) readRecord(path, id string) (*Sandbox, error) {
	var s Sandbox
	if err := readJSON(path, &s); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sandbox %s %w", id, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("reading sandbox record: %w", err)
	}
	if s.ID != id {
		return nil, fmt.Errorf("sandbox record %s: holds id %q", path, s.ID)
	}
	return &s, nil
}

// Sandboxes returns every sandbox record, oldest first. It scans
// sandboxes/ (for list and gc) and skips temp files and per-sandbox
// directories. A record that cannot be read is reported in the joined
// error, and the others are still returned.
func (d *Dir) Sandboxes() ([]*Sandbox, error) {
	ents, err := os.ReadDir(d.sandboxesPath())
	if err != nil {
		return nil, fmt.Errorf("listing sandboxes: %w", err)
	}
	var (
		out  []*Sandbox
		errs []error
	)
	for _, e := range ents {
		name := e.Name()
		id, ok := strings.CutSuffix(name, recordExt)
		if !ok || isTempOrHidden(name) || e.IsDir() {
			continue
		}
		s, err := d.readRecord(filepath.Join(d.sandboxesPath(), name), id)
		if errors.Is(err, ErrNotFound) {
			continue // removed meanwhile
		} else if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *Sandbox) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, errors.Join(errs...)
}

// RemoveSandbox removes the record of sandbox id and its directory. The
// directory goes first, so a crash in between leaves a record that gc
// finds, not an orphan directory. A missing sandbox is success.
func (d *Dir) RemoveSandbox(id string) error {
	if err := validID(id); err != nil {
		return err
	}
	if err := os.RemoveAll(d.SandboxDir(id)); err != nil {
		return fmt.Errorf("removing sandbox %s: %w", id, err)
	}
	if err := os.Remove(d.recordPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing sandbox %s: %w", id, err)
	}
	return nil
}

// FindByName returns the record of the sandbox holding name, through the
// name index (no scan). A name not held, or a holder without a record,
// matches ErrNotFound. The holder may be dead: check s.Owner.Alive().
func (d *Dir) FindByName(name string) (*Sandbox, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	c, err := d.readName(name)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("sandbox %q %w", name, ErrNotFound)
	} else if err != nil {
		return nil, err
	}
	s, err := d.ReadSandbox(c.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("sandbox %q %w (name held by %s, which has no record)", name, ErrNotFound, c.ID)
	} else if err != nil {
		return nil, err
	}
	if s.Name != name {
		return nil, fmt.Errorf("sandbox %q %w (record %s is named %q)", name, ErrNotFound, c.ID, s.Name)
	}
	return s, nil
}
