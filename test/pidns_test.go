package test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The process boundary: the sandbox has its own pid namespace, and nothing
// in it outlives it.

// inPidNS lists the host pids of the processes in pid namespace ns (as
// readlink /proc/PID/ns/pid shows it: "pid:[N]").
func inPidNS(ns string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink(filepath.Join("/proc", e.Name(), "ns/pid")); err == nil && l == ns {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitPidNSEmpty fails t unless no process is left in ns within d.
func waitPidNSEmpty(t *testing.T, ns string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		left := inPidNS(ns)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var desc []string
			for _, pid := range left {
				b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				desc = append(desc, fmt.Sprintf("%d %q", pid, strings.ReplaceAll(string(b), "\x00", " ")))
			}
			t.Fatalf("processes of the sandbox (%s) outlived it: %s", ns, strings.Join(desc, "; "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pidNSOf extracts the "pid:[N]" line a sandboxed program printed, which
// must not be our own pid namespace.
func pidNSOf(t *testing.T, out string) string {
	t.Helper()
	own, _ := os.Readlink("/proc/self/ns/pid")
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "pid:[") {
			if ns := strings.TrimSpace(line); ns != own {
				return ns
			}
			t.Fatalf("the sandbox has no pid namespace of its own (%s)", own)
		}
	}
	t.Fatalf("no pid namespace in the output %q", out)
	return ""
}

// A program that leaves a tree behind (daemons that setsid, double fork and
// respawn, a chain of nested shells deeper than any sweep) takes it with it.
func TestSandboxTreeEndsWithProgram(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	// A respawning daemon, detached twice; a chain of 130 nested shells (deeper than the old 100-round sweep),
	// each waiting on a sleeper; 150 sleepers.
	script := `readlink /proc/self/ns/pid
setsid sh -c '(while :; do sleep 300 & wait; done) &' </dev/null >/dev/null 2>&1
chain() { sleep 300 & if [ "$1" -gt 0 ]; then bash -c "$(declare -f chain); chain $(($1-1)); wait" & fi; }
chain 130
i=0; while [ $i -lt 150 ]; do sleep 300 & i=$((i+1)); done
echo started`
	for _, user := range []string{"0", "nobody"} {
		t.Run("user="+user, func(t *testing.T) {
			r := l.NSJ(t, "run", "--user", user, "--", "bash", "-c", script)
			wantCode(t, r, 0)
			if !strings.Contains(r.Stdout, "started") {
				t.Fatalf("the program did not start its tree: %s", r)
			}
			waitPidNSEmpty(t, pidNSOf(t, r.Stdout), time.Second)
		})
	}
}

// Killing the launcher, by any means, ends everything in the sandbox.
func TestSandboxEndsWhenLauncherKilled(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := l.Cmd(ctx, l.Bin(t), "run", "--", "sh", "-c", "setsid sleep 600 & sleep 600 & readlink /proc/self/ns/pid; wait")
	out := &lockedBuffer{}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(out.String(), "pid:[") })
	ns := pidNSOf(t, out.String())
	// init, sh and the sleeps, which sh forked before printing (a sleep may
	// still be exec'ing: it is a process of the namespace all the same).
	if n := len(inPidNS(ns)); n < 4 {
		t.Fatalf("want init, sh and two sleeps in %s, have %d processes", ns, n)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	waitPidNSEmpty(t, ns, 2*time.Second)
	wantCode(t, l.NSJ(t, "gc"), 0) // the host side, for the leak check
}

// Inside, the program sees its own processes only: not the launcher, not
// the user's other processes, whose pids, environments and memory it can
// neither read nor signal.
func TestSandboxSeesOnlyItsProcesses(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	outside := os.Getpid() // this test process stands for the user's others
	probe := fmt.Sprintf(`ps -e -o pid=,comm= | wc -l
kill -0 %[1]d 2>/dev/null && echo ESCAPED signal
cat /proc/%[1]d/environ >/dev/null 2>&1 && echo ESCAPED environ
[ -e /proc/%[1]d ] && echo ESCAPED visible
ls /sys/class/net | tr '\n' ' '; echo
echo ppid=$PPID`, outside)
	for _, user := range []string{"0", "nobody"} {
		t.Run("user="+user, func(t *testing.T) {
			r := l.NSJ(t, "run", "--profile", "open", "--user", user, "--", "sh", "-c", probe)
			wantCode(t, r, 0)
			lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
			if strings.Contains(r.Stdout, "ESCAPED") {
				t.Errorf("the program reached a process outside:\n%s", r.Stdout)
			}
			// init, sh, ps and wc (ps counts itself and its pipe's reader)
			if n, _ := strconv.Atoi(strings.TrimSpace(lines[0])); n == 0 || n > 4 {
				t.Errorf("the program sees %s processes, want its own 4 at most:\n%s", lines[0], r.Stdout)
			}
			if got := strings.Fields(lines[1]); strings.Join(got, " ") != "eth0 lo" {
				t.Errorf("/sys/class/net shows %q, want the sandbox's eth0 and lo", lines[1])
			}
			if lines[2] != "ppid=1" {
				t.Errorf("the program's parent is %q, want ppid=1 (the sandbox's init)", lines[2])
			}
		})
	}
}

// exec enters the sandbox's pid namespace too: the same view, and it ends
// with the sandbox.
func TestExecJoinsPidNamespace(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	wantCode(t, l.NSJ(t, "create", "pidx", "--profile", "open"), 0)
	t.Cleanup(func() { l.NSJ(t, "delete", "pidx") })
	r := l.NSJ(t, "exec", "pidx", "--", "sh", "-c", "readlink /proc/self/ns/pid; cat /proc/1/cmdline | tr '\\0' ' '; echo; ls /sys/class/net | tr '\\n' ' '")
	wantCode(t, r, 0)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	own, _ := os.Readlink("/proc/self/ns/pid")
	if len(lines) != 3 || lines[0] == own || !strings.HasPrefix(lines[0], "pid:[") {
		t.Fatalf("exec'd program not in a pid namespace of its own (ours is %s):\n%s", own, r.Stdout)
	}
	if !strings.HasPrefix(lines[1], "nsjail-net:init") {
		t.Errorf("pid 1 seen from exec is %q, want the sandbox's init", lines[1])
	}
	if strings.TrimSpace(lines[2]) != "eth0 lo" {
		t.Errorf("/sys/class/net from exec shows %q", lines[2])
	}
	// It ends with the sandbox.
	wantCode(t, l.NSJ(t, "delete", "pidx"), 0)
	waitPidNSEmpty(t, lines[0], 2*time.Second)
}

// What a program started with exec leaves behind (a detached daemon, a
// child that would take the terminal) ends when exec returns, not only
// when the sandbox is deleted.
func TestExecLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	wantCode(t, l.NSJ(t, "create", "pidl"), 0)
	t.Cleanup(func() { l.NSJ(t, "delete", "pidl") })
	for _, user := range []string{"0", "nobody"} {
		t.Run("user="+user, func(t *testing.T) {
			r := l.NSJ(t, "exec", "pidl", "--user", user, "--", "sh", "-c",
				"readlink /proc/self/ns/pid; setsid sleep 600 </dev/null >/dev/null 2>&1 & (sleep 601 &) ; echo started")
			wantCode(t, r, 0)
			waitPidNSEmpty(t, pidNSOf(t, r.Stdout), time.Second)
		})
	}
}
