package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// termShell is a person at a terminal: an interactive bash with job control
// (bash -i as the session leader of a pseudo-terminal the test owns, as a
// terminal emulator, tmux or sshd starts it), inside the lab host, with
// nsjail-net on its PATH. The test types into the terminal's master side
// and reads what the screen shows.
type termShell struct {
	t      *testing.T
	master *os.File
	screen *lockedBuffer
	cmd    *exec.Cmd
	mark   int // expectations look at what the screen showed after this
	bin    string
}

// promptRE matches the shell's prompt, which carries the last exit status.
var promptRE = regexp.MustCompile(`@rc=(\d+)@ `)

// promptWithin is how soon the prompt must come back after a command ends.
const promptWithin = time.Second

func startShell(t *testing.T, l *Lab) *termShell {
	t.Helper()
	master, slave := openPTY(t)
	if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		t.Fatal(err)
	}
	bin := l.Bin(t)
	pathDir := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(pathDir, "nsjail-net")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cmd := l.Cmd(ctx, "bash", "--norc", "--noprofile", "--noediting", "-i")
	cmd.Env = append(labEnv(), "PATH="+pathDir+":"+labPath, "PS1=@rc=$?@ ", "TERM=dumb")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	// The shell leads a new session whose controlling terminal is the pty:
	// it turns job control on, as it does in any terminal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sh := &termShell{t: t, master: master, screen: &lockedBuffer{}, cmd: cmd, bin: bin}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			sh.screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(sh.close)
	if rc := sh.prompt(10 * time.Second); rc != 0 {
		t.Fatalf("the shell's first prompt shows status %d", rc)
	}
	return sh
}

// close ends the shell and everything left in its session.
func (sh *termShell) close() {
	for _, pid := range sh.session() {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	_ = sh.cmd.Process.Kill()
	_ = sh.cmd.Wait()
}

// typeIn types s at the terminal; expectations then look at what follows.
func (sh *termShell) typeIn(s string) {
	sh.mark = len(sh.screen.String())
	if _, err := sh.master.WriteString(s); err != nil {
		sh.t.Fatalf("typing %q: %v", s, err)
	}
}

// run types a command line and Enter.
func (sh *termShell) run(line string) { sh.typeIn(line + "\n") }

// since returns what the screen showed since the last thing typed.
func (sh *termShell) since() string {
	s := sh.screen.String()
	if sh.mark > len(s) {
		return ""
	}
	return s[sh.mark:]
}

// expect waits until the screen shows what, after the last thing typed.
func (sh *termShell) expect(what string, within time.Duration) {
	sh.t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(sh.since(), what) {
		if time.Now().After(deadline) {
			sh.t.Fatalf("the terminal did not show %q within %v; it shows:\n%q", what, within, sh.since())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// prompt waits for the shell's prompt after the last thing typed and
// returns the status it shows; expectations then look past it.
func (sh *termShell) prompt(within time.Duration) int {
	sh.t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := sh.since()
		if m := promptRE.FindStringSubmatchIndex(s); m != nil {
			rc, _ := strconv.Atoi(s[m[2]:m[3]])
			sh.mark += m[1]
			return rc
		}
		if time.Now().After(deadline) {
			sh.t.Fatalf("no prompt within %v (the launcher hangs?); launchers: %s; the terminal shows:\n%q",
				within, sh.describe(sh.launchers()), s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wantPrompt waits for the prompt and checks the status it shows.
func (sh *termShell) wantPrompt(within time.Duration, rc int) {
	sh.t.Helper()
	if got := sh.prompt(within); got != rc {
		sh.t.Fatalf("the prompt shows status %d, want %d; the terminal shows:\n%q", got, rc, sh.screen.String())
	}
}

// session lists the processes of the shell's session, the shell excepted.
func (sh *termShell) session() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == sh.cmd.Process.Pid {
			continue
		}
		if sid, err := unix.Getsid(pid); err == nil && sid == sh.cmd.Process.Pid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// launchers lists the launchers of the shell's session: nsjail-net
// processes but the init stages (pid 1 of each sandbox).
func (sh *termShell) launchers() []int {
	var pids []int
	for _, pid := range sh.nsjailNet() {
		if !isInitStage(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// nsjailNet lists the nsjail-net processes of the shell's session.
func (sh *termShell) nsjailNet() []int {
	var pids []int
	for _, pid := range sh.session() {
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == sh.bin {
			pids = append(pids, pid)
		}
	}
	return pids
}

func isInitStage(pid int) bool {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.HasPrefix(string(b), "nsjail-net:init\x00")
}

// wantNoLaunchers fails when a launcher or init stage of this shell is
// still there.
func (sh *termShell) wantNoLaunchers() {
	sh.t.Helper()
	if pids := sh.nsjailNet(); len(pids) > 0 {
		sh.t.Fatalf("nsjail-net processes left: %s", sh.describe(pids))
	}
}

// describe shows pids with their state and CPU time, for failure messages.
func (sh *termShell) describe(pids []int) string {
	var out []string
	for _, pid := range pids {
		st, err := procStat(pid)
		if err != nil {
			continue
		}
		out = append(out, fmt.Sprintf("%d (state %s, cpu %v)", pid, st.state, st.cpu))
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// procState is what /proc/PID/stat says of a process's state and CPU time.
type procState struct {
	state string
	cpu   time.Duration
}

func procStat(pid int) (procState, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procState{}, err
	}
	s := string(b)
	// Fields after the command name, which is in parentheses and may hold
	// anything: state is field 3, utime and stime fields 14 and 15.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return procState{}, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ
	return procState{state: f[0], cpu: time.Duration(ut+st) * time.Second / hz}, nil
}

// resize changes the terminal's window size, as a terminal emulator does
// when its window is resized.
func (sh *termShell) resize(rows, cols uint16) {
	if err := unix.IoctlSetWinsize(int(sh.master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		sh.t.Fatal(err)
	}
}
