package policy

// Source is one file a loaded profile was built from, as Finder.Load read
// it: the profile's own file or one of its extends chain.
type Source struct {
	Name string
	// Path is the file's canonical absolute path, or OriginBuiltin.
	Path string
	// SHA256 is the hex SHA-256 of exactly the bytes that were parsed.
	SHA256 string
	// RootOnly: only root could have written it. A built-in; or a regular
	// file owned by root that group and others may not write, in
	// directories owned by root that group and others may not write
	// (unless sticky, as /tmp is: there they cannot replace root's files).
	RootOnly bool
}

// Sources lists the files p was built from: its own first, then each
// parent in extends order. It is empty for a profile not made by
// Finder.Load.
func (p *Profile) Sources() []Source {
	return append([]Source(nil), p.sources...)
}

// RootOnly tells whether only root could have written every file p was
// built from (false when p has no sources).
func (p *Profile) RootOnly() bool {
	for _, s := range p.sources {
		if !s.RootOnly {
			return false
		}
	}
	return len(p.sources) > 0
}

// source turns what was read into the record kept on the profile.
func (s *source) record() Source {
	return Source{Name: s.name, Path: s.origin, SHA256: sha256Hex(s.data), RootOnly: s.rootOnly}
}
