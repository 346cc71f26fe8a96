package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Lab addresses (TEST-NET-3), as in test/lab_test.go.
const (
	labHostLink   = "up0"
	labWorldLink  = "world0"
	labWorldNS    = "world"
	labHostIP     = "203.0.113.1"
	labWorldIP    = "203.0.113.2"
	labServerIP   = "203.0.113.10"
	labDNSIP      = "203.0.113.53"
	labStateDir   = "/run/nsjail-net"
	labNetnsDir   = "/run/netns"
	labResolvConf = "nameserver " + labDNSIP + "\n"
	// labHostLinkIndex gives up0 an ifindex its peer cannot have, so carrier
	// changes are not held back by the kernel's rate-limited linkwatch (see
	// test/lab_test.go).
	labHostLinkIndex = "100"
	labPath          = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// lab is the private world the benchmark runs in (see the diagram in
// main.go). It is only ever created by the re-executed child.
type lab struct {
	cfg     config
	env     []string
	procs   *procSet
	devnull *os.File
	paths   map[string]string // tool name -> absolute path, "" = not installed
}

// labMain is the re-executed child: check, build the lab, run the suite,
// clean up. It returns the exit status.
func labMain(c config, parentNS string) int {
	if err := checkPrivate(parentNS); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	// Opened before the lab hides /tmp (the checkout may be there), and
	// written only once the whole run succeeded.
	var out *os.File
	if c.out != "" {
		var err error
		if out, err = os.OpenFile(c.out, os.O_WRONLY|os.O_CREATE, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		defer out.Close()
	}
	l, err := newLab(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: building the lab:", err)
		return 1
	}
	defer l.close()
	stop := l.procs.killOnSignal()
	defer stop()
	res, err := runSuite(l)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	md := res.markdown()
	fmt.Print(md)
	if len(res.failed) > 0 {
		fmt.Fprintf(os.Stderr, "bench: failed runs in %d rows (%s): %s left as it was\n", len(res.failed), strings.Join(res.failed, ", "), c.out)
		return 1
	}
	if out != nil {
		if err := writeAll(out, md); err != nil {
			fmt.Fprintf(os.Stderr, "bench: writing %s: %v\n", c.out, err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "bench: wrote %s\n", c.out)
	}
	return 0
}

func newLab(c config) (*lab, error) {
	l := &lab{
		cfg:   c,
		env:   []string{"PATH=" + labPath, "HOME=/root", "LC_ALL=C"},
		procs: newProcSet(),
		paths: map[string]string{},
	}
	if err := os.Setenv("PATH", labPath); err != nil {
		return nil, fmt.Errorf("setting PATH: %w", err)
	}
	for _, tool := range []string{"true", "unshare", "bash", "ip", "iptables", "iperf3", "bwrap", "firejail", "sleep", "ss"} {
		if p, err := exec.LookPath(tool); err == nil {
			l.paths[tool] = p
		}
	}
	for _, tool := range []string{"true", "unshare", "bash", "ip", "iptables", "iperf3", "sleep"} {
		if l.paths[tool] == "" {
			return nil, fmt.Errorf("%s not installed (see `make deps`)", tool)
		}
	}
	// The binaries may live under /tmp (a checkout there), which the lab
	// hides: carry them into the lab's own /run.
	bins, err := readBinaries(&l.cfg)
	if err != nil {
		return nil, err
	}
	if err := privateMounts(); err != nil {
		return nil, err
	}
	if err := bins.install(&l.cfg); err != nil {
		return nil, err
	}
	if l.cfg.floor != "" {
		l.paths["floor"] = l.cfg.floor
	}
	if l.devnull, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
		return nil, fmt.Errorf("opening %s: %w", os.DevNull, err)
	}
	if err := l.wire(); err != nil {
		return nil, err
	}
	return l, nil
}

// close kills whatever is still running (by pid); the namespaces and
// mounts die with this process.
func (l *lab) close() {
	l.procs.stopAll()
	if l.devnull != nil {
		_ = l.devnull.Close()
	}
}

// privateMounts makes this mount namespace private first, so nothing
// below propagates to the machine, then hides /run and /tmp under tmpfs
// (named namespaces, nsjail-net's state, the iptables lock and temp files
// stay in the lab), mounts the lab netns' sysfs and a lab resolv.conf.
func privateMounts() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making / private: %w", err)
	}
	// Resolve /etc/resolv.conf before /run is hidden: it may point there.
	resolv, resolvErr := resolvTarget("/etc/resolv.conf")
	for _, dir := range []string{"/run", labNetnsDir, labStateDir, "/tmp"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		if err := unix.Mount("bench-tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
			return fmt.Errorf("mounting tmpfs on %s: %w", dir, err)
		}
	}
	if err := unix.Mount("bench-sysfs", "/sys", "sysfs", 0, ""); err != nil {
		return fmt.Errorf("mounting the lab's sysfs on /sys: %w", err)
	}
	if resolvErr != nil {
		return resolvErr
	}
	labFile := "/run/bench-resolv.conf"
	if err := os.WriteFile(labFile, []byte(labResolvConf), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", labFile, err)
	}
	if under(resolv, "/run") || under(resolv, "/tmp") {
		// The target now lies in our tmpfs: create it there.
		if err := os.MkdirAll(filepath.Dir(resolv), 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", filepath.Dir(resolv), err)
		}
		if err := os.WriteFile(resolv, []byte(labResolvConf), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", resolv, err)
		}
		return nil
	}
	if err := unix.Mount(labFile, resolv, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("binding the lab resolv.conf over %s: %w", resolv, err)
	}
	return nil
}

// resolvTarget is the file /etc/resolv.conf finally names: the resolved
// path, or for a dangling symlink chain the first missing name.
func resolvTarget(path string) (string, error) {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		return p, nil
	}
	cur := path
	for range 40 {
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			if cur == path {
				return "", fmt.Errorf("%s does not exist", path)
			}
			return cur, nil
		}
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			return "", fmt.Errorf("resolving %s: stuck at %s: %v", path, cur, err)
		}
		dest, err := os.Readlink(cur)
		if err != nil {
			return "", fmt.Errorf("reading link %s: %w", cur, err)
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(cur), dest)
		}
		cur = filepath.Clean(dest)
	}
	return "", fmt.Errorf("resolving %s: too many links", path)
}

func under(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }

// wire builds the world namespace and the veth to it, as a user would
// with iproute2.
func (l *lab) wire() error {
	return l.script([][]string{
		{"ip", "link", "set", "lo", "up"},
		{"ip", "netns", "add", labWorldNS},
		{"ip", "link", "add", labHostLink, "index", labHostLinkIndex, "type", "veth", "peer", "name", labWorldLink, "netns", labWorldNS},
		{"ip", "addr", "add", labHostIP + "/24", "dev", labHostLink},
		{"ip", "link", "set", labHostLink, "up"},
		{"ip", "-n", labWorldNS, "link", "set", "lo", "up"},
		{"ip", "-n", labWorldNS, "addr", "add", labWorldIP + "/24", "dev", labWorldLink},
		{"ip", "-n", labWorldNS, "addr", "add", labServerIP + "/32", "dev", labWorldLink},
		{"ip", "-n", labWorldNS, "link", "set", labWorldLink, "up"},
		{"ip", "route", "add", "default", "via", labWorldIP},
	})
}

// script runs each command in order and stops at the first failure.
func (l *lab) script(cmds [][]string) error {
	for _, argv := range cmds {
		if out, err := l.output(argv...); err != nil {
			return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, bytes.TrimSpace(out))
		}
	}
	return nil
}

// output runs a setup command and returns its combined output.
func (l *lab) output(argv ...string) ([]byte, error) {
	cmd := l.command(argv...)
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	return b.Bytes(), err
}

// command is exec.Command with the tool's absolute path (looked up once,
// outside any timed region), the lab's clean environment and no stdin.
func (l *lab) command(argv ...string) *exec.Cmd {
	path := argv[0]
	if p := l.paths[path]; p != "" {
		path = p
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Env = l.env
	cmd.Stdout = l.devnull
	return cmd
}

// nsj is the argv of an nsjail-net command with the lab's state dir.
func (l *lab) nsj(args ...string) []string {
	return append([]string{l.cfg.bin, "--state-dir", labStateDir}, args...)
}

// labBinDir is where the binaries under test live inside the lab.
const labBinDir = "/run/bench-bin"

// binaries holds the contents of the binaries under test, read before the
// lab's mounts hide where they were.
type binaries struct{ bin, floor []byte }

func readBinaries(c *config) (*binaries, error) {
	var b binaries
	var err error
	if b.bin, err = os.ReadFile(c.bin); err != nil {
		return nil, fmt.Errorf("reading %s: %w", c.bin, err)
	}
	if c.floor != "" {
		if b.floor, err = os.ReadFile(c.floor); err != nil {
			return nil, fmt.Errorf("reading %s: %w", c.floor, err)
		}
	}
	return &b, nil
}

// install writes the binaries into the lab's /run and points c at them.
func (b *binaries) install(c *config) error {
	if err := os.MkdirAll(labBinDir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", labBinDir, err)
	}
	for _, f := range []struct {
		path *string
		data []byte
	}{{&c.bin, b.bin}, {&c.floor, b.floor}} {
		if *f.path == "" {
			continue
		}
		p := filepath.Join(labBinDir, filepath.Base(*f.path))
		if err := os.WriteFile(p, f.data, 0o755); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
		*f.path = p
	}
	return nil
}

// writeAll replaces f's contents with s.
func writeAll(f *os.File, s string) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(s), 0)
	return err
}
