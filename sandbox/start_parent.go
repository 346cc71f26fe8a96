package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/nsjail-net/nsjail-net/sandbox/stage"
)

// Stdio is what the program gets as fds 0-2.
type Stdio struct{ Stdin, Stdout, Stderr *os.File }

// Child is the init stage seen from the launcher. For run it is pid 1 of
// the sandbox's pid namespace and the program its child; for exec it
// becomes the program.
type Child struct {
	Pid int
	// init: Pid stays as the sandbox's init (run); prog is the program
	// (a pidfd, or -1 until started), which signals go to.
	init bool
	prog int
	// nested: exec into a sandbox, where the init stage is the child of
	// the process the launcher started (stage.NestArg).
	nested bool
	tty    *terminal // the launcher's controlling terminal, or nil
	sock   *os.File
	r      *bufio.Reader

	killedBy unix.Signal // the signal that killed the program, once reaped
}

// Start re-executes the launcher as the init stage in new network, mount,
// UTS and pid namespaces. The caller must keep the calling OS thread
// locked until the child is reaped: the parent-death signal fires when the
// thread that forked exits.
//
// The child's runtime starts at once; it waits for its configuration
// (Configure), so the caller can prepare it meanwhile.
func Start(stdio Stdio) (*Child, error) {
	return start(false, stdio, nil, nil)
}

// StartJoin starts an init stage that enters the network and UTS
// namespaces given as open files (of a live sandbox) instead of new ones,
// and configures it. With pidNS (the sandbox's pid namespace; nil for a
// namespace made with `ip netns add`) it is born as a process of that
// namespace. The caller's thread must be locked, as for Start.
func StartJoin(cfg *ChildConfig, stdio Stdio, netNS, utsNS, pidNS *os.File) (*Child, error) {
	cfg.Join = true
	c, err := start(true, stdio, []*os.File{netNS, utsNS}, pidNS)
	if err != nil {
		return nil, err
	}
	if err := c.Configure(cfg); err != nil {
		c.Kill()
		return nil, err
	}
	return c, nil
}

// Configure sends the init stage its configuration.
func (c *Child) Configure(cfg *ChildConfig) error {
	cfg.ParentPid = os.Getpid()
	cfg.SharedGroup = c.tty != nil
	b, err := stage.EncodeMsg(stage.Message{Type: stage.MsgConfig, Config: cfg})
	if err != nil {
		return err // names the field: a NUL byte in an argument, say
	}
	if _, err := c.sock.Write(b); err != nil {
		return fmt.Errorf("sending config to init stage: %w", err)
	}
	return nil
}

func start(join bool, stdio Stdio, joinFiles []*os.File, pidNS *os.File) (*Child, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sync socketpair: %w", err)
	}
	parentEnd := os.NewFile(uintptr(fds[0]), "sync-parent")
	childEnd := os.NewFile(uintptr(fds[1]), "sync-child")
	defer childEnd.Close()

	// run: new namespaces of every kind. exec into a sandbox: born into
	// the sandbox's pid namespace (startIn), the child nests one of its own
	// for the program (stage.NestArg), so that what the program leaves
	// behind ends with it; it joins the network and UTS namespaces. exec
	// into a namespace of `ip netns add`: a mount namespace only.
	flags := uintptr(syscall.CLONE_NEWNET | syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS | syscall.CLONE_NEWPID)
	args := []string{stage.InitArg}
	if join {
		flags = syscall.CLONE_NEWNS
		if pidNS != nil {
			args = append(args, stage.NestArg) // see stage.NestArg
		}
	}
	// No Pdeathsig here: Go's check after arming it compares getppid()
	// with the launcher's pid, and a child in a new pid namespace sees no
	// parent (0); the init stage arms it itself, first thing (Init).
	attr := &syscall.SysProcAttr{Cloneflags: flags}
	// With a controlling terminal the program stays in our process group
	// and the kernel does job control for both (terminal_parent.go);
	// without one it gets its own, so that what we forward reaches it once.
	tty := openTerminal()
	attr.Setpgid = tty == nil
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        args,
		Env:         []string{}, // the init stage needs nothing; the program's env travels in cfg
		Stdin:       stdio.Stdin,
		Stdout:      stdio.Stdout,
		Stderr:      stdio.Stderr,
		ExtraFiles:  append([]*os.File{childEnd}, joinFiles...), // fd 3 (syncFd), 4, 5
		SysProcAttr: attr,
	}
	if err := startIn(cmd, pidNS); err != nil {
		parentEnd.Close()
		tty.Release()
		return nil, err
	}
	return &Child{Pid: cmd.Process.Pid, init: !join || pidNS != nil, nested: join && pidNS != nil, prog: -1, tty: tty, sock: parentEnd, r: bufio.NewReader(parentEnd)}, nil
}

// startIn starts cmd, as a process of pid namespace pidNS when it is not
// nil. setns(CLONE_NEWPID) changes the namespace of the calling thread's
// future children only, so the thread (locked by the caller) enters it for
// the fork and goes back to its own right after; if it cannot, the process
// must not go on with a thread that would fork into the sandbox.
func startIn(cmd *exec.Cmd, pidNS *os.File) error {
	if pidNS == nil {
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("starting init stage: %w", err)
		}
		return nil
	}
	own, err := os.Open("/proc/thread-self/ns/pid")
	if err != nil {
		return fmt.Errorf("opening our pid namespace: %w", err)
	}
	defer own.Close()
	if err := unix.Setns(int(pidNS.Fd()), unix.CLONE_NEWPID); err != nil {
		return fmt.Errorf("entering the sandbox's pid namespace: %w", err)
	}
	startErr := cmd.Start()
	if err := unix.Setns(int(own.Fd()), unix.CLONE_NEWPID); err != nil {
		panic(fmt.Sprintf("leaving the sandbox's pid namespace: %v", err))
	}
	if startErr != nil {
		return fmt.Errorf("starting init stage: %w", startErr)
	}
	return nil
}

// WaitReady waits until the child has set up its namespaces.
func (c *Child) WaitReady() error {
	var m stage.Message
	if err := stage.ReadMsg(c.r, &m); err != nil {
		return c.deadErr("setup", err)
	}
	switch m.Type {
	case stage.MsgReady:
		return nil
	case stage.MsgError:
		return &stage.ChildError{Step: m.Step, Errno: syscall.Errno(m.Errno), Msg: m.Msg}
	}
	return fmt.Errorf("init stage: unexpected message %q", m.Type)
}

// Continue lets the child drop privileges and exec, and waits for the
// outcome: nil once exec succeeded, a *ChildError otherwise.
func (c *Child) Continue() error {
	cont, _ := stage.EncodeMsg(stage.Message{Type: stage.MsgContinue}) // no field to fail on
	if _, err := c.sock.Write(cont); err != nil {
		return c.deadErr("continue", err)
	}
	var m stage.Message
	err := stage.ReadMsg(c.r, &m)
	if c.init && err == nil && m.Type == stage.MsgStarted {
		// The socket stays open: the program's status comes on it.
		c.watchProgram()
		return nil
	}
	c.sock.Close()
	if !c.init && errors.Is(err, io.EOF) {
		return nil // CLOEXEC closed the socket: exec succeeded
	}
	if err != nil {
		return fmt.Errorf("init stage: %w", err)
	}
	if m.Type == stage.MsgError {
		return &stage.ChildError{Step: m.Step, Errno: syscall.Errno(m.Errno), Msg: m.Msg}
	}
	return fmt.Errorf("init stage: unexpected message %q", m.Type)
}

// watchProgram finds the program, the init stage's only child, and opens a
// pidfd for it: signals then reach it and no process that took its pid
// later. Until then (or if it already ended) they go to the init stage,
// which drops them.
func (c *Child) watchProgram() {
	init := c.Pid
	if c.nested {
		init = ProgramOf(c.Pid) // the init stage, child of what we started
	}
	if prog := ProgramOf(init); prog > 0 {
		if fd, err := unix.PidfdOpen(prog, 0); err == nil {
			c.prog = fd
		}
	}
}

// deadErr explains an init stage that went away without a report.
func (c *Child) deadErr(stage string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, unix.ECONNRESET) || errors.Is(err, unix.EPIPE) {
		return fmt.Errorf("init stage exited during %s without a report", stage)
	}
	return fmt.Errorf("init stage during %s: %w", stage, err)
}

// Kill ends the child and reaps it (used on setup failure).
func (c *Child) Kill() {
	_ = unix.Kill(c.Pid, unix.SIGKILL)
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(c.Pid, &ws, 0, nil)
		if err != unix.EINTR {
			break
		}
	}
	if c.sock != nil {
		c.sock.Close()
	}
}
