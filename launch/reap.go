package launch

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nsjail-net/nsjail-net/nat"
	"github.com/nsjail-net/nsjail-net/state"
)

// Reap undoes a sandbox whose supervising launcher (rec.Owner) is dead, as
// that launcher would have on exit, in reverse order of setup:
//
//  1. per-sandbox host rules (from the record);
//  2. the host veth (only a link carrying the sandbox's owner alias);
//  3. NetnsEtcDir/<name>, if ours and the name is not another sandbox's;
//     NetnsRunDir/<name>, if it is the sandbox's namespace mount;
//  4. the sandbox's init, if it is still the same process (pid and start
//     time), and so everything in its pid namespace;
//  5. the address lease, the name, and last the record itself, so that a
//     crash half-way leaves a record that the next gc finds again.
//
// It keeps going past failures and returns them joined. Anything already
// gone counts as done, and a lease or name that another sandbox has
// reclaimed meanwhile is left to it. The caller checks that the owner is
// dead: Reap does not.
func Reap(dir *state.Dir, rec *state.Sandbox, log *slog.Logger) error {
	var errs []error
	fail := func(what string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("sandbox %s: %s: %w", rec.ID, what, err))
		}
	}

	// 1. Host rules.
	if len(rec.HostRules) > 0 {
		rules, err := DecodeRules(rec.HostRules)
		if err != nil {
			fail("decoding host rules", err)
		} else {
			fail("deleting host rules", nat.DeleteRules(rules))
		}
	}

	// Decide whether NetnsRunDir/<name> is ours while the sandbox's eth0,
	// which carries its address, still exists (step 2 removes it).
	netnsPath, netnsOurs, netnsErr := "", false, error(nil)
	if rec.Name != "" && state.ValidName(rec.Name) == nil {
		netnsPath = filepath.Join(NetnsRunDir, rec.Name)
		netnsOurs, netnsErr = netnsMountIsSandboxes(netnsPath, rec)
	}

	// 2. Host veth (its peer goes with it).
	if rec.HostVeth != "" {
		if h, err := netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
			fail("netlink", err)
		} else {
			fail("deleting veth", nat.DeleteVeth(h, rec.ID))
			h.Close()
		}
	}

	// 3. The namespace's files and name for `ip netns`.
	if netnsPath != "" {
		fail("removing "+etcNetnsPath(rec.Name), reapEtcNetns(dir, rec))
	}
	switch {
	case netnsPath == "":
	case netnsErr != nil:
		fail("checking "+netnsPath, netnsErr)
	case netnsOurs:
		fail("removing "+netnsPath, removeNetnsMount(netnsPath))
	default:
		if _, err := os.Lstat(netnsPath); err == nil {
			log.Warn("left alone: not this sandbox's namespace", "path", netnsPath, "sandbox", rec.ID)
		}
	}

	// 4. The sandbox's init (pid 1 of its pid namespace), if the
	//    parent-death signal did not take it: killing it ends every process
	//    of the sandbox. Wait until it is gone, so that nothing still runs
	//    in the namespace when its address and name are released; if it
	//    does not go, stop here and keep the record for the next gc (the
	//    sweep's ReapLeases, which knows only the dead launcher, may still
	//    free the address meanwhile).
	if rec.Pid > 0 && rec.PidStart != 0 {
		init := state.Owner{PID: rec.Pid, StartTime: rec.PidStart}
		if init.Alive() {
			if err := killAndWait(init); err != nil {
				fail(fmt.Sprintf("killing the sandbox's init (pid %d)", rec.Pid), err)
				return errors.Join(errs...)
			}
			log.Debug("killed the init of a dead launcher's sandbox", "sandbox", rec.ID, "pid", rec.Pid)
		}
	}

	// 4b. Whatever else is still inside its namespace: the program's
	//     children outlive it when the launcher dies (no subreaper then).
	//     Namespace inodes can be reused once freed, so not when a live
	//     sandbox claims the same one.
	if rec.NetnsIno != 0 && !inodeClaimedByLive(dir, rec) {
		for _, pid := range netnsProcesses(rec.NetnsIno) {
			if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
				fail(fmt.Sprintf("killing pid %d left in the sandbox", pid), err)
			}
		}
	}

	// 5. Lease, name, record.
	if rec.IP != "" {
		if ip, err := netip.ParseAddr(rec.IP); err != nil {
			fail("parsing address", err)
		} else if err := dir.Release(ip, rec.ID); err != nil && !errors.Is(err, state.ErrNotOwner) {
			fail("releasing lease", err)
		}
	}
	if rec.Name != "" {
		if err := dir.ReleaseName(rec.Name, rec.ID); err != nil && !errors.Is(err, state.ErrNotOwner) {
			fail("releasing name", err)
		}
	}
	if len(errs) > 0 {
		// Keep the record: it is how the next gc finds what is left.
		return errors.Join(errs...)
	}
	fail("removing record", dir.RemoveSandbox(rec.ID))
	return errors.Join(errs...)
}

// netnsMountIsSandboxes reports whether path is the sandbox's: a mount of
// its network namespace (see netnsIsSandboxes), or the empty file left by
// a crash between unmount and remove. Absent reports false.
func netnsMountIsSandboxes(path string, rec *state.Sandbox) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); errors.Is(err, unix.ENOENT) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("statfs: %w", err)
	}
	if st.Type == unix.NSFS_MAGIC {
		return netnsIsSandboxes(path, rec)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return false, err
	}
	return fi.Mode().IsRegular() && fi.Size() == 0, nil
}

// removeNetnsMount unmounts path (if mounted) and removes it. Absent is
// success.
func removeNetnsMount(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("unmounting: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// netnsIsSandboxes reports whether the namespace mounted at path is the
// sandbox's.
func netnsIsSandboxes(path string, rec *state.Sandbox) (bool, error) {
	var mounted unix.Stat_t
	if err := unix.Stat(path, &mounted); err != nil {
		return false, fmt.Errorf("stat: %w", err)
	}
	if rec.Pid > 0 && rec.PidStart != 0 {
		if cur, err := state.OwnerOf(rec.Pid); err == nil && cur.StartTime == rec.PidStart {
			var live unix.Stat_t
			if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/net", rec.Pid), &live); err == nil {
				return live.Ino == mounted.Ino && live.Dev == mounted.Dev, nil
			}
		}
	}
	if rec.IP == "" {
		// Loopback-only and the program is gone: nothing to compare, the
		// name index said the name was this sandbox's.
		return true, nil
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return false, fmt.Errorf("opening namespace: %w", err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return false, fmt.Errorf("netlink in namespace: %w", err)
	}
	defer h.Close()
	addrs, err := h.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return false, fmt.Errorf("listing addresses in namespace: %w", err)
	}
	for _, a := range addrs {
		if a.IP.String() == rec.IP {
			return true, nil
		}
	}
	// The veth may be gone already (a previous, partial gc), and eth0 with
	// it: a namespace with nothing but loopback is the remains of ours.
	links, err := h.LinkList()
	if err != nil {
		return false, fmt.Errorf("listing links in namespace: %w", err)
	}
	return len(links) == 1 && links[0].Attrs().Name == "lo", nil
}

// inodeClaimedByLive: another live sandbox's namespace has this inode.
func inodeClaimedByLive(dir *state.Dir, rec *state.Sandbox) bool {
	recs, _ := dir.Sandboxes()
	for _, o := range recs {
		if o.ID != rec.ID && o.NetnsIno == rec.NetnsIno && o.Owner.Alive() {
			return true
		}
	}
	return false
}

// reapWait bounds how long Reap waits for a killed init to be gone.
const reapWait = 5 * time.Second

// killAndWait SIGKILLs p and waits until it is gone (reaped, or a zombie:
// the kernel has ended its pid namespace by then).
func killAndWait(p state.Owner) error {
	if err := unix.Kill(p.PID, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
		return err
	}
	for deadline := time.Now().Add(reapWait); p.Alive(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("still alive %v after SIGKILL", reapWait)
		}
	}
	return nil
}
