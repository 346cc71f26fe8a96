package test

// The lab: a private "host" network and mount namespace that plays the
// machine nsjail-net runs on, and a "world" network namespace holding the
// servers, joined by a veth:
//
//	 lab host (net+mnt ns)                      world (net ns)
//	+----------------------------+             +------------------------------+
//	| up0 203.0.113.1/24         |    veth     | world0 203.0.113.2/24        |
//	|     2001:db8:1::1/64       |-------------|        203.0.113.10/32       |
//	| default via 203.0.113.2    |             |        203.0.113.53/32 (DNS) |
//	| default via 2001:db8:1::2  |             |        198.51.100.1/24       |
//	| tmpfs /run/netns           |             |        198.51.100.7/32       |
//	| tmpfs /run/nsjail-net      |             |        2001:db8:1::2/64      |
//	| tmpfs /etc/netns           |             |                              |
//	| /etc/resolv.conf: lab's    |             |        2001:db8:1::10/128    |
//	| /sys: this netns' sysfs    |             | no route to 10.213.0.0/16    |
//	+----------------------------+             +------------------------------+
//
// Each namespace is held by a long-lived `sleep infinity` process born in it
// (clone flags, so there is no window in which the pid is still in the
// machine's namespace). Nothing is ever created in the machine's own network
// namespace: the veth is made through a netlink handle bound to the lab host
// and its peer is created straight into the world.
//
// Typical use:
//
//	l := NewLab(t)                                   // skips unless root
//	srv := l.HTTPServer(t, "203.0.113.10:80")
//	l.DNSServer(t, "203.0.113.53:53", exampleRecords())
//	before := l.Snapshot(t)
//	r := l.NSJ(t, "run", "--profile", "web", "--", "curl", "-s", srv.URL())
//	// r.Code, r.Stdout; srv.WaitSeen(t, 1, 5*time.Second)[0].Addr() is
//	// 203.0.113.1 after NAT
//	l.AssertNoLeaks(t, before)                       // shared base allowed

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Lab addresses. Tests should use these names rather than literals where it
// reads better.
const (
	labHostIP     = "203.0.113.1"  // up0, the lab host's uplink
	labWorldIP    = "203.0.113.2"  // world0, the host's default gateway
	labServerIP   = "203.0.113.10" // extra world address for servers
	labDNSIP      = "203.0.113.53" // extra world address for the DNS server
	labOtherNetIP = "198.51.100.1" // a second world network
	labOtherIP    = "198.51.100.7" // extra address in the second network
	labHostIP6    = "2001:db8:1::1"
	labWorldIP6   = "2001:db8:1::2"
	labServerIP6  = "2001:db8:1::10"

	labHostLink = "up0"
	// labHostLinkIndex is up0's ifindex; see wire.
	labHostLinkIndex = 100
	labWorldLink     = "world0"

	// labStateDir is the nsjail-net state directory inside the lab host
	// (a private tmpfs).
	labStateDir = "/run/nsjail-net"
	// labNetnsDir is iproute2's named-netns directory inside the lab host
	// (a private tmpfs).
	labNetnsDir = "/run/netns"
	// labNetnsEtcDir is iproute2's per-namespace /etc directory inside the
	// lab host (a private tmpfs: never the machine's own /etc/netns).
	labNetnsEtcDir = "/etc/netns"

	// defaultRunTimeout bounds Run and NSJ.
	defaultRunTimeout = 60 * time.Second
	// labStartTimeout bounds the lab host's setup script.
	labStartTimeout = 10 * time.Second
	// labWaitDelay bounds how long Wait waits for the output pipes after the
	// command exited (a leaked grandchild holding stdout must not hang a test).
	labWaitDelay = 5 * time.Second

	// labPath is the PATH given to commands run in the lab.
	labPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// errSwitchBack is reported when a thread could not be switched back to its
// original network namespace; the thread is then left locked so that the Go
// runtime discards it.
var errSwitchBack = errors.New("switching thread back to its network namespace")

// requireRoot skips t unless the test runs as root.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: builds network namespaces")
	}
}

// Lab is one independent set of namespaces (see the diagram at the top of
// this file). Create it with NewLab; it is torn down by t.Cleanup.
type Lab struct {
	hostPID  int
	worldPID int

	hostNS  netns.NsHandle
	worldNS netns.NsHandle

	mu      sync.Mutex // guards handles and dups
	hostNL  *netlink.Handle
	dups    []netns.NsHandle
	handles []*netlink.Handle
}

// labConfig is what LabOptions change.
type labConfig struct {
	resolvConf string
	remountSys bool
}

// LabOption changes how NewLab builds the lab.
type LabOption func(*labConfig)

// WithResolvConf sets the content of the lab host's /etc/resolv.conf
// (default "nameserver 203.0.113.53\n").
func WithResolvConf(content string) LabOption {
	return func(c *labConfig) { c.resolvConf = content }
}

// WithHostSysfs keeps the machine's /sys in the lab host instead of mounting
// a sysfs of the lab's network namespace (the default, as `ip netns exec`
// does). The lab's sysfs hides /sys/fs/cgroup; use this if a test needs it.
func WithHostSysfs() LabOption {
	return func(c *labConfig) { c.remountSys = false }
}

// NewLab builds a lab and registers its teardown with t.Cleanup. It skips
// the test when not root and fails it if any step fails.
func NewLab(t *testing.T, opts ...LabOption) *Lab {
	t.Helper()
	requireRoot(t)
	cfg := labConfig{resolvConf: "nameserver " + labDNSIP + "\n", remountSys: true}
	for _, o := range opts {
		o(&cfg)
	}
	l := &Lab{hostNS: netns.None(), worldNS: netns.None()}
	if err := l.start(t, cfg); err != nil {
		t.Fatalf("building lab: %v", err)
	}
	return l
}

// start creates the namespaces and wires them. Teardown is registered
// before anything is created, so a failure half-way is cleaned up too.
func (l *Lab) start(t *testing.T, cfg labConfig) error {
	var procs []*exec.Cmd
	t.Cleanup(func() {
		if err := l.teardown(procs); err != nil {
			t.Errorf("tearing down lab: %v", err)
		}
	})

	resolvFile := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolvFile, []byte(cfg.resolvConf), 0o644); err != nil {
		return fmt.Errorf("writing lab resolv.conf: %w", err)
	}
	resolvSetup, err := resolvConfSetup("/etc/resolv.conf", resolvFile)
	if err != nil {
		return err
	}

	host, err := startHost(hostSetupScript(resolvSetup, cfg.remountSys))
	if host != nil {
		procs = append(procs, host)
	}
	if err != nil {
		return err
	}
	l.hostPID = host.Process.Pid

	world := holder(syscall.CLONE_NEWNET)
	if err := world.Start(); err != nil {
		return fmt.Errorf("starting world namespace holder: %w", err)
	}
	procs = append(procs, world)
	l.worldPID = world.Process.Pid

	if l.hostNS, err = labNS(l.hostPID); err != nil {
		return fmt.Errorf("lab host: %w", err)
	}
	if l.worldNS, err = labNS(l.worldPID); err != nil {
		return fmt.Errorf("world: %w", err)
	}
	if l.hostNL, err = netlink.NewHandleAt(l.hostNS); err != nil {
		return fmt.Errorf("netlink handle in lab host: %w", err)
	}
	worldNL, err := netlink.NewHandleAt(l.worldNS)
	if err != nil {
		return fmt.Errorf("netlink handle in world: %w", err)
	}
	defer worldNL.Close()
	return wire(l.hostNL, worldNL, l.worldNS)
}

// teardown closes handles and kills the two holder processes (only those,
// by pid); the namespaces vanish with their last process.
func (l *Lab) teardown(procs []*exec.Cmd) error {
	var errs []error
	l.mu.Lock()
	for _, h := range l.handles {
		h.Close()
	}
	for i := range l.dups {
		if err := l.dups[i].Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing netns handle: %w", err))
		}
	}
	l.handles, l.dups = nil, nil
	if l.hostNL != nil {
		l.hostNL.Close()
		l.hostNL = nil
	}
	l.mu.Unlock()
	for _, ns := range []*netns.NsHandle{&l.hostNS, &l.worldNS} {
		if ns.IsOpen() {
			if err := ns.Close(); err != nil {
				errs = append(errs, fmt.Errorf("closing netns handle: %w", err))
			}
		}
	}
	for _, p := range procs {
		if p.Process == nil {
			continue
		}
		if err := p.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, fmt.Errorf("killing lab process %d: %w", p.Process.Pid, err))
		}
		_ = p.Wait() // "signal: killed" is the expected outcome
	}
	return errors.Join(errs...)
}

// holder returns a `sleep infinity` born in new namespaces (flags), killed
// if the test binary dies.
func holder(flags uintptr) *exec.Cmd {
	cmd := exec.Command("sleep", "infinity")
	cmd.Env = labEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// hostSetupScript is what the lab host's holder runs in its fresh mount
// namespace before it becomes `sleep infinity`. Order matters: mounts are
// made private first, so nothing below propagates to the machine.
func hostSetupScript(resolvSetup []string, remountSys bool) string {
	lines := []string{
		"set -eu",
		"mount --make-rprivate /",
	}
	lines = append(lines, resolvSetup...)
	if remountSys {
		// sysfs of this netns, so /sys/class/net shows the lab's links.
		lines = append(lines, "mount -t sysfs lab-sysfs /sys")
	}
	for _, dir := range labMountpoints {
		lines = append(lines,
			"mkdir -p "+shellQuote(dir),
			"mount -t tmpfs -o mode=0755 lab-tmpfs "+shellQuote(dir))
	}
	lines = append(lines, "echo ready", "exec sleep infinity </dev/null >/dev/null 2>&1")
	return strings.Join(lines, "\n")
}

// startHost starts the lab host's holder and waits for its setup to finish.
// The returned command, if not nil, must be killed by the caller.
func startHost(script string) (*exec.Cmd, error) {
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = labEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS,
		Pdeathsig:  syscall.SIGKILL,
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("lab host stdout pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting lab host: %w", err)
	}
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err == nil && line != "ready\n" {
			err = fmt.Errorf("unexpected output %q", line)
		}
		ready <- err
	}()
	select {
	case err = <-ready:
	case <-time.After(labStartTimeout):
		err = fmt.Errorf("no ready after %v", labStartTimeout)
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("lab host setup: %w; stderr: %s", err, strings.TrimSpace(stderr.String()))
	}
	return cmd, nil
}

// labNS opens the network namespace of pid and checks that it is not the
// machine's own: a safety net against ever wiring the real host.
func labNS(pid int) (netns.NsHandle, error) {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return netns.None(), fmt.Errorf("opening netns of pid %d: %w", pid, err)
	}
	self, err := netns.GetFromPid(os.Getpid())
	if err != nil {
		_ = ns.Close()
		return netns.None(), fmt.Errorf("opening own netns: %w", err)
	}
	defer self.Close()
	if ns.Equal(self) {
		_ = ns.Close()
		return netns.None(), fmt.Errorf("pid %d is in the machine's own network namespace; refusing", pid)
	}
	return ns, nil
}

// wire brings lo up on both sides, creates the veth from the lab host with
// its peer born in the world, and sets addresses and routes.
func wire(host, world *netlink.Handle, worldNS netns.NsHandle) error {
	for _, h := range []*netlink.Handle{host, world} {
		lo, err := h.LinkByName("lo")
		if err != nil {
			return fmt.Errorf("finding lo: %w", err)
		}
		if err := h.LinkSetUp(lo); err != nil {
			return fmt.Errorf("setting lo up: %w", err)
		}
	}
	// up0 gets an ifindex its peer cannot have: the kernel treats a carrier
	// change as urgent only when a device's ifindex differs from its
	// iflink (the peer's ifindex); with equal indexes (both 2 in fresh
	// namespaces) the change waits for the rate-limited linkwatch run, up
	// to a second, and IPv6 is not configured on the link until then.
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: labHostLink, Index: labHostLinkIndex},
		PeerName:      labWorldLink,
		PeerNamespace: netlink.NsFd(worldNS),
	}
	if err := host.LinkAdd(veth); err != nil {
		return fmt.Errorf("creating veth %q/%q: %w", labHostLink, labWorldLink, err)
	}
	if err := configure(host, labHostLink, []string{
		labHostIP + "/24", labHostIP6 + "/64",
	}); err != nil {
		return err
	}
	if err := configure(world, labWorldLink, []string{
		labWorldIP + "/24", labServerIP + "/32", labDNSIP + "/32",
		labOtherNetIP + "/24", labOtherIP + "/32",
		labWorldIP6 + "/64", labServerIP6 + "/128",
	}); err != nil {
		return err
	}
	up0, err := host.LinkByName(labHostLink)
	if err != nil {
		return fmt.Errorf("finding %q: %w", labHostLink, err)
	}
	for _, gw := range []string{labWorldIP, labWorldIP6} {
		r := &netlink.Route{LinkIndex: up0.Attrs().Index, Gw: net.ParseIP(gw)}
		if err := host.RouteAdd(r); err != nil {
			return fmt.Errorf("adding default route via %s: %w", gw, err)
		}
	}
	return nil
}

// configure adds addresses to link (without IPv6 duplicate address
// detection, so they are usable at once) and sets it up.
func configure(h *netlink.Handle, name string, cidrs []string) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("finding %q: %w", name, err)
	}
	for _, c := range cidrs {
		a, err := netlink.ParseAddr(c)
		if err != nil {
			return fmt.Errorf("parsing address %q: %w", c, err)
		}
		if a.IP.To4() == nil {
			a.Flags = unix.IFA_F_NODAD
		}
		if err := h.AddrAdd(link, a); err != nil {
			return fmt.Errorf("adding %s to %q: %w", c, name, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("setting %q up: %w", name, err)
	}
	return nil
}

// resolvConfSetup returns the shell lines that make path (normally
// /etc/resolv.conf) show the content of labFile inside the lab host's
// private mount namespace, without touching the machine's files:
//   - path resolves to an existing file (directly or through symlinks):
//     bind labFile over the resolved file;
//   - path is a dangling symlink (e.g. systemd-resolved's stub file absent):
//     mount a tmpfs over the nearest existing directory on the target's path
//     and create the target in it;
//   - path does not exist: error (there is nothing to mount over).
func resolvConfSetup(path, labFile string) ([]string, error) {
	resolved, err := filepath.EvalSymlinks(path)
	if err == nil {
		fi, err := os.Stat(resolved)
		if err != nil {
			return nil, fmt.Errorf("stat %q: %w", resolved, err)
		}
		if fi.IsDir() {
			return nil, fmt.Errorf("%q resolves to directory %q", path, resolved)
		}
		return []string{"mount --bind " + shellQuote(labFile) + " " + shellQuote(resolved)}, nil
	}
	target, terr := danglingTarget(path)
	if terr != nil {
		return nil, fmt.Errorf("resolving %q: %w", path, errors.Join(err, terr))
	}
	dir := filepath.Dir(target)
	for {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			break
		}
		dir = filepath.Dir(dir)
	}
	if dir == "/" || dir == "/etc" {
		return nil, fmt.Errorf("%q points to %q and the nearest existing directory is %q: refusing to hide it", path, target, dir)
	}
	return []string{
		"mount -t tmpfs -o mode=0755 lab-resolv " + shellQuote(dir),
		"mkdir -p " + shellQuote(filepath.Dir(target)),
		"cp " + shellQuote(labFile) + " " + shellQuote(target),
	}, nil
}

// danglingTarget follows the symlink chain from path to the first name that
// does not exist and returns it as an absolute, clean path.
func danglingTarget(path string) (string, error) {
	const maxHops = 40
	cur := path
	for range maxHops {
		fi, err := os.Lstat(cur)
		if errors.Is(err, os.ErrNotExist) {
			if cur == path {
				return "", fmt.Errorf("%q does not exist", path)
			}
			return cur, nil
		}
		if err != nil {
			return "", fmt.Errorf("lstat %q: %w", cur, err)
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return "", fmt.Errorf("%q is not a dangling symlink chain (stopped at %q)", path, cur)
		}
		dest, err := os.Readlink(cur)
		if err != nil {
			return "", fmt.Errorf("readlink %q: %w", cur, err)
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(cur), dest)
		}
		cur = filepath.Clean(dest)
	}
	return "", fmt.Errorf("%q: too many symlinks", path)
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// labEnv is the environment of commands run in the lab: clean, C locale,
// no proxies, no TERM. GOCOVERDIR passes through for coverage builds.
func labEnv() []string {
	env := []string{"PATH=" + labPath, "HOME=/root", "LC_ALL=C"}
	if d, ok := os.LookupEnv("GOCOVERDIR"); ok {
		env = append(env, "GOCOVERDIR="+d)
	}
	return env
}

// HostPID is the pid of the process holding the lab host's namespaces.
func (l *Lab) HostPID() int { return l.hostPID }

// WorldPID is the pid of the process holding the world's network namespace.
func (l *Lab) WorldPID() int { return l.worldPID }

// HostPath returns a path through which the test process sees p as the lab
// host sees it (its private /run/nsjail-net, /run/netns, resolv.conf):
// /proc/<pid>/root/p.
func (l *Lab) HostPath(p string) string {
	return filepath.Join(fmt.Sprintf("/proc/%d/root", l.hostPID), p)
}

// Bin returns the path of the built nsjail-net, failing t with the reason
// when it could not be built (see TestMain).
func (l *Lab) Bin(t testing.TB) string {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("nsjail-net binary unavailable: %v", buildErr)
	}
	return binPath
}

// Cmd returns a command that runs name inside the lab host (its network and
// mount namespaces) through nsenter, with a clean environment (labEnv) and
// working directory "/". Stdin is /dev/null unless set. The command pid is
// the program's own (nsenter execs it), so signals reach it directly.
func (l *Lab) Cmd(ctx context.Context, name string, args ...string) *exec.Cmd {
	pre := []string{"-t", fmt.Sprint(l.hostPID), "-n", "-m", "--", name}
	return nsenterCmd(ctx, append(pre, args...))
}

// WorldCmd is Cmd for the world's network namespace (the world shares the
// machine's mount namespace).
func (l *Lab) WorldCmd(ctx context.Context, name string, args ...string) *exec.Cmd {
	pre := []string{"-t", fmt.Sprint(l.worldPID), "-n", "--", name}
	return nsenterCmd(ctx, append(pre, args...))
}

func nsenterCmd(ctx context.Context, args []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	cmd.Env = labEnv()
	cmd.Dir = "/"
	cmd.WaitDelay = labWaitDelay
	return cmd
}

// Result is the outcome of Run. Code is the exit status, or 128+N when the
// program was killed by signal N (as a shell reports it).
type Result struct {
	Stdout string
	Stderr string
	Code   int
}

// String formats r for failure messages.
func (r Result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// RunOpts tunes RunWith. The zero value is what Run uses.
type RunOpts struct {
	Stdin   string        // fed to the program's stdin
	Env     []string      // appended to the clean lab environment
	Dir     string        // working directory (default "/"), as the lab host (or world) sees it
	Timeout time.Duration // default 60s; exceeding it fails the test
	World   bool          // run in the world instead of the lab host
}

// Run runs name in the lab host with a 60s timeout. It fails t if the
// program cannot be started or times out; any exit status is returned.
func (l *Lab) Run(t testing.TB, name string, args ...string) Result {
	t.Helper()
	return l.RunWith(t, RunOpts{}, name, args...)
}

// MustRun is Run that also fails t unless the program exits 0.
func (l *Lab) MustRun(t testing.TB, name string, args ...string) Result {
	t.Helper()
	r := l.Run(t, name, args...)
	if r.Code != 0 {
		t.Fatalf("lab: %s %s: %v", name, strings.Join(args, " "), r)
	}
	return r
}

// NSJ runs the built nsjail-net in the lab host with args.
func (l *Lab) NSJ(t testing.TB, args ...string) Result {
	t.Helper()
	return l.Run(t, l.Bin(t), args...)
}

// RunWith is Run with options.
func (l *Lab) RunWith(t testing.TB, o RunOpts, name string, args ...string) Result {
	t.Helper()
	return l.run(t, o, true, name, args...)
}

// run is RunWith; verbose logs the command and its status.
func (l *Lab) run(t testing.TB, o RunOpts, verbose bool, name string, args ...string) Result {
	t.Helper()
	timeout := o.Timeout
	if timeout == 0 {
		timeout = defaultRunTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var cmd *exec.Cmd
	switch {
	case o.World:
		cmd = l.WorldCmd(ctx, name, args...)
		if o.Dir != "" {
			cmd.Dir = o.Dir // the world shares the machine's mount namespace
		}
	case o.Dir != "":
		pre := []string{"-t", fmt.Sprint(l.hostPID), "-n", "-m", "--wdns=" + o.Dir, "--", name}
		cmd = nsenterCmd(ctx, append(pre, args...))
	default:
		cmd = l.Cmd(ctx, name, args...)
	}
	cmd.Env = append(cmd.Env, o.Env...)
	if o.Stdin != "" {
		cmd.Stdin = strings.NewReader(o.Stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String(), Code: exitCode(cmd, err)}
	where := "lab"
	if o.World {
		where = "world"
	}
	if verbose {
		t.Logf("%s$ %s %s -> %d (%v)", where, name, strings.Join(args, " "), r.Code, time.Since(start).Round(time.Millisecond))
	}
	if ctx.Err() != nil {
		t.Fatalf("%s: %s %s: timed out after %v\n%v", where, name, strings.Join(args, " "), timeout, r)
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("%s: %s %s: %v\n%v", where, name, strings.Join(args, " "), err, r)
	}
	return r
}

// exitCode maps a finished command to a shell-style status.
func exitCode(cmd *exec.Cmd, err error) int {
	if cmd.ProcessState == nil {
		return -1
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if err != nil && cmd.ProcessState.ExitCode() == 0 {
		return -1 // e.g. exec.ErrWaitDelay
	}
	return cmd.ProcessState.ExitCode()
}

// HostNS returns a duplicate handle to the lab host's network namespace.
// The lab owns it and closes it at cleanup: do not Close it.
func (l *Lab) HostNS() netns.NsHandle { return l.dup(l.hostNS) }

// WorldNS returns a duplicate handle to the world's network namespace.
// The lab owns it and closes it at cleanup: do not Close it.
func (l *Lab) WorldNS() netns.NsHandle { return l.dup(l.worldNS) }

func (l *Lab) dup(ns netns.NsHandle) netns.NsHandle {
	fd, err := unix.FcntlInt(uintptr(ns), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return netns.None()
	}
	d := netns.NsHandle(fd)
	l.mu.Lock()
	l.dups = append(l.dups, d)
	l.mu.Unlock()
	return d
}

// HostNetlink returns a netlink handle bound to the lab host's network
// namespace, closed at cleanup.
func (l *Lab) HostNetlink(t testing.TB) *netlink.Handle {
	t.Helper()
	return l.netlinkAt(t, l.hostNS)
}

// WorldNetlink returns a netlink handle bound to the world, closed at
// cleanup.
func (l *Lab) WorldNetlink(t testing.TB) *netlink.Handle {
	t.Helper()
	return l.netlinkAt(t, l.worldNS)
}

func (l *Lab) netlinkAt(t testing.TB, ns netns.NsHandle) *netlink.Handle {
	t.Helper()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatalf("netlink handle in %v: %v", ns, err)
	}
	l.mu.Lock()
	l.handles = append(l.handles, h)
	l.mu.Unlock()
	return h
}

// InHost runs f on a locked OS thread switched into the lab host's network
// namespace (network only: the mount namespace cannot be entered by a
// multi-threaded process). Sockets made in f keep that namespace; goroutines
// started in f do not inherit it.
func (l *Lab) InHost(t testing.TB, f func() error) error {
	t.Helper()
	return doInNetns(l.hostNS, f)
}

// InWorld runs f on a locked OS thread switched into the world's network
// namespace; see InHost.
func (l *Lab) InWorld(t testing.TB, f func() error) error {
	t.Helper()
	return doInNetns(l.worldNS, f)
}

// doInNetns is CNI's ns.Do: a throwaway goroutine locks its thread, saves
// its namespace, switches, runs f and switches back; the thread is unlocked
// only if switching back succeeded, otherwise the goroutine exits locked and
// the runtime kills the thread.
func doInNetns(target netns.NsHandle, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("opening current thread's netns: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("entering netns %v: %w", target, err)
			return
		}
		ferr := f()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("%w: %w", errSwitchBack, err))
			return // thread stays locked: discarded with the goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

var _ io.Writer = (*lockedBuffer)(nil)

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
