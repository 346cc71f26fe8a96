package stage

import (
	"fmt"
	"syscall"
)

// InitArg is argv[0] of the re-executed init stage. main() checks it before
// the CLI parses anything (see IsInit).
const InitArg = "nsjail-net:init"

// The child's inherited fds (ExtraFiles, in order).
const (
	syncFd    = 3 // the sync socket
	joinNetFd = 4 // Join only: the sandbox's network namespace
	joinUTSFd = 5 // Join only: the sandbox's UTS namespace
)

// Message types of the parent/child protocol (see the package comment).
const (
	MsgConfig   = "config"
	MsgReady    = "ready"
	MsgContinue = "continue"
	MsgError    = "error"
	// MsgStarted: the init stage (pid 1 of the sandbox's pid namespace)
	// has started the program.
	MsgStarted = "started"
	// MsgExited: the program ended; Status is its raw wait status. The
	// init stage exits right after, taking what is left with it.
	MsgExited = "exited"
)

// Message is one message on the sync socket (framed as wire.go says).
type Message struct {
	Type   string
	Config *ChildConfig
	Step   string
	Errno  int
	Msg    string
	Status int // MsgExited
}

// ChildConfig is everything the init stage needs; it travels over the sync
// socket (wire.go), never in argv or the environment.
type ChildConfig struct {
	// Program. Path, when set, is executed instead of looking up Argv[0].
	Path    string
	Argv    []string
	Env     []string
	Workdir string
	// FallbackWorkdirs are tried in order when Workdir is not usable by the
	// target user and WorkdirExplicit is false.
	FallbackWorkdirs []string
	WorkdirExplicit  bool

	// Identity.
	UID    int
	GID    int
	Groups []int

	// Namespaces.
	Hostname   string
	ResolvConf string // bind-mounted over /etc/resolv.conf
	Hosts      string // bind-mounted over /etc/hosts
	IPv6       bool
	// Nsswitch, when set, is bind-mounted over /etc/nsswitch.conf (hosts:
	// files dns, so lookups go through resolv.conf).
	Nsswitch string
	// Hide lists directories covered by an empty read-only tmpfs when they
	// exist (systemd-resolved's sockets), so no lookup escapes to the host.
	Hide []string
	// ReadOnly lists directories bound read-only over themselves when they
	// exist: the ones that decide the policy of later runs (profiles, the
	// trust store), which the program must not change.
	ReadOnly []string

	// Join: instead of new network and UTS namespaces, enter those of a
	// live sandbox (fds joinNetFd and joinUTSFd, opened by the parent).
	Join bool

	// Seccomp installs the filter before exec (seccomp_child.go).
	Seccomp bool
	// SharedGroup: the program joins the launcher's process group (the
	// launcher has a controlling terminal); the filter then keeps it from
	// signalling that group as a whole.
	SharedGroup bool

	// ParentPid is the launcher's pid: after the uid change the child checks
	// it is still its parent (the parent-death signal is re-armed then).
	ParentPid int
}

// ChildError is a failure the init stage reported before exec.
type ChildError struct {
	Step  string
	Errno syscall.Errno
	Msg   string
}

func (e *ChildError) Error() string { return fmt.Sprintf("%s: %s", e.Step, e.Msg) }

// Unwrap exposes the errno so callers can use errors.Is(err, syscall.ENOENT).
func (e *ChildError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}
