package launch

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nsjail-net/nsjail-net/dns"
	"github.com/nsjail-net/nsjail-net/state"
)

// NetnsEtcDir is iproute2's per-namespace configuration directory: `ip
// netns exec NAME` bind-mounts every file of NetnsEtcDir/NAME over the
// file of the same name in /etc. A named sandbox gets there the files it
// sees itself (resolv.conf, hosts, nsswitch.conf), so that a program
// started with `ip netns exec NAME` resolves names as one started with
// `nsjail-net exec NAME`: through the sandbox's resolver, the only one its
// firewall lets it ask.
const NetnsEtcDir = "/etc/netns"

// etcNetnsPath is NetnsEtcDir/NAME.
func etcNetnsPath(name string) string { return filepath.Join(NetnsEtcDir, name) }

// WriteEtcNetns creates NetnsEtcDir/NAME holding files (name -> content),
// each of which must start with dns.GeneratedMark. The files are written
// into a temporary directory renamed into place, so `ip netns exec` sees
// all of them or none. An earlier directory of ours (a crash) is replaced;
// a directory that is not ours is left alone and reported by ours=false.
// The caller holds the name, and has recorded the sandbox under it.
func WriteEtcNetns(name string, files map[string][]byte) (ours bool, retErr error) {
	if err := state.ValidName(name); err != nil {
		return false, err
	}
	path := etcNetnsPath(name)
	if mine, err := etcNetnsIsOurs(path); err != nil {
		return false, err
	} else if mine {
		if err := os.RemoveAll(path); err != nil {
			return false, fmt.Errorf("removing stale %s: %w", path, err)
		}
	} else if _, err := os.Lstat(path); err == nil {
		return false, nil
	}
	if err := os.MkdirAll(NetnsEtcDir, 0o755); err != nil {
		return false, fmt.Errorf("creating %s: %w", NetnsEtcDir, err)
	}
	tmp, err := os.MkdirTemp(NetnsEtcDir, "."+name+".tmp-")
	if err != nil {
		return false, fmt.Errorf("creating %s: %w", path, err)
	}
	defer func() {
		if retErr != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return false, fmt.Errorf("creating %s: %w", path, err)
	}
	// resolv.conf first: its mark is what says the entry is ours, should
	// a crash interrupt the rest.
	names := slices.Sorted(maps.Keys(files))
	if i := slices.Index(names, "resolv.conf"); i > 0 {
		names[0], names[i] = names[i], names[0]
	}
	for _, f := range names {
		b := files[f]
		if !bytes.HasPrefix(b, []byte(dns.GeneratedMark)) {
			return false, fmt.Errorf("writing %s/%s: content lacks the %q mark", path, f, dns.GeneratedMark)
		}
		if err := os.WriteFile(filepath.Join(tmp, f), b, 0o644); err != nil {
			return false, fmt.Errorf("writing %s/%s: %w", path, f, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return false, fmt.Errorf("creating %s: %w", path, err)
	}
	return true, nil
}

// RemoveEtcNetns removes NetnsEtcDir/NAME if it is ours (see
// etcNetnsIsOurs). Absent is success.
func RemoveEtcNetns(name string) error {
	if err := state.ValidName(name); err != nil {
		return err
	}
	path := etcNetnsPath(name)
	mine, err := etcNetnsIsOurs(path)
	if err != nil || !mine {
		return err
	}
	if err := os.RemoveAll(path); err != nil {
		return fmt.Errorf("removing %s: %w", path, err)
	}
	return nil
}

// etcNetnsIsOurs reports whether path is a directory written by
// WriteEtcNetns: its resolv.conf starts with dns.GeneratedMark. Absent
// reports false.
func etcNetnsIsOurs(path string) (bool, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if !fi.IsDir() {
		return false, nil
	}
	b, err := os.ReadFile(filepath.Join(path, "resolv.conf"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	return bytes.HasPrefix(b, []byte(dns.GeneratedMark)), nil
}

// reapEtcNetns removes NetnsEtcDir/<rec.Name> for Reap: only ours, and
// only while no other sandbox holds the name (one that reclaimed it may
// have written its own).
func reapEtcNetns(dir *state.Dir, rec *state.Sandbox) error {
	holder, err := dir.NameHolder(rec.Name)
	if err != nil {
		return err
	}
	if holder != "" && holder != rec.ID {
		return nil
	}
	return RemoveEtcNetns(rec.Name)
}

// sweepEtcNetns removes NetnsEtcDir entries of ours that no namespace
// uses: no NetnsRunDir/NAME (a sandbox binds it before it writes its
// entry and removes it after), no sandbox of this state dir holding the
// name, older than orphanDirAge. Left by a crash whose record is gone, or
// by a reboot: /etc outlives the state dir and /run/netns. Temporary
// directories of a crashed WriteEtcNetns go the same way.
func sweepEtcNetns(dir *state.Dir, dry bool, log *slog.Logger) ([]string, error) {
	ents, err := os.ReadDir(NetnsEtcDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("listing %s: %w", NetnsEtcDir, err)
	}
	var (
		out  []string
		errs []error
	)
	for _, e := range ents {
		path := filepath.Join(NetnsEtcDir, e.Name())
		fi, err := e.Info()
		if err != nil || !e.IsDir() || time.Since(fi.ModTime()) < orphanDirAge {
			continue
		}
		name, tmp := e.Name(), false
		if strings.HasPrefix(name, ".") {
			if name, tmp = strings.TrimPrefix(name, "."), true; !strings.Contains(name, ".tmp-") {
				continue
			}
			name = name[:strings.Index(name, ".tmp-")]
		}
		if state.ValidName(name) != nil {
			continue
		}
		if mine, err := etcNetnsIsOurs(path); err != nil || !mine {
			continue
		}
		if !tmp {
			if _, err := os.Lstat(filepath.Join(NetnsRunDir, name)); err == nil {
				continue
			}
			if holder, err := dir.NameHolder(name); err != nil || holder != "" {
				continue
			}
		}
		if !dry {
			if err := os.RemoveAll(path); err != nil {
				errs = append(errs, fmt.Errorf("removing %s: %w", path, err))
				continue
			}
			log.Info("removed an unused ip netns entry", "path", path)
		}
		out = append(out, path)
	}
	sort.Strings(out)
	return out, errors.Join(errs...)
}
