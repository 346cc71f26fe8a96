package lifecycle

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// TrustedFile is one file of a trusted profile's extends chain.
type TrustedFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// trustRecord is what the store keeps for one profile: its own file first,
// then its parents in extends order. In the file it is an object
// {"files": [...]}; stores written before extends chains were covered hold
// the file's SHA-256 as a plain string, read as a chain of that file alone.
type trustRecord struct {
	Files []TrustedFile `json:"files"`
}

// trustStoreFile is the store's content, by the path of each profile.
type trustStoreFile map[string]trustRecord

func (m *trustStoreFile) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*m = trustStoreFile{}
	for path, v := range raw {
		var sum string
		if json.Unmarshal(v, &sum) == nil {
			(*m)[path] = trustRecord{Files: []TrustedFile{{Path: path, SHA256: sum}}}
			continue
		}
		var rec trustRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("entry %q: %w", path, err)
		}
		(*m)[path] = rec
	}
	return nil
}

// update applies f to the store under its lock and writes it back.
func (s TrustStore) update(f func(map[string]trustRecord)) error {
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
func (s TrustStore) read() (trustStoreFile, error) {
	m := trustStoreFile{}
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
