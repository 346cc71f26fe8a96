package policy

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testEnv is the sandbox every golden case compiles for.
func testEnv() Env {
	return Env{
		SandboxID: "sb1",
		Subnet:    netip.MustParsePrefix("10.213.0.0/16"),
		Gateway:   netip.MustParseAddr("10.213.0.1"),
		Subnet6:   netip.MustParsePrefix("fd00:213::/64"),
		Gateway6:  netip.MustParseAddr("fd00:213::1"),
		DNS:       []netip.Addr{netip.MustParseAddr("10.213.0.1"), netip.MustParseAddr("fd00:213::1")},
	}
}

func testAddrs() SandboxAddrs {
	return SandboxAddrs{ID: "sb1", IP: netip.MustParseAddr("10.213.0.7"), IP6: netip.MustParseAddr("fd00:213::7"), Bridge: "nsjnet0"}
}

// goldenCases returns the profiles in testdata/*.toml, loaded (built-ins
// available for extends).
func goldenCases(t *testing.T) map[string]*Profile {
	t.Helper()
	files, err := filepath.Glob("testdata/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	out := map[string]*Profile{}
	f := &Finder{}
	for _, file := range files {
		p, err := f.Load(file)
		if err != nil {
			t.Fatalf("loading %s: %v", file, err)
		}
		out[strings.TrimSuffix(filepath.Base(file), ".toml")] = p
	}
	return out
}

// render is the golden text of a case: both rulesets and the host rules.
func render(t *testing.T, p *Profile) string {
	t.Helper()
	rs, err := Compile(p, testEnv())
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	var b strings.Builder
	b.WriteString("### ipv4 (iptables-restore)\n" + rs.IPv4)
	b.WriteString("### ipv6 (ip6tables-restore)\n")
	if rs.IPv6 == "" {
		b.WriteString("(ipv6 off)\n")
	}
	b.WriteString(rs.IPv6)
	b.WriteString("### host rules\n")
	for _, r := range HostRules(p, testAddrs()) {
		fam := "ipv4"
		if r.IPv6 {
			fam = "ipv6"
		}
		b.WriteString(fam + " " + r.Table + " " + r.Chain + " " + strings.Join(r.Args, " ") + "\n")
	}
	return b.String()
}

func TestCompileGolden(t *testing.T) {
	for name, p := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			got := render(t, p)
			file := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs (go test -update rewrites it):\n%s", file, lineDiff(string(want), got))
			}
		})
	}
}

// lineDiff is a minimal diff for failure messages.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("- " + wl + "\n+ " + gl + "\n")
		}
	}
	return b.String()
}

// TestCompileApplies feeds every golden ruleset to iptables-restore and
// ip6tables-restore in a fresh network namespace (unshare -n), as root.
func TestCompileApplies(t *testing.T) {
	requireRoot(t)
	for name, p := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			rs, err := Compile(p, testEnv())
			if err != nil {
				t.Fatal(err)
			}
			for tool, text := range map[string]string{"iptables-restore": rs.IPv4, "ip6tables-restore": rs.IPv6} {
				if text == "" {
					continue
				}
				cmd := exec.Command("unshare", "-n", tool)
				cmd.Stdin = strings.NewReader(text)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Run(); err != nil {
					t.Errorf("%s: %v\n%s\ninput:\n%s", tool, err, out.String(), text)
				}
			}
		})
	}
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (runs iptables-restore inside unshare -n)")
	}
	for _, tool := range []string{"unshare", "iptables-restore", "ip6tables-restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
}

func TestPortMatches(t *testing.T) {
	var many []PortRange
	for i := 1; i <= 16; i++ {
		many = append(many, PortRange{uint16(i), uint16(i)})
	}
	tests := []struct {
		name  string
		ports []PortRange
		want  []string
	}{
		{"none", nil, []string{""}},
		{"one", []PortRange{{443, 443}}, []string{"-m tcp --dport 443"}},
		{"range", []PortRange{{8000, 8100}}, []string{"-m tcp --dport 8000:8100"}},
		{"two", []PortRange{{80, 80}, {8000, 8100}}, []string{"-m multiport --dports 80,8000:8100"}},
		{"sixteen", many, []string{"-m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15", "-m multiport --dports 16"}},
		{"ranges count twice", append(many[:14:14], PortRange{100, 200}), []string{"-m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14", "-m multiport --dports 100:200"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := portMatches(ProtoTCP, tt.ports)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	web := &Profile{Name: "x", Network: Network{Mode: ModeBridge}, Firewall: Firewall{Default: ActionDeny}}
	v6 := &Profile{Name: "x", Network: Network{Mode: ModeBridge, IPv6: true}, Firewall: Firewall{Default: ActionDeny}}
	bad := &Profile{Name: "x", Network: Network{Mode: ModeBridge}, Firewall: Firewall{Default: ActionDeny,
		Rules: []Rule{{Action: ActionAllow, Proto: ProtoICMP, Ports: []PortRange{{1, 1}}}}}}
	tests := []struct {
		name string
		p    *Profile
		env  func(*Env)
		want string
	}{
		{"bad id", web, func(e *Env) { e.SandboxID = `a"b` }, `bad sandbox id "a\"b"`},
		{"no subnet", web, func(e *Env) { e.Subnet = netip.Prefix{} }, "no IPv4 sandbox subnet"},
		{"gateway outside", web, func(e *Env) { e.Gateway = netip.MustParseAddr("10.0.0.1") }, "IPv4 gateway 10.0.0.1 not in subnet 10.213.0.0/16"},
		{"no v6 subnet", v6, func(e *Env) { e.Subnet6 = netip.Prefix{} }, "no IPv6 sandbox subnet"},
		{"bad rule", bad, func(*Env) {}, `rule 1: ports with proto "icmp"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnv()
			tt.env(&env)
			_, err := Compile(tt.p, env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}
