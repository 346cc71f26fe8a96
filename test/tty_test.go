package test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	var unlock int32
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, m.Fd(), unix.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlockpt: %v", e)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening the pty slave: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// An interactive shell in a sandbox behaves like a normal shell: Ctrl-C
// reaches the program (not the launcher), job control works, the exit
// status comes back.
func TestRunInteractiveShellOnATerminal(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	master, slave := openPTY(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := l.Cmd(ctx, l.Bin(t), "run", "--profile", "web", "--env", "PS1=sbx$ ", "--", "bash", "--norc", "--noprofile", "-i")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := &lockedBuffer{}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	expect := func(what string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(out.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("terminal never showed %q; it shows:\n%q", what, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	send := func(s string) { master.WriteString(s) }

	expect("sbx$")
	send("sleep 100; echo not-interrupted\n")
	time.Sleep(300 * time.Millisecond)
	send("\x03") // Ctrl-C: to the program's foreground job, not the launcher
	send("echo after-ctrl-c\n")
	expect("after-ctrl-c\r\n")
	if strings.Contains(out.String(), "\nnot-interrupted") {
		t.Error("Ctrl-C did not interrupt the sandboxed program")
	}
	send("sleep 100\n")
	time.Sleep(300 * time.Millisecond)
	send("\x1a") // Ctrl-Z: job control inside the sandboxed shell
	expect("Stopped")
	send("kill %1; tty >/dev/null && echo has-a-tty\n")
	expect("has-a-tty")
	send("exit 3\n")
	err := cmd.Wait()
	if code := exitCode(cmd, err); code != 3 {
		t.Errorf("exit status %d, want the shell's 3; terminal:\n%s", code, out.String())
	}
}
