package launch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// NetnsRunDir is iproute2's directory of named network namespaces: a
// sandbox's namespace bind-mounted here is what `ip netns list` shows and
// `ip netns exec NAME` enters.
const NetnsRunDir = "/run/netns"

// ensureNetnsDir prepares /run/netns as iproute2 does: a shared mount point,
// so that namespace mounts made here propagate into mount namespaces created
// later (ip netns exec makes one for every command).
func ensureNetnsDir() error {
	if err := os.MkdirAll(NetnsRunDir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", NetnsRunDir, err)
	}
	err := unix.Mount("", NetnsRunDir, "", unix.MS_SHARED|unix.MS_REC, "")
	if errors.Is(err, unix.EINVAL) { // not a mount point yet
		if err = unix.Mount(NetnsRunDir, NetnsRunDir, "", unix.MS_BIND|unix.MS_REC, ""); err == nil {
			err = unix.Mount("", NetnsRunDir, "", unix.MS_SHARED|unix.MS_REC, "")
		}
	}
	if err != nil {
		return fmt.Errorf("making %s a shared mount: %w", NetnsRunDir, err)
	}
	return nil
}

// BindNetns makes the network namespace of pid visible as /run/netns/NAME.
// The name is already claimed in the state dir, so a file left there by a
// crash is ours to reuse.
func BindNetns(name string, pid int) (retErr error) {
	if err := ensureNetnsDir(); err != nil {
		return err
	}
	path := filepath.Join(NetnsRunDir, name)
	_ = unix.Unmount(path, unix.MNT_DETACH) // a stale mount from a crash
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	f.Close()
	defer func() {
		if retErr != nil {
			os.Remove(path)
		}
	}()
	src := "/proc/" + strconv.Itoa(pid) + "/ns/net"
	if err := unix.Mount(src, path, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mounting %s at %s: %w", src, path, err)
	}
	return nil
}

// UnbindNetns removes /run/netns/NAME; absent is success.
func UnbindNetns(name string) error {
	path := filepath.Join(NetnsRunDir, name)
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmounting %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", path, err)
	}
	return nil
}

// netnsProcesses lists the processes in the network namespace with inode
// ino (one stat per process on the machine).
func netnsProcesses(ino uint64) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/"+e.Name()+"/ns/net", &st) == nil && st.Ino == ino {
			pids = append(pids, pid)
		}
	}
	return pids
}
