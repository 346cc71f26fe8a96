package state

import (
	"io/fs"

	"golang.org/x/sys/unix"
)

// Raw file I/O for the per-launch path (lock, hint, lease and name files).
// os.File costs several extra system calls per open (poller registration
// and non-blocking mode tests), which for these tiny files is most of the
// cost: about 18 µs against 6 µs per read on a tmpfs. Every open here adds
// O_CLOEXEC, so no child inherits a descriptor (or a lock).

// openRaw opens path with O_CLOEXEC, retrying on EINTR. Errors are
// *fs.PathError, so errors.Is(err, fs.ErrExist / fs.ErrNotExist) work.
func openRaw(path string, flags int, mode uint32) (int, error) {
	for {
		fd, err := unix.Open(path, flags|unix.O_CLOEXEC, mode)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}

// readFileRaw returns the content of the (small) file at path.
func readFileRaw(path string) ([]byte, error) {
	fd, err := openRaw(path, unix.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// pwriteAll writes b at offset off of fd.
func pwriteAll(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := unix.Pwrite(fd, b, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}
