package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// A profile file is read once. Its directory is reached one component at a
// time from "/", each opened with O_NOFOLLOW and checked as it is opened;
// the file is opened with O_NOFOLLOW under that directory, and the bytes
// read are the bytes hashed and parsed. Whether only root could have
// written it is decided on the very inodes opened, so nothing can be
// swapped between the check and the use.

// ErrSymlink: a profile file is a symbolic link. Profiles are read without
// following one: the link's owner, not the file's, would decide the policy.
var ErrSymlink = errors.New("is a symbolic link")

// fileRead is one profile file as read.
type fileRead struct {
	path     string // canonical absolute path
	data     []byte
	rootOnly bool // see dirHandle.rootOnly
}

// sum is the hex SHA-256 of the bytes read.
func (r *fileRead) sum() string { return sha256Hex(r.data) }

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// owners judges who could have written a file.
type owners struct {
	// alsoRoot is a uid whose files count as root's (tests that do not
	// run as root); 0 means root alone.
	alsoRoot uint32
}

func (o owners) root(uid uint32) bool { return uid == 0 || uid == o.alsoRoot }

// dirHandle is an open directory reached from "/" without following a
// symbolic link.
type dirHandle struct {
	fd   int
	path string // canonical absolute path
	// rootOnly: every directory from "/" down is owned by root, and none
	// lets group or others write unless it is sticky (/tmp), where they
	// cannot rename or remove root's entries. Only root could have put
	// anything at a path below it.
	rootOnly bool
}

// openDir opens dir. Symbolic links above it are resolved once
// (EvalSymlinks), then the resolved path is walked with O_NOFOLLOW: a
// component replaced by a link meanwhile is an error, not followed.
func (o owners) openDir(dir string) (*dirHandle, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: "/", Err: err}
	}
	d := &dirHandle{fd: fd, path: "/", rootOnly: true}
	for _, name := range strings.Split(real, "/") {
		if name == "" {
			continue
		}
		if err := d.check(o); err != nil {
			d.close()
			return nil, err
		}
		next := filepath.Join(d.path, name)
		nfd, err := unix.Openat(d.fd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			d.close()
			if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
				return nil, fmt.Errorf("%s: changed while being opened (now a symbolic link or not a directory)", next)
			}
			return nil, &fs.PathError{Op: "open", Path: next, Err: err}
		}
		unix.Close(d.fd)
		d.fd, d.path = nfd, next
	}
	if err := d.check(o); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// check folds the directory d.fd now refers to into d.rootOnly.
func (d *dirHandle) check(o owners) error {
	var st unix.Stat_t
	if err := unix.Fstat(d.fd, &st); err != nil {
		return &fs.PathError{Op: "stat", Path: d.path, Err: err}
	}
	othersWrite := st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0
	if !o.root(st.Uid) || othersWrite {
		d.rootOnly = false
	}
	return nil
}

func (d *dirHandle) close() { unix.Close(d.fd) }

// read reads the file base in d: a regular file, not a symbolic link, at
// most maxProfileSize+1 bytes (decodeRaw rejects larger ones). O_NONBLOCK
// keeps a FIFO planted there from blocking the open.
func (d *dirHandle) read(o owners, base string) (*fileRead, error) {
	path := filepath.Join(d.path, base)
	fd, err := unix.Openat(d.fd, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ELOOP) {
		if target, lerr := readlinkAt(d.fd, base); lerr == nil {
			return nil, fmt.Errorf("%s %w to %s: refusing it; name the file itself", path, ErrSymlink, target)
		}
		return nil, fmt.Errorf("%s %w: refusing it; name the file itself", path, ErrSymlink)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	fh := os.NewFile(uintptr(fd), path)
	defer fh.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxProfileSize+1))
	if err != nil {
		return nil, err
	}
	rootOnly := d.rootOnly && o.root(st.Uid) && st.Mode&0o022 == 0
	return &fileRead{path: path, data: data, rootOnly: rootOnly}, nil
}

func readlinkAt(dirfd int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// readPath reads the profile file at path (see dirHandle.read).
func (o owners) readPath(path string) (*fileRead, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	d, err := o.openDir(filepath.Dir(abs))
	if err != nil {
		return nil, err
	}
	defer d.close()
	return d.read(o, filepath.Base(abs))
}

// readFS reads a built-in profile.
func readFS(fsys fs.FS, name string) ([]byte, error) {
	fh, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return io.ReadAll(io.LimitReader(fh, maxProfileSize+1))
}
