package policy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nsjail-net/nsjail-net/profiles"
)

// SystemDir is the system-wide profile directory.
const SystemDir = "/etc/nsjail-net/profiles"

// maxExtendsDepth bounds extends chains (cycles are reported before).
const maxExtendsDepth = 32

// Finder finds profiles by name: in Dirs, in order, then among the
// built-ins. The first hit wins.
type Finder struct {
	Dirs []string
	// Builtin holds the built-in profiles ("<name>.toml" at its root); nil
	// means profiles.FS, the ones embedded in the binary.
	Builtin fs.FS
}

// NewFinder returns the standard search order: the extra directories
// (the repeatable --profiles-dir flag), then /etc/nsjail-net/profiles, then
// the invoking user's $XDG_CONFIG_HOME/nsjail-net/profiles, then the
// built-ins. See UserDir for who "the invoking user" is under sudo.
func NewFinder(extra []string) *Finder {
	dirs := append([]string(nil), extra...)
	dirs = append(dirs, SystemDir)
	if d := UserDir(os.Getenv, lookupHome); d != "" {
		dirs = append(dirs, d)
	}
	return &Finder{Dirs: dirs}
}

// UserDir returns the invoking user's profile directory:
// $XDG_CONFIG_HOME/nsjail-net/profiles when XDG_CONFIG_HOME is set (an
// absolute path); else, under sudo (SUDO_USER set), the home directory of
// SUDO_USER from the user database + /.config/nsjail-net/profiles, since
// sudo resets HOME to root's; else $HOME/.config/nsjail-net/profiles.
// It returns "" when none can be determined.
func UserDir(getenv func(string) string, home func(user string) (string, error)) string {
	const sub = "nsjail-net/profiles"
	if x := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, sub)
	}
	if u := getenv("SUDO_USER"); u != "" && u != "root" {
		if h, err := home(u); err == nil && filepath.IsAbs(h) {
			return filepath.Join(h, ".config", sub)
		}
	}
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".config", sub)
	}
	return ""
}

func lookupHome(name string) (string, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return "", fmt.Errorf("looking up user %q: %w", name, err)
	}
	return u.HomeDir, nil
}

func (f *Finder) builtin() fs.FS {
	if f.Builtin == nil {
		return profiles.FS
	}
	return f.Builtin
}

// IsPath tells whether a --profile value is a path (it contains '/' or
// ends in ".toml") rather than a name.
func IsPath(ref string) bool {
	return strings.Contains(ref, "/") || strings.HasSuffix(ref, ".toml")
}

// source is one profile file found, read into memory.
type source struct {
	name   string
	origin string // absolute path or "builtin"
	file   string // as shown in messages
	data   []byte
	search bool // found by name in the search order
}

// Load returns the effective profile for ref, a name or a path: decoded,
// validated, with its extends chain applied and defaults filled in.
func (f *Finder) Load(ref string) (*Profile, error) {
	src, err := f.open(ref)
	if err != nil {
		return nil, err
	}
	p, err := f.resolve(src, nil)
	if err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	return p, nil
}

// open reads the file ref names.
func (f *Finder) open(ref string) (*source, error) {
	if !IsPath(ref) {
		if e := checkProfileName(ref); e != nil {
			return nil, &Error{Msg: e.String()}
		}
		return f.find(ref, "")
	}
	abs, err := filepath.Abs(ref)
	if err != nil {
		return nil, fmt.Errorf("profile %q: %w", ref, err)
	}
	data, err := readFile(abs)
	if err != nil {
		return nil, fmt.Errorf("reading profile %q: %w", ref, err)
	}
	return &source{name: strings.TrimSuffix(filepath.Base(abs), ".toml"), origin: abs, file: ref, data: data}, nil
}

// find looks name up in the search order. With after set to the origin
// of a file found by name, the search starts after that file: a profile
// that extends its own name extends the one it shadows.
func (f *Finder) find(name, after string) (*source, error) {
	skipping := after != ""
	for _, dir := range f.Dirs {
		file := filepath.Join(dir, name+".toml")
		abs, err := filepath.Abs(file)
		if err != nil {
			return nil, fmt.Errorf("profile directory %q: %w", dir, err)
		}
		if skipping {
			skipping = abs != after
			continue
		}
		data, err := readFile(abs)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading profile %q: %w", file, err)
		}
		return &source{name: name, origin: abs, file: file, data: data, search: true}, nil
	}
	if after != OriginBuiltin {
		data, err := readFS(f.builtin(), name+".toml")
		if err == nil {
			return &source{name: name, origin: OriginBuiltin, file: name + ".toml", data: data, search: true}, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("reading built-in profile %q: %w", name, err)
		}
	}
	msg := fmt.Sprintf("profile %q not found", name)
	if after != "" {
		msg = fmt.Sprintf("no profile %q after %s in the search order", name, after)
	}
	msg += suggest(name, f.names()) + "; searched " + strings.Join(append(append([]string(nil), f.Dirs...), "built-ins"), ", ")
	return nil, &Error{Msg: msg, kind: ErrNotFound}
}

// readFile reads a profile from the file system, at most
// maxProfileSize+1 bytes (decodeRaw rejects larger ones).
func readFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory", path)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return io.ReadAll(io.LimitReader(fh, maxProfileSize+1))
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

// resolve parses src and applies its extends chain; chain holds the
// files that extend it, outermost first.
func (f *Finder) resolve(src *source, chain []*source) (*Profile, error) {
	l, err := parseLayer(src.file, src.name, src.origin, src.data)
	if err != nil {
		return nil, err
	}
	if l.p.Extends == "" {
		l.p.applyDefaults(l.set)
		return l.p, nil
	}
	at := l.p.src["extends"]
	if len(chain) >= maxExtendsDepth {
		return nil, at.errorf("extends chain longer than %d profiles", maxExtendsDepth)
	}
	after := ""
	if l.p.Extends == src.name && src.search {
		after = src.origin
	}
	parent, err := f.find(l.p.Extends, after)
	if errors.Is(err, ErrNotFound) && after != "" {
		e := at.errorf("unknown profile %q in extends: a profile that extends its own name extends the one it shadows, and no profile %q comes after this one in the search order", l.p.Extends, l.p.Extends)
		e.kind = ErrNotFound
		return nil, e
	}
	if errors.Is(err, ErrNotFound) {
		e := at.errorf("unknown profile %q in extends%s", l.p.Extends, suggest(l.p.Extends, f.names()))
		e.kind = ErrNotFound
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	chain = append(chain, src)
	for i, c := range chain {
		if c.origin == parent.origin && c.name == parent.name {
			names := make([]string, 0, len(chain)+1)
			for _, c := range chain[i:] {
				names = append(names, c.name)
			}
			e := at.errorf("extends cycle: %s -> %s", strings.Join(names, " -> "), parent.name)
			e.kind = ErrCycle
			return nil, e
		}
	}
	pp, err := f.resolve(parent, chain)
	if err != nil {
		return nil, err
	}
	return merge(pp, l), nil
}

// Entry is one profile as listed by List.
type Entry struct {
	Name        string
	Origin      string // absolute path or "builtin"
	Description string
	// ShadowedBy is the origin of the profile of the same name that wins,
	// or "" for the one Load would pick.
	ShadowedBy string
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
		ents, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("listing profile directory %q: %w", dir, err)
		}
		for _, de := range ents {
			name, ok := strings.CutSuffix(de.Name(), ".toml")
			if !ok || de.IsDir() || checkProfileName(name) != nil {
				continue
			}
			file := filepath.Join(dir, de.Name())
			abs, err := filepath.Abs(file)
			if err != nil {
				return nil, fmt.Errorf("profile %q: %w", file, err)
			}
			data, err := readFile(abs)
			out = append(out, entry(name, abs, file, data, err))
		}
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
		if w, ok := winner[out[i].Name]; ok {
			out[i].ShadowedBy = w
		} else {
			winner[out[i].Name] = out[i].Origin
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
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

// names lists every profile name in the search order (for suggestions).
func (f *Finder) names() []string {
	seen := map[string]bool{}
	for _, dir := range f.Dirs {
		ents, _ := os.ReadDir(dir)
		for _, de := range ents {
			if n, ok := strings.CutSuffix(de.Name(), ".toml"); ok {
				seen[n] = true
			}
		}
	}
	ents, _ := fs.ReadDir(f.builtin(), ".")
	for _, de := range ents {
		if n, ok := strings.CutSuffix(de.Name(), ".toml"); ok {
			seen[n] = true
		}
	}
	return sortedKeys(seen)
}
