package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Entry is one profile as listed by List.
type Entry struct {
	Name        string
	Origin      string // canonical absolute path or "builtin"
	Description string
	// ShadowedBy is the origin of the profile of the same name that wins,
	// or "" for the one Load would pick.
	ShadowedBy string
	// Ignored: a file with a built-in name that Load passes over, because
	// users other than root could have written it (see Finder).
	Ignored bool
	// Err is set when the file does not decode or validate on its own
	// (extends is not resolved here).
	Err error
}

// List returns every profile in the search order, sorted by name; among
// profiles of the same name the winner comes first and the others carry
// ShadowedBy.
func (f *Finder) List() ([]Entry, error) {
	var out []Entry
	for _, dir := range f.Dirs {
		ents, err := f.listDir(dir)
		if err != nil {
			return nil, err
		}
		out = append(out, ents...)
	}
	ents, err := fs.ReadDir(f.builtin(), ".")
	if err != nil {
		return nil, fmt.Errorf("listing built-in profiles: %w", err)
	}
	for _, de := range ents {
		if name, ok := strings.CutSuffix(de.Name(), ".toml"); ok {
			data, err := readFS(f.builtin(), de.Name())
			out = append(out, entry(name, OriginBuiltin, de.Name(), data, err))
		}
	}
	winner := map[string]string{}
	for i := range out {
		if out[i].Ignored {
			continue
		}
		if w, ok := winner[out[i].Name]; ok {
			out[i].ShadowedBy = w
		} else {
			winner[out[i].Name] = out[i].Origin
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// listDir lists the profiles in one search directory, read as Load reads
// them.
func (f *Finder) listDir(dir string) ([]Entry, error) {
	d, err := f.own.openDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing profile directory %q: %w", dir, err)
	}
	defer d.close()
	ents, err := os.ReadDir(d.path)
	if err != nil {
		return nil, fmt.Errorf("listing profile directory %q: %w", dir, err)
	}
	var out []Entry
	for _, de := range ents {
		name, ok := strings.CutSuffix(de.Name(), ".toml")
		if !ok || de.IsDir() || checkProfileName(name) != nil {
			continue
		}
		file := filepath.Join(dir, de.Name())
		origin := filepath.Join(d.path, de.Name())
		builtin := f.isBuiltin(name)
		if builtin && !d.rootOnly {
			out = append(out, Entry{Name: name, Origin: origin, Ignored: true})
			continue
		}
		r, err := d.read(f.own, de.Name())
		if err != nil {
			out = append(out, Entry{Name: name, Origin: origin, Err: fmt.Errorf("reading profile %q: %w", file, err)})
			continue
		}
		e := entry(name, r.path, file, r.data, nil)
		e.Ignored = builtin && !r.rootOnly
		out = append(out, e)
	}
	return out, nil
}

func entry(name, origin, file string, data []byte, err error) Entry {
	e := Entry{Name: name, Origin: origin}
	if err != nil {
		e.Err = fmt.Errorf("reading profile %q: %w", file, err)
		return e
	}
	l, err := parseLayer(file, name, origin, data)
	if err != nil {
		e.Err = err
		return e
	}
	e.Description = l.p.Description
	return e
}
