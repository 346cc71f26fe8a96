package policy

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Sentinel errors, for errors.Is on what Load and friends return.
var (
	// ErrNotFound: no profile of that name in any search directory.
	ErrNotFound = errors.New("profile not found")
	// ErrCycle: the extends chain comes back to a profile already in it.
	ErrCycle = errors.New("extends cycle")
	// ErrInvalid: the profile (or a flag) does not decode or validate.
	ErrInvalid = errors.New("invalid profile")
)

// Error is a problem at a position in a profile file, or in a command-line
// flag (then Line and Col are 0 and File names the flag, e.g.
// `--allow "tcp:1.2.3.0/24:99999"`).
//
// It renders as "file:line:col: msg", or "file: msg" without a position.
type Error struct {
	File      string
	Line, Col int
	Msg       string

	kind error // sentinel returned by Unwrap; ErrInvalid when nil
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.File != "":
		return e.File + ": " + e.Msg
	default:
		return e.Msg
	}
}

// Unwrap returns the sentinel this error is an instance of (ErrInvalid,
// ErrNotFound or ErrCycle).
func (e *Error) Unwrap() error {
	if e.kind == nil {
		return ErrInvalid
	}
	return e.kind
}

// pos is a position in a file: what an *Error needs besides the message.
type pos struct {
	file      string
	line, col int
}

func (p pos) errorf(format string, args ...any) *Error {
	return &Error{File: p.file, Line: p.line, Col: p.col, Msg: fmt.Sprintf(format, args...)}
}

// errList collects errors in order; err() joins them (nil when empty).
type errList []error

func (l *errList) add(err error) {
	if err != nil {
		*l = append(*l, err)
	}
}

func (l errList) err() error {
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	default:
		return errors.Join(l...)
	}
}

// suggest returns ` (did you mean "x"?)` for the candidate closest to s, or
// "" when none is close enough.
func suggest(s string, candidates []string) string {
	best := Closest(s, candidates)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// Closest is the candidate closest to s, a likely typo of it, or "" when
// none is close enough: at most one edit per four characters (at least
// one), an adjacent transposition counting as one. The command line uses
// it for its "did you mean" too, so both spell-check alike.
func Closest(s string, candidates []string) string {
	best, bestD := "", max(1, len(s)/4)+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD && d > 0 {
			best, bestD = c, d
		}
	}
	return best
}

// quoteList renders allowed values: `"a", "b"`.
func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// editDistance is the Levenshtein distance of a and b (bytes), with
// adjacent transpositions counting as one edit.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
