package state

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestOpenCreatesLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"", leasesDir, sandboxesDir, namesDir} {
		fi, err := os.Stat(filepath.Join(d.Path, sub))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want a 0700 directory", sub, fi.Mode())
		}
	}
	if _, err := Open(path); err != nil {
		t.Errorf("reopening: %v", err)
	}
}

func TestOpenTightensOurWorldWritableDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	os.Mkdir(path, 0o700)
	os.Chmod(path, 0o1777) // as a fresh tmpfs is
	if _, err := Open(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 || fi.Mode()&os.ModeSticky != 0 {
		t.Errorf("mode %v after Open, want 0700", fi.Mode())
	}
}

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, path string)
		wantErr string
	}{
		{"empty path", nil, "empty path"},
		{"a file", func(t *testing.T, path string) {
			os.WriteFile(path, nil, 0o600)
		}, "not a directory"},
		{"subdir is a file", func(t *testing.T, path string) {
			os.Mkdir(path, 0o700)
			os.WriteFile(filepath.Join(path, leasesDir), nil, 0o600)
		}, "leases: not a directory"},
		{"owned by another user", func(t *testing.T, path string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to chown")
			}
			os.Mkdir(path, 0o700)
			os.Chown(path, 12345, 12345)
		}, "owned by uid 12345, not by the caller (uid 0)"},
		{"not writable", func(t *testing.T, path string) {
			if os.Geteuid() == 0 {
				t.Skip("root bypasses permissions; see TestOpenReadOnlyFS")
			}
			os.Mkdir(path, 0o500)
		}, "permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.setup != nil {
				path = filepath.Join(t.TempDir(), "state")
				tt.setup(t, path)
			}
			_, err := Open(path)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Open(%q) = %v, want an error containing %q", path, err, tt.wantErr)
			}
			if path != "" && !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
		})
	}
}

// TestOpenReadOnlyFS mounts a read-only tmpfs in a private mount namespace
// of a helper process (root only) and checks the message.
func TestOpenReadOnlyFS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a read-only file system")
	}
	mnt := t.TempDir()
	cmd := helperCmd(t, "open-ro", "MNT="+mnt)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	want := fmt.Sprintf("state dir %s: read-only file system\nstate dir %s/sub: read-only file system\n", mnt, mnt)
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

// helperOpenReadOnly runs in a private mount namespace (Go makes / private
// when it unshares CLONE_NEWNS): it mounts a read-only tmpfs on $MNT and
// prints Open's errors for the mount point and for a directory under it.
func helperOpenReadOnly() {
	mnt := os.Getenv("MNT")
	if err := unix.Mount("tmpfs", mnt, "tmpfs", unix.MS_RDONLY, "size=64k,mode=0700"); err != nil {
		fatalf("mount: %v", err)
	}
	for _, p := range []string{mnt, mnt + "/sub"} {
		_, err := Open(p)
		fmt.Println(err)
	}
}

func TestLockExcludes(t *testing.T) {
	d := openTemp(t)
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A Dir per goroutine: each Lock opens its own file
			// description, like separate processes would.
			unlock, err := (&Dir{Path: d.Path}).Lock("test")
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			for {
				m := maxInside.Load()
				if n <= m || maxInside.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			unlock()
			unlock() // harmless
		}()
	}
	wg.Wait()
	if m := maxInside.Load(); m != 1 {
		t.Errorf("%d holders at once, want 1", m)
	}
}

func TestLockFileIsCloexec(t *testing.T) {
	d := openTemp(t)
	unlock, err := d.Lock("x")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		if target != filepath.Join(d.Path, "x.lock") {
			continue
		}
		var fd int
		fmt.Sscan(e.Name(), &fd)
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil {
			t.Fatal(err)
		}
		if flags&unix.FD_CLOEXEC == 0 {
			t.Errorf("lock fd %d is not close-on-exec", fd)
		}
		return
	}
	t.Fatal("lock file not open")
}

func TestLockBadName(t *testing.T) {
	d := openTemp(t)
	for _, name := range []string{"", "a/b", "..", "a\x00"} {
		if _, err := d.Lock(name); err == nil {
			t.Errorf("Lock(%q) succeeded", name)
		}
	}
}

func TestGCDue(t *testing.T) {
	d := openTemp(t)
	for i, want := range []bool{true, false, false} {
		got, err := d.GCDue(time.Hour)
		if err != nil || got != want {
			t.Fatalf("call %d: GCDue = %v, %v; want %v", i, got, err, want)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(filepath.Join(d.Path, gcStamp), old, old)
	if got, _ := d.GCDue(time.Hour); !got {
		t.Error("stale stamp: not due")
	}
	future := time.Now().Add(2 * time.Hour)
	os.Chtimes(filepath.Join(d.Path, gcStamp), future, future)
	if got, _ := d.GCDue(time.Hour); !got {
		t.Error("stamp in the future: not due")
	}
}
