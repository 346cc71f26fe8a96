package main

import (
	"runtime/debug"
	"strings"
)

// version is set by "make build" (-ldflags "-X main.version=..."); any
// other build takes its version from what the Go toolchain embedded, see
// buildVersion.
var version = ""

// buildVersion is what --version and doctor print: the -ldflags value if
// there is one, else the module version ("go install ...@v1.2.3"), else
// the VCS revision the binary was built from (12 hex digits, "-dirty" when
// the tree had uncommitted changes), else "dev". Since Go 1.24 a build in
// a git checkout gets a pseudo-version (v0.0.0-20260102150405-0123456789ab)
// as its module version; the revision says the same, shorter.
func buildVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return versionFrom(version, bi)
}

func versionFrom(ldflags string, bi *debug.BuildInfo) string {
	if ldflags != "" {
		return ldflags
	}
	if bi == nil {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" && !isPseudoVersion(v) {
		return v // a tag: go install ...@v1.2.0, or a build at a tagged commit
	}
	var rev string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

// isPseudoVersion reports whether v is a Go pseudo-version, which ends
// (before any "+dirty") in "-YYYYMMDDhhmmss-" and 12 hex digits of a
// revision.
func isPseudoVersion(v string) bool {
	v, _, _ = strings.Cut(v, "+")
	if len(v) < 28 || v[len(v)-13] != '-' || v[len(v)-28] != '.' && v[len(v)-28] != '-' {
		return false
	}
	for i, c := range v[len(v)-27:] {
		switch {
		case i == 14:
			if c != '-' {
				return false
			}
		case i < 14 && (c < '0' || c > '9'),
			i > 14 && !strings.ContainsRune("0123456789abcdef", c):
			return false
		}
	}
	return true
}
