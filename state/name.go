package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// namesLock serialises every change to names/.
const namesLock = "names"

// MaxNameLen is the longest sandbox name.
const MaxNameLen = 31

// ValidName checks a sandbox name against ^[a-z0-9][a-z0-9_.-]{0,30}$ and
// says what is wrong. Names become file names (names/<name>) and
// /run/netns/<name>, so the check runs before anything is changed.
func ValidName(name string) error {
	switch {
	case name == "":
		return errors.New("name is empty")
	case len(name) > MaxNameLen:
		return fmt.Errorf("name is too long (%d chars, max %d)", len(name), MaxNameLen)
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("name %q contains NUL", name)
	case strings.IndexByte(name, '/') >= 0:
		return fmt.Errorf("name %q contains '/'", name)
	case name == "." || name == "..":
		return fmt.Errorf("name %q is a directory reference, not a name", name)
	}
	pos := 0
	for _, r := range name { // by rune, so the message shows the character
		pos++
		alnum := r < 0x80 && isLowerAlnum(byte(r))
		switch {
		case pos == 1 && !alnum:
			return fmt.Errorf("name %q: bad first char %q: must be a lowercase letter or a digit", name, r)
		case !alnum && r != '_' && r != '.' && r != '-':
			return fmt.Errorf("name %q: bad char %q at position %d (allowed: a-z 0-9 _ . -)", name, r, pos)
		}
	}
	return nil
}

func isLowerAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// nameClaim is the content of names/<name>.
type nameClaim struct {
	Name       string    `json:"name"`
	ID         string    `json:"id"`
	Owner      Owner     `json:"owner"`
	Created    time.Time `json:"created"`
	Persistent bool      `json:"persistent,omitempty"`
}

func (c *nameClaim) reclaimable() bool {
	return !c.Persistent && !c.Owner.Alive()
}

func (d *Dir) namePath(name string) string {
	return filepath.Join(d.Path, namesDir, name)
}

// ClaimName reserves name for sandbox id, owned by owner. The index file
// names/<name> is created O_EXCL, so uniqueness costs one file creation. A
// name held by a dead owner is reclaimed; one held by a live or persistent
// sandbox is refused with an error matching ErrNameTaken. Claiming a name
// the same id already holds succeeds.
func (d *Dir) ClaimName(name, id string, owner Owner) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if err := validID(id); err != nil {
		return fmt.Errorf("claiming name %q: %w", name, err)
	}
	b, err := json.Marshal(&nameClaim{Name: name, ID: id, Owner: owner, Created: time.Now().UTC()})
	if err != nil {
		return fmt.Errorf("encoding name %q: %w", name, err)
	}
	return d.withLock(namesLock, func() error {
		ok, cur, err := claimFile[nameClaim](d.namePath(name), b)
		switch {
		case err != nil:
			return fmt.Errorf("claiming name %q: %w", name, err)
		case ok || cur.ID == id:
			return nil
		case cur.Persistent:
			return fmt.Errorf("name %q %w by persistent sandbox %s", name, ErrNameTaken, cur.ID)
		default:
			return fmt.Errorf("name %q %w by sandbox %s (launcher %s)", name, ErrNameTaken, cur.ID, cur.Owner)
		}
	})
}

// readName reads names/<name>; a missing one matches ErrNotFound.
func (d *Dir) readName(name string) (*nameClaim, error) {
	var c nameClaim
	if err := readJSON(d.namePath(name), &c); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("name %q %w", name, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("reading name %q: %w", name, err)
	}
	return &c, nil
}

// NameHolder returns the id of the sandbox holding name, or "" when no
// sandbox holds it.
func (d *Dir) NameHolder(name string) (string, error) {
	if err := ValidName(name); err != nil {
		return "", err
	}
	c, err := d.readName(name)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	return c.ID, nil
}

// ReleaseName frees name if sandbox id holds it. A name not held is
// success; one held by another sandbox is refused with ErrNotOwner.
func (d *Dir) ReleaseName(name, id string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	return d.withLock(namesLock, func() error {
		c, err := d.readName(name)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if c.ID != id {
			return fmt.Errorf("releasing name %q for sandbox %s: %w (%s)", name, id, ErrNotOwner, c.ID)
		}
		if err := os.Remove(d.namePath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("releasing name %q: %w", name, err)
		}
		return nil
	})
}

// PersistName marks name, held by sandbox id, as persistent: kept when its
// owner dies, until ReleaseName. A name not held matches ErrNotFound, one
// held by another sandbox ErrNotOwner.
func (d *Dir) PersistName(name, id string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	return d.withLock(namesLock, func() error {
		c, err := d.readName(name)
		if err != nil {
			return err
		}
		if c.ID != id {
			return fmt.Errorf("persisting name %q for sandbox %s: %w (%s)", name, id, ErrNotOwner, c.ID)
		}
		c.Persistent = true
		b, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("encoding name %q: %w", name, err)
		}
		return writeFileAtomic(filepath.Join(d.Path, namesDir), name, b)
	})
}

// ReapNames removes, under Lock("names"), every name whose owner is dead
// (persistent ones excepted) and every name file that does not parse, and
// returns the names removed. For gc; it scans names/.
func (d *Dir) ReapNames() (reclaimed []string, err error) {
	err = d.withLock(namesLock, func() error {
		dir := filepath.Join(d.Path, namesDir)
		ents, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("listing names: %w", err)
		}
		var errs []error
		for _, e := range ents {
			name := e.Name()
			if isTempOrHidden(name) || ValidName(name) != nil {
				continue // not ours
			}
			var c nameClaim
			rerr := readJSON(d.namePath(name), &c)
			switch {
			case errors.Is(rerr, fs.ErrNotExist):
				continue
			case rerr != nil && !isParseError(rerr):
				errs = append(errs, rerr)
				continue
			case rerr == nil && !c.reclaimable():
				continue
			}
			if err := os.Remove(d.namePath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("removing name %q: %w", name, err))
				continue
			}
			reclaimed = append(reclaimed, name)
		}
		return errors.Join(errs...)
	})
	return reclaimed, err
}
