package stage

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Securebits (linux/securebits.h); x/sys/unix does not export them.
const (
	secbitNoroot                  = 1 << 0
	secbitNorootLocked            = 1 << 1
	secbitNoCapAmbientRaise       = 1 << 6
	secbitNoCapAmbientRaiseLocked = 1 << 7
)

// finalizeAndFind drops every privilege and returns the program's path.
// Ordered checklist (each step needs a capability the next ones remove):
//
//  1. bounding set: drop all but CAP_NET_RAW (needs CAP_SETPCAP). NET_RAW
//     stays so that files marked cap_net_raw+ep (Debian's ping) may still
//     be executed; under no_new_privs they gain nothing from it.
//  2. securebits NOROOT (locked): uid 0 gains no capability on exec, so
//     root inside the sandbox is an ordinary user; ambient raising locked
//     off (needs CAP_SETPCAP). KEEP_CAPS stays unlocked: tools such as ping
//     call PR_SET_KEEPCAPS, harmless with nothing to keep.
//  3. setgroups, setresgid, setresuid, on the exec'ing thread.
//  4. capset: effective, permitted and inheritable all empty (this thread,
//     which is the one that execs); ambient cleared.
//  5. parent-death signal re-armed: a uid change clears it. Then check the
//     launcher is still our parent, or it died before we re-armed.
//  6. no_new_privs: setuid bits and file capabilities grant nothing; then
//     the seccomp filter (seccomp_child.go); its terminal rule alone when
//     the profile turns it off.
//  7. workdir, as the target user (permission checks are theirs).
//  8. program lookup in the program's PATH, as the target user.
//  9. every fd but 0-2 close-on-exec (CVE-2024-21626: no launcher fd, such
//     as a directory of the host, may reach the program).
func finalizeAndFind(cfg *ChildConfig) (string, error) {
	// 1. Bounding set.
	last := lastCap()
	for c := 0; c <= last; c++ {
		if c == unix.CAP_NET_RAW {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return "", step("drop bounding set", fmt.Errorf("capability %d: %w", c, err))
		}
	}
	// 2. Securebits.
	bits := secbitNoroot | secbitNorootLocked | secbitNoCapAmbientRaise | secbitNoCapAmbientRaiseLocked
	if err := unix.Prctl(unix.PR_SET_SECUREBITS, uintptr(bits), 0, 0, 0); err != nil {
		return "", step("set securebits", err)
	}
	// 3. Identity, on this thread only: it is the one that execs, and
	//    execve ends the runtime's other threads, which run none of the
	//    program's code. (syscall.Setuid would stop the world and signal
	//    every thread, milliseconds on the launch path, for nothing.)
	if err := setgroupsThread(cfg.Groups); err != nil {
		return "", step("setgroups", fmt.Errorf("%v: %w", cfg.Groups, err))
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(cfg.GID), uintptr(cfg.GID), uintptr(cfg.GID)); e != 0 {
		return "", step("setgid", fmt.Errorf("%d: %w", cfg.GID, e))
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(cfg.UID), uintptr(cfg.UID), uintptr(cfg.UID)); e != 0 {
		return "", step("setuid", fmt.Errorf("%d: %w", cfg.UID, e))
	}
	// 4. Capabilities.
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return "", step("clear capabilities", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return "", step("clear ambient capabilities", err)
	}
	// 5. Parent-death signal.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return "", step("set parent-death signal", err)
	}
	if cfg.ParentPid != 0 && launcherGone(cfg.ParentPid) {
		os.Exit(125) // the launcher is gone; nobody to report to
	}
	// 6. no_new_privs.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return "", step("set no_new_privs", err)
	}
	// 6b. seccomp: refuse namespace, mount, ptrace, bpf, raw/packet socket
	//     and other escape calls (needs no_new_privs first). With the
	//     filter turned off, its terminal rule stays (no TIOCSTI).
	if err := installSeccomp(filterOpts{full: cfg.Seccomp, sharedGroup: cfg.SharedGroup}); err != nil {
		return "", step("install seccomp filter", err)
	}
	// 7. Workdir.
	if err := chdirAsUser(cfg); err != nil {
		return "", err
	}
	// 8. Program lookup.
	path := cfg.Path
	if path == "" {
		var err error
		if path, err = lookPath(cfg.Argv[0], cfg.Env); err != nil {
			return "", step("exec", err)
		}
	}
	// 9. Close-on-exec everything but stdio (the sync socket included).
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return "", step("close fds", err)
	}
	return path, nil
}

func chdirAsUser(cfg *ChildConfig) error {
	err := os.Chdir(cfg.Workdir)
	if err == nil {
		return nil
	}
	if cfg.WorkdirExplicit {
		return step("workdir", fmt.Errorf("%s (as uid %d): %w", cfg.Workdir, cfg.UID, unwrapPath(err)))
	}
	for _, d := range cfg.FallbackWorkdirs {
		if os.Chdir(d) == nil {
			return nil
		}
	}
	return step("workdir", fmt.Errorf("%s (as uid %d): %w", cfg.Workdir, cfg.UID, unwrapPath(err)))
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// lookPath resolves argv0 against the program's own PATH (not ours).
func lookPath(argv0 string, env []string) (string, error) {
	if strings.Contains(argv0, "/") {
		if err := checkExecutable(argv0); err != nil {
			return "", fmt.Errorf("%s: %w", argv0, err)
		}
		return argv0, nil
	}
	pathEnv := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	var firstErr error
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + argv0
		err := checkExecutable(p)
		if err == nil {
			return p, nil
		}
		if firstErr == nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
			firstErr = err
		}
	}
	if firstErr != nil {
		return "", fmt.Errorf("%s: %w", argv0, firstErr)
	}
	return "", fmt.Errorf("%s: command not found in PATH: %w", argv0, unix.ENOENT)
}

func checkExecutable(p string) error {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.EISDIR
	}
	return unix.Access(p, unix.X_OK)
}

func lastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return unix.CAP_LAST_CAP
	}
	var n int
	if _, err := fmt.Sscanf(string(b), "%d", &n); err != nil {
		return unix.CAP_LAST_CAP
	}
	return n
}

// setgroupsThread sets the supplementary groups of the calling thread.
func setgroupsThread(groups []int) error {
	gids := make([]uint32, len(groups))
	for i, g := range groups {
		gids[i] = uint32(g)
	}
	var p unsafe.Pointer
	if len(gids) > 0 {
		p = unsafe.Pointer(&gids[0])
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(gids)), uintptr(p), 0); e != 0 {
		return e
	}
	return nil
}

// launcherGone reports whether the launcher died. Born into the sandbox's
// pid namespace, this process sees no parent (getppid is 0): the launcher's
// end of the sync socket hanging up says it instead.
func launcherGone(parent int) bool {
	switch ppid := os.Getppid(); ppid {
	case parent:
		return false
	case 0:
		return syncHungUp()
	default:
		return true
	}
}

// launcherGoneAtStart is launcherGone before the config tells the
// launcher's pid: a parent of 1 means we were reparented to the machine's
// init (or a subreaper), which only happens once the launcher died.
func launcherGoneAtStart() bool {
	switch os.Getppid() {
	case 0:
		return syncHungUp()
	case 1:
		return true
	}
	return false
}

// syncHungUp reports whether the launcher's end of the sync socket is
// closed, which happens when the launcher dies.
func syncHungUp() bool {
	fds := []unix.PollFd{{Fd: syncFd, Events: unix.POLLRDHUP}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLRDHUP) != 0
}
