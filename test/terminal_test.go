package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A person at a terminal: every way of starting nsjail-net from an
// interactive job-control shell. Each case gets a shell of its own; after
// each, no launcher may be left in the shell's session. These run one at a
// time (not t.Parallel): the prompt must come back within promptWithin.
func TestTerminal(t *testing.T) {
	requireRoot(t)
	l := newRunLab(t)
	script := func(t *testing.T, body string) string {
		p := filepath.Join(t.TempDir(), "wrap.sh")
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		run  func(t *testing.T, sh *termShell)
	}{
		{"foreground offline returns the prompt", func(t *testing.T, sh *termShell) {
			sh.runShows("nsjail-net run -- true; echo after-$?", "after-0")
		}},
		{"foreground bridged returns the prompt", func(t *testing.T, sh *termShell) {
			sh.runShows("nsjail-net run --profile web -- true; echo after-$?", "after-0")
		}},
		{"exit status comes back", func(t *testing.T, sh *termShell) {
			sh.run("nsjail-net run -- sh -c 'exit 7'")
			sh.wantPrompt(5*time.Second, 7)
		}},
		{"ctrl-c ends the program with 130", func(t *testing.T, sh *termShell) {
			sh.runStarted("sleep 30; echo not-interrupted")
			time.Sleep(100 * time.Millisecond)
			sh.typeIn("\x03")
			sh.wantPrompt(promptWithin, 130)
			if strings.Contains(sh.screen.String(), "\nnot-interrupted") {
				t.Error("Ctrl-C did not interrupt the program")
			}
		}},
		{"ctrl-z stops program and launcher as one job, fg resumes", func(t *testing.T, sh *termShell) {
			sh.runStarted("read x; echo got-$x")
			sh.suspend()
			sh.wantStoppedAndIdle()
			sh.run("fg")
			time.Sleep(200 * time.Millisecond)
			sh.runShows("hello", "got-hello")
		}},
		{"ctrl-z then bg finishes in the background", func(t *testing.T, sh *termShell) {
			sh.runStarted("sleep 1; echo bg-$((3+4))")
			sh.suspend()
			sh.run("bg")
			sh.wantPrompt(promptWithin, 0)
			sh.run("wait; echo waited-$?")
			sh.expect("bg-7", 10*time.Second)
			sh.expect("waited-0", 5*time.Second)
		}},
		{"background job that reads the terminal stops, fg gives it the terminal", func(t *testing.T, sh *termShell) {
			sh.run("nsjail-net run -- sh -c 'read x; echo got-$x' &")
			sh.wantPrompt(promptWithin, 0)
			time.Sleep(500 * time.Millisecond)
			sh.run("jobs")
			sh.expect("Stopped", 2*time.Second)
			sh.wantPrompt(promptWithin, 0)
			sh.wantStoppedAndIdle()
			sh.run("fg")
			time.Sleep(200 * time.Millisecond)
			sh.runShows("yo", "got-yo")
		}},
		{"background job that writes", func(t *testing.T, sh *termShell) {
			sh.run("nsjail-net run -- sh -c 'echo bg-$((5+6))' & wait $!; echo waited-$?")
			sh.expect("bg-11", 5*time.Second)
			sh.expect("waited-0", 5*time.Second)
			sh.wantPrompt(promptWithin, 0)
		}},
		{"a script started from the terminal", func(t *testing.T, sh *termShell) {
			p := script(t, "nsjail-net run -- true; echo inner-$?\nnsjail-net run --profile web -- sh -c 'exit 3'; echo inner-$?\n")
			sh.run("bash " + p + "; echo script-$?")
			sh.expect("inner-0", 5*time.Second)
			sh.expect("inner-3", 5*time.Second)
			sh.expect("script-0", 5*time.Second)
			sh.wantPrompt(promptWithin, 0)
			if strings.Contains(sh.screen.String(), "Stopped") {
				t.Errorf("the script was stopped:\n%s", sh.screen.String())
			}
		}},
		{"ctrl-c in a script ends the script", func(t *testing.T, sh *termShell) {
			p := script(t, "nsjail-net run -- sh -c 'echo start$((1+1)); sleep 30'\necho script-went-on\n")
			sh.run("bash " + p)
			sh.expect("start2", 5*time.Second)
			time.Sleep(100 * time.Millisecond)
			sh.typeIn("\x03")
			sh.wantPrompt(promptWithin, 130)
			if strings.Contains(sh.screen.String(), "script-went-on") {
				t.Error("the script went on after Ctrl-C")
			}
		}},
		{"stdin a pipe, a file, /dev/null", func(t *testing.T, sh *termShell) {
			f := filepath.Join(t.TempDir(), "in")
			if err := os.WriteFile(f, []byte("from-file-ok\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			sh.runShows("echo piped-$((1+1)) | nsjail-net run -- cat", "piped-2")
			sh.runShows("nsjail-net run -- cat < "+f, "from-file-ok")
			sh.runShows("nsjail-net run -- cat < /dev/null; echo devnull-$?", "devnull-0")
		}},
		{"a pipeline keeps the terminal for its other commands", func(t *testing.T, sh *termShell) {
			sh.run("nsjail-net run -- echo through-$((2+2)) | (read a; read b < /dev/tty; echo $a-$b)")
			time.Sleep(300 * time.Millisecond)
			sh.runShows("typed", "through-4-typed")
		}},
		{"no controlling terminal", func(t *testing.T, sh *termShell) {
			sh.runShows("setsid -w nsjail-net run -- sh -c 'exit 6' < /dev/null; echo nocttty-$?", "nocttty-6")
		}},
		{"under script(1)", func(t *testing.T, sh *termShell) {
			sh.runShows(`script -qec "nsjail-net run -- sh -c 'exit 4'" /dev/null; echo script-rc-$?`, "script-rc-4")
		}},
		{"a shell inside has job control; exit returns the prompt", func(t *testing.T, sh *termShell) {
			// The prompt is computed, so that the echo of this line does
			// not match it.
			sh.run("nsjail-net run --env 'PS1=sbx-$((1+1))> ' -- bash --norc --noprofile --noediting -i")
			sh.expect("sbx-2>", 5*time.Second)
			sh.run("sleep 100")
			time.Sleep(200 * time.Millisecond)
			sh.typeIn("\x1a")
			sh.expect("Stopped", 2*time.Second)
			sh.expect("sbx-2>", 2*time.Second)
			sh.run("kill %1; tty >/dev/null && echo has-a-$((1+1))-tty")
			sh.expect("has-a-2-tty", 2*time.Second)
			sh.run("exit 3")
			sh.wantPrompt(promptWithin, 3)
		}},
		{"stop ends a sandbox started from the terminal", func(t *testing.T, sh *termShell) {
			sh.run("nsjail-net run --name tstop -- sh -c 'echo start$((1+1)); sleep 30'")
			sh.expect("start2", 5*time.Second)
			wantCode(t, l.NSJ(t, "stop", "tstop"), 0)
			sh.wantPrompt(promptWithin, 143)
		}},
		{"output suspended by the sandbox is resumed", func(t *testing.T, sh *termShell) {
			// tcflow(TCOOFF): without the launcher resuming output, the
			// shell hangs writing its next prompt, and ^Q does not help.
			sh.runShows("nsjail-net run -- perl -e 'ioctl(STDIN, 0x540A, 0) or die \"tcflow: $!\"'; echo flow-$((1+2))", "flow-3")
		}},
		{"exclusive mode set by the sandbox is cleared", func(t *testing.T, sh *termShell) {
			// TIOCEXCL: without the launcher clearing it, no one but root
			// could open the terminal again (sudo, ssh, pinentry).
			sh.run("nsjail-net run -- perl -e 'ioctl(STDIN, 0x540C, 0) or die \"excl: $!\"'")
			sh.wantPrompt(5*time.Second, 0)
			sh.runShows("setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'exec 3</dev/tty && echo tty-$((3+4))-opens'", "tty-7-opens")
		}},
		{"the sandbox cannot signal the job it shares with the shell", func(t *testing.T, sh *termShell) {
			// The program is in the launcher's process group, with the
			// script around it and the script's other processes, which
			// are outside the sandbox: kill(0, SIGKILL) must not reach them.
			sh.run(`bash -c "sleep 77 & nsjail-net run -- sh -c 'kill -KILL 0; echo refused-\$?'; echo survived-\$((2+2))"`)
			sh.expect("survived-4", 5*time.Second)
			sh.wantPrompt(promptWithin, 0)
			if !strings.Contains(sh.screen.String(), "refused-1") {
				t.Errorf("kill(0, SIGKILL) did not fail in the sandbox:\n%s", sh.screen.String())
			}
		}},
		{"no signal-driven I/O on the shared terminal", func(t *testing.T, sh *termShell) {
			// O_ASYNC on a terminal signals its foreground group on input
			// with the signal F_SETSIG chose: armed by the sandbox, the
			// user's next key would kill the shell.
			perl := `fcntl(STDIN, 10, 9) or print "setsig: $!\n"; ` +
				`my $f = fcntl(STDIN, 3, 0); fcntl(STDIN, 4, $f | 0x2000) or print "async: $!\n"; ` +
				`my $on = pack("i", 1); ioctl(STDIN, 0x5452, $on) or print "fioasync: $!\n";`
			sh.run("nsjail-net run -- perl -e '" + perl + "'")
			sh.wantPrompt(5*time.Second, 0)
			screen := sh.screen.String()
			for _, w := range []string{"setsig: Operation not permitted", "async: Operation not permitted", "fioasync: Operation not permitted"} {
				if !strings.Contains(screen, w) {
					t.Errorf("want %q; the terminal shows:\n%s", w, screen)
				}
			}
			sh.runShows("echo alive-$((1+1))", "alive-2")
		}},
		{"file status flags of the shared terminal are restored", func(t *testing.T, sh *termShell) {
			// A script (which, unlike an interactive bash, does not reset
			// them) reads after the sandbox set O_NONBLOCK on its stdin.
			p := script(t, `nsjail-net run -- perl -e 'my $f = fcntl(STDIN, 3, 0); fcntl(STDIN, 4, $f | 0x800) or die'
perl -e 'print((fcntl(STDIN, 3, 0) & 0x800) ? "left-nonblocking\n" : "stdin-blocking\n")'
`)
			sh.run("bash " + p)
			sh.expect("-blocking", 5*time.Second)
			sh.wantPrompt(promptWithin, 0)
			if strings.Contains(sh.screen.String(), "left-nonblocking") {
				t.Errorf("O_NONBLOCK set by the sandbox stayed on the shell's terminal")
			}
		}},
		{"window size changes reach the program", func(t *testing.T, sh *termShell) {
			sh.run(`nsjail-net run -- bash -c 'trap "stty size; exit 0" WINCH; echo ready$((1+1)); while :; do sleep 0.05; done'`)
			sh.expect("ready2", 5*time.Second)
			sh.resize(33, 77)
			sh.expect("33 77", 2*time.Second)
			sh.wantPrompt(promptWithin, 0)
		}},
		{"terminal modes are restored", func(t *testing.T, sh *termShell) {
			sh.run("nsjail-net run -- sh -c 'stty -echo; exit 5'")
			sh.wantPrompt(5*time.Second, 5)
			sh.run("echo typed-$((4+4))")
			sh.expect("typed-8", 2*time.Second)
			if !strings.Contains(sh.since(), "echo typed-$((4+4))") {
				t.Errorf("typing is not echoed after the sandbox turned echo off:\n%q", sh.since())
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sh := startShell(t, l)
			c.run(t, sh)
			sh.wantNoLaunchers()
		})
	}
}

// runShows runs a command line that must show want and end with status 0.
func (sh *termShell) runShows(line, want string) {
	sh.t.Helper()
	sh.run(line)
	sh.expect(want, 5*time.Second)
	sh.wantPrompt(promptWithin, 0)
}

// runStarted runs script in a sandbox and waits until it has started.
func (sh *termShell) runStarted(script string) {
	sh.t.Helper()
	sh.run("nsjail-net run -- sh -c 'echo start$((1+1)); " + script + "'")
	sh.expect("start2", 5*time.Second)
}

// suspend types Ctrl-Z and waits for the shell to report the job stopped
// (status 148: 128+SIGTSTP).
func (sh *termShell) suspend() {
	sh.t.Helper()
	sh.typeIn("\x1a")
	sh.expect("Stopped", 2*time.Second)
	sh.wantPrompt(promptWithin, 148)
}

// wantStoppedAndIdle checks that the shell's launcher is stopped and spends
// no CPU while it is.
func (sh *termShell) wantStoppedAndIdle() {
	sh.t.Helper()
	pids := sh.launchers()
	if len(pids) != 1 {
		sh.t.Fatalf("want one launcher in the session, have %s", sh.describe(pids))
	}
	before, err := procStat(pids[0])
	if err != nil {
		sh.t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	after, err := procStat(pids[0])
	if err != nil {
		sh.t.Fatal(err)
	}
	if after.state != "T" {
		sh.t.Errorf("launcher %d is in state %s, want T (stopped with its job)", pids[0], after.state)
	}
	if d := after.cpu - before.cpu; d > 20*time.Millisecond {
		sh.t.Errorf("launcher %d used %v of CPU in 300ms while its job was stopped", pids[0], d)
	}
}

// A sandboxed program cannot type into the user's terminal: what it pushes
// with TIOCSTI (or pastes with TIOCLINUX) would run in the user's own shell,
// outside the sandbox, once the program ends. Tried as root and as nobody,
// with the filter off, through run and through exec.
func TestTerminalInjection(t *testing.T) {
	requireRoot(t)
	l := newRunLab(t)
	offNoSeccomp := writeProfile(t, "noseccomp", "[security]\nseccomp = false\n")
	cases := []struct {
		name string
		args string // nsjail-net arguments before the program
	}{
		{"root", "run"},
		{"nobody", "run --user nobody"},
		{"seccomp off", "run --profile " + offNoSeccomp},
		{"exec", "exec inj"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "exec" {
				wantCode(t, l.NSJ(t, "create", "inj"), 0)
				t.Cleanup(func() { l.NSJ(t, "delete", "inj") })
			}
			sh := startShell(t, l)
			marker := filepath.Join(t.TempDir(), "injected")
			line := "touch " + marker + "\n"
			// Every way of asking: TIOCSTI, the same request with high bits
			// set (the kernel reads 32), and TIOCLINUX's paste (subcode 3).
			// Each prints the error it got.
			perl := `for my $req (0x5412, 0x100005412) { for (split //, $ARGV[0]) { ioctl(STDIN, $req, $_) or do { print "sti: $!\n"; last } } }` +
				` my $sub = pack("c", 3); ioctl(STDIN, 0x541C, $sub) or print "linux: $!\n";`
			sh.run("nsjail-net " + c.args + " -- perl -e '" + perl + "' '" + line + "'; echo done-$((6*7))")
			sh.expect("done-42", 10*time.Second)
			sh.prompt(promptWithin)
			time.Sleep(300 * time.Millisecond) // anything pushed would run now
			sh.run("echo settled-$((2*3))")
			sh.expect("settled-6", 2*time.Second)
			if _, err := os.Stat(marker); err == nil {
				t.Fatalf("the user's shell ran what the sandbox typed:\n%s", sh.screen.String())
			}
			screen := sh.screen.String()
			if strings.Count(screen, "sti: Operation not permitted") != 2 || !strings.Contains(screen, "linux: Operation not permitted") {
				t.Errorf("want TIOCSTI (twice) and TIOCLINUX refused with EPERM; the terminal shows:\n%s", screen)
			}
		})
	}
}

// sudo, with and without use_pty (a sudoers drop-in mounted in the lab's
// own mount namespace turns it on), the way most people start nsjail-net.
func TestTerminalSudo(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("sudo"); err != nil {
		t.Skip("sudo is not installed (make deps installs it)")
	}
	l := newRunLab(t)
	for _, usePTY := range []bool{false, true} {
		name := "sudo"
		if usePTY {
			name = "sudo with use_pty"
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "use_pty"), []byte("Defaults use_pty\n"), 0o440); err != nil {
				t.Fatal(err)
			}
			l.MustRun(t, "mount", "--bind", dir, "/etc/sudoers.d")
		}
		t.Run(name, func(t *testing.T) {
			sh := startShell(t, l)
			sudo := "sudo " + sh.bin
			sh.runShows(sudo+" run --profile web -- true; echo sudo-$?", "sudo-0")
			sh.run(sudo + " run -- sh -c 'echo start$((1+1)); sleep 30; echo not-interrupted'")
			sh.expect("start2", 5*time.Second)
			time.Sleep(200 * time.Millisecond)
			sh.typeIn("\x03")
			sh.wantPrompt(promptWithin, 130)
			sh.run(sudo + " run -- sh -c 'echo start$((1+1)); read x; echo got-$x'")
			sh.expect("start2", 5*time.Second)
			time.Sleep(200 * time.Millisecond)
			sh.suspend()
			sh.run("fg")
			time.Sleep(300 * time.Millisecond)
			sh.run("hello")
			sh.expect("got-hello", 5*time.Second)
			sh.wantPrompt(promptWithin, 0)
			sh.wantNoLaunchers()
		})
	}
}

// tmux: the shell runs in a tmux window; keys go through tmux's own pty.
func TestTerminalTmux(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (make deps installs it)")
	}
	l := newRunLab(t)
	sock := filepath.Join(t.TempDir(), "tmux.sock")
	pathDir := t.TempDir()
	if err := os.Symlink(l.Bin(t), filepath.Join(pathDir, "nsjail-net")); err != nil {
		t.Fatal(err)
	}
	tmux := func(args ...string) string {
		t.Helper()
		return l.MustRun(t, "tmux", append([]string{"-S", sock}, args...)...).Stdout
	}
	shell := "env PATH=" + pathDir + ":" + labPath + " PS1='@rc=$?@ ' bash --norc --noprofile -i"
	tmux("new-session", "-d", "-x", "100", "-y", "30", shell)
	t.Cleanup(func() { l.Run(t, "tmux", "-S", sock, "kill-server") })
	screenShows := func(what string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			screen := tmux("capture-pane", "-p")
			if strings.Contains(screen, what) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("tmux pane did not show %q within %v:\n%s", what, within, screen)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	screenShows("@rc=0@", 10*time.Second)
	tmux("send-keys", "nsjail-net run --profile web -- true; echo tmux-$((1+1))", "Enter")
	screenShows("tmux-2", 5*time.Second)
	tmux("send-keys", "nsjail-net run -- sh -c 'echo start$((1+1)); sleep 30'", "Enter")
	screenShows("start2", 5*time.Second)
	time.Sleep(200 * time.Millisecond)
	tmux("send-keys", "C-c")
	screenShows("@rc=130@", 2*time.Second)
	tmux("send-keys", "nsjail-net run -- sh -c 'echo start$((2+2)); read x; echo got-$x'", "Enter")
	screenShows("start4", 5*time.Second)
	tmux("send-keys", "C-z")
	screenShows("Stopped", 2*time.Second)
	tmux("send-keys", "fg", "Enter")
	time.Sleep(300 * time.Millisecond)
	tmux("send-keys", "tmuxed", "Enter")
	screenShows("got-tmuxed", 5*time.Second)
}
