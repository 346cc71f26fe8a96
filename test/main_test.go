package test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// binEnv names a prebuilt nsjail-net to test instead of building one.
const binEnv = "NSJAIL_NET_BIN"

// errNoLauncher is recorded when the module has no ./cmd/nsjail-net yet.
var errNoLauncher = errors.New("no Go files in ./cmd/nsjail-net")

// binPath and buildErr are set once by TestMain, before any test runs, and
// only read afterwards: binPath is the nsjail-net under test, buildErr why
// there is none (Lab.Bin reports it).
var (
	binPath  string
	buildErr error
)

// TestMain builds nsjail-net once (or takes $NSJAIL_NET_BIN), runs the
// tests, and removes the build directory.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nsjail-net-test-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "creating build dir: %v\n", err)
		os.Exit(2)
	}
	binPath, buildErr = launcher(dir)
	release := mountpoints()
	code := m.Run()
	_ = os.RemoveAll(dir)
	release()
	os.Exit(code)
}

// testsLock is held shared by every test process of this package while it
// runs (go test of two checkouts, say): the last one out removes the
// mountpoints, which another's labs may still sit on. rmdir of a
// directory that is a mountpoint in another mount namespace succeeds and
// detaches those mounts, under the other process's feet.
const testsLock = "/run/nsjail-net-tests.lock"

// mountpoints creates, once for all labs, the directories that every lab
// covers with a tmpfs in its own mount namespace (a mount needs an existing
// directory, and that one is on the machine's /run). The returned function
// removes them, when still empty, if no other test process is running
// (testsLock): the machine keeps no trace of the tests. Creating them per
// lab and removing them at its end would race with other labs, whose
// mounts sit on the same directories.
func mountpoints() func() {
	if os.Geteuid() != 0 {
		return func() {}
	}
	lock, err := lockShared(testsLock)
	if err != nil {
		return func() {}
	}
	for _, d := range labMountpoints {
		if os.Mkdir(d, 0o755) == nil {
			_ = os.WriteFile(madeMarker(d), nil, 0o600)
		}
	}
	return func() {
		defer lock.Close()
		if unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			return // another test process still runs: it removes them
		}
		// Only what a test process made: the machine may have its own,
		// empty or not.
		for _, d := range labMountpoints {
			if _, err := os.Stat(madeMarker(d)); err == nil {
				_ = os.Remove(d) // only if still empty
				_ = os.Remove(madeMarker(d))
			}
		}
		_ = os.Remove(testsLock)
	}
}

// lockShared opens path and takes a shared lock on it. A process that
// finished last unlinks the file while holding it exclusively: a lock won
// on an unlinked file is no lock, so the file is opened again until the
// locked file is the one at path.
func lockShared(path string) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
			f.Close()
			return nil, err
		}
		var held, now unix.Stat_t
		if unix.Fstat(int(f.Fd()), &held) == nil && unix.Stat(path, &now) == nil && held.Ino == now.Ino && held.Dev == now.Dev {
			return f, nil
		}
		f.Close()
	}
}

// labMountpoints are the directories every lab covers with a tmpfs.
var labMountpoints = []string{labNetnsDir, labStateDir, labNetnsEtcDir}

// madeMarker marks that a test process created dir on the machine (it had
// none), so that the last one out removes it.
func madeMarker(dir string) string {
	return testsLock + "." + strings.ReplaceAll(strings.Trim(dir, "/"), "/", "-")
}

// launcher returns the binary to test: $NSJAIL_NET_BIN if set, else a
// fresh build of ./cmd/nsjail-net into dir.
func launcher(dir string) (string, error) {
	if p := os.Getenv(binEnv); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("%s=%q: %w", binEnv, p, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("%s: %w", binEnv, err)
		}
		return abs, nil
	}
	gobin := goTool()
	root, err := moduleRoot(gobin)
	if err != nil {
		return "", err
	}
	if m, _ := filepath.Glob(filepath.Join(root, "cmd", "nsjail-net", "*.go")); len(m) == 0 {
		return "", fmt.Errorf("%w (module %s)", errNoLauncher, root)
	}
	out := filepath.Join(dir, "nsjail-net")
	cmd := exec.Command(gobin, "build", "-o", out, "./cmd/nsjail-net")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/nsjail-net: %w\n%s", err, b)
	}
	return out, nil
}

// goTool finds the go command: on PATH, else next to this test's GOROOT
// (sudo often drops /usr/local/go/bin from PATH).
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot(gobin string) (string, error) {
	out, err := exec.Command(gobin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("go env GOMOD: not in a module")
	}
	return filepath.Dir(gomod), nil
}
