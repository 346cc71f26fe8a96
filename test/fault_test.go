package test

// Faults: the launcher killed at every setup step, then gc; the iptables
// binaries missing; the bridge deleted under a running sandbox; the address
// pool exhausted; a read-only state dir; a program that forks a thousand
// children and ignores SIGTERM. After each, the lab host holds nothing but
// the shared base.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fltStopAtEnv is launch.StopAtEnv: the launcher blocks forever after the
// named setup step.
const fltStopAtEnv = "NSJAIL_NET_TEST_STOP_AT"

// fltSteps are the step names launch.Run passes to st.done, in order, for a
// named, bridged sandbox.
var fltSteps = []string{
	"state", "lease", "shared base", "compile", "start init stage", "state record",
	"veth", "init stage ready", "resolver", "addresses and routes", "netns name", "exec",
}

// fltProc is nsjail-net running in the background in the lab host; its pid
// is the launcher's (nsenter execs it).
type fltProc struct {
	args []string
	cmd  *exec.Cmd
	out  *lockedBuffer // stdout and stderr
	done chan struct{}
	code int
}

// fltStart starts nsjail-net args in the lab host with env added to the
// lab's clean environment. At cleanup a launcher still running gets SIGTERM,
// then SIGKILL.
func fltStart(t *testing.T, l *Lab, env []string, args ...string) *fltProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	p := &fltProc{args: args, cmd: l.Cmd(ctx, l.Bin(t), args...), out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		p.code = exitCode(p.cmd, err)
		close(p.done)
	}()
	t.Cleanup(func() {
		defer cancel()
		select {
		case <-p.done:
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the launcher to exit and returns its status.
func (p *fltProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(60 * time.Second):
		t.Fatalf("nsjail-net %s did not exit; output:\n%s", strings.Join(p.args, " "), p.out.String())
		return -1
	}
}

// waitOutput waits until the output contains s; it fails t if the launcher
// exits or timeout passes first.
func (p *fltProc) waitOutput(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.out.String(), s) {
		select {
		case <-p.done:
			t.Fatalf("nsjail-net %s exited %d before printing %q; output:\n%s", strings.Join(p.args, " "), p.code, s, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nsjail-net %s: no %q within %v; output:\n%s", strings.Join(p.args, " "), s, timeout, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fltSeq makes fltSleepArg unique within this test binary.
var fltSeq atomic.Int64

// fltSleepArg is a duration for sleep(1), about 600 s, unique to this test
// process and call, so that its processes can be counted in /proc among
// those of the tests running in parallel.
func fltSleepArg() string {
	return fmt.Sprintf("600.%d%06d", os.Getpid(), fltSeq.Add(1))
}

// fltCountSleeps counts the live processes running `sleep arg`.
func fltCountSleeps(arg string) int {
	want := []byte("sleep\x00" + arg + "\x00")
	matches, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	n := 0
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err == nil && bytes.HasSuffix(b, want) {
			n++
		}
	}
	return n
}

// fltWaitCount waits until fltCountSleeps(arg) is n.
func fltWaitCount(t *testing.T, arg string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	got := fltCountSleeps(arg)
	for got != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d processes `sleep %s` after %v, want %d", got, arg, timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
		got = fltCountSleeps(arg)
	}
}

// fltWarmLab is a lab in which one bridged run and a gc already happened,
// so that the shared base, the lock files and the gc stamp exist, and its
// snapshot.
func fltWarmLab(t *testing.T) (*Lab, string) {
	t.Helper()
	l := NewLab(t)
	wantCode(t, l.NSJ(t, "run", "--profile", "open", "--", "true"), 0)
	wantCode(t, l.NSJ(t, "gc"), 0)
	return l, l.Snapshot(t)
}

func TestFaultKillAtEachSetupStep(t *testing.T) {
	t.Parallel()
	for _, step := range fltSteps {
		t.Run(strings.ReplaceAll(step, " ", "_"), func(t *testing.T) {
			t.Parallel()
			l, before := fltWarmLab(t)
			sleepArg := fltSleepArg()
			p := fltStart(t, l, []string{fltStopAtEnv + "=" + step},
				"run", "--name", "f1", "--profile", "open", "--", "sleep", sleepArg)
			p.waitOutput(t, "test hook: stopped after step", 30*time.Second)
			if !strings.Contains(p.out.String(), fmt.Sprintf("step=%q", step)) && !strings.Contains(p.out.String(), "step="+step+" ") {
				t.Errorf("stopped, but not after step %q:\n%s", step, p.out.String())
			}
			if err := p.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			if code := p.wait(t); code != 128+int(syscall.SIGKILL) {
				t.Errorf("launcher exit %d, want %d (SIGKILL)", code, 128+int(syscall.SIGKILL))
			}
			// The program, if it ran, dies with its launcher.
			fltWaitCount(t, sleepArg, 0, 10*time.Second)
			r := l.NSJ(t, "gc")
			wantCode(t, r, 0)
			t.Logf("gc after SIGKILL at %q:\n%s", step, r.Stdout)
			l.AssertNoLeaks(t, before)
			// The name and the address are free again.
			wantCode(t, l.NSJ(t, "run", "--name", "f1", "--profile", "open", "--", "true"), 0)
			l.AssertNoLeaks(t, before)
		})
	}
}

// fltHideIptables makes every iptables binary unusable inside the lab host:
// /dev/null is bind-mounted over the files the iptables* names resolve to,
// in the lab host's private mount namespace only. It checks that the
// machine still sees the real files and undoes the mounts at cleanup.
func fltHideIptables(t *testing.T, l *Lab) {
	t.Helper()
	seen := map[string]bool{}
	var files []string
	for _, name := range []string{"iptables", "iptables-restore", "iptables-save", "ip6tables", "ip6tables-restore", "ip6tables-save",
		"iptables-legacy", "iptables-nft", "xtables-nft-multi", "xtables-legacy-multi"} {
		real, err := filepath.EvalSymlinks(filepath.Join("/usr/sbin", name))
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		files = append(files, real)
	}
	if len(files) == 0 {
		t.Skip("no iptables binary in /usr/sbin to hide")
	}
	for _, f := range files {
		l.MustRun(t, "mount", "--bind", "/dev/null", f)
		t.Cleanup(func() { l.MustRun(t, "umount", f) })
	}
	if r := l.Run(t, "iptables", "--version"); r.Code == 0 {
		t.Fatalf("iptables still runs in the lab after hiding %v", files)
	}
	// The machine is untouched: the files are still executables here, and
	// our mount table does not show the binds.
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			t.Fatalf("hiding %s in the lab changed the machine's file: %v %v", f, fi, err)
		}
		if bytes.Contains(mounts, []byte(" "+f+" ")) {
			t.Fatalf("the bind mount over %s is visible outside the lab", f)
		}
	}
}

func TestFaultIptablesMissing(t *testing.T) {
	t.Parallel()
	for _, warm := range []bool{false, true} {
		t.Run(fmt.Sprintf("warm=%v", warm), func(t *testing.T) {
			t.Parallel()
			l := NewLab(t)
			if warm {
				wantCode(t, l.NSJ(t, "run", "--profile", "open", "--", "true"), 0)
				wantCode(t, l.NSJ(t, "gc"), 0)
			}
			before := l.Snapshot(t)
			// Registered before the mounts, so it runs after they are undone.
			t.Cleanup(func() { l.AssertNoLeaks(t, before) })
			fltHideIptables(t, l)
			r := l.NSJ(t, "run", "--profile", "open", "--", "true")
			wantCode(t, r, 125)
			t.Logf("stderr: %s", r.Stderr)
			if !strings.Contains(r.Stderr, "iptables") {
				t.Errorf("stderr %q does not name iptables", r.Stderr)
			}
			if lines := strings.Count(strings.TrimSpace(r.Stderr), "\n") + 1; lines > 3 {
				t.Errorf("error is %d lines, want a short message:\n%s", lines, r.Stderr)
			}
			// An offline sandbox needs no firewall.
			wantCode(t, l.NSJ(t, "run", "--", "true"), 0)
		})
	}
}

func TestFaultBridgeDeletedWhileRunning(t *testing.T) {
	t.Parallel()
	l := NewLab(t)
	before := l.Snapshot(t)
	t.Cleanup(func() { l.AssertNoLeaks(t, before) })
	srv := l.TCPServer(t, labServerIP+":8080")
	p := fltStart(t, l, nil, "run", "--name", "bd1", "--profile", "open", "--", "sh", "-c", "echo ready; exec sleep 600")
	p.waitOutput(t, "ready", 30*time.Second)
	l.MustRun(t, "ip", "link", "del", "nsjnet0")
	wantCode(t, l.NSJ(t, "stop", "bd1"), 0)
	if code := p.wait(t); code != 128+int(syscall.SIGTERM) {
		t.Errorf("run exited %d after stop, want %d; output:\n%s", code, 128+int(syscall.SIGTERM), p.out.String())
	}
	l.AssertNoLeaks(t, before)
	// The next run recreates the bridge and works.
	r := l.NSJ(t, "run", "--profile", "open", "--", "nc", "-w", "3", labServerIP, "8080")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "hello from world") {
		t.Errorf("after the bridge was deleted, a new sandbox got %q", r.Stdout)
	}
	if got := srv.WaitSeen(t, 1, 3*time.Second)[0].Addr(); got != natIP {
		t.Errorf("world saw %s, want %s", got, natIP)
	}
	if r := l.MustRun(t, "ip", "-o", "link", "show", "nsjnet0"); !strings.Contains(r.Stdout, "nsjnet0") {
		t.Errorf("bridge not recreated:\n%s", r.Stdout)
	}
}

func TestFaultAddressPoolExhausted(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	// 10.214.0.0/29: .0 network, .1 gateway, .7 broadcast: 5 addresses.
	pool := []string{"--subnet", "10.214.0.0/29"}
	var procs []*fltProc
	for range 5 {
		procs = append(procs, fltStart(t, l, nil, append(pool, "run", "--profile", "open", "--", "sh", "-c", "echo ready; exec sleep 600")...))
	}
	for _, p := range procs {
		p.waitOutput(t, "ready", 60*time.Second)
	}
	r := l.NSJ(t, append(pool, "run", "--profile", "open", "--", "true")...)
	wantCode(t, r, 125)
	t.Logf("stderr: %s", r.Stderr)
	if !strings.Contains(r.Stderr, "exhausted") {
		t.Errorf("sixth run: stderr %q does not say the pool is exhausted", r.Stderr)
	}
	for _, p := range procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range procs {
		if code := p.wait(t); code != 128+int(syscall.SIGTERM) {
			t.Errorf("run exited %d after SIGTERM, want %d; output:\n%s", code, 128+int(syscall.SIGTERM), p.out.String())
		}
	}
	// The addresses are free again.
	wantCode(t, l.NSJ(t, append(pool, "run", "--profile", "open", "--", "true")...), 0)
}

func TestFaultStateDirReadOnly(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	// A read-only tmpfs over a temporary directory, in the lab host's mount
	// namespace only; the machine sees the empty directory.
	ro := t.TempDir()
	l.MustRun(t, "mount", "-t", "tmpfs", "-o", "ro,mode=0755", "nsjail-net-ro", ro)
	t.Cleanup(func() { l.MustRun(t, "umount", ro) })
	for _, dir := range []string{ro, filepath.Join(ro, "state")} {
		for _, args := range [][]string{
			{"run", "--profile", "open", "--", "true"},
			{"run", "--", "true"},
			{"create", "--profile", "open", "ro1"},
		} {
			r := l.NSJ(t, append([]string{"--state-dir", dir}, args...)...)
			wantCode(t, r, 125)
			t.Logf("stderr: %s", r.Stderr)
			if !strings.Contains(r.Stderr, dir) {
				t.Errorf("--state-dir %s %v: stderr %q does not name the directory", dir, args, r.Stderr)
			}
		}
	}
	if ents, err := os.ReadDir(ro); err != nil || len(ents) != 0 {
		t.Errorf("the machine's view of %s: %v %v", ro, ents, err)
	}
}

func TestFaultStopProgramWithThousandChildrenIgnoringTerm(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	sleepArg := fltSleepArg()
	p := fltStart(t, l, nil, "run", "--name", "fork1", "--", "sh", "-c",
		`trap "" TERM; for i in $(seq 1000); do sleep `+sleepArg+` & done; echo ready; wait`)
	p.waitOutput(t, "ready", 90*time.Second)
	fltWaitCount(t, sleepArg, 1000, 30*time.Second)
	start := time.Now()
	r := l.NSJ(t, "stop", "fork1", "--timeout", "2s")
	wantCode(t, r, 0)
	t.Logf("stop took %v", time.Since(start).Round(time.Millisecond))
	if code := p.wait(t); code != 128+int(syscall.SIGKILL) {
		t.Errorf("run exited %d, want %d (SIGKILL after the timeout); output:\n%s", code, 128+int(syscall.SIGKILL), p.out.String())
	}
	fltWaitCount(t, sleepArg, 0, 10*time.Second)
}

// fltKillSleeps kills, by pid, the processes running `sleep arg` (left
// behind by a failing test).
func fltKillSleeps(arg string) {
	want := []byte("sleep\x00" + arg + "\x00")
	matches, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil || !bytes.HasSuffix(b, want) {
			continue
		}
		var pid int
		if _, err := fmt.Sscanf(m, "/proc/%d/cmdline", &pid); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func TestFaultStopEndsDaemonizedChildren(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	sleepArg := fltSleepArg()
	t.Cleanup(func() { fltKillSleeps(sleepArg) })
	// A child in a new session (and so a new process group), as a daemon
	// would start it: it must not outlive its sandbox.
	p := fltStart(t, l, nil, "run", "--name", "daemon1", "--profile", "open", "--", "sh", "-c",
		`setsid sleep `+sleepArg+` </dev/null >/dev/null 2>&1 & echo ready; exec sleep 600`)
	p.waitOutput(t, "ready", 30*time.Second)
	fltWaitCount(t, sleepArg, 1, 10*time.Second)
	wantCode(t, l.NSJ(t, "stop", "daemon1", "--timeout", "2s"), 0)
	if code := p.wait(t); code != 128+int(syscall.SIGTERM) {
		t.Errorf("run exited %d, want %d", code, 128+int(syscall.SIGTERM))
	}
	fltWaitCount(t, sleepArg, 0, 10*time.Second)
}

// When the launcher is SIGKILLed, pdeathsig ends the program, but not its
// children; gc ends whatever is left inside the sandbox's namespace.
func TestFaultGCEndsWhatTheProgramLeftWhenItsLauncherDied(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	p := fltStart(t, l, nil, "run", "--profile", "open", "--", "sh", "-c", "readlink /proc/self/ns/pid; sleep 600 & echo started; wait")
	p.waitOutput(t, "started", 10*time.Second)
	ns := pidNSOf(t, p.out.String())
	p.cmd.Process.Kill()
	p.wait(t)
	// The sandbox's init dies with the launcher, and the kernel ends every
	// process of its pid namespace; gc then frees what the host keeps
	// (newRunLab checks nothing is left).
	waitPidNSEmpty(t, ns, 2*time.Second)
	wantCode(t, l.NSJ(t, "gc"), 0)
}
