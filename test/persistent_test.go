package test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCreateExecDelete(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	srv := l.TCPServer(t, labServerIP+":8080")
	wantCode(t, l.NSJ(t, "create", "--profile", "open", "dev1"), 0)

	// ip netns sees it and enters it.
	r := l.MustRun(t, "ip", "netns", "list")
	if !strings.Contains(r.Stdout, "dev1") {
		t.Errorf("ip netns list:\n%s\nwant dev1", r.Stdout)
	}
	r = l.MustRun(t, "ip", "netns", "exec", "dev1", "ip", "-br", "addr", "show", "eth0")
	if !strings.Contains(r.Stdout, "10.213.") {
		t.Errorf("ip netns exec dev1: %q, want eth0 with a 10.213 address", r.Stdout)
	}
	// exec: same network, dropped privileges, exit status passed.
	r = l.NSJ(t, "exec", "dev1", "--", "sh", "-c", "nc -w 3 "+labServerIP+" 8080; grep CapEff /proc/self/status; hostname")
	wantCode(t, r, 0)
	for _, want := range []string{"hello from world", "CapEff:\t0000000000000000", "dev1"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("exec output lacks %q:\n%s", want, r.Stdout)
		}
	}
	if got := srv.WaitSeen(t, 1, 3*time.Second)[0].Addr(); got != natIP {
		t.Errorf("world saw %s, want %s", got, natIP)
	}
	wantCode(t, l.NSJ(t, "exec", "dev1", "--", "sh", "-c", "exit 4"), 4)
	wantCode(t, l.NSJ(t, "exec", "dev1", "--", "no-such-program-xyz"), 127)

	// The name is taken while it lives.
	r = l.NSJ(t, "create", "--profile", "open", "dev1")
	wantCode(t, r, 125)
	if !strings.Contains(r.Stderr, "dev1") {
		t.Errorf("duplicate create: stderr %q does not name dev1", r.Stderr)
	}
	r = l.NSJ(t, "run", "--name", "dev1", "--", "true")
	wantCode(t, r, 125)

	wantCode(t, l.NSJ(t, "delete", "dev1"), 0)
	r = l.MustRun(t, "ip", "netns", "list")
	if strings.Contains(r.Stdout, "dev1") {
		t.Errorf("ip netns list after delete:\n%s", r.Stdout)
	}
	r = l.NSJ(t, "exec", "dev1", "--", "true")
	wantCode(t, r, 125)
	if !strings.Contains(r.Stderr, `no live sandbox named "dev1"`) {
		t.Errorf("exec after delete: stderr %q", r.Stderr)
	}
}

func TestCreateOfflineAndBadInput(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	wantCode(t, l.NSJ(t, "create", "off1"), 0) // offline by default
	r := l.NSJ(t, "exec", "off1", "--", "ip", "-o", "link")
	wantCode(t, r, 0)
	if strings.Count(strings.TrimSpace(r.Stdout), "\n") != 0 {
		t.Errorf("offline sandbox has links besides lo:\n%s", r.Stdout)
	}
	wantCode(t, l.NSJ(t, "delete", "off1"), 0)
	for _, args := range [][]string{
		{"create", "../etc"}, {"create", "a/b"}, {"create", strings.Repeat("a", 300)}, {"create", "Upper"},
		{"create", "--profile", "no-such-profile", "x1"}, {"delete", "never-created"}, {"exec", "never-created", "--", "true"},
	} {
		r := l.NSJ(t, args...)
		if r.Code != 125 || r.Stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 125 and a message", args, r.Code, r.Stderr)
		}
	}
}

func TestRunNamedIsVisibleToIPNetns(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := l.Cmd(ctx, l.Bin(t), "run", "--name", "web1", "--profile", "open", "--", "sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return strings.Contains(l.MustRun(t, "ip", "netns", "list").Stdout, "web1")
	})
	r := l.MustRun(t, "ip", "netns", "exec", "web1", "ip", "route")
	if !strings.Contains(r.Stdout, "default via 10.213.0.1") {
		t.Errorf("ip netns exec web1 ip route:\n%s", r.Stdout)
	}
	r = l.NSJ(t, "exec", "web1", "--", "hostname")
	if strings.TrimSpace(r.Stdout) != "web1" {
		t.Errorf("exec web1 hostname: %q", r.Stdout)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if code := exitCode(cmd, err); code != 128+15 {
		t.Errorf("run exit status %d after SIGTERM to the launcher, want 143", code)
	}
	if strings.Contains(l.MustRun(t, "ip", "netns", "list").Stdout, "web1") {
		t.Error("/run/netns/web1 outlived the sandbox")
	}
}

func TestExecIntoANamespaceMadeWithIPNetns(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	l.MustRun(t, "ip", "netns", "add", "plain1")
	t.Cleanup(func() { l.Run(t, "ip", "netns", "delete", "plain1") })
	l.MustRun(t, "ip", "-n", "plain1", "link", "set", "lo", "up")
	l.MustRun(t, "ip", "-n", "plain1", "link", "add", "dummy-x", "type", "bridge")
	r := l.NSJ(t, "exec", "plain1", "--", "sh", "-c", "ip -o link; grep CapEff /proc/self/status")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "dummy-x") || !strings.Contains(r.Stdout, "CapEff:\t0000000000000000") {
		t.Errorf("exec into an ip netns namespace:\n%s", r.Stdout)
	}
	l.MustRun(t, "ip", "netns", "delete", "plain1")
}

func TestFlagsAfterTheSandboxName(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	wantCode(t, l.NSJ(t, "create", "late1", "--profile", "open"), 0)
	r := l.NSJ(t, "exec", "late1", "--user", "nobody", "--", "id", "-u")
	wantCode(t, r, 0)
	if strings.TrimSpace(r.Stdout) != "65534" {
		t.Errorf("exec NAME --user nobody: id -u = %q", r.Stdout)
	}
	wantCode(t, l.NSJ(t, "delete", "late1", "--timeout", "5s"), 0)
}
