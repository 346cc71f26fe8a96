package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// createExclusive creates path with content b, failing with an error that
// matches fs.ErrExist if it already exists (O_EXCL). A failed write removes
// the file again.
func createExclusive(path string, b []byte) error {
	fd, err := openRaw(path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	err = pwriteAll(fd, b, 0)
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		unix.Unlink(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// writeFileAtomic replaces dir/name with content b: it writes a temp file
// ".<name>.tmp-*" in the same directory and renames it over the target, so
// a reader sees the old content or the new one, never a mix. No fsync: the
// state dir is a tmpfs (see the package doc). Scans skip dot files, so a temp
// file left by a crash is never read as a record.
func writeFileAtomic(dir, name string, b []byte) error {
	target := filepath.Join(dir, name)
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", target, err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, target)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", target, err)
	}
	return nil
}

// readJSON decodes the JSON file at path into v. A missing file yields an
// error matching fs.ErrNotExist.
func readJSON(path string, v any) error {
	b, err := readFileRaw(path)
	if err != nil {
		return err // *fs.PathError naming path
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &parseError{path: path, err: err}
	}
	return nil
}

// parseError is a file that exists but does not hold valid JSON: for leases
// and names, the remains of a writer that crashed mid-write.
type parseError struct {
	path string
	err  error
}

func (e *parseError) Error() string { return "parsing " + e.path + ": " + e.err.Error() }
func (e *parseError) Unwrap() error { return e.err }

func isParseError(err error) bool {
	var pe *parseError
	return errors.As(err, &pe)
}

// isTempOrHidden reports whether a directory entry is one of ours that scans
// must skip: temp files and hints start with a dot.
func isTempOrHidden(name string) bool {
	return len(name) > 0 && name[0] == '.'
}
