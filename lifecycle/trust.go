package lifecycle

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/nsjail-net/nsjail-net/policy"
)

// DefaultTrustStore records the profiles the administrator reviewed: see
// TrustStore.
const DefaultTrustStore = "/var/lib/nsjail-net/trusted.json"

// Sentinel errors of TrustStore.Check and Admit.
var (
	// ErrUntrusted: the profile was never trusted.
	ErrUntrusted = errors.New("is not trusted")
	// ErrChanged: a file of the profile's extends chain differs from what
	// was trusted, or the chain is not the one trusted.
	ErrChanged = errors.New("changed since it was trusted")
)

// TrustStore is a trust store file: for each trusted profile, by the
// canonical path of its file, the path and SHA-256 of every file of its
// extends chain (built-ins, which come with the binary, excepted). Its
// directory is created 0700 and the file written 0600, atomically (temp
// file and rename) under a flock, and refused when another user could have
// written it.
type TrustStore struct {
	Path string
}

// Admit checks p against DefaultTrustStore; see TrustStore.Admit.
func Admit(p *policy.Profile, project bool) error {
	return TrustStore{Path: DefaultTrustStore}.Admit(p, project)
}

// Admit decides whether p may set up a sandbox. A project profile (found
// in the working directory, not named by the caller) must always be
// trusted; any other profile must be when a file of its extends chain is
// not one only root could have written (policy.Source.RootOnly): otherwise
// whoever can write it, the sandboxed program included, decides the
// policy of the next run.
func (s TrustStore) Admit(p *policy.Profile, project bool) error {
	if !project && p.RootOnly() {
		return nil
	}
	return s.check(p, project)
}

// Check returns nil if every file of p's extends chain, as Load read it,
// is what was trusted for p, else an error matching ErrUntrusted or
// ErrChanged that names the file and the command to run.
func (s TrustStore) Check(p *policy.Profile) error { return s.check(p, false) }

func (s TrustStore) check(p *policy.Profile, project bool) error {
	files, err := chainFiles(p)
	if err != nil {
		return err
	}
	root := files[0].Path
	m, err := s.read()
	if err != nil {
		return err
	}
	rec, ok := m[root]
	if !ok {
		return untrusted(p, root, project)
	}
	for i, f := range files {
		switch {
		case i >= len(rec.Files) || rec.Files[i].Path != f.Path:
			return fmt.Errorf("profile %s %w: it now extends %s, which was not part of it then; review it, then run `nsjail-net trust %s`", root, ErrChanged, f.Path, root)
		case rec.Files[i].SHA256 != f.SHA256 && i == 0:
			return fmt.Errorf("%s %w: review it, then run `nsjail-net trust %s`", f.Path, ErrChanged, root)
		case rec.Files[i].SHA256 != f.SHA256:
			return fmt.Errorf("%s, which %s extends, %w: review it, then run `nsjail-net trust %s`", f.Path, root, ErrChanged, root)
		}
	}
	if len(rec.Files) != len(files) {
		return fmt.Errorf("profile %s %w: it no longer extends %s; review it, then run `nsjail-net trust %s`", root, ErrChanged, rec.Files[len(files)].Path, root)
	}
	return nil
}

// Trust records every file of p's extends chain, as Load read and
// validated it, under the path of p's own file; it returns what it
// recorded.
func (s TrustStore) Trust(p *policy.Profile) ([]TrustedFile, error) {
	files, err := chainFiles(p)
	if err != nil {
		return nil, err
	}
	err = s.update(func(m map[string]trustRecord) { m[files[0].Path] = trustRecord{Files: files} })
	return files, err
}

// Revoke forgets path, and reports whether the store had it.
func (s TrustStore) Revoke(path string) (bool, error) {
	abs, err := canonical(path)
	if err != nil {
		abs = path
	}
	had := false
	err = s.update(func(m map[string]trustRecord) {
		_, had = m[abs]
		delete(m, abs)
	})
	return had, err
}

// untrusted is the error for a profile the store has no record of.
func untrusted(p *policy.Profile, root string, project bool) error {
	const todo = "review it and every file it extends, then run `nsjail-net trust %s`"
	if project {
		return fmt.Errorf("project profile %s %w: "+todo+" (or pass --profile)", root, ErrUntrusted, root)
	}
	switch w := firstWritable(p); {
	case w == root:
		return fmt.Errorf("profile %s %w (users other than root could have written it): "+todo, root, ErrUntrusted, root)
	case w != "":
		return fmt.Errorf("profile %s %w (it extends %s, which users other than root could have written): "+todo, root, ErrUntrusted, w, root)
	}
	return fmt.Errorf("profile %s %w: "+todo, root, ErrUntrusted, root)
}

// chainFiles lists the files of p's chain that a trust record covers:
// all but the built-ins.
func chainFiles(p *policy.Profile) ([]TrustedFile, error) {
	srcs := p.Sources()
	if len(srcs) == 0 {
		return nil, fmt.Errorf("profile %q: not read from files, so there is nothing to trust", p.Name)
	}
	if srcs[0].Path == policy.OriginBuiltin {
		return nil, fmt.Errorf("profile %q is built in: it needs no trust", p.Name)
	}
	var files []TrustedFile
	for _, src := range srcs {
		if src.Path != policy.OriginBuiltin {
			files = append(files, TrustedFile{Path: src.Path, SHA256: src.SHA256})
		}
	}
	return files, nil
}

// firstWritable names the first file of p's chain that a user other than
// root could have written.
func firstWritable(p *policy.Profile) string {
	for _, src := range p.Sources() {
		if !src.RootOnly {
			return src.Path
		}
	}
	return ""
}

// canonical is path made absolute, symlinks resolved.
func canonical(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}
