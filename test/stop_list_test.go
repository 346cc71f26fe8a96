package test

import (
	"strings"
	"testing"
)

// TestStopPersistentThenListQuiet: stop returns once a persistent sandbox
// is gone, so the very next list does not show it; list -q prints names,
// and the id of a sandbox started without one.
func TestStopPersistentThenListQuiet(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	wantCode(t, l.NSJ(t, "create", "--profile", "open", "keep1"), 0)
	_, _, waitNamed := background(t, l, "run", "--name", "named1", "--", "sleep", "600")
	_, _, waitUnnamed := background(t, l, "run", "--", "sleep", "601")
	var listed []listedSandbox
	waitFor(t, func() bool { listed = listJSON(t, l); return len(listed) == 3 })
	var want, unnamed string // list's order: oldest first
	for _, s := range listed {
		if s.Name == "keep1" || s.Name == "named1" {
			want += s.Name + "\n"
		} else {
			want, unnamed = want+s.ID+"\n", s.ID
		}
	}

	r := l.NSJ(t, "list", "-q")
	wantCode(t, r, 0)
	if r.Stdout != want {
		t.Errorf("list -q:\n%s\nwant:\n%s", r.Stdout, want)
	}

	// In one shell, so nothing but the next command's start separates them.
	bin := shellQuote(l.Bin(t))
	r = l.Run(t, "sh", "-c", bin+" stop keep1 && "+bin+" list -q && "+bin+" exec keep1 -- true")
	if r.Code != 125 || strings.Contains(r.Stdout, "keep1") || !strings.Contains(r.Stderr, `no live sandbox named "keep1"`) {
		t.Errorf("stop keep1, then at once list -q and exec keep1: %s\nstdout: %q\nstderr: %q\nwant keep1 not listed, exec 125: no live sandbox", r, r.Stdout, r.Stderr)
	}
	// Its name is free at once.
	wantCode(t, l.NSJ(t, "create", "--profile", "open", "keep1"), 0)
	wantCode(t, l.NSJ(t, "delete", "keep1"), 0)

	wantCode(t, l.NSJ(t, "stop", "named1"), 0)
	wantCode(t, l.NSJ(t, "stop", unnamed), 0)
	if r := l.NSJ(t, "list", "-q"); r.Stdout != "" {
		t.Errorf("list -q with no sandbox: %q", r.Stdout)
	}
	waitNamed()
	waitUnnamed()
}
