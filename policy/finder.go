package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/nsjail-net/nsjail-net/profiles"
)

// SystemDir is the system-wide profile directory.
const SystemDir = "/etc/nsjail-net/profiles"

// maxExtendsDepth bounds extends chains (cycles are reported before).
const maxExtendsDepth = 32

// Finder finds profiles by name: in Dirs, in order, then among the
// built-ins. The first hit wins, with one exception: a built-in name
// (offline, web, ...) is taken only from a file only root could have
// written (see Source.RootOnly); elsewhere a file of that name is ignored,
// so that nothing a sandboxed user can write changes what "offline" means.
type Finder struct {
	Dirs []string
	// Builtin holds the built-in profiles ("<name>.toml" at its root); nil
	// means profiles.FS, the ones embedded in the binary.
	Builtin fs.FS
	// UserDir is the invoking user's profile directory among Dirs (""
	// for none): built-in names are never taken from it, whatever its
	// owners. The sandboxed program may run as that user and can put a
	// directory there, or a link to one only root writes, before it
	// exists; the root-only check sees only where the link leads.
	UserDir string

	own owners
}

// NewFinder returns the standard search order: the extra directories
// (the repeatable --profiles-dir flag), then /etc/nsjail-net/profiles, then
// the invoking user's $XDG_CONFIG_HOME/nsjail-net/profiles, then the
// built-ins. See UserDir for who "the invoking user" is under sudo.
func NewFinder(extra []string) *Finder {
	dirs := append([]string(nil), extra...)
	dirs = append(dirs, SystemDir)
	d := UserDir(os.Getenv, lookupHome)
	if d != "" {
		dirs = append(dirs, d)
	}
	return &Finder{Dirs: dirs, UserDir: d}
}

// UserDir returns the invoking user's profile directory, ConfigDir +
// /profiles, or "" when none can be determined.
func UserDir(getenv func(string) string, home func(user string) (string, error)) string {
	if d := ConfigDir(getenv, home); d != "" {
		return filepath.Join(d, "profiles")
	}
	return ""
}

// InvokingConfigDir is ConfigDir from the environment and the user
// database.
func InvokingConfigDir() string { return ConfigDir(os.Getenv, lookupHome) }

// ConfigDir returns the invoking user's nsjail-net configuration
// directory: $XDG_CONFIG_HOME/nsjail-net when XDG_CONFIG_HOME is set (an
// absolute path); else, under sudo (SUDO_USER set), the home directory of
// SUDO_USER from the user database + /.config/nsjail-net, since sudo
// resets HOME to root's; else $HOME/.config/nsjail-net. It returns ""
// when none can be determined.
func ConfigDir(getenv func(string) string, home func(user string) (string, error)) string {
	const sub = "nsjail-net"
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

// isBuiltin tells whether name is the name of a built-in profile.
func (f *Finder) isBuiltin(name string) bool {
	_, err := fs.Stat(f.builtin(), name+".toml")
	return err == nil
}

// source is one profile file found, read into memory.
type source struct {
	name     string
	origin   string // canonical absolute path or "builtin"
	file     string // as shown in messages
	data     []byte
	dir      int  // found by name: index in Dirs, len(Dirs) for a built-in; -1 for a path
	rootOnly bool // see Source.RootOnly
}

// builtinSource is the built-in profile name, or nil if there is none.
func (f *Finder) builtinSource(name string) (*source, error) {
	data, err := readFS(f.builtin(), name+".toml")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading built-in profile %q: %w", name, err)
	}
	return &source{name: name, origin: OriginBuiltin, file: name + ".toml", data: data, dir: len(f.Dirs), rootOnly: true}, nil
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
		return f.find(ref, nil)
	}
	r, err := f.own.readPath(ref)
	if err != nil {
		return nil, fmt.Errorf("reading profile %q: %w", ref, err)
	}
	name := strings.TrimSuffix(filepath.Base(r.path), ".toml")
	return &source{name: name, origin: r.path, file: ref, data: r.data, dir: -1, rootOnly: r.rootOnly}, nil
}

// find looks name up in the search order. With after set to a file found
// by name, the search starts after it: a profile that extends its own name
// extends the one it shadows.
func (f *Finder) find(name string, after *source) (*source, error) {
	from := 0
	if after != nil {
		from = after.dir + 1
	}
	builtin := f.isBuiltin(name)
	for i := from; i < len(f.Dirs); i++ {
		src, err := f.findIn(i, name, builtin)
		if src != nil || err != nil {
			return src, err
		}
	}
	if from <= len(f.Dirs) {
		if src, err := f.builtinSource(name); src != nil || err != nil {
			return src, err
		}
	}
	msg := fmt.Sprintf("profile %q not found", name)
	if after != nil {
		msg = fmt.Sprintf("no profile %q after %s in the search order", name, after.origin)
	}
	msg += suggest(name, f.names()) + "; searched " + strings.Join(append(append([]string(nil), f.Dirs...), "built-ins"), ", ")
	return nil, &Error{Msg: msg, kind: ErrNotFound}
}

// findIn reads name from Dirs[i]; nil when it has none, or when name is
// a built-in name and the file is not one only root could have written.
func (f *Finder) findIn(i int, name string, builtin bool) (*source, error) {
	dir := f.Dirs[i]
	if builtin && dir == f.UserDir {
		return nil, nil
	}
	file := filepath.Join(dir, name+".toml")
	d, err := f.own.openDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("profile directory %q: %w", dir, err)
	}
	defer d.close()
	if builtin && !d.rootOnly {
		return nil, nil
	}
	r, err := d.read(f.own, name+".toml")
	if errors.Is(err, fs.ErrNotExist) || err == nil && builtin && !r.rootOnly {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading profile %q: %w", file, err)
	}
	return &source{name: name, origin: r.path, file: file, data: r.data, dir: i, rootOnly: r.rootOnly}, nil
}

// resolve parses src and applies its extends chain; chain holds the
// files that extend it, outermost first.
func (f *Finder) resolve(src *source, chain []*source) (*Profile, error) {
	l, err := parseLayer(src.file, src.name, src.origin, src.data)
	if err != nil {
		return nil, err
	}
	l.p.sources = []Source{src.record()}
	if l.p.Extends == "" {
		l.p.applyDefaults(l.set)
		return l.p, nil
	}
	at := l.p.src["extends"]
	if len(chain) >= maxExtendsDepth {
		return nil, at.errorf("extends chain longer than %d profiles", maxExtendsDepth)
	}
	var after *source
	if l.p.Extends == src.name && src.dir >= 0 {
		after = src
	}
	parent, err := f.find(l.p.Extends, after)
	if errors.Is(err, ErrNotFound) && after != nil {
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
