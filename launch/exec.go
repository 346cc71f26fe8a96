package launch

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/nsjail-net/nsjail-net/dns"
	"github.com/nsjail-net/nsjail-net/policy"
	"github.com/nsjail-net/nsjail-net/sandbox"
	"github.com/nsjail-net/nsjail-net/state"
)

// ExecSpec is a program to run inside a live sandbox.
type ExecSpec struct {
	StateDir        string
	Name            string
	Argv            []string
	Env             []string
	User            *sandbox.User
	Workdir         string
	WorkdirExplicit bool
	// ReadOnly are directories the program sees read-only (see
	// sandbox.ChildConfig.ReadOnly).
	ReadOnly []string
	Stdio    sandbox.Stdio
	Log      *slog.Logger
}

// ErrNoSandbox is returned for a name no live sandbox has.
var ErrNoSandbox = errors.New("no live sandbox")

// Live finds the live sandbox called name.
func Live(dir *state.Dir, name string) (*state.Sandbox, error) {
	rec, err := dir.FindByName(name)
	if errors.Is(err, state.ErrNotFound) || (err == nil && !alive(rec)) {
		return nil, fmt.Errorf("%w named %q (see nsjail-net list)", ErrNoSandbox, name)
	}
	return rec, err
}

// alive: the supervising launcher and the sandbox's program both live.
func alive(rec *state.Sandbox) bool {
	if !rec.Owner.Alive() {
		return false
	}
	o, err := state.OwnerOf(rec.Pid)
	return err == nil && o.StartTime == rec.PidStart
}

// Exec runs a program in a live sandbox's network and UTS namespaces, with
// its resolv.conf and hosts, dropped like the sandbox's own program, and
// supervises it as Run does.
func Exec(spec ExecSpec) (int, error) {
	runtime.LockOSThread() // the init stage's parent-death signal, as in Run
	defer runtime.UnlockOSThread()
	sigs := sandbox.CatchSignals()
	if err := sandbox.BecomeSubreaper(); err != nil {
		return sandbox.ExitSetup, fmt.Errorf("becoming a subreaper: %w", err)
	}
	var child *sandbox.Child
	defer func() {
		_ = sandbox.KillOrphans()
		if child != nil {
			child.ReleaseTerminal() // nothing of the sandbox is left to touch it
		}
	}()

	dir, err := state.Open(spec.StateDir)
	if err != nil {
		return sandbox.ExitSetup, err
	}
	rec, err := Live(dir, spec.Name)
	if errors.Is(err, ErrNoSandbox) {
		// Not ours, but maybe a namespace made with `ip netns add`: enter it
		// the same way, so habits carry over in both directions.
		if code, err, ok := execForeignNetns(spec, sigs); ok {
			return code, err
		}
	}
	if err != nil {
		return sandbox.ExitSetup, err
	}
	// Open the namespaces, then check the pid still is the sandbox's: the
	// open files then refer to the right namespaces whatever happens next.
	proc := "/proc/" + strconv.Itoa(rec.Pid) + "/ns/"
	netNS, err := os.Open(proc + "net")
	if err != nil {
		return sandbox.ExitSetup, fmt.Errorf("sandbox %q: opening its network namespace: %w", spec.Name, err)
	}
	defer netNS.Close()
	utsNS, err := os.Open(proc + "uts")
	if err != nil {
		return sandbox.ExitSetup, fmt.Errorf("sandbox %q: opening its UTS namespace: %w", spec.Name, err)
	}
	defer utsNS.Close()
	pidNS, err := os.Open(proc + "pid")
	if err != nil {
		return sandbox.ExitSetup, fmt.Errorf("sandbox %q: opening its pid namespace: %w", spec.Name, err)
	}
	defer pidNS.Close()
	if !alive(rec) {
		return sandbox.ExitSetup, fmt.Errorf("%w named %q: it ended", ErrNoSandbox, spec.Name)
	}
	sbDir := dir.SandboxDir(rec.ID)
	cfg := &sandbox.ChildConfig{
		Argv: spec.Argv, Env: spec.Env, Seccomp: !rec.NoSeccomp,
		Workdir: spec.Workdir, WorkdirExplicit: spec.WorkdirExplicit,
		FallbackWorkdirs: []string{spec.User.Home, "/"},
		UID:              spec.User.UID, GID: spec.User.GID, Groups: spec.User.WithoutGroups(policy.DroppedGroups(rec.Keep)),
		ResolvConf: filepath.Join(sbDir, "resolv.conf"), Hosts: filepath.Join(sbDir, "hosts"),
		ReadOnly: spec.ReadOnly,
	}
	if _, err := os.Stat(filepath.Join(sbDir, "nsswitch.conf")); err == nil {
		cfg.Nsswitch = filepath.Join(sbDir, "nsswitch.conf")
		cfg.Hide = dns.HiddenDirs
	}
	cfg.Hide = append(cfg.Hide, policy.HiddenFor(rec.Hide, rec.Keep, spec.User.UID)...)
	child, err = sandbox.StartJoin(cfg, spec.Stdio, netNS, utsNS, pidNS)
	if err != nil {
		return sandbox.ExitSetup, err
	}
	if err := child.WaitReady(); err != nil {
		child.Kill()
		return sandbox.ExitSetup, fmt.Errorf("entering sandbox %q: %w", spec.Name, err)
	}
	if err := child.Continue(); err != nil {
		child.Kill()
		return sandbox.ExitCodeFor(err), err
	}
	code := child.Wait(sigs)
	return code, child.Err()
}

// execForeignNetns runs the program in /run/netns/NAME when it exists and is
// not a sandbox of ours, with iproute2's per-namespace resolv.conf
// (/etc/netns/NAME/resolv.conf) when there is one, dropped as always.
// ok is false when there is no such namespace.
func execForeignNetns(spec ExecSpec, sigs chan os.Signal) (code int, err error, ok bool) {
	netNS, err := os.Open(filepath.Join(NetnsRunDir, spec.Name))
	if err != nil {
		return 0, nil, false
	}
	defer netNS.Close()
	utsNS, err := os.Open("/proc/self/ns/uts")
	if err != nil {
		return sandbox.ExitSetup, err, true
	}
	defer utsNS.Close()
	cfg := &sandbox.ChildConfig{
		Argv: spec.Argv, Env: spec.Env, Seccomp: true,
		Workdir: spec.Workdir, WorkdirExplicit: spec.WorkdirExplicit,
		FallbackWorkdirs: []string{spec.User.Home, "/"},
		UID:              spec.User.UID, GID: spec.User.GID, Groups: spec.User.WithoutGroups(policy.DroppedGroups(nil)),
		ReadOnly: spec.ReadOnly,
	}
	cfg.Hide = policy.HiddenFor(nil, nil, spec.User.UID)
	if rc := filepath.Join(etcNetnsPath(spec.Name), "resolv.conf"); fileExists(rc) {
		cfg.ResolvConf = rc
	}
	child, err := sandbox.StartJoin(cfg, spec.Stdio, netNS, utsNS, nil)
	if err != nil {
		return sandbox.ExitSetup, err, true
	}
	defer func() {
		_ = sandbox.KillOrphans()
		child.ReleaseTerminal()
	}()
	if err := child.WaitReady(); err != nil {
		child.Kill()
		return sandbox.ExitSetup, fmt.Errorf("entering network namespace %q: %w", spec.Name, err), true
	}
	if err := child.Continue(); err != nil {
		child.Kill()
		return sandbox.ExitCodeFor(err), err, true
	}
	code = child.Wait(sigs)
	return code, child.Err(), true
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
