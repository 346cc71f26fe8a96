package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// holder is a record that can say whether it may be taken from its holder.
type holder interface {
	reclaimable() bool
}

// claimFile creates path with content b (O_EXCL). If the file exists and its
// record T is still held (live or persistent owner), it returns false and
// that record. A record whose owner is dead, or a file that does not parse
// (the remains of a crashed write: every writer holds the kind's lock), is
// replaced. The caller holds the lock of the kind (leases, names).
func claimFile[T any, P interface {
	*T
	holder
}](path string, b []byte) (created bool, current P, err error) {
	err = createExclusive(path, b)
	if err == nil {
		return true, nil, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return false, nil, fmt.Errorf("creating: %w", err)
	}
	old := P(new(T))
	switch err := readJSON(path, old); {
	case err == nil:
		if !old.reclaimable() {
			return false, old, nil
		}
	case errors.Is(err, fs.ErrNotExist), isParseError(err):
		// Gone meanwhile, or the remains of a crashed write: take it.
	default:
		return false, nil, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, nil, fmt.Errorf("reclaiming: %w", err)
	}
	if err := createExclusive(path, b); err != nil {
		return false, nil, fmt.Errorf("creating: %w", err)
	}
	return true, nil, nil
}
