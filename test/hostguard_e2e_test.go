package test

// End-to-end tests of what a sandbox can do to its host past its own
// firewall: reach what the host translates (DNAT rules shaped like
// Docker's and kube-proxy's, installed in the lab host), fill the host's
// connection table (limits.connections), and reach a neighbour that did
// not set allow_sandboxes.

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// labRules runs iptables in the lab host with each line's arguments.
func labRules(t *testing.T, l *Lab, lines ...string) {
	t.Helper()
	for _, line := range lines {
		l.MustRun(t, "iptables", strings.Fields(line)...)
	}
}

// worldAddr adds addresses (/32) to the world's end of the uplink: the
// lab host reaches them through its default route.
func worldAddr(t *testing.T, l *Lab, addrs ...string) {
	t.Helper()
	var cidrs []string
	for _, a := range addrs {
		cidrs = append(cidrs, a+"/32")
	}
	if err := configure(l.WorldNetlink(t), labWorldLink, cidrs); err != nil {
		t.Fatal(err)
	}
}

// newTranslatingLab is a lab whose host carries the DNAT rules given,
// installed before the leak snapshot (they are the host's, not ours), with
// the server they lead to (backend, "addr:port") in the world.
func newTranslatingLab(t *testing.T, backend string, rules ...string) (*Lab, *TCPServer) {
	t.Helper()
	l := NewLab(t)
	labRules(t, l, rules...)
	before := l.Snapshot(t)
	t.Cleanup(func() { l.AssertNoLeaks(t, before) })
	addr, _, _ := strings.Cut(backend, ":")
	worldAddr(t, l, addr)
	return l, l.TCPServer(t, backend)
}

// dockerRules are what Docker installs for `docker run -p 8080:80` with
// the container at 172.17.0.2 (its nat table, less the masquerade of the
// container's own traffic).
var dockerRules = []string{
	"-t nat -N DOCKER",
	"-t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
	"-t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER",
	"-t nat -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80",
}

const dockerContainer = "172.17.0.2"

// A sandbox connecting to the host's address on a port Docker publishes
// reaches the container only if its profile allows the container itself.
func TestGuardHostDNATDockerShaped(t *testing.T) {
	t.Parallel()
	l, container := newTranslatingLab(t, dockerContainer+":80", dockerRules...)

	// The open profile lets 203.0.113.1:8080 out (a public address), but
	// the container is private: refused by the host, at once.
	refused(t, l, []string{"run", "--profile", "open"}, "nc", "-w", "3", labHostIP, "8080")
	// A profile that allows the published address, and private
	// addresses, but not the container's port.
	const deny = "[firewall]\ndefault = \"deny\"\nallow_private = true\n"
	origOnly := writeProfile(t, "orig-only", deny+tcpRule(labHostIP, 8080))
	refused(t, l, []string{"run", "--profile", origOnly}, "nc", "-w", "3", labHostIP, "8080")
	if n := len(container.Seen()); n != 0 {
		t.Fatalf("the container saw %d connections through the host's DNAT", n)
	}
	// Allowing the container's address and port lets it through.
	both := writeProfile(t, "to-container", deny+tcpRule(labHostIP, 8080)+tcpRule(dockerContainer, 80))
	greeted(t, l, both, labHostIP, "8080")
	if got := container.WaitSeen(t, 1, 3*time.Second); got[0].Addr() != natIP {
		t.Errorf("the container saw %v, want %s (the host's NAT)", got, natIP)
	}
}

// tcpRule is a rule allowing tcp to addr, port.
func tcpRule(addr string, port int) string {
	return fmt.Sprintf("[[firewall.rules]]\naction = \"allow\"\nproto = \"tcp\"\nto = [%q]\nports = [%d]\n", addr, port)
}

// greeted checks that a sandbox with profile reaches a TCPServer of the
// world through host:port: nc prints the server's greeting.
func greeted(t *testing.T, l *Lab, profile, host, port string) {
	t.Helper()
	r := l.NSJ(t, "run", "--profile", profile, "--", "nc", "-w", "3", host, port)
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, strings.TrimSpace(tcpGreeting)) {
		t.Errorf("%s:%s: no greeting from the server behind it: %s", host, port, r)
	}
}

// kubeProxyRules are kube-proxy's (iptables mode) for a ClusterIP service
// 10.96.0.10:80 with node port 30080 and one endpoint, the pod
// 10.244.1.5:8080.
var kubeProxyRules = []string{
	"-t nat -N KUBE-SERVICES",
	"-t nat -N KUBE-NODEPORTS",
	"-t nat -N KUBE-SVC-WEB",
	"-t nat -N KUBE-SEP-WEB",
	"-t nat -A PREROUTING -m comment --comment kubernetes-service-portals -j KUBE-SERVICES",
	"-t nat -A OUTPUT -m comment --comment kubernetes-service-portals -j KUBE-SERVICES",
	"-t nat -A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-WEB",
	"-t nat -A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS",
	"-t nat -A KUBE-NODEPORTS -p tcp -m tcp --dport 30080 -j KUBE-SVC-WEB",
	"-t nat -A KUBE-SVC-WEB -j KUBE-SEP-WEB",
	"-t nat -A KUBE-SEP-WEB -p tcp -m tcp -j DNAT --to-destination 10.244.1.5:8080",
}

const (
	kubeClusterIP = "10.96.0.10"
	kubePod       = "10.244.1.5"
)

// kube-proxy's node port and service address lead to a pod: the pod's
// address is what the profile must allow.
func TestGuardHostDNATKubeProxyShaped(t *testing.T) {
	t.Parallel()
	l, pod := newTranslatingLab(t, kubePod+":8080", kubeProxyRules...)

	// The node port on the host's address: the pod is private.
	refused(t, l, []string{"run", "--profile", "open"}, "nc", "-w", "3", labHostIP, "30080")
	// Private addresses allowed, but not the pod network: the service
	// address passes the sandbox's firewall, the pod does not pass the
	// host's check.
	noPods := writeProfile(t, "no-pods", `
[firewall]
default = "allow"
allow_private = true
[[firewall.rules]]
action = "deny"
to = ["10.244.0.0/16"]
`)
	refused(t, l, []string{"run", "--profile", noPods}, "nc", "-w", "3", kubeClusterIP, "80")
	refused(t, l, []string{"run", "--profile", noPods}, "nc", "-w", "3", labHostIP, "30080")
	if n := len(pod.Seen()); n != 0 {
		t.Fatalf("the pod saw %d connections through the host's DNAT", n)
	}
	private := writeProfile(t, "private", `
[firewall]
default = "allow"
allow_private = true
`)
	greeted(t, l, private, kubeClusterIP, "80")
	greeted(t, l, private, labHostIP, "30080")
	pod.WaitSeen(t, 2, 3*time.Second)
}

// holdServer accepts TCP connections in the world and keeps them open
// until cleanup; it counts what it accepted.
type holdServer struct {
	mu    sync.Mutex
	conns []net.Conn
}

func newHoldServer(t *testing.T, l *Lab, addr string) *holdServer {
	t.Helper()
	ln := l.listenTCP(t, addr)
	s := &holdServer{}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conns {
			c.Close()
		}
	})
	return s
}

func (s *holdServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// limits.connections bounds the connections a sandbox holds open: past
// it, a new one is refused at once, and no more reach the world.
func TestLimitsConnectionsOpenAtOnce(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	srv := newHoldServer(t, l, labServerIP+":9400")
	prof := writeProfile(t, "five", "[firewall]\ndefault = \"allow\"\n[limits]\nconnections = 5\n")
	// 15 connections held open; then one more, timed.
	// Until the limit is reached (at most 10 s: a loaded machine starts
	// the 15 slowly), then a moment for the refused ones to be refused.
	script := `for i in $(seq 15); do (sleep 12 | nc -w 14 ` + labServerIP + ` 9400 >/dev/null 2>&1 &); done
i=0; while [ "$(ss -Htn state established | wc -l)" -lt 5 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
sleep 0.5
s=$(date +%s%N); nc -z -w 3 ` + labServerIP + ` 9400; rc=$?; e=$(date +%s%N)
echo "extra $rc $(( (e-s)/1000000 ))"`
	r := l.NSJ(t, "run", "--profile", prof, "--", "sh", "-c", script)
	var rc, ms int
	_, report, _ := strings.Cut(r.Stdout, "extra ")
	if _, err := fmt.Sscan(report, &rc, &ms); err != nil {
		t.Fatalf("no report from the sandbox: %v\n%s", err, r)
	}
	if rc == 0 || ms > 1000 {
		t.Errorf("a connection past the limit: exit %d after %d ms, want refused at once", rc, ms)
	}
	if n := srv.count(); n != 5 {
		t.Errorf("the world saw %d connections, want 5 (the limit)", n)
	}
}

// Connections closed at once do not count as open, but each leaves an
// entry in the host's table for two minutes: new connections are held to
// limits.connections a minute, so they cannot churn the table full.
func TestLimitsConnectionsChurn(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	srv := l.TCPServer(t, labServerIP+":9401")
	prof := writeProfile(t, "five", "[firewall]\ndefault = \"allow\"\n[limits]\nconnections = 5\n")
	script := `for i in $(seq 12); do nc -w 1 ` + labServerIP + ` 9401 </dev/null >/dev/null 2>&1; done; true`
	wantCode(t, l.NSJ(t, "run", "--profile", prof, "--", "sh", "-c", script), 0)
	time.Sleep(200 * time.Millisecond)
	if n := len(srv.Seen()); n < 5 || n > 6 {
		t.Errorf("the world saw %d connections, want the burst of 5 (6 if a token came back)", n)
	}
}

// allow_sandboxes opens the way between two sandboxes only when both set
// it: a sandbox that did not is refused to a neighbour that did, and the
// other way round.
func TestAllowSandboxesOnlyBetweenThoseThatBothAllow(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	allow := writeProfile(t, "neighbours", "[firewall]\ndefault = \"allow\"\nallow_sandboxes = true\n")
	allowing := sandboxServer(t, l, "nb-allow", allow)
	closed := sandboxServer(t, l, "nb-closed", "open")

	r := l.NSJ(t, "run", "--profile", allow, "--", "nc", "-w", "3", allowing, "9000")
	if !strings.Contains(r.Stdout, "hello-neighbour") {
		t.Errorf("allow_sandboxes on both ends: %s not reached:\n%s", allowing, r)
	}
	// The neighbour never opted in: refused, at once.
	refused(t, l, []string{"run", "--profile", allow}, "nc", "-w", "3", closed, "9000")
	refused(t, l, []string{"run", "--profile", "open"}, "nc", "-w", "3", allowing, "9000")
}

// sandboxServer starts a sandbox named name with profile that answers
// "hello-neighbour" on tcp 9000 and returns its address.
func sandboxServer(t *testing.T, l *Lab, name, profile string) string {
	t.Helper()
	srv := l.Cmd(context.Background(), l.Bin(t), "run", "--name", name, "--profile", profile, "--", "sh", "-c",
		"ip -4 -o addr show eth0; while :; do echo hello-neighbour | nc -N -l -p 9000; done")
	out := &lockedBuffer{}
	srv.Stdout = out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Signal(syscall.SIGTERM); srv.Wait() })
	var ip string
	waitFor(t, func() bool {
		f := strings.Fields(out.String())
		for i, w := range f {
			if w == "inet" && i+1 < len(f) {
				ip, _, _ = strings.Cut(f[i+1], "/")
				return true
			}
		}
		return false
	})
	// The listener: nc inside answers a probe from the host (the
	// gateway is never refused).
	waitFor(t, func() bool {
		return strings.Contains(l.run(t, RunOpts{Timeout: 5 * time.Second}, false, "nc", "-w", "1", ip, "9000").Stdout, "hello-neighbour")
	})
	return ip
}

// Broadcast and multicast reach every port of the bridge: an isolated
// sandbox must not reach one with allow_sandboxes through them, even on a
// host where bridged frames bypass iptables (no br_netfilter).
func TestBroadcastFromIsolatedSandboxWithoutBrNetfilter(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed (make deps installs it)")
	}
	l := newRunLab(t)
	for _, k := range []string{"bridge-nf-call-iptables", "bridge-nf-call-ip6tables"} {
		if r := l.Run(t, "sysctl", "-q", "-w", "net.bridge."+k+"=0"); r.Code != 0 {
			t.Skipf("cannot turn off %s in the lab: %s", k, r)
		}
	}
	allow := writeProfile(t, "bcast", "[firewall]\ndefault = \"allow\"\nallow_sandboxes = true\n")
	recv := l.Cmd(context.Background(), l.Bin(t), "run", "--name", "bc-recv", "--profile", allow, "--", "sh", "-c",
		"ip -4 -o addr show eth0; socat -u UDP4-RECV:9999,ip-add-membership=224.0.0.1:eth0 -")
	got := &lockedBuffer{}
	recv.Stdout = got
	if err := recv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { recv.Process.Signal(syscall.SIGTERM); recv.Wait() })
	waitFor(t, func() bool { return strings.Contains(got.String(), "inet ") })
	time.Sleep(200 * time.Millisecond) // socat bound
	send := func(profile, what string) {
		script := ""
		for _, d := range []string{"255.255.255.255", "224.0.0.1", "10.213.255.255"} {
			script += fmt.Sprintf("echo %s-%s | socat -u - UDP4-DATAGRAM:%s:9999,broadcast 2>/dev/null; ", what, d, d)
		}
		l.NSJ(t, "run", "--profile", profile, "--", "sh", "-c", script)
	}
	// Control: a sandbox that also allows reaches it this way.
	send(allow, "from-allowing")
	waitFor(t, func() bool { return strings.Contains(got.String(), "from-allowing") })
	send("open", "from-isolated")
	time.Sleep(500 * time.Millisecond)
	if strings.Contains(got.String(), "from-isolated") {
		t.Errorf("an isolated sandbox reached one with allow_sandboxes by broadcast or multicast:\n%s", got.String())
	}
}
