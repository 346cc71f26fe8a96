package stage

import (
	"bufio"
	"encoding/json"
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
)

// Message is one line on the sync socket.
type Message struct {
	Type   string       `json:"type"`
	Config *ChildConfig `json:"config,omitempty"`
	Step   string       `json:"step,omitempty"`
	Errno  int          `json:"errno,omitempty"`
	Msg    string       `json:"msg,omitempty"`
}

// ChildConfig is everything the init stage needs; it travels as JSON over
// the sync socket, never in argv or the environment.
type ChildConfig struct {
	// Program. Path, when set, is executed instead of looking up Argv[0].
	Path    string   `json:"path,omitempty"`
	Argv    []string `json:"argv"`
	Env     []string `json:"env"`
	Workdir string   `json:"workdir"`
	// FallbackWorkdirs are tried in order when Workdir is not usable by the
	// target user and WorkdirExplicit is false.
	FallbackWorkdirs []string `json:"fallback_workdirs,omitempty"`
	WorkdirExplicit  bool     `json:"workdir_explicit,omitempty"`

	// Identity.
	UID    int   `json:"uid"`
	GID    int   `json:"gid"`
	Groups []int `json:"groups"`

	// Namespaces.
	Hostname   string `json:"hostname"`
	ResolvConf string `json:"resolv_conf,omitempty"` // bind-mounted over /etc/resolv.conf
	Hosts      string `json:"hosts,omitempty"`       // bind-mounted over /etc/hosts
	IPv6       bool   `json:"ipv6"`
	// Nsswitch, when set, is bind-mounted over /etc/nsswitch.conf (hosts:
	// files dns, so lookups go through resolv.conf).
	Nsswitch string `json:"nsswitch,omitempty"`
	// Hide lists directories covered by an empty read-only tmpfs when they
	// exist (systemd-resolved's sockets), so no lookup escapes to the host.
	Hide []string `json:"hide,omitempty"`

	// Join: instead of new network and UTS namespaces, enter those of a
	// live sandbox (fds joinNetFd and joinUTSFd, opened by the parent).
	Join bool `json:"join,omitempty"`

	// Seccomp installs the filter before exec (seccomp_child.go).
	Seccomp bool `json:"seccomp,omitempty"`

	// ParentPid is the launcher's pid: after the uid change the child checks
	// it is still its parent (the parent-death signal is re-armed then).
	ParentPid int `json:"parent_pid"`
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

func EncodeMsg(m Message) []byte {
	b, _ := json.Marshal(m) // message has no types json cannot encode
	return append(b, '\n')
}

// ReadMsg reads one message line.
func ReadMsg(r *bufio.Reader, m *Message) error {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return err
	}
	*m = Message{}
	return json.Unmarshal(line, m)
}
