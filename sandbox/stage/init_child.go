package stage

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// IsInit reports whether this process is the re-executed init stage.
func IsInit() bool { return len(os.Args) > 0 && os.Args[0] == InitArg }

// stepError names the step of the checklist that failed.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func step(name string, err error) error {
	if err == nil {
		return nil
	}
	return &stepError{step: name, err: err}
}

// Init is the init stage. It never returns: it starts the program and
// stays as pid 1 of the sandbox (run), or execs it (exec into a sandbox),
// or exits after reporting the failure to the parent.
func Init() {
	// Every credential change below (bounding set, securebits, capset,
	// no_new_privs, pdeathsig) is per thread: keep this goroutine on one
	// thread so that the thread that calls execve carries them all.
	runtime.LockOSThread()

	// The parent-death signal, if the launcher could not have it armed at
	// fork (a child born into another pid namespace by setns), then the
	// check that the launcher did not die before it was armed.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil || launcherGoneAtStart() {
		os.Exit(125)
	}

	if len(os.Args) > 1 && os.Args[1] == NestArg {
		nest() // never returns
	}

	sock := os.NewFile(syncFd, "sync")
	// The socket must not reach the program; close-on-exec also makes EOF
	// the parent's signal that exec succeeded.
	unix.CloseOnExec(syncFd)

	r := bufio.NewReader(sock)
	var m Message
	if err := ReadMsg(r, &m); err != nil || m.Type != MsgConfig || m.Config == nil {
		fail(sock, step("read config", errors.Join(err, fmt.Errorf("unexpected message %q", m.Type))))
	}
	cfg := m.Config

	setup := setupNamespaces
	if cfg.Join {
		setup = joinNamespaces
	}
	if err := setup(cfg); err != nil {
		fail(sock, err)
	}
	ready, _ := EncodeMsg(Message{Type: MsgReady}) // no field to fail on
	if _, err := sock.Write(ready); err != nil {
		os.Exit(125)
	}
	if err := ReadMsg(r, &m); err != nil || m.Type != MsgContinue {
		// The parent went away or gave up: nothing to report to.
		os.Exit(125)
	}
	path, err := finalizeAndFind(cfg)
	if err != nil {
		fail(sock, err)
	}
	if os.Getpid() == 1 {
		// pid 1 of a pid namespace of its own (run, and exec into one of
		// our sandboxes): start the program, reap, report
		// (reaper_child.go). Never returns.
		runAsInit(sock, path, cfg)
	}
	// exec into a namespace of `ip netns add`: the program replaces this
	// stage. On success the sync socket closes (CLOEXEC) and the parent
	// reads EOF.
	err = unix.Exec(path, cfg.Argv, cfg.Env)
	fail(sock, step("exec", fmt.Errorf("%s: %w", cfg.Argv[0], err)))
}

// fail reports err to the parent and exits. The exit code only matters when
// the parent cannot read the report.
func fail(sock *os.File, err error) {
	m := Message{Type: MsgError, Msg: err.Error()}
	var se *stepError
	if errors.As(err, &se) {
		m.Step = se.step
		m.Msg = se.err.Error()
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		m.Errno = int(errno)
	}
	// A NUL byte cannot travel; one in a message (from a path, say) is
	// spelled out.
	m.Step = strings.ReplaceAll(m.Step, "\x00", `\x00`)
	m.Msg = strings.ReplaceAll(m.Msg, "\x00", `\x00`)
	if b, err := EncodeMsg(m); err == nil {
		_, _ = sock.Write(b)
	}
	os.Exit(125)
}
