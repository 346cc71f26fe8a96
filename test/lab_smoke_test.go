package test

// Tests of the lab itself, without nsjail-net: every Test here matches
// `-run Smoke`. The TestSmokeLab* tests need root; the others do not.

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// seenWait bounds how long the smoke tests wait for a server to record.
const seenWait = 5 * time.Second

func TestSmokeLabReachesWorld(t *testing.T) {
	t.Parallel()
	start := time.Now()
	l := NewLab(t)
	t.Logf("lab built in %v", time.Since(start))
	hostAddr := netip.MustParseAddr(labHostIP)

	t.Run("http", func(t *testing.T) {
		srv := l.HTTPServer(t, labServerIP+":8080")
		r := l.MustRun(t, "curl", "-sS", "--max-time", "5", srv.URL())
		if want := "ok " + labHostIP + "\n"; r.Stdout != want {
			t.Errorf("curl %s = %q, want %q", srv.URL(), r.Stdout, want)
		}
		if seen := srv.WaitSeen(t, 1, seenWait); seen[0].Addr() != hostAddr {
			t.Errorf("http server saw %v, want %v", seen, hostAddr)
		}
	})
	t.Run("https", func(t *testing.T) {
		srv := l.HTTPSServer(t, labServerIP+":8443")
		for _, tls := range [][]string{{"-k"}, {"--cacert", srv.CertFile}} {
			args := append([]string{"-sS", "--max-time", "5"}, tls...)
			r := l.MustRun(t, "curl", append(args, srv.URL())...)
			if want := "ok " + labHostIP + "\n"; r.Stdout != want {
				t.Errorf("curl %v %s = %q, want %q", tls, srv.URL(), r.Stdout, want)
			}
		}
	})
	t.Run("tcp", func(t *testing.T) {
		srv := l.TCPServer(t, labServerIP+":9000")
		r := l.MustRun(t, "nc", "-w", "3", labServerIP, "9000")
		if r.Stdout != tcpGreeting {
			t.Errorf("nc = %q, want %q", r.Stdout, tcpGreeting)
		}
		if seen := srv.WaitSeen(t, 1, seenWait); seen[0].Addr() != hostAddr {
			t.Errorf("tcp server saw %v, want %v", seen, hostAddr)
		}
	})
	t.Run("tcp6", func(t *testing.T) {
		srv := l.TCPServer(t, "["+labServerIP6+"]:9000")
		r := l.MustRun(t, "nc", "-w", "3", labServerIP6, "9000")
		if r.Stdout != tcpGreeting {
			t.Errorf("nc -6 = %q, want %q", r.Stdout, tcpGreeting)
		}
		if seen := srv.WaitSeen(t, 1, seenWait); seen[0].Addr() != netip.MustParseAddr(labHostIP6) {
			t.Errorf("tcp6 server saw %v, want %v", seen, labHostIP6)
		}
	})
	t.Run("udp", func(t *testing.T) {
		srv := l.UDPServer(t, labOtherIP+":7000")
		r := l.RunWith(t, RunOpts{Stdin: "ping\n", Timeout: 10 * time.Second},
			"socat", "-T", "2", "-", "UDP:"+labOtherIP+":7000")
		if r.Stdout != "ping\n" {
			t.Errorf("udp echo = %q, want %q (%v)", r.Stdout, "ping\n", r)
		}
		if seen := srv.WaitSeen(t, 1, seenWait); seen[0].Addr() != hostAddr {
			t.Errorf("udp server saw %v, want %v", seen, hostAddr)
		}
	})
	t.Run("dns", func(t *testing.T) {
		srv := l.DNSServer(t, labDNSIP+":53", exampleRecords())
		tests := []struct {
			name string
			args []string
			want string
		}{
			{"a", []string{"www.example.test", "A"}, labServerIP + "\n"},
			{"a over tcp", []string{"+tcp", "www.example.test", "A"}, labServerIP + "\n"},
			{"aaaa", []string{"www.example.test", "AAAA"}, labServerIP6 + "\n"},
			{"cname followed", []string{"alias.example.test", "A"}, "www.example.test.\n" + labServerIP + "\n"},
			{"case-insensitive", []string{"WWW.Example.TEST", "A"}, labServerIP + "\n"},
			{"nodata", []string{"other.example.test", "AAAA"}, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				args := append([]string{"@" + labDNSIP, "+short", "+time=2", "+tries=1"}, tt.args...)
				if r := l.MustRun(t, "dig", args...); r.Stdout != tt.want {
					t.Errorf("dig %v = %q, want %q", tt.args, r.Stdout, tt.want)
				}
			})
		}
		r := l.MustRun(t, "dig", "@"+labDNSIP, "+time=2", "+tries=1", "missing.example.test")
		if !strings.Contains(r.Stdout, "status: NXDOMAIN") {
			t.Errorf("dig missing.example.test: want NXDOMAIN, got\n%s", r.Stdout)
		}
		// getent goes through the lab's /etc/resolv.conf.
		r = l.MustRun(t, "getent", "ahostsv4", "www.example.test")
		if !strings.HasPrefix(r.Stdout, labServerIP+" ") {
			t.Errorf("getent ahostsv4 www.example.test = %q, want %s first", r.Stdout, labServerIP)
		}
		qs := srv.WaitQueries(t, len(tests)+2, seenWait)
		if q := qs[0]; q.Name != "www.example.test." || q.Type != "A" || q.Net != "udp" || q.Source.Addr() != hostAddr {
			t.Errorf("first query = %+v, want www.example.test. A udp from %v", q, hostAddr)
		}
		if q := qs[1]; q.Net != "tcp" {
			t.Errorf("second query = %+v, want tcp", q)
		}
		srv.Set(t, "new.example.test", "A "+labOtherIP)
		if r := l.MustRun(t, "dig", "@"+labDNSIP, "+short", "new.example.test"); r.Stdout != labOtherIP+"\n" {
			t.Errorf("after Set: dig new.example.test = %q", r.Stdout)
		}
	})
	t.Run("ping", func(t *testing.T) {
		for _, ip := range []string{labWorldIP, labServerIP, labOtherNetIP, labServerIP6} {
			l.MustRun(t, "ping", "-c", "1", "-W", "2", ip)
		}
	})
	t.Run("resolv.conf", func(t *testing.T) {
		want := "nameserver " + labDNSIP + "\n"
		if r := l.MustRun(t, "cat", "/etc/resolv.conf"); r.Stdout != want {
			t.Errorf("lab /etc/resolv.conf = %q, want %q", r.Stdout, want)
		}
		if b, err := os.ReadFile("/etc/resolv.conf"); err == nil && string(b) == want {
			t.Errorf("machine's /etc/resolv.conf shows the lab's content")
		}
	})
	t.Run("private dirs", func(t *testing.T) {
		r := l.MustRun(t, "sh", "-c", "touch /run/nsjail-net/probe; ls /run/nsjail-net; ls /run/netns; ls /sys/class/net")
		if want := "probe\nlo\nup0\n"; r.Stdout != want {
			t.Errorf("lab listing = %q, want %q", r.Stdout, want)
		}
		if _, err := os.Stat(l.HostPath("/run/nsjail-net/probe")); err != nil {
			t.Errorf("HostPath: %v", err)
		}
		if _, err := os.Stat("/run/nsjail-net/probe"); err == nil {
			t.Errorf("probe file visible in the machine's /run/nsjail-net")
		}
		l.MustRun(t, "rm", "/run/nsjail-net/probe")
	})
	t.Run("world has no route to sandboxes", func(t *testing.T) {
		r := l.RunWith(t, RunOpts{World: true}, "ip", "route", "get", "10.213.0.5")
		if r.Code == 0 {
			t.Errorf("world routes 10.213.0.5: %s", r.Stdout)
		}
	})
	t.Run("netns handles", func(t *testing.T) {
		var names []string
		err := l.InWorld(t, func() error {
			links, err := netlink.LinkList()
			for _, link := range links {
				names = append(names, link.Attrs().Name)
			}
			return err
		})
		if err != nil || !slices.Equal(names, []string{"lo", labWorldLink}) {
			t.Errorf("InWorld links = %v, %v; want [lo %s]", names, err, labWorldLink)
		}
		h := l.HostNetlink(t)
		if _, err := h.LinkByName(labHostLink); err != nil {
			t.Errorf("HostNetlink: %v", err)
		}
		if !l.HostNS().Equal(l.HostNS()) || l.HostNS().Equal(l.WorldNS()) {
			t.Errorf("HostNS/WorldNS handles do not identify their namespaces")
		}
	})
}

func TestSmokeLabLeavesMachineAlone(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	before := machineState(t)
	t.Run("lab", func(t *testing.T) {
		l := NewLab(t)
		l.TCPServer(t, labServerIP+":80")
		l.MustRun(t, "nc", "-w", "3", labServerIP, "80")
		l.MustRun(t, "ip", "link", "add", "inlab0", "type", "bridge")
	})
	if after := machineState(t); after != before {
		t.Errorf("machine's namespaces changed:\n%s", unifiedDiff(splitLines(before), splitLines(after), 2))
	}
}

// machineState is a read-only view of the machine's own network namespace
// (link names) and of lab mounts leaking into its mount namespace.
func machineState(t *testing.T) string {
	t.Helper()
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatalf("listing machine links: %v", err)
	}
	var lines []string
	for _, link := range links {
		lines = append(lines, "link "+link.Attrs().Name)
	}
	slices.Sort(lines)
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatalf("reading mountinfo: %v", err)
	}
	for l := range strings.Lines(string(mounts)) {
		if strings.Contains(l, " lab-") {
			lines = append(lines, "mount "+strings.TrimSpace(l))
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestSmokeLabSnapshotStable(t *testing.T) {
	t.Parallel()
	l := NewLab(t)
	before := l.Snapshot(t)
	for _, want := range []string{
		"link up0 veth",
		"link lo device",
		"route4 default via " + labWorldIP + " dev up0",
		"route6 default via " + labWorldIP6 + " dev up0 metric 1024 pref medium",
	} {
		if !slices.Contains(splitLines(before), want) {
			t.Errorf("snapshot lacks %q:\n%s", want, before)
		}
	}
	l.MustRun(t, "true")
	l.MustRun(t, "iptables-save")
	l.AssertNoLeaks(t, before, ignoreNothing)
	if after := l.Snapshot(t); after != before {
		t.Errorf("snapshot changed after a no-op:\n%s", snapshotDiff(before, after, ignoreNothing))
	}
}

// fakeTB records Errorf instead of failing; everything else goes to the
// embedded real test.
type fakeTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func TestSmokeLabAssertNoLeaks(t *testing.T) {
	t.Parallel()
	l := NewLab(t)
	before := l.Snapshot(t)

	// The shared base nsjail-net may leave: accepted by the default predicate.
	l.MustRun(t, "sh", "-c", strings.Join([]string{
		"set -e",
		"ip link add nsjnet0 type bridge",
		"ip addr add 10.213.0.1/16 dev nsjnet0",
		"ip link set nsjnet0 up",
		"iptables -t nat -N NSJNET-POSTROUTING",
		"iptables -t nat -I POSTROUTING 1 -m comment --comment nsjail-net -j NSJNET-POSTROUTING",
		"iptables -t nat -A NSJNET-POSTROUTING -s 10.213.0.0/16 ! -o nsjnet0 -j MASQUERADE",
		"iptables -N NSJNET-FORWARD",
		"iptables -I FORWARD 1 -m comment --comment nsjail-net -j NSJNET-FORWARD",
		"ip6tables -N NSJNET-FORWARD",
		"ip6tables -I FORWARD 1 -m comment --comment nsjail-net -j NSJNET-FORWARD",
		"mkdir -p /run/nsjail-net/leases /run/nsjail-net/sandboxes /run/nsjail-net/names",
		"touch /run/nsjail-net/base.json /run/nsjail-net/state.lock /run/nsjail-net/leases/.next-10.213.0.0_16",
	}, "\n"))
	fake := &fakeTB{TB: t}
	l.AssertNoLeaks(fake, before)
	if len(fake.errs) != 0 {
		t.Errorf("shared base reported as a leak:\n%s", strings.Join(fake.errs, "\n"))
	}

	// Per-sandbox leftovers: each must be reported.
	leaks := []struct{ setup, want string }{
		{"ip link add leak0 type bridge", "+ link leak0 bridge"},
		{"iptables -A NSJNET-FORWARD -s 10.213.0.2 -m comment --comment \"nsjail-net:0123abcd\" -j ACCEPT",
			`+ iptables filter -A NSJNET-FORWARD -s 10.213.0.2/32 -m comment --comment "nsjail-net:0123abcd" -j ACCEPT`},
		{"iptables -N NSJNET-SB-0123abcd && iptables -A NSJNET-FORWARD -j NSJNET-SB-0123abcd",
			"+ iptables filter -A NSJNET-FORWARD -j NSJNET-SB-0123abcd"},
		{"touch /run/nsjail-net/leases/10.213.0.2", "+ state leases/10.213.0.2"},
		{"touch /run/netns/sb0", "+ netns sb0"},
		{"ip route add 192.0.2.0/24 dev up0", "+ route4 192.0.2.0/24 dev up0 scope link"},
	}
	for _, leak := range leaks {
		l.MustRun(t, "sh", "-c", leak.setup)
	}
	fake = &fakeTB{TB: t}
	l.AssertNoLeaks(fake, before)
	if len(fake.errs) != 1 {
		t.Fatalf("AssertNoLeaks reported %d errors, want 1: %q", len(fake.errs), fake.errs)
	}
	for _, leak := range leaks {
		if !strings.Contains(fake.errs[0], leak.want+"\n") {
			t.Errorf("leak %q: report lacks %q:\n%s", leak.setup, leak.want, fake.errs[0])
		}
	}
	if strings.Contains(fake.errs[0], "nsjnet0") || strings.Contains(fake.errs[0], "MASQUERADE") {
		t.Errorf("report includes shared base:\n%s", fake.errs[0])
	}
	t.Logf("report:\n%s", fake.errs[0])
}

func TestSmokeLabParallel(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			l := NewLab(t)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("lab took %v to build", d)
			}
			srv := l.TCPServer(t, labServerIP+":8080")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := l.Cmd(ctx, "nc", "-w", "3", labServerIP, "8080").Output()
			if err != nil || string(out) != tcpGreeting {
				t.Errorf("nc = %q, %v", out, err)
			}
			srv.WaitSeen(t, 1, seenWait)
		})
	}
}

func TestSmokeSharedBase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want bool
	}{
		{"link nsjnet0 bridge", true},
		{"link veth1234 veth", false},
		{"route4 10.213.0.0/16 dev nsjnet0 proto kernel scope link src 10.213.0.1", true},
		{"route6 fe80::/64 dev nsjnet0 proto kernel metric 256 pref medium", true},
		{"route4 192.0.2.0/24 dev up0", false},
		{"iptables *nat", true},
		{"iptables nat COMMIT", true},
		{"iptables nat :POSTROUTING ACCEPT", true},
		{"iptables filter :FORWARD DROP", false},
		{"iptables nat :NSJNET-POSTROUTING -", true},
		{"iptables nat -A POSTROUTING -m comment --comment nsjail-net -j NSJNET-POSTROUTING", true},
		{"iptables filter -A FORWARD -m comment --comment nsjail-net -j NSJNET-FORWARD", true},
		{"ip6tables filter -A NSJNET-FORWARD -o nsjnet0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", true},
		{"iptables filter -A NSJNET-FORWARD -m comment --comment \"nsjail-net:0123abcd\" -j ACCEPT", false},
		{"iptables filter -A NSJNET-FORWARD -j NSJNET-SB-0123abcd", false},
		{"iptables filter :NSJNET-FORWARD-0123abcd -", false},
		{"iptables filter :NSJNET-SB-0123abcd -", false},
		{"iptables filter -A INPUT -j ACCEPT", false},
		{"state base.json", true},
		{"state alloc.lock", true},
		{"state leases/", true},
		{"state leases/.next-10.213.0.0_16", true}, {"state leases/next", false},
		{"state leases/10.213.0.2", false},
		{"state sandboxes/", true},
		{"state sandboxes/0123abcd.json", false},
		{"state names/", true},
		{"netns nsjnet-0123abcd", false},
		{"rule4 0: from all lookup local", false},
	}
	for _, tt := range tests {
		if got := sharedBase(tt.line); got != tt.want {
			t.Errorf("sharedBase(%q) = %v, want %v", tt.line, got, tt.want)
		}
	}
}

func TestSmokeSnapshotDiff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		before, after string
		want          string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"added", "a\nb\nc\n", "a\nb\nx\nc\n", "@@\n  a\n  b\n+ x\n  c\n"},
		{"removed", "a\nb\n", "a\n", "@@\n  a\n- b\n"},
		{"ignored only", "a\n", "a\nnsjnet0\n", ""},
		{"two hunks", "1\n2\n3\n4\n5\n6\n7\n8\n", "0\n1\n2\n3\n4\n5\n6\n7\n", "@@\n+ 0\n  1\n  2\n@@\n  6\n  7\n- 8\n"},
	}
	ignore := func(l string) bool { return strings.Contains(l, "nsjnet0") }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := snapshotDiff(tt.before, tt.after, ignore); got != tt.want {
				t.Errorf("diff =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	fake := &fakeTB{TB: t}
	assertNoLeaks(fake, "link lo device\n", "link lo device\nlink leak0 dummy\n")
	if len(fake.errs) != 1 || !strings.Contains(fake.errs[0], "+ link leak0 dummy") {
		t.Errorf("assertNoLeaks on a leak reported %q", fake.errs)
	}
}

func TestSmokeIptablesLines(t *testing.T) {
	t.Parallel()
	out := `# Generated by iptables-nft-save v1.8.9 (nf_tables) on Thu Jan  1 00:00:00 2026
*nat
:PREROUTING ACCEPT [12:345]
:NSJNET-POSTROUTING - [0:0]
[3:180] -A POSTROUTING -j NSJNET-POSTROUTING
COMMIT
# Completed on Thu Jan  1 00:00:00 2026
`
	want := []string{
		"iptables *nat",
		"iptables nat :PREROUTING ACCEPT",
		"iptables nat :NSJNET-POSTROUTING -",
		"iptables nat -A POSTROUTING -j NSJNET-POSTROUTING",
		"iptables nat COMMIT",
	}
	if got := iptablesLines("iptables", out); !slices.Equal(got, want) {
		t.Errorf("iptablesLines =\n%q\nwant\n%q", got, want)
	}
}

func TestSmokeResolvConfSetup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "real.conf")
	mustWrite(t, file)
	link := filepath.Join(dir, "link.conf")
	mustSymlink(t, "real.conf", link)
	runDir := filepath.Join(dir, "run")
	if err := os.Mkdir(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling.conf")
	mustSymlink(t, filepath.Join(runDir, "resolve", "stub.conf"), dangling)

	const lab = "/tmp/lab.conf"
	tests := []struct {
		name    string
		path    string
		want    []string
		wantErr bool
	}{
		{"regular file", file, []string{"mount --bind '/tmp/lab.conf' '" + file + "'"}, false},
		{"symlink", link, []string{"mount --bind '/tmp/lab.conf' '" + file + "'"}, false},
		{"dangling symlink", dangling, []string{
			"mount -t tmpfs -o mode=0755 lab-resolv '" + runDir + "'",
			"mkdir -p '" + filepath.Join(runDir, "resolve") + "'",
			"cp '/tmp/lab.conf' '" + filepath.Join(runDir, "resolve", "stub.conf") + "'",
		}, false},
		{"missing", filepath.Join(dir, "missing.conf"), nil, true},
		{"directory", runDir, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolvConfSetup(tt.path, lab)
			if (err != nil) != tt.wantErr {
				t.Fatalf("resolvConfSetup(%q) error = %v, wantErr %v", tt.path, err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("resolvConfSetup(%q) =\n%q\nwant\n%q", tt.path, got, tt.want)
			}
		})
	}
}

func mustWrite(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("nameserver 192.0.2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}
