package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// DefaultPath is where the launcher keeps its state unless told otherwise.
const DefaultPath = "/run/nsjail-net"

// Subdirectories of the state dir, each created 0700 by Open.
const (
	leasesDir    = "leases"
	sandboxesDir = "sandboxes"
	namesDir     = "names"
)

// Dir is an opened state directory. It holds no open files; every method
// opens what it needs, so a Dir may be shared by goroutines.
type Dir struct {
	Path string
}

// Open creates the state directory and its subdirectories (mkdir -p, mode
// 0700) if needed and checks that the caller can use it. It refuses a
// directory that cannot be written (e.g. "state dir /x: read-only file
// system") and one owned by another user; one of ours that others may write
// to is tightened to 0700: records there decide which addresses and names
// are free.
func Open(path string) (*Dir, error) {
	if path == "" {
		return nil, errors.New("state dir: empty path")
	}
	path = filepath.Clean(path)
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, stateDirErr(path, err)
	}
	if err := checkDir(path); err != nil {
		return nil, err
	}
	for _, sub := range []string{leasesDir, sandboxesDir, namesDir} {
		if err := ensureDir(filepath.Join(path, sub)); err != nil {
			return nil, stateDirErr(path, err)
		}
	}
	return &Dir{Path: path}, nil
}

// checkDir verifies ownership, mode and writability of the top directory.
func checkDir(path string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fmt.Errorf("state dir %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("state dir %s: not a directory", path)
	}
	if euid := os.Geteuid(); int(st.Uid) != euid {
		return fmt.Errorf("state dir %s: owned by uid %d, not by the caller (uid %d)", path, st.Uid, euid)
	}
	if perm := st.Mode & 0o7777; perm&0o022 != 0 {
		// Ours but open to others (a fresh tmpfs is 1777): tighten it.
		if err := unix.Chmod(path, 0o700); err != nil {
			return fmt.Errorf("state dir %s: mode %04o lets other users write to it and chmod 0700 failed: %w", path, perm, err)
		}
	}
	// MkdirAll succeeds on an existing directory that we cannot write to.
	if err := unix.Access(path, unix.W_OK|unix.X_OK); err != nil {
		return fmt.Errorf("state dir %s: %w", path, err)
	}
	return nil
}

// ensureDir creates dir with mode 0700; an existing directory is fine, an
// existing non-directory is an error.
func ensureDir(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if err == nil || !errors.Is(err, fs.ErrExist) {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a directory", dir)
	}
	return nil
}

// stateDirErr names the state dir in err, without repeating the path when
// the failing operation was on the state dir itself.
func stateDirErr(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		return fmt.Errorf("state dir %s: %w", path, pe.Err)
	}
	return fmt.Errorf("state dir %s: %w", path, err)
}

// Lock takes an exclusive flock(2) on <dir>/<name>.lock, waiting for it if
// another process (or another open of the same file in this process) holds
// it. The lock lives on the open file description, so a goroutine that
// calls Lock contends with every other caller, in this process or another.
// The file is opened O_CLOEXEC, so no child inherits the lock. The returned
// unlock releases it; calling unlock more than once is harmless. A process
// that dies holding the lock releases it with its files.
func (d *Dir) Lock(name string) (unlock func(), err error) {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return nil, fmt.Errorf("lock name %q: must be a plain file name", name)
	}
	path := filepath.Join(d.Path, name+".lock")
	fd, err := openRaw(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock: %w", err)
	}
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			// Unlock explicitly: a child forked meanwhile shares the
			// description until its exec closes it.
			_ = unix.Flock(fd, unix.LOCK_UN)
			unix.Close(fd)
		})
	}, nil
}

// withLock runs fn while holding Lock(name).
func (d *Dir) withLock(name string, fn func() error) error {
	unlock, err := d.Lock(name)
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}
