package test

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// listedSandbox is the part of `list --json` the tests read.
type listedSandbox struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Pid     int       `json:"pid"`
	Profile string    `json:"profile"`
	IP      string    `json:"ip"`
	Created time.Time `json:"created"`
	Command []string  `json:"command"`
}

// inspected is the part of `inspect --json` the tests read.
type inspected struct {
	Name       string `json:"name"`
	Interfaces []struct {
		Name  string   `json:"name"`
		Addrs []string `json:"addrs"`
	} `json:"interfaces"`
	Routes []struct {
		Dst string `json:"dst"`
		Gw  string `json:"gw"`
	} `json:"routes"`
	ResolvConf string `json:"resolv_conf"`
	Published  []struct {
		HostPort    int `json:"host_port"`
		SandboxPort int `json:"sandbox_port"`
	} `json:"published"`
	Firewall []struct {
		Family string `json:"family"`
		Table  string `json:"table"`
		Chains []struct {
			Name  string `json:"name"`
			Rules []struct {
				Rule    string `json:"rule"`
				Packets uint64 `json:"packets"`
			} `json:"rules"`
		} `json:"chains"`
	} `json:"firewall"`
}

// background starts nsjail-net in the lab host and returns the command
// (its pid is the launcher's: nsenter execs it), its output so far, and a
// func that waits for it and returns its exit status.
func background(t *testing.T, l *Lab, args ...string) (*exec.Cmd, *lockedBuffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := l.Cmd(ctx, l.Bin(t), args...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		err := cmd.Wait()
		done <- exitCode(cmd, err)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	var code *int
	return cmd, out, func() int {
		if code == nil {
			select {
			case c := <-done:
				code = &c
				done <- c // for the cleanup
			case <-time.After(30 * time.Second):
				t.Fatalf("nsjail-net %s did not exit; output:\n%s", strings.Join(args, " "), out.String())
			}
		}
		t.Logf("background nsjail-net %s -> %d; output:\n%s", strings.Join(args, " "), *code, out.String())
		return *code
	}
}

// listJSON runs `list --json` (flag before or after nothing: list takes no
// argument) and decodes it.
func listJSON(t *testing.T, l *Lab) []listedSandbox {
	t.Helper()
	r := l.NSJ(t, "list", "--json")
	wantCode(t, r, 0)
	var out []listedSandbox
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatalf("list --json: %v\n%s", err, r.Stdout)
	}
	return out
}

// waitListed waits until `list --json` shows name and returns its entry.
func waitListed(t *testing.T, l *Lab, name string) listedSandbox {
	t.Helper()
	var found listedSandbox
	waitFor(t, func() bool {
		for _, s := range listJSON(t, l) {
			if s.Name == name {
				found = s
				return true
			}
		}
		return false
	})
	return found
}

func TestLifecycleListInspectStop(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	if got := listJSON(t, l); len(got) != 0 {
		t.Fatalf("fresh lab lists %v", got)
	}
	// The program tries a port the web profile refuses, so a REJECT rule
	// counts a packet, then waits.
	_, out, wait := background(t, l, "run", "--profile", "web", "--name", "lab1", "--",
		"sh", "-c", "nc -z -w 1 "+labServerIP+" 8081; echo ready; exec sleep 600")
	s := waitListed(t, l, "lab1")
	waitFor(t, func() bool { return strings.Contains(out.String(), "ready") })
	if s.Profile != "web" || !strings.HasPrefix(s.IP, "10.213.") || s.Pid <= 0 || len(s.ID) != 8 ||
		s.Created.IsZero() || len(s.Command) != 3 || s.Command[0] != "sh" {
		t.Errorf("list --json entry: %+v", s)
	}

	r := l.NSJ(t, "list")
	wantCode(t, r, 0)
	if !strings.HasPrefix(r.Stdout, "NAME ") || !strings.Contains(r.Stdout, "lab1") || !strings.Contains(r.Stdout, s.IP) {
		t.Errorf("list table:\n%s", r.Stdout)
	}

	// Text, then JSON with the flag after and before the name.
	r = l.NSJ(t, "inspect", "lab1")
	wantCode(t, r, 0)
	for _, want := range []string{"eth0", s.IP, "Firewall (ipv4, table filter)", "nameserver"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("inspect lab1 lacks %q:\n%s", want, r.Stdout)
		}
	}
	var info inspected
	waitFor(t, func() bool {
		for _, args := range [][]string{{"inspect", "lab1", "--json"}, {"inspect", "--json", "lab1"}} {
			r := l.NSJ(t, args...)
			wantCode(t, r, 0)
			info = inspected{}
			if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil {
				t.Fatalf("%v: %v\n%s", args, err, r.Stdout)
			}
		}
		return rejected(info) > 0
	})
	eth0 := false
	for _, it := range info.Interfaces {
		if it.Name == "eth0" && len(it.Addrs) > 0 && strings.HasPrefix(it.Addrs[0], s.IP+"/") {
			eth0 = true
		}
	}
	if !eth0 || info.Name != "lab1" || info.ResolvConf == "" {
		t.Errorf("inspect --json: eth0 with %s: %v; name %q; resolv.conf %q", s.IP, eth0, info.Name, info.ResolvConf)
	}
	gw := false
	for _, rt := range info.Routes {
		gw = gw || rt.Dst == "default" && rt.Gw == "10.213.0.1"
	}
	if !gw {
		t.Errorf("inspect --json routes %+v: want default via 10.213.0.1", info.Routes)
	}

	// stop with TERM: the program exits 143, run cleans up.
	r = l.NSJ(t, "stop", "lab1")
	wantCode(t, r, 0)
	if code := wait(); code != 143 {
		t.Errorf("run exited %d after stop, want 143", code)
	}
	if got := listJSON(t, l); len(got) != 0 {
		t.Errorf("after stop, list shows %v", got)
	}
	wantCode(t, l.NSJ(t, "stop", "lab1"), 125)
	wantCode(t, l.NSJ(t, "inspect", "lab1"), 125)
}

// rejected sums the packets of the REJECT rules of the filter tables.
func rejected(info inspected) uint64 {
	var n uint64
	for _, tb := range info.Firewall {
		for _, c := range tb.Chains {
			for _, r := range c.Rules {
				if strings.Contains(r.Rule, "-j REJECT") {
					n += r.Packets
				}
			}
		}
	}
	return n
}

func TestLifecycleStopProgramIgnoringTerm(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	_, out, wait := background(t, l, "run", "--name", "stubborn", "--", "sh", "-c", `trap "" TERM; echo ready; sleep 600`)
	waitListed(t, l, "stubborn")
	waitFor(t, func() bool { return strings.Contains(out.String(), "ready") })
	start := time.Now()
	r := l.NSJ(t, "stop", "stubborn", "--timeout", "1s")
	wantCode(t, r, 0)
	if took := time.Since(start); took < time.Second {
		t.Errorf("stop took %v, want at least the 1s timeout before SIGKILL", took)
	}
	if code := wait(); code != 137 {
		t.Errorf("run exited %d, want 137 (SIGKILL)", code)
	}
}

func TestLifecycleGCAfterLauncherKilled(t *testing.T) {
	t.Parallel()
	l := NewLab(t)
	// The shared base, the lock files and the gc stamp exist from now on.
	wantCode(t, l.NSJ(t, "run", "--profile", "web", "--", "true"), 0)
	wantCode(t, l.NSJ(t, "gc"), 0)
	before := l.Snapshot(t)

	cmd, out, wait := background(t, l, "run", "--profile", "web", "--name", "victim", "--publish", "8080:80", "--", "sh", "-c", "echo ready; exec sleep 600")
	s := waitListed(t, l, "victim")
	waitFor(t, func() bool { return strings.Contains(out.String(), "ready") })
	if r := l.MustRun(t, "ip", "netns", "list"); !strings.Contains(r.Stdout, "victim") {
		t.Errorf("ip netns list lacks victim:\n%s", r.Stdout)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if code := wait(); code != 137 {
		t.Fatalf("launcher exit %d, want 137", code)
	}
	if got := listJSON(t, l); len(got) != 0 {
		t.Errorf("list shows sandboxes of a dead launcher: %v", got)
	}

	// doctor reports the leftovers and still exits 0 (a warning).
	r := l.NSJ(t, "doctor")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "WARN  leftovers") || !strings.Contains(r.Stdout, "victim") {
		t.Errorf("doctor does not report the leftovers of victim:\n%s", r.Stdout)
	}

	r = l.NSJ(t, "gc")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "removed sandbox victim ("+s.ID+")") {
		t.Errorf("gc output:\n%s", r.Stdout)
	}
	l.AssertNoLeaks(t, before, bridgeRoutes)

	// A second gc has nothing to do.
	r = l.NSJ(t, "gc")
	wantCode(t, r, 0)
	if r.Stdout != "" {
		t.Errorf("second gc output: %q", r.Stdout)
	}
}

func TestLifecycleGCLeavesLiveSandboxesAlone(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	_, out, wait := background(t, l, "run", "--profile", "web", "--name", "alive", "--publish", "8081:80", "--", "sh", "-c", "echo ready; exec sleep 600")
	waitListed(t, l, "alive")
	waitFor(t, func() bool { return strings.Contains(out.String(), "ready") })
	wantCode(t, l.NSJ(t, "gc"), 0) // its lock file exists from now on
	live := l.Snapshot(t)
	r := l.NSJ(t, "gc")
	wantCode(t, r, 0)
	if r.Stdout != "" {
		t.Errorf("gc with only a live sandbox: %q", r.Stdout)
	}
	assertNoLeaks(t, live, l.Snapshot(t), bridgeRoutes, linkLocal6)
	wantCode(t, l.NSJ(t, "stop", "--signal", "KILL", "alive"), 0)
	if code := wait(); code != 137 {
		t.Errorf("run exited %d after stop --signal KILL, want 137", code)
	}
}

func TestLifecycleDoctorInFreshLab(t *testing.T) {
	t.Parallel()
	l := NewLab(t)
	wantCode(t, l.NSJ(t, "run", "--profile", "web", "--", "true"), 0)
	r := l.NSJ(t, "doctor")
	wantCode(t, r, 0)
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "OK" && f[0] != "WARN" && f[0] != "fix:" {
			t.Errorf("doctor line %q: want OK or WARN", line)
		}
	}
	for _, want := range []string{"kernel: veth", "iptables backend", "subnet 10.213.0.0/16", "leftovers"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("doctor lacks %q:\n%s", want, r.Stdout)
		}
	}
	r = l.NSJ(t, "doctor", "--json")
	wantCode(t, r, 0)
	var checks []struct{ Name, Status string }
	if err := json.Unmarshal([]byte(r.Stdout), &checks); err != nil || len(checks) < 8 {
		t.Errorf("doctor --json: %v\n%s", err, r.Stdout)
	}
}

// bridgeRoutes ignores the kernel's routes of the shared bridge: their
// "linkdown" flag follows the bridge's carrier, which drops a moment after
// its last port goes, and its IPv6 link-local route appears when it first
// has a port up. Everything else is compared strictly.
func bridgeRoutes(line string) bool {
	return (strings.HasPrefix(line, "route4 ") || strings.HasPrefix(line, "route6 ")) && strings.Contains(line, "dev nsjnet0")
}

// linkLocal6 ignores IPv6 link-local routes, which the kernel adds to a
// new veth some time after it comes up.
func linkLocal6(line string) bool {
	return strings.HasPrefix(line, "route6 ") && strings.Contains(line, " fe80::")
}

func TestLifecycleGCAfterPersistentSupervisorKilled(t *testing.T) {
	t.Parallel()
	l := NewLab(t)
	wantCode(t, l.NSJ(t, "run", "--profile", "web", "--", "true"), 0)
	wantCode(t, l.NSJ(t, "gc"), 0)
	before := l.Snapshot(t)

	wantCode(t, l.NSJ(t, "create", "--profile", "open", "dev1"), 0)
	r := l.NSJ(t, "list", "--json")
	wantCode(t, r, 0)
	var rows []struct {
		Name       string `json:"name"`
		Persistent bool   `json:"persistent"`
		Launcher   int    `json:"launcher_pid"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rows); err != nil || len(rows) != 1 || !rows[0].Persistent || rows[0].Launcher <= 0 {
		t.Fatalf("list --json after create: %v\n%s", err, r.Stdout)
	}
	// gc leaves a persistent sandbox with a live supervisor alone.
	r = l.NSJ(t, "gc")
	wantCode(t, r, 0)
	if r.Stdout != "" {
		t.Errorf("gc with a live persistent sandbox: %q", r.Stdout)
	}
	// Its supervisor (started by create, above) dies: gc removes it all.
	if err := syscall.Kill(rows[0].Launcher, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(listJSON(t, l)) == 0 })
	r = l.NSJ(t, "gc")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "removed sandbox dev1") {
		t.Errorf("gc output:\n%s", r.Stdout)
	}
	l.AssertNoLeaks(t, before, bridgeRoutes)
}
