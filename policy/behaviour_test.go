package policy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompiledBehaviour applies compiled rules in a fresh network
// namespace (unshare -n) with a veth standing in for eth0 (its peer drops what it gets), and
// probes TCP connects: a rejected one fails at once ("refused"), an
// allowed one leaves through the veth and hangs ("passes"). Root only.
func TestCompiledBehaviour(t *testing.T) {
	requireRoot(t)
	for _, tool := range []string{"ip", "bash", "timeout"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	type probe struct {
		addr string
		port int
		pass bool
	}
	tests := []struct {
		profile string
		probes  []probe
	}{
		{"extends_dev", []probe{
			{"203.0.113.5", 443, true},
			{"203.0.113.5", 22, true},
			{"203.0.113.5", 25, false},     // default
			{"198.51.100.5", 443, false},   // child's deny before web's allow
			{"10.213.0.1", 443, false},     // host guard
			{"10.213.0.9", 443, false},     // sandboxes guard
			{"192.168.1.1", 443, false},    // private guard
			{"169.254.169.254", 80, false}, // metadata
		}},
		{"guards_off_v6", []probe{
			{"10.213.0.1", 8080, true},  // guard off, rule allows
			{"10.213.0.1", 8081, false}, // guard off, default denies
			{"fd00:213::1", 8080, true},
			{"fd00:213::1", 8081, false},
		}},
		{"ipv6", []probe{
			{"2001:db8::5", 443, true},
			{"2001:db8::5", 22, false},
			{"203.0.113.5", 443, true},
			{"fd00:213::9", 443, false}, // sandboxes guard, v6
			{"fd00:213::1", 443, false}, // host guard, v6
			{"fd12::1", 443, false},     // private guard, v6
		}},
		{"embedded_v4", []probe{
			{"2001:db8::5", 443, true},         // default allow
			{"64:ff9b::a00:1", 443, false},     // 10.0.0.1 through NAT64: the guard before the rule
			{"64:ff9b::cb00:7105", 443, false}, // NAT64 refused whole, public IPv4 too
			{"64:ff9b:1::a00:1", 443, false},   // NAT64 local-use
			{"2002:a00:1::1", 443, false},      // 6to4 for 10.0.0.1
			{"2001:0:a00:1::1", 443, false},    // Teredo
			{"::a00:1", 443, false},            // IPv4-compatible
			{"2001:db8:64:ff9b::1", 443, true}, // not in a guarded prefix
		}},
		{"open_guards", []probe{
			{"203.0.113.5", 25, true},
			{"10.1.2.3", 25, false},
			{"10.213.0.1", 25, false},
		}},
	}
	cases := goldenCases(t)
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			rs, err := Compile(cases[tt.profile], testEnv())
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			v4, v6 := filepath.Join(dir, "v4"), filepath.Join(dir, "v6")
			if err := os.WriteFile(v4, []byte(rs.IPv4), 0o600); err != nil {
				t.Fatal(err)
			}
			script := []string{
				"set -e",
				"ip link set lo up",
				"ip link add eth0 type veth peer name peer0",
				"ip link set peer0 up",
				"ip link set eth0 up",
				"ip addr add 10.213.0.7/16 dev eth0",
				"ip neigh replace 10.213.0.1 lladdr 02:00:00:00:00:01 dev eth0",
				"ip route add default via 10.213.0.1",
				"iptables-restore < " + v4,
			}
			if rs.IPv6 != "" {
				if err := os.WriteFile(v6, []byte(rs.IPv6), 0o600); err != nil {
					t.Fatal(err)
				}
				script = append(script,
					"ip -6 addr add fd00:213::7/64 dev eth0 nodad",
					"ip -6 neigh replace fd00:213::1 lladdr 02:00:00:00:00:01 dev eth0",
					"ip -6 route add default via fd00:213::1",
					"ip6tables-restore < "+v6)
			}
			script = append(script, "set +e")
			for _, p := range tt.probes {
				host := p.addr
				if strings.Contains(host, ":") {
					host = "[" + host + "]"
				}
				// 124: timed out, so the SYN left; anything else: refused at once.
				script = append(script, fmt.Sprintf(
					`timeout 0.3 bash -c 'exec 3<>/dev/tcp/%s/%d' 2>/dev/null; rc=$?; if [ $rc = 124 ]; then echo "%s:%d pass"; else echo "%s:%d refused"; fi`,
					p.addr, p.port, host, p.port, host, p.port))
			}
			out, err := exec.Command("unshare", "-n", "bash", "-c", strings.Join(script, "\n")).CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			got := string(out)
			for _, p := range tt.probes {
				host := p.addr
				if strings.Contains(host, ":") {
					host = "[" + host + "]"
				}
				want := fmt.Sprintf("%s:%d refused", host, p.port)
				if p.pass {
					want = fmt.Sprintf("%s:%d pass", host, p.port)
				}
				if !strings.Contains(got, want+"\n") {
					t.Errorf("want %q, got:\n%s", want, got)
				}
			}
		})
	}
}
