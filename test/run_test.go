package test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// natIP is the address the world sees for every sandbox: the lab host's
// uplink, after MASQUERADE.
var natIP = netip.MustParseAddr(labHostIP)

// newRunLab is a lab with a snapshot taken before anything ran; the leak
// check runs at cleanup.
func newRunLab(t *testing.T, opts ...LabOption) *Lab {
	t.Helper()
	l := NewLab(t, opts...)
	before := l.Snapshot(t)
	t.Cleanup(func() { l.AssertNoLeaks(t, before) })
	return l
}

// writeProfile writes a profile into the lab host's filesystem view (the
// lab shares the machine's filesystem apart from /run) and returns its path.
func writeProfile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantCode(t *testing.T, r Result, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("exit status %d, want %d\n%s", r.Code, code, r)
	}
}

func TestRunOfflineHasOnlyLoopback(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	r := l.NSJ(t, "run", "--", "ip", "-o", "link", "show")
	wantCode(t, r, 0)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], ": lo:") || !strings.Contains(lines[0], "UP") {
		t.Errorf("offline sandbox links:\n%s\nwant only lo, up", r.Stdout)
	}
	if r.Stderr != "" {
		t.Errorf("launcher printed on success: %q", r.Stderr)
	}
}

func TestRunBridgedReachesWorldThroughNAT(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	srv := l.TCPServer(t, labServerIP+":8080")
	r := l.NSJ(t, "run", "--profile", "open", "--", "nc", "-w", "3", labServerIP, "8080")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "hello from world") {
		t.Errorf("sandbox got %q, want the server's greeting", r.Stdout)
	}
	seen := srv.WaitSeen(t, 1, 3*time.Second)
	if seen[0].Addr() != natIP {
		t.Errorf("world saw %s, want the NAT address %s", seen[0].Addr(), natIP)
	}
}

func TestRunSandboxNetworkShape(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	r := l.NSJ(t, "run", "--profile", "open", "--hostname", "box1", "--",
		"sh", "-c", "ip -br addr show eth0; ip route; hostname; cat /etc/resolv.conf; cat /etc/hosts; ip -6 addr show eth0")
	wantCode(t, r, 0)
	for _, want := range []string{"eth0", "10.213.", "default via 10.213.0.1 dev eth0", "box1", "nameserver 127.0.0.53"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("sandbox view lacks %q:\n%s", want, r.Stdout)
		}
	}
	if strings.Contains(r.Stdout, "inet6") {
		t.Errorf("eth0 has IPv6 though the profile leaves it off:\n%s", r.Stdout)
	}
}

func TestRunWebProfileAllowsHTTPAndRefusesTheRest(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	web := l.HTTPServer(t, labServerIP+":80")
	other := l.TCPServer(t, labServerIP+":8080")
	r := l.NSJ(t, "run", "--profile", "web", "--", "curl", "-sS", "--max-time", "5", "http://"+labServerIP+"/")
	wantCode(t, r, 0)
	if got := strings.TrimSpace(r.Stdout); got != "ok "+labHostIP {
		t.Errorf("curl got %q, want the server to have seen %s", got, labHostIP)
	}
	start := time.Now()
	r = l.NSJ(t, "run", "--profile", "web", "--", "nc", "-w", "5", labServerIP, "8080")
	if r.Code == 0 {
		t.Errorf("tcp/8080 under web: connected, want refused\n%s", r)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusal took %v: deny must reject at once, not drop", d)
	}
	if n := len(other.Seen()); n != 0 {
		t.Errorf("server on 8080 saw %d connections under web", n)
	}
	if n := len(web.Seen()); n != 1 {
		t.Errorf("web server saw %d requests, want 1", n)
	}
}

func TestRunProfileRulesFirstMatchWins(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	a := l.TCPServer(t, labServerIP+":9000")
	b := l.TCPServer(t, labOtherIP+":9000")
	prof := writeProfile(t, "rules", `
description = "allow one server, deny its neighbour"
[network]
mode = "bridge"
[firewall]
default = "allow"
[[firewall.rules]]
action = "allow"
proto = "tcp"
to = ["`+labServerIP+`"]
ports = [9000]
[[firewall.rules]]
action = "deny"
proto = "tcp"
to = ["198.51.100.0/24", "`+labServerIP+`"]
`)
	r := l.NSJ(t, "run", "--profile", prof, "--", "nc", "-w", "3", labServerIP, "9000")
	wantCode(t, r, 0)
	r = l.NSJ(t, "run", "--profile", prof, "--", "nc", "-w", "3", labOtherIP, "9000")
	if r.Code == 0 {
		t.Errorf("denied destination connected:\n%s", r)
	}
	if got := a.WaitSeen(t, 1, 3*time.Second)[0].Addr(); got != natIP {
		t.Errorf("allowed server saw %s, want %s", got, natIP)
	}
	if n := len(b.Seen()); n != 0 {
		t.Errorf("denied server saw %d connections", n)
	}
	// Command-line overrides come before the profile's rules.
	r = l.NSJ(t, "run", "--profile", prof, "--allow", "tcp:198.51.100.7:9000", "--", "nc", "-w", "3", labOtherIP, "9000")
	wantCode(t, r, 0)
	if got := b.WaitSeen(t, 1, 3*time.Second)[0].Addr(); got != natIP {
		t.Errorf("server allowed by --allow saw %s, want %s", got, natIP)
	}
}

func TestRunWorksWhenForwardPolicyIsDrop(t *testing.T) {
	t.Parallel()
	l := NewLab(t)
	l.MustRun(t, "iptables", "-P", "FORWARD", "DROP") // as Docker leaves it
	before := l.Snapshot(t)
	t.Cleanup(func() { l.AssertNoLeaks(t, before) })
	srv := l.TCPServer(t, labServerIP+":8080")
	r := l.NSJ(t, "run", "--profile", "open", "--", "nc", "-w", "3", labServerIP, "8080")
	wantCode(t, r, 0)
	if got := srv.WaitSeen(t, 1, 3*time.Second)[0].Addr(); got != natIP {
		t.Errorf("world saw %s, want %s", got, natIP)
	}
}

func TestRunGuardsHoldUnderOpenProfile(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	// A listener on the lab host itself, on all of its addresses.
	host := l.Cmd(context.Background(), "nc", "-lk", "-p", "9100")
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Process.Kill(); host.Wait() })
	time.Sleep(100 * time.Millisecond)
	for _, dst := range []string{"10.213.0.1", labHostIP, "127.0.0.1", "169.254.169.254", "10.1.2.3", "192.168.1.1"} {
		// Timed inside the sandbox: the launch itself may take seconds
		// when the suite's 100-launch burst runs beside this test.
		probe := fmt.Sprintf(`s=$(date +%%s%%N); nc -z -w 3 %s 9100; rc=$?; echo "$rc $(( ($(date +%%s%%N) - s) / 1000000 ))"`, dst)
		r := l.NSJ(t, "run", "--profile", "open", "--", "sh", "-c", probe)
		var rc, ms int
		if _, err := fmt.Sscan(r.Stdout, &rc, &ms); err != nil {
			t.Fatalf("%s: probe printed %q: %v", dst, r.Stdout, err)
		}
		if rc == 0 {
			t.Errorf("open profile reached %s:9100 (host or private); the guards must refuse it", dst)
		}
		if ms > 2500 {
			t.Errorf("%s: refusal took %d ms, want immediate", dst, ms)
		}
	}
}

func TestRunExitStatus(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	bad := writeProfile(t, "bad", "[network]\nmode = \"bridg\"\n")
	tests := []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"program status", []string{"run", "--", "sh", "-c", "exit 7"}, 7, ""},
		{"killed by signal", []string{"run", "--", "sh", "-c", "kill -TERM $$"}, 128 + 15, ""},
		{"not found", []string{"run", "--", "no-such-program-xyz"}, 127, "no-such-program-xyz"},
		{"not executable", []string{"run", "--", "/etc/hostname"}, 126, "/etc/hostname"},
		{"a directory", []string{"run", "--", "/etc"}, 126, "/etc"},
		{"bad profile", []string{"run", "--profile", bad, "--", "true"}, 125, "bad.toml:2:8"},
		{"unknown profile", []string{"run", "--profile", "no-such-profile", "--", "true"}, 125, "no-such-profile"},
		{"unknown user", []string{"run", "--user", "no-such-user-xyz", "--", "true"}, 125, `unknown user "no-such-user-xyz"`},
		{"no program", []string{"run"}, 125, "no program"},
		{"bad flag", []string{"run", "--frobnicate", "--", "true"}, 125, "frobnicate"},
		{"bad name", []string{"run", "--name", "a/b", "--", "true"}, 125, "--name"},
		{"empty name", []string{"run", "--name", "", "--", "true"}, 125, "--name"},
		{"bad env", []string{"run", "--env", "=novar", "--", "true"}, 125, "--env"},
		{"bad allow", []string{"run", "--profile", "open", "--allow", "tcp:1.2.3.4:99999", "--", "true"}, 125, "99999"},
		{"bad workdir", []string{"run", "--workdir", "/no/such/dir", "--", "true"}, 125, "/no/such/dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := l.NSJ(t, tt.args...)
			wantCode(t, r, tt.code)
			if tt.inStderr != "" && !strings.Contains(r.Stderr, tt.inStderr) {
				t.Errorf("stderr %q does not name %q", r.Stderr, tt.inStderr)
			}
		})
	}
}

func TestRunPassesStdioEnvAndWorkdir(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	r := l.RunWith(t, RunOpts{Stdin: "from stdin\n"}, l.Bin(t), "run", "--", "cat")
	wantCode(t, r, 0)
	if r.Stdout != "from stdin\n" {
		t.Errorf("stdin not passed through: got %q", r.Stdout)
	}
	r = l.NSJ(t, "run", "--env", "FOO=bar baz", "--workdir", "/tmp", "--", "sh", "-c", `printf '%s|%s|%s' "$FOO" "$PWD" "$(pwd)"`)
	wantCode(t, r, 0)
	if r.Stdout != "bar baz|/tmp|/tmp" {
		t.Errorf("env/workdir: got %q", r.Stdout)
	}
	r = l.NSJ(t, "run", "--", "sh", "-c", "echo out; echo err >&2")
	if r.Stdout != "out\n" || r.Stderr != "err\n" {
		t.Errorf("stdout/stderr mixed up: %q / %q", r.Stdout, r.Stderr)
	}
}

func TestRunDropsEveryPrivilege(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	for _, user := range []string{"0", "nobody"} {
		r := l.NSJ(t, "run", "--profile", "open", "--user", user, "--", "sh", "-c", "id -u; grep -E '^(Cap|NoNewPrivs)' /proc/self/status; ls /proc/self/fd")
		wantCode(t, r, 0)
		out := r.Stdout
		wantUID := map[string]string{"0": "0", "nobody": "65534"}[user]
		if !strings.HasPrefix(out, wantUID+"\n") {
			t.Errorf("--user %s: uid line %q", user, strings.SplitN(out, "\n", 2)[0])
		}
		for _, want := range []string{"CapInh:\t0000000000000000", "CapPrm:\t0000000000000000", "CapEff:\t0000000000000000",
			"CapAmb:\t0000000000000000", "CapBnd:\t0000000000002000", "NoNewPrivs:\t1"} {
			if !strings.Contains(out, want) {
				t.Errorf("--user %s: /proc/self/status lacks %q:\n%s", user, want, out)
			}
		}
		// ls itself holds 0-2 and the directory it lists (3): nothing else.
		fds := strings.Fields(out[strings.LastIndex(out, "NoNewPrivs"):])
		if len(fds) > 2+4 {
			t.Errorf("--user %s: open fds in the program: %v", user, fds[2:])
		}
	}
	// Root inside cannot change its network.
	r := l.NSJ(t, "run", "--profile", "open", "--user", "0", "--", "sh", "-c",
		"ip link set eth0 down && echo LINK; ip addr add 10.213.9.9/16 dev eth0 && echo ADDR; iptables -F 2>/dev/null && echo FLUSH; exit 0")
	for _, bad := range []string{"LINK", "ADDR", "FLUSH"} {
		if strings.Contains(r.Stdout, bad) {
			t.Errorf("uid 0 inside could %s:\n%s", bad, r)
		}
	}
}

func TestRunPingWithoutCapabilities(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	r := l.NSJ(t, "run", "--profile", "open", "--user", "nobody", "--", "ping", "-c", "1", "-W", "3", labServerIP)
	wantCode(t, r, 0)
}

func TestRunResolvesThroughItsResolvConf(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	dns := l.DNSServer(t, labDNSIP+":53", exampleRecords())
	r := l.NSJ(t, "run", "--profile", "web", "--", "getent", "ahostsv4", "www.example.test")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, labServerIP) {
		t.Errorf("getent: %q, want %s", r.Stdout, labServerIP)
	}
	q := dns.WaitQueries(t, 1, 3*time.Second)
	if q[0].Source.Addr() != natIP {
		t.Errorf("DNS server saw the query from %s, want %s", q[0].Source.Addr(), natIP)
	}
	// --dns replaces the upstream resolvers for one run.
	other := l.DNSServer(t, labOtherIP+":53", map[string][]string{"only.other.test.": {"A 198.51.100.99"}})
	r = l.NSJ(t, "run", "--profile", "web", "--dns", labOtherIP, "--", "getent", "ahostsv4", "only.other.test")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "198.51.100.99") {
		t.Errorf("--dns: getent %q", r.Stdout)
	}
	if q := other.WaitQueries(t, 1, 3*time.Second); q[0].Source.Addr() != natIP {
		t.Errorf("--dns server saw the query from %s, want %s", q[0].Source.Addr(), natIP)
	}
}

func TestRunForwardsSignals(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := l.Cmd(ctx, l.Bin(t), "run", "--", "sh", "-c", `trap 'echo got-usr1' USR1; trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 0.05; done`)
	out := &lockedBuffer{}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(out.String(), "ready") })
	cmd.Process.Signal(syscall.SIGUSR1)
	waitFor(t, func() bool { return strings.Contains(out.String(), "got-usr1") })
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if code := exitCode(cmd, err); code != 3 {
		t.Errorf("exit status %d after SIGTERM, want the program's 3 (output %q)", code, out.String())
	}
	if !strings.Contains(out.String(), "got-term") {
		t.Errorf("program did not see SIGTERM: %q", out.String())
	}
}

func TestRunRequiresRootWithClearMessage(t *testing.T) {
	t.Parallel()
	l := NewLab(t)
	r := l.Run(t, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", l.Bin(t), "run", "--", "true")
	wantCode(t, r, 125)
	if !strings.Contains(r.Stderr, "needs root") {
		t.Errorf("stderr %q, want a clear 'needs root' message", r.Stderr)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
