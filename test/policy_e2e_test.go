package test

// End-to-end tests of the profile keys against the lab's world: publish
// (tcp, udp, loopback and every address, a port taken twice), limits
// (measured roughly with a transfer), IPv6 parity through NAT66, the
// guards turned off (allow_host, allow_private), ICMP rules, log_blocked
// and --deny.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bridgeGateway is the host's address on the sandbox bridge: the source a
// sandbox sees for connections the host itself makes to a published port
// (MASQUERADE towards the bridge).
const bridgeGateway = "10.213.0.1"

// responder is the program a publishing sandbox runs: a socat that answers
// every TCP connection (or UDP datagram) with "from-sandbox <peer ip>".
func responder(proto string, port int) []string {
	kind := "TCP-LISTEN"
	if proto == "udp" {
		kind = "UDP-RECVFROM"
	}
	return []string{"socat", fmt.Sprintf("%s:%d,reuseaddr,fork", kind, port),
		`SYSTEM:echo from-sandbox $SOCAT_PEERADDR`}
}

// bgRun is an nsjail-net run left running while the test talks to it.
type bgRun struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{}
	code   int
}

// startNSJ starts nsjail-net with args in the lab host and stops it (SIGTERM
// to the launcher, which forwards it and tears down) at cleanup.
func startNSJ(t *testing.T, l *Lab, args ...string) *bgRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	b := &bgRun{cmd: l.Cmd(ctx, l.Bin(t), args...), stderr: &lockedBuffer{}, done: make(chan struct{})}
	b.cmd.Stdout, b.cmd.Stderr = io.Discard, b.stderr
	if err := b.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Logf("lab$ %s %s &", l.Bin(t), strings.Join(args, " "))
	go func() {
		err := b.cmd.Wait()
		b.code = exitCode(b.cmd, err)
		close(b.done)
	}()
	t.Cleanup(func() {
		defer cancel()
		_ = b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(15 * time.Second):
			t.Errorf("nsjail-net did not exit after SIGTERM; stderr:\n%s", b.stderr.String())
			_ = b.cmd.Process.Kill()
			<-b.done
		}
	})
	return b
}

// exited reports whether the run has ended.
func (b *bgRun) exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// waitPublished polls probe (a command in the lab host or the world) until
// its output contains "from-sandbox", and returns that output.
func waitPublished(t *testing.T, l *Lab, b *bgRun, o RunOpts, probe ...string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		o.Timeout = 10 * time.Second
		r := l.run(t, o, false, probe[0], probe[1:]...)
		if strings.Contains(r.Stdout, "from-sandbox") {
			return strings.TrimSpace(r.Stdout)
		}
		if b.exited() {
			t.Fatalf("sandbox exited with %d before its port answered; stderr:\n%s", b.code, b.stderr.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: no answer from the published port: %v", probe, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestPolicyPublishTCPOnLoopback(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	b := startNSJ(t, l, append([]string{"run", "--profile", "open", "--publish", "8080:8000/tcp", "--"}, responder("tcp", 8000)...)...)
	got := waitPublished(t, l, b, RunOpts{}, "nc", "-w", "3", "127.0.0.1", "8080")
	if got != "from-sandbox "+bridgeGateway {
		t.Errorf("host -> 127.0.0.1:8080: %q, want the sandbox to see %s", got, bridgeGateway)
	}
	// The default host_ip is 127.0.0.1: not reachable on the host's other
	// addresses, from the host or from the world.
	for _, o := range []RunOpts{{}, {World: true}} {
		r := l.RunWith(t, o, "nc", "-w", "2", labHostIP, "8080")
		if strings.Contains(r.Stdout, "from-sandbox") {
			t.Errorf("published on 127.0.0.1 but reachable on %s:8080 (world=%v)", labHostIP, o.World)
		}
	}
}

func TestPolicyPublishTCPOnEveryAddress(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	prof := writeProfile(t, "pub", `
[network]
mode = "bridge"
[firewall]
default = "deny"
[[publish]]
host_port = 8080
sandbox_port = 8000
host_ip = "0.0.0.0"
`)
	b := startNSJ(t, l, append([]string{"run", "--profile", prof, "--"}, responder("tcp", 8000)...)...)
	got := waitPublished(t, l, b, RunOpts{World: true}, "nc", "-w", "3", labHostIP, "8080")
	// From the world the sandbox sees the world's own address: DNAT only.
	if got != "from-sandbox "+labWorldIP {
		t.Errorf("world -> %s:8080: %q, want the sandbox to see %s", labHostIP, got, labWorldIP)
	}
	for _, dst := range []string{"127.0.0.1", labHostIP} {
		r := l.Run(t, "nc", "-w", "3", dst, "8080")
		if strings.TrimSpace(r.Stdout) != "from-sandbox "+bridgeGateway {
			t.Errorf("host -> %s:8080: %v, want the sandbox to see %s", dst, r, bridgeGateway)
		}
	}
}

func TestPolicyPublishUDP(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	b := startNSJ(t, l, append([]string{"run", "--profile", "open", "--publish", "0.0.0.0:5300:5300/udp", "--"}, responder("udp", 5300)...)...)
	probe := []string{"sh", "-c", "echo ping | socat -t 0.5 - UDP:%s:5300"}
	for _, tc := range []struct {
		o    RunOpts
		dst  string
		want string
	}{
		{RunOpts{}, "127.0.0.1", bridgeGateway},
		{RunOpts{World: true}, labHostIP, labWorldIP},
	} {
		args := append([]string(nil), probe...)
		args[2] = fmt.Sprintf(args[2], tc.dst)
		if got := waitPublished(t, l, b, tc.o, args...); got != "from-sandbox "+tc.want {
			t.Errorf("udp to %s:5300 (world=%v): %q, want the sandbox to see %s", tc.dst, tc.o.World, got, tc.want)
		}
	}
}

func TestPolicyPublishSamePortTwice(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	b := startNSJ(t, l, append([]string{"run", "--profile", "open", "--publish", "8080:8000", "--"}, responder("tcp", 8000)...)...)
	waitPublished(t, l, b, RunOpts{}, "nc", "-w", "3", "127.0.0.1", "8080")
	for _, spec := range []string{"8080:9000/tcp", "0.0.0.0:8080:9000/tcp"} {
		r := l.NSJ(t, "run", "--profile", "open", "--publish", spec, "--", "true")
		wantCode(t, r, 125)
		if !strings.Contains(r.Stderr, "host port tcp") || !strings.Contains(r.Stderr, ":8080 already published by sandbox") {
			t.Errorf("--publish %s while taken: stderr %q, want it to name the port and its holder", spec, r.Stderr)
		}
	}
	// Another protocol, or another port, is free.
	wantCode(t, l.NSJ(t, "run", "--profile", "open", "--publish", "8080:9000/udp", "--", "true"), 0)
	wantCode(t, l.NSJ(t, "run", "--profile", "open", "--publish", "8081:9000", "--", "true"), 0)
	// The first run still answers.
	waitPublished(t, l, b, RunOpts{}, "nc", "-w", "3", "127.0.0.1", "8080")
}

// sink is a TCP server in the world that reads every connection to EOF and
// records how many bytes it got and how long they took.
type sink struct {
	ln    net.Listener
	mu    sync.Mutex
	seen  []transfer
	wg    sync.WaitGroup
	ready chan struct{}
}

type transfer struct {
	from  netip.AddrPort
	bytes int64
	took  time.Duration
}

func newSink(t *testing.T, l *Lab, addr string) *sink {
	s := &sink{ln: l.listenTCP(t, addr), ready: make(chan struct{}, 16)}
	s.wg.Go(func() {
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() {
				defer c.Close()
				start := time.Now()
				_ = c.SetDeadline(start.Add(30 * time.Second))
				n, _ := io.Copy(io.Discard, c)
				s.mu.Lock()
				s.seen = append(s.seen, transfer{addrPortOf(c.RemoteAddr()), n, time.Since(start)})
				s.mu.Unlock()
				s.ready <- struct{}{}
			})
		}
	})
	t.Cleanup(func() { s.ln.Close(); s.wg.Wait() })
	return s
}

func (s *sink) wait(t *testing.T) transfer {
	t.Helper()
	select {
	case <-s.ready:
	case <-time.After(30 * time.Second):
		t.Fatal("sink: no transfer finished")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[len(s.seen)-1]
}

// source is a TCP server in the world that writes n bytes to every
// connection and closes it.
func newSource(t *testing.T, l *Lab, addr string, n int) {
	ln := l.listenTCP(t, addr)
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, n)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				_, _ = c.Write(buf)
			})
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
}

// limitsProfile is the open profile with limits.
func limitsProfile(t *testing.T, limits string) string {
	return writeProfile(t, "limits", `
[network]
mode = "bridge"
[firewall]
default = "allow"
[limits]
`+limits+"\n")
}

func TestPolicyLimitsEgress(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	const size = 2_000_000 // 2 s at 8 mbit/s
	s := newSink(t, l, labServerIP+":9400")
	upload := []string{"sh", "-c", fmt.Sprintf("head -c %d /dev/zero | nc -N -w 10 %s 9400", size, labServerIP)}

	wantCode(t, l.NSJ(t, append([]string{"run", "--profile", "open", "--"}, upload...)...), 0)
	free := s.wait(t)
	wantCode(t, l.NSJ(t, append([]string{"run", "--profile", limitsProfile(t, `egress_rate = "8mbit"`), "--"}, upload...)...), 0)
	limited := s.wait(t)
	t.Logf("%d bytes: unlimited %v, at 8mbit %v", size, free.took, limited.took)
	if free.bytes != size || limited.bytes != size {
		t.Fatalf("sink got %d and %d bytes, want %d", free.bytes, limited.bytes, size)
	}
	if limited.took < 1600*time.Millisecond || limited.took > 8*time.Second {
		t.Errorf("2 MB at 8mbit took %v, want about 2 s", limited.took)
	}
	if free.took > limited.took/2 {
		t.Errorf("unlimited upload took %v, not much faster than the limited %v", free.took, limited.took)
	}
}

func TestPolicyLimitsIngress(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	const size = 2_000_000
	newSource(t, l, labServerIP+":9401", size)
	// The sandbox times its own download, in milliseconds, and counts it.
	download := []string{"sh", "-c", fmt.Sprintf(
		`s=$(date +%%s%%N); n=$(nc -d -w 10 %s 9401 | wc -c); e=$(date +%%s%%N); echo $n $(( (e-s)/1000000 ))`, labServerIP)}
	measure := func(profile string) time.Duration {
		t.Helper()
		r := l.NSJ(t, append([]string{"run", "--profile", profile, "--"}, download...)...)
		wantCode(t, r, 0)
		f := strings.Fields(r.Stdout)
		if len(f) != 2 || f[0] != strconv.Itoa(size) {
			t.Fatalf("download: %q, want %d bytes and a time", r.Stdout, size)
		}
		ms, _ := strconv.Atoi(f[1])
		return time.Duration(ms) * time.Millisecond
	}
	free := measure("open")
	limited := measure(limitsProfile(t, `ingress_rate = "8mbit"`))
	t.Logf("%d bytes: unlimited %v, at 8mbit %v", size, free, limited)
	if limited < 1600*time.Millisecond || limited > 8*time.Second {
		t.Errorf("2 MB at 8mbit took %v, want about 2 s", limited)
	}
	if free > limited/2 {
		t.Errorf("unlimited download took %v, not much faster than the limited %v", free, limited)
	}
}

// refused runs argv in a sandbox with the run flags and checks that it
// fails within a second (a reject, not a drop).
func refused(t *testing.T, l *Lab, run []string, argv ...string) {
	t.Helper()
	refusedWithin(t, l, run, time.Second, argv...)
}

// timed wraps argv so that the sandbox reports, on stderr, how long the
// program itself ran: launcher start-up, slow under a loaded test machine,
// does not count.
const timed = `s=$(date +%s%N); "$@"; rc=$?; e=$(date +%s%N); echo "elapsed-ms $(( (e-s)/1000000 ))" >&2; exit $rc`

func refusedWithin(t *testing.T, l *Lab, run []string, limit time.Duration, argv ...string) {
	t.Helper()
	args := append(append(append([]string(nil), run...), "--", "sh", "-c", timed, "sh"), argv...)
	r := l.NSJ(t, args...)
	if r.Code == 0 {
		t.Errorf("%v: succeeded, want refused\n%s", argv, r)
	}
	_, ms, ok := strings.Cut(r.Stderr, "elapsed-ms ")
	n, err := strconv.Atoi(strings.TrimSpace(ms))
	if !ok || err != nil {
		t.Fatalf("%v: no timing in stderr\n%s", argv, r)
	}
	if d := time.Duration(n) * time.Millisecond; d > limit {
		t.Errorf("%v: refusal took %v, want at most %v", argv, d, limit)
	}
}

// subnetRouterAnycast matches the anycast routes the kernel adds to every
// IPv6 link once forwarding is on (net.ipv6.conf.all.forwarding, part of
// the shared base for ipv6 = true), such as "route6 anycast 2001:db8:1::
// dev up0 table local ...". They come with the forwarding, not with a
// sandbox.
func subnetRouterAnycast(line string) bool {
	return strings.HasPrefix(line, "route6 anycast ") && strings.Contains(line, " table local ")
}

func TestPolicyIPv6Parity(t *testing.T) {
	t.Parallel()
	// newRunLab, with the anycast routes of IPv6 forwarding allowed.
	l := NewLab(t)
	before := l.Snapshot(t)
	t.Cleanup(func() { l.AssertNoLeaks(t, before, sharedBase, subnetRouterAnycast) })
	allowed6 := l.TCPServer(t, "["+labServerIP6+"]:9500")
	denied6 := l.TCPServer(t, "["+labServerIP6+"]:9501")
	denied4 := l.TCPServer(t, labServerIP+":9501")
	v4only6 := l.TCPServer(t, "["+labServerIP6+"]:9502")
	v4only4 := l.TCPServer(t, labServerIP+":9502")
	prof := writeProfile(t, "v6", `
[network]
mode = "bridge"
ipv6 = true
[firewall]
default = "deny"
[[firewall.rules]]
action = "allow"
proto = "tcp"
to = ["`+labServerIP+`", "`+labServerIP6+`"]
ports = [9500]
[[firewall.rules]]
action = "allow"
proto = "tcp"
to = ["`+labServerIP+`"]
ports = [9502]
comment = "v4 only"
[[firewall.rules]]
action = "deny"
proto = "tcp"
to = ["203.0.113.0/24", "2001:db8:1::/64"]
`)
	run := []string{"run", "--profile", prof}
	r := l.NSJ(t, append(run, "--", "sh", "-c", "ip -6 -br addr show eth0; ip -6 route")...)
	wantCode(t, r, 0)
	for _, want := range []string{"fd6e:736a:6e65::", "default via fd6e:736a:6e65::1"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("sandbox v6 view lacks %q:\n%s", want, r.Stdout)
		}
	}
	r = l.NSJ(t, append(run, "--", "nc", "-6", "-w", "3", labServerIP6, "9500")...)
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "hello from world") {
		t.Errorf("v6 allowed: got %q", r.Stdout)
	}
	if got := allowed6.WaitSeen(t, 1, 3*time.Second)[0].Addr(); got != netip.MustParseAddr(labHostIP6) {
		t.Errorf("world saw %s over v6, want the NAT66 address %s", got, labHostIP6)
	}
	// Denied by the same rule in both families, refused at once.
	refused(t, l, run, "nc", "-6", "-w", "3", labServerIP6, "9501")
	refused(t, l, run, "nc", "-4", "-w", "3", labServerIP, "9501")
	// A rule with only an IPv4 address opens nothing in IPv6.
	wantCode(t, l.NSJ(t, append(run, "--", "nc", "-4", "-w", "3", labServerIP, "9502")...), 0)
	refused(t, l, run, "nc", "-6", "-w", "3", labServerIP6, "9502")
	for name, s := range map[string]*TCPServer{"v6 9501": denied6, "v4 9501": denied4, "v6 9502": v4only6} {
		if n := len(s.Seen()); n != 0 {
			t.Errorf("%s: server saw %d connections, want none", name, n)
		}
	}
	v4only4.WaitSeen(t, 1, 3*time.Second)
}

func TestPolicyAllowHost(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	host := l.Cmd(context.Background(), "nc", "-lk", "-p", "9100")
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Process.Kill(); host.Wait() })
	time.Sleep(100 * time.Millisecond)
	open := []string{"run", "--profile", "open"}
	refused(t, l, open, "nc", "-z", "-w", "3", labHostIP, "9100")
	prof := writeProfile(t, "host", `
[network]
mode = "bridge"
[firewall]
default = "allow"
allow_host = true
`)
	for _, dst := range []string{labHostIP, bridgeGateway} {
		r := l.NSJ(t, "run", "--profile", prof, "--", "nc", "-z", "-w", "3", dst, "9100")
		if r.Code != 0 {
			t.Errorf("allow_host: %s:9100 not reached\n%s", dst, r)
		}
	}
	// Another sandbox without it is still refused (the exception is per
	// sandbox and went with the first).
	refused(t, l, open, "nc", "-z", "-w", "3", bridgeGateway, "9100")
}

func TestPolicyAllowPrivate(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	// A private address in the world, reached through the host's default
	// route.
	const private = "192.168.77.1"
	world := l.WorldNetlink(t)
	link, err := world.LinkByName(labWorldLink)
	if err != nil {
		t.Fatal(err)
	}
	if err := configure(world, link.Attrs().Name, []string{private + "/32"}); err != nil {
		t.Fatal(err)
	}
	srv := l.TCPServer(t, private+":9200")
	refused(t, l, []string{"run", "--profile", "open"}, "nc", "-w", "3", private, "9200")
	prof := writeProfile(t, "private", `
[network]
mode = "bridge"
[firewall]
default = "allow"
allow_private = true
`)
	wantCode(t, l.NSJ(t, "run", "--profile", prof, "--", "nc", "-w", "3", private, "9200"), 0)
	if got := srv.WaitSeen(t, 1, 3*time.Second); len(got) != 1 || got[0].Addr() != natIP {
		t.Errorf("private server saw %v, want one connection from %s", got, natIP)
	}
}

func TestPolicyICMPRulesAndLogBlocked(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	udp := l.UDPServer(t, labServerIP+":9300")
	tcp := l.TCPServer(t, labServerIP+":9301")
	prof := writeProfile(t, "icmp", `
[network]
mode = "bridge"
[firewall]
default = "deny"
log_blocked = true
[[firewall.rules]]
action = "deny"
proto = "icmp"
to = ["`+labServerIP+`"]
[[firewall.rules]]
action = "allow"
proto = "icmp"
[[firewall.rules]]
action = "allow"
proto = "udp"
to = ["`+labServerIP+`"]
ports = ["9300-9309"]
`)
	run := []string{"run", "--profile", prof}
	// ping fails at once (sendmsg: EPERM, then "Destination Port
	// Unreachable") but lingers about a second before it exits: a drop
	// would make it wait the full -W 10.
	refusedWithin(t, l, run, 2*time.Second, "ping", "-c", "1", "-W", "10", labServerIP)
	wantCode(t, l.NSJ(t, append(run, "--", "ping", "-c", "1", "-W", "3", labOtherIP)...), 0)
	r := l.NSJ(t, append(run, "--", "sh", "-c", "echo hi | socat -t 0.5 - UDP:"+labServerIP+":9300")...)
	wantCode(t, r, 0)
	if strings.TrimSpace(r.Stdout) != "hi" {
		t.Errorf("udp echo through the allow rule: %q", r.Stdout)
	}
	if got := udp.WaitSeen(t, 1, 3*time.Second)[0].Addr(); got != natIP {
		t.Errorf("udp server saw %s, want %s", got, natIP)
	}
	// Blocked (and logged) by the default: refused at once.
	refused(t, l, run, "nc", "-w", "3", labServerIP, "9301")
	if n := len(tcp.Seen()); n != 0 {
		t.Errorf("tcp server saw %d connections under default deny", n)
	}
}

func TestPolicyDenyFlagOverridesProfile(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	a := l.TCPServer(t, labServerIP+":9600")
	b := l.TCPServer(t, labServerIP+":9601")
	run := []string{"run", "--profile", "open", "--deny", "tcp:" + labServerIP + ":9600"}
	refused(t, l, run, "nc", "-w", "3", labServerIP, "9600")
	wantCode(t, l.NSJ(t, append(run, "--", "nc", "-w", "3", labServerIP, "9601")...), 0)
	// --deny wins over an --allow of the same destination.
	refused(t, l, append(run, "--allow", "tcp:"+labServerIP+":9600"), "nc", "-w", "3", labServerIP, "9600")
	if n := len(a.Seen()); n != 0 {
		t.Errorf("denied server saw %d connections", n)
	}
	b.WaitSeen(t, 1, 3*time.Second)
}

// Publishing a port a host process listens on is refused: DNAT would
// silently take its traffic.
func TestPolicyPublishRefusesAPortInUseOnTheHost(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	busy := l.Cmd(context.Background(), "nc", "-l", "-k", "127.0.0.1", "8099")
	if err := busy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Process.Kill(); busy.Wait() })
	waitFor(t, func() bool { return strings.Contains(l.Run(t, "ss", "-ltn").Stdout, "127.0.0.1:8099") })
	r := l.NSJ(t, "run", "--profile", "open", "--publish", "8099:80/tcp", "--", "true")
	wantCode(t, r, 125)
	if !strings.Contains(r.Stderr, "8099") || !strings.Contains(r.Stderr, "in use") {
		t.Errorf("stderr %q, want it to name the busy port", r.Stderr)
	}
}
