package policy

import (
	"strings"
	"testing"
)

func TestSimpleName(t *testing.T) {
	for _, tc := range []struct {
		s     string
		max   int
		upper bool
		want  bool
	}{
		{"web", 64, false, true},
		{"a1_b.c-d", 64, false, true},
		{"9lives", 64, false, true},
		{"", 64, false, false},
		{"-web", 64, false, false},
		{".web", 64, false, false},
		{"_web", 64, false, false},
		{"Web", 64, false, false},
		{"Web", 64, true, true},
		{"a/b", 64, true, false},
		{"a b", 64, true, false},
		{"é", 64, true, false},
		{strings.Repeat("a", 64), 64, false, true},
		{strings.Repeat("a", 65), 64, false, false},
	} {
		if got := simpleName(tc.s, tc.max, tc.upper); got != tc.want {
			t.Errorf("simpleName(%q, %d, %v) = %v, want %v", tc.s, tc.max, tc.upper, got, tc.want)
		}
	}
}
