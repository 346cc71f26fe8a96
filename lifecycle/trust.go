package lifecycle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// DefaultTrustStore records the project profiles the administrator
// reviewed: a JSON object mapping absolute path to sha256 of the content.
const DefaultTrustStore = "/var/lib/nsjail-net/trusted.json"

// Sentinel errors of CheckTrusted.
var (
	// ErrUntrusted: the file was never trusted.
	ErrUntrusted = errors.New("is not trusted")
	// ErrChanged: the file's content differs from what was trusted.
	ErrChanged = errors.New("changed since it was trusted")
)

// TrustStore is a trust store file. Its directory is created 0700 and the
// file is written 0600, atomically (temp file and rename) under a flock,
// and refused when another user could have written it.
type TrustStore struct {
	Path string
}

// CheckTrusted checks a project profile against DefaultTrustStore; see
// TrustStore.Check.
func CheckTrusted(path string) error {
	return TrustStore{Path: DefaultTrustStore}.Check(path)
}

// Trust records path's current content in DefaultTrustStore; see
// TrustStore.Trust.
func Trust(path string) (sum string, err error) {
	return TrustStore{Path: DefaultTrustStore}.Trust(path)
}

// Check returns nil if path's current content is the one trusted for it,
// else an error matching ErrUntrusted or ErrChanged that says what to run.
func (s TrustStore) Check(path string) error {
	abs, sum, err := hashFile(path)
	if err != nil {
		return err
	}
	m, err := s.read()
	if err != nil {
		return err
	}
	switch want, ok := m[abs]; {
	case !ok:
		return fmt.Errorf("project profile %s %w: review it, then run `nsjail-net trust %s` (or pass --profile)", abs, ErrUntrusted, abs)
	case want != sum:
		return fmt.Errorf("%s %w: review it, then run `nsjail-net trust %s`", abs, ErrChanged, abs)
	}
	return nil
}

// Trust records the sha256 of path's current content, under its absolute
// path with symlinks resolved, and returns the hash.
func (s TrustStore) Trust(path string) (string, error) {
	abs, sum, err := hashFile(path)
	if err != nil {
		return "", err
	}
	err = s.update(func(m map[string]string) { m[abs] = sum })
	return sum, err
}

// Revoke forgets path; a path not trusted is success.
func (s TrustStore) Revoke(path string) error {
	abs, err := canonical(path)
	if err != nil {
		abs = path
	}
	return s.update(func(m map[string]string) { delete(m, abs) })
}

// update applies f to the store under its lock and writes it back.
func (s TrustStore) update(f func(map[string]string)) error {
	dir := filepath.Dir(s.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("trust store: %w", err)
	}
	lock, err := os.OpenFile(s.Path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("trust store: %w", err)
	}
	defer lock.Close() // releases the flock
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("trust store: locking %s: %w", lock.Name(), err)
	}
	m, err := s.read()
	if err != nil {
		return err
	}
	f(m)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("trust store: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".trusted-*.tmp")
	if err != nil {
		return fmt.Errorf("trust store: %w", err)
	}
	_, err = tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.Path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("trust store: writing %s: %w", s.Path, err)
	}
	return nil
}

// read loads the store; a missing one is empty. A store (or its
// directory) that another user owns or may write is refused: it decides
// which files run.
func (s TrustStore) read() (map[string]string, error) {
	m := map[string]string{}
	for _, p := range []string{filepath.Dir(s.Path), s.Path} {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); errors.Is(err, unix.ENOENT) {
			return m, nil
		} else if err != nil {
			return nil, fmt.Errorf("trust store %s: %w", p, err)
		}
		if uid := int(st.Uid); uid != 0 && uid != os.Geteuid() {
			return nil, fmt.Errorf("trust store %s: owned by uid %d, not root: refusing it", p, uid)
		}
		if st.Mode&0o022 != 0 {
			return nil, fmt.Errorf("trust store %s: mode %04o lets others write to it: refusing it (chmod go-w)", p, st.Mode&0o7777)
		}
	}
	b, err := os.ReadFile(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	} else if err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("trust store %s: %w", s.Path, err)
	}
	return m, nil
}

// canonical is path made absolute, symlinks resolved.
func canonical(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// hashFile returns path's canonical form and the sha256 of its content.
func hashFile(path string) (abs, sum string, err error) {
	abs, err = canonical(path)
	if err != nil {
		return "", "", fmt.Errorf("project profile: %w", err)
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return "", "", fmt.Errorf("project profile: %w", err)
	}
	h := sha256.Sum256(b)
	return abs, hex.EncodeToString(h[:]), nil
}
