package stage

import (
	"os/exec"
	"strings"
	"testing"
)

// The init stage is the launcher's binary re-executed; it enters Init from
// this package's init, so only this package's dependencies are initialised
// before it runs (the CLI, TOML, iptables, netlink and DNS packages never
// are). That is what keeps every launch's second Go start cheap, and it
// holds only while this package imports little: the standard library's
// basics and x/sys/unix. (test/lean_test.go bounds the start's cost.)

// heavyStd are standard packages this package must not depend on: each
// costs the init stage page faults or start-up work (encoding/json's first
// use alone cost it 50-70 faults), or pulls in much more.
var heavyStd = []string{
	"encoding/json", "encoding/xml", "encoding/gob", "regexp", "net", "crypto",
	"log", "text/template", "html/template", "flag", "mime", "compress", "archive",
	"database/sql", "image", "go/",
}

// allowedModules are the only packages from outside the standard library.
var allowedModules = []string{
	"golang.org/x/sys/unix",
	"github.com/nsjail-net/nsjail-net/sandbox/stage",
}

func TestStageImportsStayLean(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if .Standard}}std {{end}}{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, std := strings.CutPrefix(line, "std ")
		switch {
		case std:
			for _, h := range heavyStd {
				if path == h || strings.HasPrefix(path, strings.TrimSuffix(h, "/")+"/") || (strings.HasSuffix(h, "/") && strings.HasPrefix(path, h)) {
					t.Errorf("the init stage depends on %s (heavy: %s): keep it out of package stage", path, h)
				}
			}
		case !contains(allowedModules, path):
			t.Errorf("the init stage depends on %s, outside the standard library: only %v may be", path, allowedModules)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
