package stage

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// setupNamespaces is the part of the init stage that runs with full
// privileges inside the new namespaces, before the parent wires the network.
// Ordered checklist:
//
//  1. mounts private: nothing we mount may propagate back to the host;
//  2. resolv.conf and hosts bind-mounted read-only over /etc (uid 0 inside
//     owns the files, so read-only is what stops it editing them);
//  3. hostname (UTS namespace);
//  4. sysctls of this network namespace: IPv6 off on eth0 unless the
//     profile wants it (before eth0 goes up, so it never gets an address), unprivileged
//     ICMP sockets so ping works with no capability, and every port
//     bindable with no capability (ip_unprivileged_port_start = 0, as
//     Docker sets it), so a server can listen on port 80 for --publish;
//  5. lo up;
//  6. /proc of the sandbox's pid namespace and /sys of its network
//     namespace (after 3: sysfs shows the namespace of its mounter);
//  7. /proc/sys and /proc/sysrq-trigger read-only (on the new /proc).
//
// The firewall goes into this namespace too, from the parent, in parallel
// (launch.installFirewall): it dies with the namespace, and the program,
// which keeps no capability, cannot change it.
func setupNamespaces(cfg *ChildConfig) error {
	// 1, 2. Mounts private, resolv.conf and hosts.
	if err := setupMounts(cfg); err != nil {
		return err
	}
	// 3. Hostname.
	if cfg.Hostname != "" {
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			return step("set hostname", fmt.Errorf("%q: %w", cfg.Hostname, err))
		}
	}
	// 4. Sysctls of this namespace (/proc/sys/net resolves to the opener's netns).
	if !cfg.IPv6 {
		// default covers eth0 if the parent creates it later, all covers it
		// if it exists already; lo keeps ::1.
		for _, kv := range [][2]string{{"default", "1"}, {"all", "1"}, {"lo", "0"}} {
			if err := writeSysctl("net/ipv6/conf/"+kv[0]+"/disable_ipv6", kv[1]); err != nil {
				return step("disable ipv6", err)
			}
		}
	}
	if err := writeSysctl("net/ipv4/ping_group_range", "0 2147483647"); err != nil {
		return step("allow ping sockets", err)
	}
	// The ports below 1024 are reserved to CAP_NET_BIND_SERVICE against
	// other users of the same host address; this namespace's addresses
	// are the sandbox's alone. (Linux 4.11 and later; older kernels keep
	// the reservation.)
	if err := writeSysctl("net/ipv4/ip_unprivileged_port_start", "0"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return step("allow low ports", err)
	}
	// 5. lo up.
	if err := loopbackUp(); err != nil {
		return step("lo up", err)
	}
	// 6. The sandbox's own /proc and /sys.
	if err := mountProcSys(); err != nil {
		return err
	}
	// 7. Kernel knobs read-only (see lockProc).
	return lockProc()
}

// mountProcSys mounts a procfs of this process's pid namespace over /proc
// and a sysfs of its network namespace over /sys: the program sees its own
// processes only (no pid, environment or memory of any process outside)
// and its own interfaces under /sys/class/net. Both go over what was
// there, in this mount namespace only; the seccomp filter and the missing
// capability keep the program from unmounting them. sysfs is read-only: no
// device or kernel setting of the host is the sandbox's to change.
func mountProcSys() error {
	const flags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	if err := unix.Mount("proc", "/proc", "proc", flags, ""); err != nil {
		return step("mount /proc", err)
	}
	if err := unix.Mount("sysfs", "/sys", "sysfs", flags|unix.MS_RDONLY, ""); err != nil {
		return step("mount /sys", err)
	}
	return nil
}

// lockProc makes the kernel's knobs under /proc read-only and masks what
// reads kernel memory or other users' state, in the sandbox's mount
// namespace (the list Docker's default masks and read-only paths make).
// Writing a sysctl or an IRQ's affinity needs no capability, only the
// file's mode: uid 0 inside could otherwise turn IPv6 back on
// (net/ipv6/conf/*/disable_ipv6), set kernel/core_pattern, or move the
// host's interrupts. The seccomp filter keeps the program from undoing
// these mounts.
func lockProc() error {
	for _, p := range []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"} {
		if _, err := os.Stat(p); err != nil {
			continue // not in this kernel (CONFIG_MAGIC_SYSRQ off, say)
		}
		if err := bindReadOnly(p); err != nil {
			return step("make "+p+" read-only", err)
		}
	}
	for _, p := range []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/latency_stats", "/proc/acpi", "/proc/scsi"} {
		if err := hide(p); err != nil {
			return step("mask "+p, err)
		}
	}
	return nil
}

func writeSysctl(name, value string) error {
	path := "/proc/sys/" + name
	if err := os.WriteFile(path, []byte(value), 0); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// setupMounts makes mounts private and binds resolv.conf and hosts.
func setupMounts(cfg *ChildConfig) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return step("make mounts private", err)
	}
	if cfg.ResolvConf != "" {
		if err := bindFileRO(cfg.ResolvConf, "/etc/resolv.conf"); err != nil {
			return step("bind resolv.conf", err)
		}
	}
	if cfg.Hosts != "" {
		if err := bindFileRO(cfg.Hosts, "/etc/hosts"); err != nil {
			return step("bind hosts", err)
		}
	}
	if cfg.Nsswitch != "" {
		if err := bindFileRO(cfg.Nsswitch, "/etc/nsswitch.conf"); err != nil {
			return step("bind nsswitch.conf", err)
		}
	}
	for _, d := range cfg.Hide {
		if err := hide(d); err != nil {
			return step("hide "+d, err)
		}
	}
	return protectDirs(cfg.ReadOnly)
}

// joinNamespaces is setupNamespaces for `exec` into a live sandbox: a new
// mount namespace with the same resolv.conf and hosts view, then the
// sandbox's network and UTS namespaces, then its /proc and /sys. setns of these two affects only
// this (locked) thread, which is the one that execs.
func joinNamespaces(cfg *ChildConfig) error {
	if err := setupMounts(cfg); err != nil {
		return err
	}
	if err := unix.Setns(joinNetFd, unix.CLONE_NEWNET); err != nil {
		return step("join network namespace", err)
	}
	if err := unix.Setns(joinUTSFd, unix.CLONE_NEWUTS); err != nil {
		return step("join UTS namespace", err)
	}
	unix.Close(joinNetFd)
	unix.Close(joinUTSFd)
	// Born into the sandbox's pid namespace (the launcher entered it for
	// its children): /proc and /sys as the sandbox's own program sees them.
	// (A namespace made with `ip netns add` comes with no pid namespace:
	// /proc is then the host's, as with `ip netns exec`.)
	if err := mountProcSys(); err != nil {
		return err
	}
	return lockProc()
}

// loopbackUp sets IFF_UP on lo with the classic ioctl: one socket and two
// syscalls, and no netlink library to initialise in the init stage.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("lo: get flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("lo: set up: %w", err)
	}
	return nil
}

// hide makes path unusable inside the sandbox: a directory is covered by an
// empty read-only tmpfs, anything else (a socket, a file, a symbolic link,
// which is covered, not followed) by a read-only, nodev bind of /dev/null,
// which can be neither opened nor connected to. A path that does not exist
// is skipped.
func hide(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		if st, err := os.Stat(path); err == nil && st.IsDir() {
			fi = st // a link to a directory: cover the directory
		}
	}
	if fi.IsDir() {
		return unix.Mount("nsjail-net-hidden", path, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=4k,mode=0755")
	}
	return bindFileRO("/dev/null", path)
}
