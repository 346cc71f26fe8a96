package profiles_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/nsjail-net/nsjail-net/policy"
	"github.com/nsjail-net/nsjail-net/profiles"
)

// TestBuiltinsLoad loads every built-in profile through a Finder with no
// directories, and checks what the issue promises of each.
func TestBuiltinsLoad(t *testing.T) {
	ents, err := fs.ReadDir(profiles.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	f := &policy.Finder{}
	seen := map[string]*policy.Profile{}
	for _, de := range ents {
		name := strings.TrimSuffix(de.Name(), ".toml")
		t.Run(name, func(t *testing.T) {
			p, err := f.Load(name)
			if err != nil {
				t.Fatalf("Load(%q): %v", name, err)
			}
			if p.Origin != policy.OriginBuiltin || p.Description == "" {
				t.Errorf("origin %q, description %q", p.Origin, p.Description)
			}
			seen[name] = p
		})
	}
	for _, want := range []string{"offline", "web", "open", "dev"} {
		if seen[want] == nil {
			t.Errorf("built-in %q missing", want)
		}
	}
	if p := seen["offline"]; p != nil && p.Network.Mode != policy.ModeLoopback {
		t.Errorf("offline: mode %q", p.Network.Mode)
	}
	if p := seen["open"]; p != nil && (p.Firewall.Default != policy.ActionAllow || p.Firewall.AllowHost || p.Firewall.AllowPrivate || p.Firewall.AllowSandboxes) {
		t.Errorf("open: %+v", p.Firewall)
	}
	if p := seen["web"]; p != nil && (p.Firewall.Default != policy.ActionDeny || len(p.Firewall.Rules) != 1) {
		t.Errorf("web: %+v", p.Firewall)
	}
	if p := seen["dev"]; p != nil {
		var ports []uint16
		for _, r := range p.Firewall.Rules {
			for _, pr := range r.Ports {
				ports = append(ports, pr.Lo)
			}
		}
		if got := len(ports); got != 4 || ports[0] != 22 || ports[1] != 9418 {
			t.Errorf("dev ports %v, want 22, 9418, then web's 80, 443", ports)
		}
	}
}
