package dns

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadPattern is returned (wrapped) by CompilePatterns for a pattern that
// is not a domain name or a "*.example.com" wildcard.
var ErrBadPattern = errors.New("bad name pattern")

// Pattern is a compiled name pattern: an exact name ("example.com") or a
// wildcard ("*.example.com") that matches every name strictly below its
// base, at any depth, but not the base itself.
type Pattern struct {
	// suffix is the lower-case name without its trailing dot; for a
	// wildcard it keeps a leading dot (".example.com"), so that a match is
	// a plain suffix comparison that cannot stop inside a label.
	suffix   string
	wildcard bool
}

// String renders the pattern as written in a profile.
func (p Pattern) String() string {
	if p.wildcard {
		return "*" + p.suffix
	}
	return p.suffix
}

// Match tells whether name (presentation format, any case, trailing dot
// optional) matches the pattern. Names carrying escapes ("\." or "\097")
// never match: they cannot be compared as text, and refusing them errs on
// the side of denying.
func (p Pattern) Match(name string) bool {
	name = strings.TrimSuffix(name, ".")
	if strings.IndexByte(name, '\\') >= 0 {
		return false
	}
	if p.wildcard {
		return len(name) > len(p.suffix) && asciiEqualFold(name[len(name)-len(p.suffix):], p.suffix)
	}
	return asciiEqualFold(name, p.suffix)
}

// MatchAny tells whether name matches any of ps.
func MatchAny(ps []Pattern, name string) bool {
	for i := range ps {
		if ps[i].Match(name) {
			return true
		}
	}
	return false
}

// CompilePatterns compiles names and "*.example.com" patterns, as validated
// by the policy package. It checks them again, more loosely (the policy
// package gives the user-facing messages), and wraps ErrBadPattern.
func CompilePatterns(ps []string) ([]Pattern, error) {
	out := make([]Pattern, 0, len(ps))
	var errs []error
	for _, s := range ps {
		p, err := compilePattern(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func compilePattern(s string) (Pattern, error) {
	bad := func(why string) (Pattern, error) {
		return Pattern{}, fmt.Errorf("%w %q: %s", ErrBadPattern, s, why)
	}
	name := strings.ToLower(strings.TrimSuffix(s, "."))
	var p Pattern
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		p.wildcard = true
		name = rest
	}
	switch {
	case name == "":
		return bad("empty name")
	case len(name) > 253:
		return bad("longer than 253 characters")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" {
			return bad("empty label")
		}
		if len(label) > 63 {
			return bad("label longer than 63 characters")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return bad(fmt.Sprintf("character %q not allowed", c))
			}
		}
	}
	if p.wildcard {
		p.suffix = "." + name
	} else {
		p.suffix = name
	}
	return p, nil
}

// asciiEqualFold compares two strings, folding only ASCII letters: DNS
// names compare case-insensitively in ASCII alone (RFC 4343), and
// strings.EqualFold would also fold, for example, the Kelvin sign into "k".
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// sameName compares two domain names, ignoring case and a trailing dot.
func sameName(a, b string) bool {
	return asciiEqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}
