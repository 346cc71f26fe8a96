package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// writeProfiles writes name -> content into a new directory.
func writeProfiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name+".toml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// testFinder searches dirs, then testBuiltins. Files of the user running
// the test count as root's, so that tests pass as any user; tests of who
// may write what make files writable by others instead.
func testFinder(dirs ...string) *Finder {
	return &Finder{Dirs: dirs, Builtin: testBuiltins(), own: owners{alsoRoot: uint32(os.Getuid())}}
}

func testBuiltins() fstest.MapFS {
	return fstest.MapFS{
		"web.toml":     {Data: []byte("description = \"builtin web\"\n[[firewall.rules]]\naction = \"allow\"\nproto = \"tcp\"\nports = [80, 443]\n")},
		"offline.toml": {Data: []byte("description = \"builtin offline\"\n[network]\nmode = \"loopback\"\n")},
	}
}

func TestLoadErrors(t *testing.T) {
	dir := writeProfiles(t, map[string]string{
		"a":        "extends = \"b\"\n",
		"b":        "description = \"b\"\nextends = \"a\"\n",
		"self":     "# comment\nextends = \"self\"\n",
		"typo":     "extends = \"wbe\"\n",
		"badchild": "extends = \"broken\"\n",
		"broken":   "[network]\nmode = 5\n",
		"lo":       "extends = \"offline\"\n[[publish]]\nhost_port = 80\nsandbox_port = 80\n",
	})
	f := testFinder(dir)
	tests := []struct {
		ref  string
		want string
		is   error
	}{
		{"a", fmt.Sprintf("%s/b.toml:2:11: extends cycle: a -> b -> a", dir), ErrCycle},
		{"b", fmt.Sprintf("%s/a.toml:1:11: extends cycle: b -> a -> b", dir), ErrCycle},
		{"self", fmt.Sprintf(`%s/self.toml:2:11: unknown profile "self" in extends: a profile that extends its own name extends the one it shadows, and no profile "self" comes after this one in the search order`, dir), ErrNotFound},
		{"typo", fmt.Sprintf(`%s/typo.toml:1:11: unknown profile "wbe" in extends (did you mean "web"?)`, dir), ErrNotFound},
		{"badchild", fmt.Sprintf(`%s/broken.toml:2:8: network.mode must be a string, got integer 5`, dir), ErrInvalid},
		{"lo", fmt.Sprintf(`%s/lo.toml:2:1: publish needs network.mode "bridge", but the mode is "loopback"`, dir), ErrInvalid},
		{"nosuch", `profile "nosuch" not found; searched ` + dir + `, built-ins`, ErrNotFound},
		{"webb", `profile "webb" not found (did you mean "web"?); searched ` + dir + `, built-ins`, ErrNotFound},
		{"Bad/..", `reading profile "Bad/..": `, nil},
		{"UPPER", `bad profile name "UPPER": names are 1-64 of a-z, 0-9, '_', '.', '-', start with a letter or digit, and have no ".."`, ErrInvalid},
		{"./missing.toml", `reading profile "./missing.toml": open `, fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			_, err := f.Load(tt.ref)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got  %q\nwant %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v) = false", tt.is)
			}
		})
	}
}

func TestSelfExtendsShadowed(t *testing.T) {
	// /etc-like dir overrides the built-in web by extending it.
	dir := writeProfiles(t, map[string]string{
		"web": "description = \"site web\"\nextends = \"web\"\n[[firewall.rules]]\naction = \"allow\"\nproto = \"tcp\"\nports = [8443]\n",
	})
	f := testFinder(dir)
	p, err := f.Load("web")
	if err != nil {
		t.Fatal(err)
	}
	if p.Origin != filepath.Join(dir, "web.toml") || p.Description != "site web" || len(p.Firewall.Rules) != 2 ||
		p.Firewall.Rules[0].Ports[0].Lo != 8443 || p.Firewall.Rules[1].Ports[0].Lo != 80 {
		t.Errorf("got %+v", p)
	}
}

func TestExtendsMerge(t *testing.T) {
	dir := writeProfiles(t, map[string]string{
		"parent": `description = "parent"
[network]
ipv6 = true
[dns]
servers = ["192.0.2.1"]
search = ["p.example"]
[firewall]
default = "allow"
allow_host = true
[[firewall.rules]]
action = "deny"
proto = "tcp"
comment = "parent rule"
[[publish]]
host_port = 8080
sandbox_port = 80
[limits]
egress_rate = "1mbit"
ingress_rate = "2mbit"
[security]
seccomp = false
clearenv = true
`,
		"child": `extends = "parent"
[dns]
search = []
[firewall]
allow_host = false
[[firewall.rules]]
action = "allow"
proto = "udp"
comment = "child rule"
[limits]
egress_rate = "5mbit"
`,
		"grandchild": `extends = "child"
description = "gc"
[[firewall.rules]]
action = "allow"
proto = "icmp"
comment = "grandchild rule"
[[publish]]
host_port = 9090
sandbox_port = 90
`,
	})
	f := testFinder(dir)
	p, err := f.Load("grandchild")
	if err != nil {
		t.Fatal(err)
	}
	var comments []string
	for _, r := range p.Firewall.Rules {
		comments = append(comments, r.Comment)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"description not inherited", p.Description == "gc"},
		{"name and origin of the child", p.Name == "grandchild" && p.Origin == filepath.Join(dir, "grandchild.toml")},
		{"ipv6 inherited", p.Network.IPv6},
		{"mode default", p.Network.Mode == ModeBridge},
		{"servers inherited", len(p.DNS.Servers) == 1},
		{"search cleared by []", len(p.DNS.Search) == 0},
		{"default inherited", p.Firewall.Default == ActionAllow},
		{"allow_host overridden", !p.Firewall.AllowHost},
		{"rules child first", strings.Join(comments, ",") == "grandchild rule,child rule,parent rule"},
		{"publish replaced", len(p.Publish) == 1 && p.Publish[0].HostPort == 9090},
		{"egress overridden", p.Limits.EgressRate == 5_000_000},
		{"ingress inherited", p.Limits.IngressRate == 2_000_000},
		{"seccomp inherited", !p.Security.Seccomp},
		{"clearenv inherited", p.Security.ClearEnv},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: %+v", c.name, p)
		}
	}
	out, err := p.TOML()
	if err != nil {
		t.Fatal(err)
	}
	wantHead := fmt.Sprintf("# origin: %s/grandchild.toml\n# extends: child (%s/child.toml) -> parent (%s/parent.toml)\n", dir, dir, dir)
	if !strings.HasPrefix(string(out), wantHead) {
		t.Errorf("TOML head:\n%s\nwant\n%s", out, wantHead)
	}
}

func TestLoadPath(t *testing.T) {
	dir := writeProfiles(t, map[string]string{"mine": "extends = \"web\"\n"})
	f := testFinder()
	p, err := f.Load(filepath.Join(dir, "mine.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "mine" || p.Origin != filepath.Join(dir, "mine.toml") || len(p.Firewall.Rules) != 1 {
		t.Errorf("got %+v", p)
	}
	// A path profile named like its parent extends the one found by name.
	web := writeProfiles(t, map[string]string{"web": "extends = \"web\"\n"})
	if p, err = f.Load(filepath.Join(web, "web.toml")); err != nil || len(p.Firewall.Rules) != 1 {
		t.Errorf("path web extends web: %v %+v", err, p)
	}
	// A message names a user file as given.
	bad := writeProfiles(t, map[string]string{"bad": "x = 1\n"})
	rel, _ := filepath.Rel(mustGetwd(t), filepath.Join(bad, "bad.toml"))
	if _, err := f.Load(rel); err == nil || !strings.HasPrefix(err.Error(), rel+":1:1: ") {
		t.Errorf("got %v, want it to start with %q", err, rel)
	}
}

func mustGetwd(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func TestSearchOrder(t *testing.T) {
	first := writeProfiles(t, map[string]string{"web": "description = \"first\"\n", "only1": "description = \"one\"\n"})
	second := writeProfiles(t, map[string]string{"web": "description = \"second\"\n", "broken": "x = 1\n"})
	f := testFinder(first, filepath.Join(first, "missing"), second)
	p, err := f.Load("web")
	if err != nil || p.Description != "first" {
		t.Fatalf("Load(web) = %+v, %v", p, err)
	}
	if p, err := f.Load("offline"); err != nil || p.Origin != OriginBuiltin {
		t.Fatalf("Load(offline) = %+v, %v", p, err)
	}
	ents, err := f.List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		s := e.Name + " " + strings.TrimPrefix(strings.TrimPrefix(e.Origin, first), second) + " " + e.Description
		if e.ShadowedBy != "" {
			s += " shadowed"
		}
		if e.Err != nil {
			s += " error"
		}
		got = append(got, s)
	}
	want := []string{
		"broken /broken.toml  error",
		"offline builtin builtin offline",
		"only1 /only1.toml one",
		"web /web.toml first",
		"web /web.toml second shadowed",
		"web builtin builtin web shadowed",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("List:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestUserDir(t *testing.T) {
	homes := map[string]string{"alice": "/home/alice"}
	home := func(u string) (string, error) {
		if h, ok := homes[u]; ok {
			return h, nil
		}
		return "", errors.New("no such user")
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"xdg", map[string]string{"XDG_CONFIG_HOME": "/x", "SUDO_USER": "alice", "HOME": "/root"}, "/x/nsjail-net/profiles"},
		{"relative xdg ignored", map[string]string{"XDG_CONFIG_HOME": "x", "HOME": "/home/bob"}, "/home/bob/.config/nsjail-net/profiles"},
		{"sudo", map[string]string{"SUDO_USER": "alice", "HOME": "/root"}, "/home/alice/.config/nsjail-net/profiles"},
		{"sudo unknown user", map[string]string{"SUDO_USER": "mallory", "HOME": "/root"}, "/root/.config/nsjail-net/profiles"},
		{"plain", map[string]string{"HOME": "/home/bob"}, "/home/bob/.config/nsjail-net/profiles"},
		{"nothing", map[string]string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := UserDir(func(k string) string { return tt.env[k] }, home); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewFinderOrder(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/cfg")
	f := NewFinder([]string{"/a", "/b"})
	want := []string{"/a", "/b", SystemDir, "/cfg/nsjail-net/profiles"}
	if strings.Join(f.Dirs, ",") != strings.Join(want, ",") {
		t.Errorf("Dirs = %q, want %q", f.Dirs, want)
	}
}
