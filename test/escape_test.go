package test

// Escape attempts: a sandboxed program, as uid 0 inside and as an ordinary
// user, tries every way out of its network jail we know of. Each attempt
// runs in one sandbox as a shell script that prints "ESCAPED <name>" only
// when the attempt succeeded and "refused <name>" otherwise; the network as
// the program sees it is printed before and after and must not change.

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// Ports of the listeners the escapes aim at.
const (
	escHostPort4    = "9100" // lab host, IPv4, all addresses
	escHostPort6    = "9101" // lab host, IPv6, all addresses
	escNeighbour    = "9000" // the other sandbox
	escWorldPort    = 8080   // world servers (v6, metadata)
	escMetadataIP   = "169.254.169.254"
	escNeighbourBox = "esc-a"
)

// escAttempt is one escape: sh code that succeeds only if the jail leaks.
type escAttempt struct {
	name string
	code string
}

// escTargets are the addresses the attempts aim at, found in the lab.
type escTargets struct {
	host4     []string // the lab host's IPv4 addresses (not 127/8)
	host6     []string // its global IPv6 addresses
	hostLL    string   // the bridge's IPv6 link-local address
	neighbour string   // the other sandbox's address
}

func TestEscapeAttemptsFail(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	world6 := l.TCPServer(t, fmt.Sprintf("[%s]:%d", labServerIP6, escWorldPort))
	// A metadata service the world would answer: only the guard can stop it.
	if err := l.WorldNetlink(t).AddrAdd(escLink(t, l.WorldNetlink(t), labWorldLink), escAddr(t, escMetadataIP+"/32")); err != nil {
		t.Fatal(err)
	}
	metadata := l.TCPServer(t, fmt.Sprintf("%s:%d", escMetadataIP, escWorldPort))
	spoofSink := l.UDPServer(t, labServerIP+":9999")

	escHostListener(t, l, "-4", escHostPort4, labHostIP)
	escHostListener(t, l, "-6", escHostPort6, labHostIP6)

	// The neighbour: a listener in another sandbox on the same bridge.
	nb := fltStart(t, l, nil, "run", "--name", escNeighbourBox, "--profile", "open", "--", "nc", "-lk", "-p", escNeighbour)
	var tg escTargets
	waitFor(t, func() bool {
		r := l.NSJ(t, "exec", escNeighbourBox, "--", "ip", "-4", "-o", "addr", "show", "eth0")
		tg.neighbour = escInet(r.Stdout, "inet")
		return r.Code == 0 && tg.neighbour != ""
	})
	waitFor(t, func() bool {
		return l.NSJ(t, "exec", escNeighbourBox, "--", "nc", "-z", "-w", "1", "127.0.0.1", escNeighbour).Code == 0
	})
	tg.host4, tg.host6, tg.hostLL = escHostAddrs(t, l)

	attempts := escAttempts(t, tg)
	for _, user := range []string{"0", "nobody"} {
		t.Run("user="+user, func(t *testing.T) {
			r := l.NSJ(t, "run", "--profile", "open", "--user", user, "--", "sh", "-c", escScript(attempts))
			wantCode(t, r, 0)
			escCheck(t, r.Stdout, attempts)
		})
	}
	for name, seen := range map[string]int{
		"world IPv6 server": len(world6.Seen()), "metadata server": len(metadata.Seen()), "spoof sink": len(spoofSink.Seen()),
	} {
		if seen != 0 {
			t.Errorf("%s saw %d connections from the sandboxes", name, seen)
		}
	}
	wantCode(t, l.NSJ(t, "stop", escNeighbourBox), 0)
	if code := nb.wait(t); code != 143 {
		t.Errorf("neighbour run exited %d, want 143; output:\n%s", code, nb.out.String())
	}
}

// escAttempts lists every escape for targets tg.
func escAttempts(t *testing.T, tg escTargets) []escAttempt {
	t.Helper()
	a := []escAttempt{
		{"nsenter-host-netns", "nsenter -t 1 -n true"},
		{"ip-addr-add", "ip addr add 10.213.9.9/16 dev eth0"},
		{"ip-link-down", "ip link set eth0 down"},
		{"ip-route-add", "ip route add 1.2.3.0/24 via 10.213.0.1"},
		{"ip-link-add", "ip link add nsjx0 type dummy"},
		{"iptables-flush", "iptables -F"},
		{"iptables-nat-flush", "iptables -t nat -F"},
		{"mount-tmpfs", "mount -t tmpfs x /mnt"},
		{"umount-resolv-conf", "umount /etc/resolv.conf"},
		{"unshare-userns-netns", "unshare -U -r -n true"},
		{"unshare-netns", "unshare -n true"},
		{"metadata", fmt.Sprintf("nc -z -w 2 %s %d", escMetadataIP, escWorldPort)},
		{"neighbour-sandbox", fmt.Sprintf("nc -z -w 2 %s %s", tg.neighbour, escNeighbour)},
		// IPv6 is off in the open profile.
		{"ipv6-ping-world", "ping -6 -c 1 -W 2 " + labServerIP6},
		{"ipv6-tcp-world", fmt.Sprintf("nc -6 -z -w 2 %s %d", labServerIP6, escWorldPort)},
		// /proc/sys: uid 0 owns these 0644 files; without a read-only
		// /proc/sys it may turn IPv6 back on (or, for kernel.*, change the
		// whole machine). Opening for append writes nothing.
		{"proc-sys-kernel-writable", ": >> /proc/sys/kernel/core_pattern"},
		{"proc-sys-net-writable", ": >> /proc/sys/net/ipv6/conf/eth0/disable_ipv6"},
		// Other kernel knobs under /proc that need only the file's mode.
		{"proc-irq-writable", ": >> /proc/irq/default_smp_affinity"},
		{"proc-kcore-readable", "head -c1 /proc/kcore >/dev/null"},
	}
	if _, err := exec.LookPath("nft"); err == nil {
		a = append(a, escAttempt{"nft-flush-ruleset", "nft flush ruleset"})
	} else {
		t.Log("nft not installed: skipping `nft flush ruleset`")
	}
	if _, err := exec.LookPath("python3"); err == nil {
		py := func(name, code string) escAttempt {
			return escAttempt{name, "python3 -c " + shellQuote("import socket\n"+code)}
		}
		a = append(a,
			py("raw-socket-icmp", "socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)"),
			py("raw-socket-ipproto-raw", "socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)"),
			py("raw-socket-ipv6", "socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)"),
			py("packet-socket", "socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0x0300)"),
			py("packet-socket-dgram", "socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0x0300)"),
			// Sending from another address without a raw socket: a
			// non-local bind (IP_FREEBIND = 15) to the neighbour's address
			// and to an unused one.
			py("spoof-neighbour-source", fmt.Sprintf("s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.setsockopt(socket.SOL_IP, 15, 1)\ns.bind(('%s', 0))\ns.sendto(b'spoof', ('%s', 9999))", tg.neighbour, labServerIP)),
			py("spoof-unused-source", fmt.Sprintf("s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.setsockopt(socket.SOL_IP, 15, 1)\ns.bind(('10.213.9.9', 0))\ns.sendto(b'spoof', ('%s', 9999))", labServerIP)),
		)
	} else {
		t.Log("python3 not installed: skipping the raw socket and spoofing items")
	}
	for _, h := range tg.host4 {
		a = append(a, escAttempt{"host-" + h, fmt.Sprintf("nc -z -w 2 %s %s", h, escHostPort4)})
	}
	for _, h := range tg.host6 {
		a = append(a, escAttempt{"host-" + h, fmt.Sprintf("nc -6 -z -w 2 %s %s", h, escHostPort6)})
	}
	if tg.hostLL != "" {
		a = append(a, escAttempt{"host-link-local", fmt.Sprintf("nc -6 -z -w 2 %s%%eth0 %s", tg.hostLL, escHostPort6)})
		// Last, since it changes the network if it works: IPv6 back on
		// through /proc/sys, then the host's link-local address.
		a = append(a,
			escAttempt{"sysctl-ipv6-on", "echo 0 > /proc/sys/net/ipv6/conf/eth0/disable_ipv6"},
			escAttempt{"host-link-local-after-sysctl", fmt.Sprintf("sleep 2; nc -6 -z -w 2 %s%%eth0 %s", tg.hostLL, escHostPort6)},
		)
	}
	return a
}

// escScript is the shell script that runs attempts between two prints of
// the network state.
func escScript(attempts []escAttempt) string {
	var b strings.Builder
	b.WriteString(`netstate() {
  ip -o link show eth0 | sed 's/ qlen.*//'
  ip -o addr show
  ip -4 route show table all
  ip -6 route show table all 2>/dev/null
  cat /etc/resolv.conf
}
try() {
  if ( eval "$2" ) </dev/null >/dev/null 2>&1; then echo "ESCAPED $1"; else echo "refused $1"; fi
}
echo '--- before'; netstate; echo '--- attempts'
`)
	for _, a := range attempts {
		fmt.Fprintf(&b, "try %s %s\n", shellQuote(a.name), shellQuote(a.code))
	}
	b.WriteString("echo '--- after'; netstate; echo '--- end'\n")
	return b.String()
}

// escCheck reads the script's output: every attempt refused, the network
// as before, eth0 up with its address, resolv.conf the sandbox's.
func escCheck(t *testing.T, out string, attempts []escAttempt) {
	t.Helper()
	before, rest, _ := strings.Cut(strings.TrimPrefix(out, "--- before\n"), "--- attempts\n")
	results, rest, _ := strings.Cut(rest, "--- after\n")
	after, _, ended := strings.Cut(rest, "--- end\n")
	if !ended {
		t.Fatalf("script did not finish:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(results), "\n")
	for _, a := range attempts {
		switch {
		case slices.Contains(lines, "ESCAPED "+a.name):
			t.Errorf("escape %q succeeded: %s", a.name, a.code)
		case !slices.Contains(lines, "refused "+a.name):
			t.Errorf("escape %q: no result line", a.name)
		}
	}
	if before != after {
		t.Errorf("the sandbox's network changed:\n%s", unifiedDiff(splitLines(before), splitLines(after), 1))
	}
	for _, want := range []string{"state UP", "inet 10.213.", "default via 10.213.0.1 dev eth0", "nameserver 127.0.0.53"} {
		if !strings.Contains(after, want) {
			t.Errorf("after the attempts the sandbox's network lacks %q:\n%s", want, after)
		}
	}
}

// escHostListener starts `nc FAMILY -lk -p PORT` in the lab host and waits
// until it accepts on probe.
func escHostListener(t *testing.T, l *Lab, family, port, probe string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := l.Cmd(ctx, "nc", family, "-lk", "-p", port)
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	waitFor(t, func() bool {
		return l.RunWith(t, RunOpts{Timeout: 5 * time.Second}, "nc", family, "-z", "-w", "1", probe, port).Code == 0
	})
}

// escHostAddrs lists the lab host's own addresses once the bridge exists.
func escHostAddrs(t *testing.T, l *Lab) (v4, v6 []string, bridgeLL string) {
	t.Helper()
	waitFor(t, func() bool {
		r := l.MustRun(t, "ip", "-6", "-o", "addr", "show", "dev", "nsjnet0", "scope", "link")
		bridgeLL = escInet(r.Stdout, "inet6")
		return bridgeLL != ""
	})
	for line := range strings.Lines(l.MustRun(t, "ip", "-o", "addr", "show").Stdout) {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		a, _, _ := strings.Cut(f[3], "/")
		switch {
		case f[2] == "inet" && !strings.HasPrefix(a, "127."):
			v4 = append(v4, a)
		case f[2] == "inet6" && a != "::1" && !strings.HasPrefix(a, "fe80:"):
			v6 = append(v6, a)
		}
	}
	for _, want := range []string{"10.213.0.1", labHostIP} {
		if !slices.Contains(v4, want) {
			t.Fatalf("lab host addresses %v lack %s", v4, want)
		}
	}
	return v4, v6, bridgeLL
}

// escInet returns the first address of family ("inet", "inet6") in the
// output of `ip -o addr`, without its prefix length.
func escInet(out, family string) string {
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == family {
				a, _, _ := strings.Cut(f[i+1], "/")
				return a
			}
		}
	}
	return ""
}

func escLink(t *testing.T, h *netlink.Handle, name string) netlink.Link {
	t.Helper()
	link, err := h.LinkByName(name)
	if err != nil {
		t.Fatalf("finding %q: %v", name, err)
	}
	return link
}

func escAddr(t *testing.T, cidr string) *netlink.Addr {
	t.Helper()
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestEscapeNoLauncherFDsOrEnv: the program holds only fds 0-2 and none of
// the launcher's NSJAIL_NET_* variables, in run (offline and bridged) and
// in exec.
func TestEscapeNoLauncherFDsOrEnv(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	const probe = `ls /proc/$$/fd | tr '\n' ' '; echo; ls -l /proc/self/fd | sed -n 's/.* \([0-9]*\) -> \(.*\)/\1 \2/p' | tr '\n' ' '; echo; env`
	launcherEnv := []string{"NSJAIL_NET_LOG_LEVEL=warn", "NSJAIL_NET_TEST_MARKER=1"}
	wantCode(t, l.NSJ(t, "create", "--profile", "open", "esc-fd"), 0)
	t.Cleanup(func() { l.NSJ(t, "delete", "esc-fd") })
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"run offline", []string{"run", "--", "sh", "-c", probe}},
		{"run bridged", []string{"run", "--profile", "open", "--name", "esc-fd-run", "--", "sh", "-c", probe}},
		{"run as nobody", []string{"run", "--profile", "open", "--user", "nobody", "--", "sh", "-c", probe}},
		{"exec", []string{"exec", "esc-fd", "--", "sh", "-c", probe}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := l.RunWith(t, RunOpts{Env: launcherEnv}, l.Bin(t), tc.args...)
			wantCode(t, r, 0)
			lines := strings.SplitN(r.Stdout, "\n", 3)
			if len(lines) < 3 {
				t.Fatalf("probe output:\n%s", r.Stdout)
			}
			if got := strings.Fields(lines[0]); !slices.Equal(got, []string{"0", "1", "2"}) {
				t.Errorf("the program's fds: %v, want only 0 1 2", got)
			}
			// ls itself: 0-2 and the directory it lists.
			f := strings.Fields(lines[1])
			for i := 0; i+1 < len(f); i += 2 {
				if fd, target := f[i], f[i+1]; !slices.Contains([]string{"0", "1", "2"}, fd) && !strings.HasSuffix(target, "/fd") {
					t.Errorf("fd %s -> %s reached the program", fd, target)
				}
			}
			for _, kv := range strings.Split(lines[2], "\n") {
				if strings.HasPrefix(kv, "NSJAIL_NET_") {
					t.Errorf("launcher variable in the program's environment: %s", kv)
				}
			}
		})
	}
}

// TestEscapeHostnameInjectionRefused: --hostname is an RFC 1123 host name,
// so it cannot add lines to the sandbox's /etc/hosts (nor put a newline in
// its UTS name): run, bridged or not, and create refuse one holding a
// newline with exit 125 and one line naming the flag, run no program and
// leave the lab host exactly as it was.
func TestEscapeHostnameInjectionRefused(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	before := l.Snapshot(t)
	const evil = "x\nevil"
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"run offline", []string{"run", "--hostname", evil, "--", "sh", "-c", "hostname; cat /etc/hosts"}},
		{"run bridged", []string{"run", "--profile", "open", "--hostname", evil, "--", "sh", "-c", "hostname; cat /etc/hosts"}},
		{"create", []string{"create", "--profile", "open", "--hostname", evil, "esc-host"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := l.NSJ(t, tc.args...)
			if r.Code == 0 && tc.args[0] == "create" {
				t.Cleanup(func() { l.NSJ(t, "delete", "esc-host") })
			}
			wantCode(t, r, 125)
			if strings.Contains(r.Stdout, "evil") {
				t.Errorf("the program ran with the injected name:\n%s", r.Stdout)
			}
			const prefix = `nsjail-net: --hostname "x\nevil": `
			if lines := strings.Split(strings.TrimSuffix(r.Stderr, "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], prefix) {
				t.Errorf("stderr %q: want one line starting %q", r.Stderr, prefix)
			}
		})
	}
	l.AssertNoLeaks(t, before, ignoreNothing)
}
