//go:build amd64 || arm64

package stage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// --- The program, through an interpreter ---------------------------------

type seccompInput struct {
	nr   uint32
	arch uint32
	args [6]uint64
}

// runSeccomp interprets prog on in like the kernel would, for the opcodes
// the builder emits; anything else fails the test.
func runSeccomp(t *testing.T, prog []unix.SockFilter, in seccompInput) uint32 {
	t.Helper()
	var data [64]byte
	binary.LittleEndian.PutUint32(data[seccompDataNr:], in.nr)
	binary.LittleEndian.PutUint32(data[seccompDataArch:], in.arch)
	for i, a := range in.args {
		binary.LittleEndian.PutUint64(data[seccompDataArgs+8*i:], a)
	}
	var a uint32
	for pc := 0; pc < len(prog); {
		in := prog[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			if in.K%4 != 0 || in.K+4 > uint32(len(data)) {
				t.Fatalf("insn %d: load at offset %d", pc, in.K)
			}
			a = binary.LittleEndian.Uint32(data[in.K:])
			pc++
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K:
			a &= in.K
			pc++
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			cond := a == in.K
			if in.Code&0xf0 == unix.BPF_JSET {
				cond = a&in.K != 0
			}
			if cond {
				pc += 1 + int(in.Jt)
			} else {
				pc += 1 + int(in.Jf)
			}
		case unix.BPF_RET | unix.BPF_K:
			return in.K
		default:
			t.Fatalf("insn %d: unexpected opcode %#x", pc, in.Code)
		}
	}
	t.Fatalf("program ran past its end")
	return 0
}

func mustSeccompProgram(t *testing.T) []unix.SockFilter {
	t.Helper()
	prog, err := seccompProgram(filterOpts{full: true, sharedGroup: true})
	if err != nil {
		t.Fatalf("seccompProgram: %v", err)
	}
	return prog
}

func TestSeccompProgramShape(t *testing.T) {
	prog := mustSeccompProgram(t)
	if len(prog) > 4096 {
		t.Fatalf("%d instructions, over BPF_MAXINSNS", len(prog))
	}
	if last := prog[len(prog)-1]; last.Code != unix.BPF_RET|unix.BPF_K || last.K != seccompAllow {
		t.Errorf("last instruction %+v, want ret ALLOW", last)
	}
	for pc, in := range prog {
		if in.Code&0x07 == unix.BPF_JMP {
			if end := pc + 1 + int(max(in.Jt, in.Jf)); end >= len(prog) {
				t.Errorf("insn %d jumps to %d, past the end (%d)", pc, end, len(prog))
			}
		}
	}
	t.Logf("%d instructions", len(prog))
}

func seccompNativeCall(nr int, args ...uint64) seccompInput {
	in := seccompInput{nr: uint32(nr), arch: nativeAuditArch}
	copy(in.args[:], args)
	return in
}

type seccompCase struct {
	name string
	in   seccompInput
	want uint32
}

func TestSeccompProgramDecisions(t *testing.T) {
	prog := mustSeccompProgram(t)
	const hi = 1 << 32 // a bit in the high half of an argument
	tests := []seccompCase{
		{"foreign arch i386", seccompInput{nr: 1, arch: unix.AUDIT_ARCH_I386}, seccompKill},
		{"foreign arch i386 exit", seccompInput{nr: 252, arch: unix.AUDIT_ARCH_I386}, seccompKill},
		{"foreign arch zero", seccompInput{nr: 0, arch: 0}, seccompKill},

		{"read", seccompNativeCall(unix.SYS_READ), seccompAllow},
		{"write", seccompNativeCall(unix.SYS_WRITE), seccompAllow},
		{"execve", seccompNativeCall(unix.SYS_EXECVE), seccompAllow},
		{"futex", seccompNativeCall(unix.SYS_FUTEX), seccompAllow},
		{"mmap", seccompNativeCall(unix.SYS_MMAP), seccompAllow},
		{"close_range", seccompNativeCall(unix.SYS_CLOSE_RANGE), seccompAllow},
		{"faccessat2", seccompNativeCall(unix.SYS_FACCESSAT2), seccompAllow},
		{"chdir", seccompNativeCall(unix.SYS_CHDIR), seccompAllow},
		{"socketpair", seccompNativeCall(unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_STREAM), seccompAllow},
		{"listmount", seccompNativeCall(unix.SYS_LISTMOUNT), seccompAllow},
		{"nr -1", seccompInput{nr: 0xffffffff, arch: nativeAuditArch}, seccompAllow},

		{"clone3", seccompNativeCall(unix.SYS_CLONE3), seccompENOSYS},
		{"unshare 0", seccompNativeCall(unix.SYS_UNSHARE, 0), seccompEPERM},
		{"setns", seccompNativeCall(unix.SYS_SETNS, 3, unix.CLONE_NEWNET), seccompEPERM},
		{"mount", seccompNativeCall(unix.SYS_MOUNT), seccompEPERM},
		{"ptrace", seccompNativeCall(unix.SYS_PTRACE), seccompEPERM},
		{"io_uring_setup", seccompNativeCall(unix.SYS_IO_URING_SETUP), seccompEPERM},

		{"clone fork", seccompNativeCall(unix.SYS_CLONE, uint64(unix.SIGCHLD)), seccompAllow},
		{"clone go exec", seccompNativeCall(unix.SYS_CLONE, unix.CLONE_VFORK|unix.CLONE_VM|unix.CLONE_PIDFD|uint64(unix.SIGCHLD)), seccompAllow},
		{"clone thread", seccompNativeCall(unix.SYS_CLONE, unix.CLONE_VM|unix.CLONE_FS|unix.CLONE_FILES|unix.CLONE_SIGHAND|
			unix.CLONE_SYSVSEM|unix.CLONE_THREAD|unix.CLONE_SETTLS|unix.CLONE_PARENT_SETTID|unix.CLONE_CHILD_CLEARTID), seccompAllow},
		{"clone high half ignored", seccompNativeCall(unix.SYS_CLONE, unix.CLONE_NEWUSER*hi|uint64(unix.SIGCHLD)), seccompAllow},
		{"clone newuser", seccompNativeCall(unix.SYS_CLONE, unix.CLONE_NEWUSER|uint64(unix.SIGCHLD)), seccompEPERM},
		{"clone newnet in stack arg ignored", seccompNativeCall(unix.SYS_CLONE, uint64(unix.SIGCHLD), unix.CLONE_NEWNET), seccompAllow},

		{"socket inet stream", seccompNativeCall(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC), seccompAllow},
		{"socket inet6 dgram", seccompNativeCall(unix.SYS_SOCKET, unix.AF_INET6, unix.SOCK_DGRAM), seccompAllow},
		{"socket ping", seccompNativeCall(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_ICMP), seccompAllow},
		{"socket ping6", seccompNativeCall(unix.SYS_SOCKET, unix.AF_INET6, unix.SOCK_DGRAM, unix.IPPROTO_ICMPV6), seccompAllow},
		{"socket netlink raw", seccompNativeCall(unix.SYS_SOCKET, unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE), seccompAllow},
		{"socket netlink dgram", seccompNativeCall(unix.SYS_SOCKET, unix.AF_NETLINK, unix.SOCK_DGRAM, unix.NETLINK_ROUTE), seccompAllow},
		{"socket unix seqpacket", seccompNativeCall(unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_SEQPACKET), seccompAllow},
		{"socket packet raw", seccompNativeCall(unix.SYS_SOCKET, unix.AF_PACKET, unix.SOCK_RAW), seccompEPERM},
		{"socket packet dgram", seccompNativeCall(unix.SYS_SOCKET, unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK), seccompEPERM},
		{"socket inet raw", seccompNativeCall(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP), seccompEPERM},
		{"socket inet6 raw flags", seccompNativeCall(unix.SYS_SOCKET, unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC), seccompEPERM},
		{"socket inet packet", seccompNativeCall(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_PACKET), seccompEPERM},
		{"socket unix raw", seccompNativeCall(unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_RAW), seccompEPERM},
		{"socket high half ignored", seccompNativeCall(unix.SYS_SOCKET, unix.AF_INET|unix.AF_PACKET*hi, unix.SOCK_STREAM), seccompAllow},
		{"socket vsock", seccompNativeCall(unix.SYS_SOCKET, unix.AF_VSOCK, unix.SOCK_STREAM), seccompEPERM},
		{"socket alg", seccompNativeCall(unix.SYS_SOCKET, unix.AF_ALG, unix.SOCK_SEQPACKET), seccompEPERM},
		{"socket bluetooth", seccompNativeCall(unix.SYS_SOCKET, unix.AF_BLUETOOTH, unix.SOCK_STREAM), seccompEPERM},
		{"socket can", seccompNativeCall(unix.SYS_SOCKET, unix.AF_CAN, unix.SOCK_DGRAM), seccompEPERM},
		{"socket tipc", seccompNativeCall(unix.SYS_SOCKET, unix.AF_TIPC, unix.SOCK_RDM), seccompEPERM},
		{"socket rds", seccompNativeCall(unix.SYS_SOCKET, unix.AF_RDS, unix.SOCK_SEQPACKET), seccompEPERM},
		{"socket unspec", seccompNativeCall(unix.SYS_SOCKET, unix.AF_UNSPEC, unix.SOCK_STREAM), seccompEPERM},
		{"socket netlink sock_diag", seccompNativeCall(unix.SYS_SOCKET, unix.AF_NETLINK, unix.SOCK_DGRAM, unix.NETLINK_SOCK_DIAG), seccompAllow},
		{"socket netlink netfilter", seccompNativeCall(unix.SYS_SOCKET, unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_NETFILTER), seccompAllow},
		{"socket netlink generic", seccompNativeCall(unix.SYS_SOCKET, unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_GENERIC), seccompAllow},
		{"socket netlink audit", seccompNativeCall(unix.SYS_SOCKET, unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_AUDIT), seccompEPERM},
		{"socket netlink connector", seccompNativeCall(unix.SYS_SOCKET, unix.AF_NETLINK, unix.SOCK_DGRAM, unix.NETLINK_CONNECTOR), seccompEPERM},
		{"socket netlink uevent", seccompNativeCall(unix.SYS_SOCKET, unix.AF_NETLINK, unix.SOCK_DGRAM, unix.NETLINK_KOBJECT_UEVENT), seccompEPERM},
		{"socket netlink crypto", seccompNativeCall(unix.SYS_SOCKET, unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_CRYPTO), seccompEPERM},
		{"socketpair unix", seccompNativeCall(unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_STREAM), seccompAllow},
		{"socketpair vsock", seccompNativeCall(unix.SYS_SOCKETPAIR, unix.AF_VSOCK, unix.SOCK_STREAM), seccompEPERM},

		{"kill pid", seccompNativeCall(unix.SYS_KILL, 7, uint64(unix.SIGKILL)), seccompAllow},
		{"kill group inside", seccompNativeCall(unix.SYS_KILL, uint64(0xffffffff-6), uint64(unix.SIGKILL)), seccompAllow},
		{"kill all", seccompNativeCall(unix.SYS_KILL, uint64(0xffffffff), uint64(unix.SIGKILL)), seccompAllow},
		{"kill own group SIGKILL", seccompNativeCall(unix.SYS_KILL, 0, uint64(unix.SIGKILL)), seccompEPERM},
		{"kill own group SIGINT", seccompNativeCall(unix.SYS_KILL, 0, uint64(unix.SIGINT)), seccompEPERM},
		{"kill own group high half", seccompNativeCall(unix.SYS_KILL, 1<<32, uint64(unix.SIGKILL)), seccompEPERM},
		{"kill own group SIGTSTP", seccompNativeCall(unix.SYS_KILL, 0, uint64(unix.SIGTSTP)), seccompAllow},
		{"kill own group SIGCONT", seccompNativeCall(unix.SYS_KILL, 0, uint64(unix.SIGCONT)), seccompAllow},
		{"kill own group probe", seccompNativeCall(unix.SYS_KILL, 0, 0), seccompAllow},
		{"fcntl F_GETFL", seccompNativeCall(unix.SYS_FCNTL, 0, unix.F_GETFL), seccompAllow},
		{"fcntl F_SETFL nonblock", seccompNativeCall(unix.SYS_FCNTL, 0, unix.F_SETFL, unix.O_NONBLOCK|unix.O_RDWR), seccompAllow},
		{"fcntl F_SETFL async", seccompNativeCall(unix.SYS_FCNTL, 0, unix.F_SETFL, unix.O_ASYNC|unix.O_NONBLOCK), seccompEPERM},
		{"fcntl F_SETSIG", seccompNativeCall(unix.SYS_FCNTL, 0, unix.F_SETSIG, uint64(unix.SIGKILL)), seccompEPERM},
		{"fcntl F_SETOWN", seccompNativeCall(unix.SYS_FCNTL, 3, unix.F_SETOWN, 5), seccompAllow},
		{"fcntl F_DUPFD_CLOEXEC", seccompNativeCall(unix.SYS_FCNTL, 3, unix.F_DUPFD_CLOEXEC, 0), seccompAllow},
		{"ioctl FIOASYNC", seccompNativeCall(unix.SYS_IOCTL, 0, fioAsync), seccompEPERM},
		{"ioctl TCGETS", seccompNativeCall(unix.SYS_IOCTL, 0, unix.TCGETS), seccompAllow},
		{"ioctl TIOCSWINSZ", seccompNativeCall(unix.SYS_IOCTL, 0, unix.TIOCSWINSZ), seccompAllow},
		{"ioctl TIOCSPGRP", seccompNativeCall(unix.SYS_IOCTL, 0, unix.TIOCSPGRP), seccompAllow},
		{"ioctl FIONREAD", seccompNativeCall(unix.SYS_IOCTL, 3, unix.TIOCINQ), seccompAllow},
		{"ioctl TIOCSTI", seccompNativeCall(unix.SYS_IOCTL, 0, unix.TIOCSTI), seccompEPERM},
		{"ioctl TIOCSTI high half set", seccompNativeCall(unix.SYS_IOCTL, 0, unix.TIOCSTI|hi), seccompEPERM},
		{"ioctl TIOCLINUX", seccompNativeCall(unix.SYS_IOCTL, 0, unix.TIOCLINUX), seccompEPERM},
		{"ioctl TIOCSETD", seccompNativeCall(unix.SYS_IOCTL, 0, unix.TIOCSETD), seccompEPERM},
		{"ioctl USERFAULTFD_IOC_NEW", seccompNativeCall(unix.SYS_IOCTL, 3, userfaultfdIocNew), seccompEPERM},
	}
	if checkX32 {
		tests = append(tests,
			seccompCase{"x32 read", seccompInput{nr: x32SyscallBit | unix.SYS_READ, arch: nativeAuditArch}, seccompKill},
			seccompCase{"x32 unshare", seccompInput{nr: x32SyscallBit | unix.SYS_UNSHARE, arch: nativeAuditArch}, seccompKill},
		)
	}
	for _, flag := range []uint64{unix.CLONE_NEWNS, unix.CLONE_NEWUTS, unix.CLONE_NEWIPC, unix.CLONE_NEWUSER,
		unix.CLONE_NEWPID, unix.CLONE_NEWNET, unix.CLONE_NEWCGROUP, unix.CLONE_NEWTIME} {
		if got := runSeccomp(t, prog, seccompNativeCall(unix.SYS_CLONE, flag|uint64(unix.SIGCHLD))); got != seccompEPERM {
			t.Errorf("clone(%#x|SIGCHLD) = %#x, want EPERM", flag, got)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runSeccomp(t, prog, tt.in); got != tt.want {
				t.Errorf("got %#x, want %#x", got, tt.want)
			}
		})
	}
}

// The terminal filter, installed when a profile turns the full one off,
// refuses the same ioctl requests for every ABI and nothing else.
func TestTerminalProgramDecisions(t *testing.T) {
	prog, err := terminalProgram(filterOpts{sharedGroup: true})
	if err != nil {
		t.Fatal(err)
	}
	const hi = 1 << 32
	tests := []seccompCase{
		{"native TIOCSTI", seccompNativeCall(unix.SYS_IOCTL, 0, unix.TIOCSTI), seccompEPERM},
		{"native TIOCSTI high half", seccompNativeCall(unix.SYS_IOCTL, 0, unix.TIOCSTI|hi), seccompEPERM},
		{"native TIOCLINUX", seccompNativeCall(unix.SYS_IOCTL, 0, unix.TIOCLINUX), seccompEPERM},
		{"native TCGETS", seccompNativeCall(unix.SYS_IOCTL, 0, unix.TCGETS), seccompAllow},
		{"native mount", seccompNativeCall(unix.SYS_MOUNT), seccompAllow},
		{"native kill group", seccompNativeCall(unix.SYS_KILL, 0, uint64(unix.SIGTERM)), seccompEPERM},
		{"native F_SETFL async", seccompNativeCall(unix.SYS_FCNTL, 0, unix.F_SETFL, unix.O_ASYNC), seccompEPERM},
		{"native FIOASYNC", seccompNativeCall(unix.SYS_IOCTL, 0, fioAsync), seccompEPERM},
		{"native kill group tstp", seccompNativeCall(unix.SYS_KILL, 0, uint64(unix.SIGTSTP)), seccompAllow},
		{"native socket vsock", seccompNativeCall(unix.SYS_SOCKET, unix.AF_VSOCK), seccompAllow},
		{"other arch", seccompInput{nr: 54, arch: 0x1234, args: [6]uint64{0, unix.TIOCSTI}}, seccompAllow},
	}
	for _, c := range foreignABIs {
		tests = append(tests,
			seccompCase{"foreign TIOCSTI", seccompInput{nr: c.ioctl, arch: c.arch, args: [6]uint64{0, unix.TIOCSTI}}, seccompEPERM},
			seccompCase{"foreign TCGETS", seccompInput{nr: c.ioctl, arch: c.arch, args: [6]uint64{0, unix.TCGETS}}, seccompAllow},
			seccompCase{"foreign other call", seccompInput{nr: c.ioctl + 1, arch: c.arch, args: [6]uint64{0, unix.TIOCSTI}}, seccompAllow},
			seccompCase{"foreign kill group", seccompInput{nr: c.kill, arch: c.arch, args: [6]uint64{0, uint64(unix.SIGKILL)}}, seccompEPERM},
			seccompCase{"foreign kill pid", seccompInput{nr: c.kill, arch: c.arch, args: [6]uint64{5, uint64(unix.SIGKILL)}}, seccompAllow},
		)
		for _, nr := range c.fcntl {
			tests = append(tests,
				seccompCase{"foreign F_SETSIG", seccompInput{nr: nr, arch: c.arch, args: [6]uint64{0, unix.F_SETSIG, 9}}, seccompEPERM},
				seccompCase{"foreign F_GETFL", seccompInput{nr: nr, arch: c.arch, args: [6]uint64{0, unix.F_GETFL}}, seccompAllow},
			)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runSeccomp(t, prog, tt.in); got != tt.want {
				t.Errorf("got %#x, want %#x", got, tt.want)
			}
		})
	}
}

// TestSeccompProgramSweep checks every syscall number: refused exactly
// where the table says, allowed everywhere else.
func TestSeccompProgramSweep(t *testing.T) {
	prog := mustSeccompProgram(t)
	want := map[uint32]uint32{}
	for _, r := range seccompRefused() {
		if _, dup := want[r.nr]; dup {
			t.Errorf("%s: number %d listed twice", r.name, r.nr)
		}
		want[r.nr] = r.ret
	}
	// With every argument zero, socket and socketpair ask for AF_UNSPEC,
	// which no allowlist holds.
	want[unix.SYS_SOCKET], want[unix.SYS_SOCKETPAIR] = seccompEPERM, seccompEPERM
	for nr := uint32(0); nr < 2048; nr++ {
		w, ok := want[nr]
		if !ok {
			w = seccompAllow
		}
		if got := runSeccomp(t, prog, seccompNativeCall(int(nr))); got != w {
			t.Errorf("nr %d: got %#x, want %#x", nr, got, w)
		}
	}
}

// --- The filter on this kernel ---------------------------------------------

// The kernel test re-executes the test binary twice: once as a control
// without the filter, once with it. Both runs try the same calls, each with
// arguments that make it fail or do nothing even without the filter, and
// report the errno of each; the helper then execs /bin/sh as the init stage
// would exec the program.

const (
	seccompHelperEnv    = "NSJNET_SECCOMP_HELPER" // "control" or "filter"
	seccompHelperTmpEnv = "NSJNET_SECCOMP_TMP"
)

type seccompWant int

const (
	wantEPERM  seccompWant = iota // refused by the filter
	wantENOSYS                    // clone3
	wantOK                        // allowed, and must succeed
	wantSame                      // allowed: same outcome as without the filter
)

type seccompAttempt struct {
	name string
	want seccompWant
	run  func(h *seccompTarget) unix.Errno
}

// seccompTarget holds what the attempts point at. Byte slices live as
// long as the helper, so the addresses passed to raw syscalls stay valid.
type seccompTarget struct {
	tmp        string
	absent     []byte // a path that does not exist
	absentFile []byte // a file in a directory that does not exist
	empty      []byte
	noModule   []byte
	noKeyType  []byte
	desc       []byte
	ppid       uintptr
}

func cstr(s string) []byte { return append([]byte(s), 0) }

func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

func call(nr uintptr, args ...uintptr) unix.Errno {
	var a [6]uintptr
	copy(a[:], args)
	_, _, e := unix.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
	return e
}

// callFd is call for syscalls that return a file descriptor on success.
func callFd(nr uintptr, args ...uintptr) unix.Errno {
	var a [6]uintptr
	copy(a[:], args)
	fd, _, e := unix.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
	if e == 0 {
		unix.Close(int(fd))
	}
	return e
}

func trySocket(domain, typ, proto int) func(*seccompTarget) unix.Errno {
	return func(*seccompTarget) unix.Errno {
		return callFd(unix.SYS_SOCKET, uintptr(domain), uintptr(typ), uintptr(proto))
	}
}

func errnoOf(err error) unix.Errno {
	if err == nil {
		return 0
	}
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return unix.EIO
}

const badFd = ^uintptr(0) // -1

func htons(v uint16) int { return int(v>>8 | v<<8) }

func seccompRefusedAttempts() []seccompAttempt {
	a := []seccompAttempt{
		{"setns", wantEPERM, func(*seccompTarget) unix.Errno { return call(unix.SYS_SETNS, badFd, 0) }},
		{"unshare(CLONE_NEWUSER)", wantEPERM, func(*seccompTarget) unix.Errno { return call(unix.SYS_UNSHARE, unix.CLONE_NEWUSER) }},
		{"unshare(CLONE_NEWNET)", wantEPERM, func(*seccompTarget) unix.Errno { return call(unix.SYS_UNSHARE, unix.CLONE_NEWNET) }},
		{"unshare(CLONE_NEWNS)", wantEPERM, func(*seccompTarget) unix.Errno { return call(unix.SYS_UNSHARE, unix.CLONE_NEWNS) }},
		// Without a filter: EINVAL, as clone3 wants a size.
		{"clone3", wantENOSYS, func(*seccompTarget) unix.Errno { return call(unix.SYS_CLONE3, 0, 0) }},

		{"mount", wantEPERM, func(h *seccompTarget) unix.Errno {
			none, tmpfs := cstr("none"), cstr("tmpfs")
			e := call(unix.SYS_MOUNT, addr(none), addr(h.absent), addr(tmpfs), 0, 0)
			runtime.KeepAlive(none)
			runtime.KeepAlive(tmpfs)
			return e
		}},
		{"umount2", wantEPERM, func(h *seccompTarget) unix.Errno { return call(unix.SYS_UMOUNT2, addr(h.absent), 0) }},
		{"pivot_root", wantEPERM, func(h *seccompTarget) unix.Errno {
			return call(unix.SYS_PIVOT_ROOT, addr(h.absent), addr(h.absent))
		}},
		{"chroot", wantEPERM, func(h *seccompTarget) unix.Errno { return call(unix.SYS_CHROOT, addr(h.absent)) }},
		{"move_mount", wantEPERM, func(h *seccompTarget) unix.Errno {
			return call(unix.SYS_MOVE_MOUNT, badFd, addr(h.empty), badFd, addr(h.empty), 0)
		}},
		{"open_tree", wantEPERM, func(h *seccompTarget) unix.Errno { return callFd(unix.SYS_OPEN_TREE, badFd, addr(h.absent), 0) }},
		{"open_tree_attr", wantEPERM, func(h *seccompTarget) unix.Errno {
			return callFd(unix.SYS_OPEN_TREE_ATTR, badFd, addr(h.absent), 0, 0, 0)
		}},
		{"fsopen", wantEPERM, func(h *seccompTarget) unix.Errno { return callFd(unix.SYS_FSOPEN, addr(h.noModule), 0) }},
		{"fsconfig", wantEPERM, func(*seccompTarget) unix.Errno { return call(unix.SYS_FSCONFIG, badFd, 0, 0, 0, 0) }},
		{"fsmount", wantEPERM, func(*seccompTarget) unix.Errno { return callFd(unix.SYS_FSMOUNT, badFd, 0, 0) }},
		{"fspick", wantEPERM, func(h *seccompTarget) unix.Errno { return callFd(unix.SYS_FSPICK, badFd, addr(h.absent), 0) }},
		{"mount_setattr", wantEPERM, func(h *seccompTarget) unix.Errno {
			return call(unix.SYS_MOUNT_SETATTR, badFd, addr(h.absent), 0, 0, 0)
		}},

		// The parent (the test binary) stands for a process of the same user
		// outside the sandbox. Nothing is read or written: zero iovecs.
		{"ptrace(PEEKDATA, parent)", wantEPERM, func(h *seccompTarget) unix.Errno {
			var word uintptr
			e := call(unix.SYS_PTRACE, unix.PTRACE_PEEKDATA, h.ppid, 0, uintptr(unsafe.Pointer(&word)))
			runtime.KeepAlive(&word)
			return e
		}},
		{"process_vm_readv(parent)", wantEPERM, func(h *seccompTarget) unix.Errno {
			return call(unix.SYS_PROCESS_VM_READV, h.ppid, 0, 0, 0, 0, 0)
		}},
		{"process_vm_writev(parent)", wantEPERM, func(h *seccompTarget) unix.Errno {
			return call(unix.SYS_PROCESS_VM_WRITEV, h.ppid, 0, 0, 0, 0, 0)
		}},
		{"kcmp(parent)", wantEPERM, func(h *seccompTarget) unix.Errno {
			return call(unix.SYS_KCMP, h.ppid, uintptr(os.Getpid()), 1 /* KCMP_VM */, 0, 0)
		}},
		{"pidfd_getfd", wantEPERM, func(*seccompTarget) unix.Errno { return callFd(unix.SYS_PIDFD_GETFD, badFd, 0, 0) }},

		{"bpf", wantEPERM, func(*seccompTarget) unix.Errno { return callFd(unix.SYS_BPF, 0x7fff, 0, 0) }},
		{"perf_event_open", wantEPERM, func(*seccompTarget) unix.Errno {
			return callFd(unix.SYS_PERF_EVENT_OPEN, 0, 0, badFd, badFd, 0)
		}},
		// Unknown flag bits, unknown arch and too many segments: EINVAL.
		{"kexec_load", wantEPERM, func(*seccompTarget) unix.Errno {
			return call(unix.SYS_KEXEC_LOAD, 0, 1000, 0, 0xffff0100)
		}},
		// Unknown flag (not KEXEC_FILE_UNLOAD): EINVAL.
		{"kexec_file_load", wantEPERM, func(h *seccompTarget) unix.Errno {
			return call(unix.SYS_KEXEC_FILE_LOAD, badFd, badFd, 0, addr(h.empty), 0x80000000)
		}},
		{"init_module", wantEPERM, func(h *seccompTarget) unix.Errno { return call(unix.SYS_INIT_MODULE, 0, 0, addr(h.empty)) }},
		{"finit_module", wantEPERM, func(h *seccompTarget) unix.Errno {
			return call(unix.SYS_FINIT_MODULE, badFd, addr(h.empty), 0)
		}},
		{"delete_module", wantEPERM, func(h *seccompTarget) unix.Errno {
			return call(unix.SYS_DELETE_MODULE, addr(h.noModule), unix.O_NONBLOCK)
		}},
		// Wrong magic: EINVAL, nothing happens.
		{"reboot", wantEPERM, func(*seccompTarget) unix.Errno { return call(unix.SYS_REBOOT, 0, 0, 0, 0) }},
		{"swapon", wantEPERM, func(h *seccompTarget) unix.Errno { return call(unix.SYS_SWAPON, addr(h.absent), 0) }},
		{"swapoff", wantEPERM, func(h *seccompTarget) unix.Errno { return call(unix.SYS_SWAPOFF, addr(h.absent)) }},
		{"acct", wantEPERM, func(h *seccompTarget) unix.Errno { return call(unix.SYS_ACCT, addr(h.absentFile)) }},

		// Out-of-range microseconds (EINVAL before any permission check),
		// and the current time anyway.
		{"settimeofday", wantEPERM, func(*seccompTarget) unix.Errno {
			tv := &unix.Timeval{Sec: time.Now().Unix(), Usec: 5_000_000}
			e := call(unix.SYS_SETTIMEOFDAY, uintptr(unsafe.Pointer(tv)), 0)
			runtime.KeepAlive(tv)
			return e
		}},
		// CLOCK_MONOTONIC cannot be set: EINVAL.
		{"clock_settime(CLOCK_MONOTONIC)", wantEPERM, func(*seccompTarget) unix.Errno {
			var ts unix.Timespec
			_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
			e := call(unix.SYS_CLOCK_SETTIME, unix.CLOCK_MONOTONIC, uintptr(unsafe.Pointer(&ts)))
			runtime.KeepAlive(&ts)
			return e
		}},
		// modes 0: a read.
		{"adjtimex(read)", wantEPERM, func(*seccompTarget) unix.Errno {
			tx := &unix.Timex{}
			e := call(unix.SYS_ADJTIMEX, uintptr(unsafe.Pointer(tx)))
			runtime.KeepAlive(tx)
			return e
		}},
		{"clock_adjtime(read)", wantEPERM, func(*seccompTarget) unix.Errno {
			tx := &unix.Timex{}
			e := call(unix.SYS_CLOCK_ADJTIME, unix.CLOCK_REALTIME, uintptr(unsafe.Pointer(tx)))
			runtime.KeepAlive(tx)
			return e
		}},

		{"keyctl", wantEPERM, func(*seccompTarget) unix.Errno { return call(unix.SYS_KEYCTL, 0x7fff, 0, 0, 0, 0) }},
		// Unknown key type, keyring that does not exist.
		{"add_key", wantEPERM, func(h *seccompTarget) unix.Errno {
			return call(unix.SYS_ADD_KEY, addr(h.noKeyType), addr(h.desc), 0, 0, 0x7ffffff0)
		}},
		{"request_key", wantEPERM, func(h *seccompTarget) unix.Errno {
			return call(unix.SYS_REQUEST_KEY, addr(h.noKeyType), addr(h.desc), 0, 0)
		}},

		{"userfaultfd", wantEPERM, func(*seccompTarget) unix.Errno { return callFd(unix.SYS_USERFAULTFD, 0x7fffffff) }},
		{"open_by_handle_at", wantEPERM, func(*seccompTarget) unix.Errno {
			return callFd(unix.SYS_OPEN_BY_HANDLE_AT, badFd, 0, 0)
		}},
		{"name_to_handle_at", wantEPERM, func(h *seccompTarget) unix.Errno {
			return call(unix.SYS_NAME_TO_HANDLE_AT, badFd, addr(h.absent), 0, 0, 0)
		}},
		{"io_uring_setup", wantEPERM, func(*seccompTarget) unix.Errno { return callFd(unix.SYS_IO_URING_SETUP, 0, 0) }},
		{"io_uring_enter", wantEPERM, func(*seccompTarget) unix.Errno { return call(unix.SYS_IO_URING_ENTER, badFd, 0, 0, 0, 0, 0) }},
		{"io_uring_register", wantEPERM, func(*seccompTarget) unix.Errno { return call(unix.SYS_IO_URING_REGISTER, badFd, 0, 0, 0) }},

		{"socket(AF_PACKET, SOCK_RAW)", wantEPERM, trySocket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, htons(unix.ETH_P_ALL))},
		{"socket(AF_PACKET, SOCK_DGRAM)", wantEPERM, trySocket(unix.AF_PACKET, unix.SOCK_DGRAM, htons(unix.ETH_P_IP))},
		{"socket(AF_INET, SOCK_RAW|SOCK_NONBLOCK, ICMP)", wantEPERM, trySocket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_NONBLOCK, unix.IPPROTO_ICMP)},
		{"socket(AF_INET6, SOCK_RAW, IPPROTO_RAW)", wantEPERM, trySocket(unix.AF_INET6, unix.SOCK_RAW, unix.IPPROTO_RAW)},
		{"socket(AF_INET, SOCK_PACKET)", wantEPERM, trySocket(unix.AF_INET, unix.SOCK_PACKET, htons(unix.ETH_P_ALL))},
		// Succeeds unprivileged without the filter: proves the filter acts.
		{"socket(AF_UNIX, SOCK_RAW)", wantEPERM, trySocket(unix.AF_UNIX, unix.SOCK_RAW, 0)},
		{"socket(AF_VSOCK, SOCK_STREAM)", wantEPERM, trySocket(unix.AF_VSOCK, unix.SOCK_STREAM, 0)},
		{"socket(AF_ALG, SOCK_SEQPACKET)", wantEPERM, trySocket(unix.AF_ALG, unix.SOCK_SEQPACKET, 0)},
		{"socket(AF_NETLINK, NETLINK_CONNECTOR)", wantEPERM, trySocket(unix.AF_NETLINK, unix.SOCK_DGRAM, unix.NETLINK_CONNECTOR)},
		// On a bad fd: EBADF without the filter.
		{"ioctl(TIOCSTI)", wantEPERM, func(*seccompTarget) unix.Errno { return call(unix.SYS_IOCTL, badFd, unix.TIOCSTI, 0) }},
		{"ioctl(TIOCLINUX)", wantEPERM, func(*seccompTarget) unix.Errno { return call(unix.SYS_IOCTL, badFd, unix.TIOCLINUX, 0) }},
		// On a bad fd: EBADF without the filter.
		{"fcntl(F_SETSIG)", wantEPERM, func(*seccompTarget) unix.Errno { return call(unix.SYS_FCNTL, badFd, unix.F_SETSIG, 9) }},
		{"fcntl(F_SETFL, O_ASYNC)", wantEPERM, func(*seccompTarget) unix.Errno { return call(unix.SYS_FCNTL, badFd, unix.F_SETFL, unix.O_ASYNC) }},
		{"ioctl(USERFAULTFD_IOC_NEW)", wantEPERM, func(*seccompTarget) unix.Errno {
			return call(unix.SYS_IOCTL, badFd, userfaultfdIocNew, 0)
		}},
	}
	// Each namespace flag with CLONE_THREAD but not CLONE_SIGHAND: the
	// kernel refuses that with EINVAL before creating anything.
	for _, f := range []struct {
		name string
		flag uintptr
	}{
		{"NEWNS", unix.CLONE_NEWNS}, {"NEWUTS", unix.CLONE_NEWUTS}, {"NEWIPC", unix.CLONE_NEWIPC},
		{"NEWUSER", unix.CLONE_NEWUSER}, {"NEWPID", unix.CLONE_NEWPID}, {"NEWNET", unix.CLONE_NEWNET},
		{"NEWCGROUP", unix.CLONE_NEWCGROUP}, {"NEWTIME", unix.CLONE_NEWTIME},
	} {
		flags := f.flag | unix.CLONE_THREAD
		a = append(a, seccompAttempt{"clone(CLONE_" + f.name + ")", wantEPERM, func(*seccompTarget) unix.Errno {
			return call(unix.SYS_CLONE, flags, 0, 0, 0, 0)
		}})
	}
	return a
}

// seccompAllowedAttempts run on the locked thread that installed the filter,
// in this order; the last ones are what the init stage does after it.
func seccompAllowedAttempts() []seccompAttempt {
	return []seccompAttempt{
		{"socket(AF_INET, SOCK_STREAM)", wantOK, trySocket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)},
		{"socket(AF_INET, SOCK_DGRAM)", wantOK, trySocket(unix.AF_INET, unix.SOCK_DGRAM, 0)},
		{"socket(AF_INET6, SOCK_STREAM)", wantSame, trySocket(unix.AF_INET6, unix.SOCK_STREAM, 0)},
		{"socket(AF_INET, SOCK_DGRAM, ICMP)", wantSame, trySocket(unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_ICMP)},
		{"socket(AF_NETLINK, SOCK_RAW, ROUTE)", wantOK, trySocket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)},
		{"socket(AF_NETLINK, SOCK_DGRAM, ROUTE)", wantOK, trySocket(unix.AF_NETLINK, unix.SOCK_DGRAM, unix.NETLINK_ROUTE)},
		{"netlink RTM_GETLINK dump", wantOK, func(*seccompTarget) unix.Errno {
			_, err := syscall.NetlinkRIB(syscall.RTM_GETLINK, syscall.AF_UNSPEC)
			return errnoOf(err)
		}},
		{"socket(AF_UNIX, SOCK_STREAM)", wantOK, trySocket(unix.AF_UNIX, unix.SOCK_STREAM, 0)},
		{"socketpair(AF_UNIX, SOCK_SEQPACKET)", wantOK, func(*seccompTarget) unix.Errno {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
			if err == nil {
				unix.Close(fds[0])
				unix.Close(fds[1])
			}
			return errnoOf(err)
		}},
		{"write and read a file", wantOK, func(h *seccompTarget) unix.Errno {
			p := filepath.Join(h.tmp, "file")
			if err := os.WriteFile(p, []byte("data"), 0o600); err != nil {
				return errnoOf(err)
			}
			b, err := os.ReadFile(p)
			if err == nil && string(b) != "data" {
				return unix.EIO
			}
			return errnoOf(err)
		}},
		{"fork and exec /bin/true", wantOK, func(*seccompTarget) unix.Errno {
			return errnoOf(exec.Command("/bin/true").Run())
		}},
		{"new OS thread", wantOK, func(*seccompTarget) unix.Errno {
			return onThrowawayThread(func() unix.Errno { return 0 })
		}},
		{"chdir", wantOK, func(h *seccompTarget) unix.Errno { return errnoOf(os.Chdir(h.tmp)) }},
		{"stat", wantOK, func(*seccompTarget) unix.Errno {
			var st unix.Stat_t
			return errnoOf(unix.Stat("/bin/sh", &st))
		}},
		{"access", wantOK, func(*seccompTarget) unix.Errno { return errnoOf(unix.Access("/bin/sh", unix.X_OK)) }},
		{"faccessat2", wantOK, func(*seccompTarget) unix.Errno {
			return errnoOf(unix.Faccessat2(unix.AT_FDCWD, "/bin/sh", unix.X_OK, unix.AT_EACCESS))
		}},
		{"close_range(CLOEXEC)", wantOK, func(*seccompTarget) unix.Errno {
			return errnoOf(unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC))
		}},
	}
}

// onThrowawayThread runs fn on a thread of its own that ends with it, so
// that a call which succeeds without the filter (unshare) changes nothing
// else, and so that the calls run on threads other than the one that
// installed the filter.
func onThrowawayThread(fn func() unix.Errno) unix.Errno {
	ch := make(chan unix.Errno)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with us
		ch <- fn()
	}()
	return <-ch
}

type seccompHelperReport struct {
	Error      string         `json:"error,omitempty"`
	Threads    int            `json:"threads"`
	Unfiltered int            `json:"unfiltered"`
	Errno      map[string]int `json:"errno"`
}

// threadsWithoutFilter counts this process's threads and those whose
// Seccomp line is not 2 (SECCOMP_MODE_FILTER).
func threadsWithoutFilter() (threads, unfiltered int, err error) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, 0, err
	}
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", task.Name(), "status"))
		if err != nil {
			continue // the thread ended
		}
		threads++
		if !bytes.Contains(b, []byte("\nSeccomp:\t2\n")) {
			unfiltered++
		}
	}
	return threads, unfiltered, nil
}

func TestSeccompHelper(t *testing.T) {
	mode := os.Getenv(seccompHelperEnv)
	if mode == "" {
		t.Skip("helper process for TestSeccompKernel")
	}
	runSeccompHelper(mode, os.Getenv(seccompHelperTmpEnv)) // does not return
}

func runSeccompHelper(mode, tmp string) {
	runtime.LockOSThread()
	report := seccompHelperReport{Errno: map[string]int{}}
	finish := func(code int) {
		b, _ := json.Marshal(report)
		os.Stdout.Write(append(b, '\n'))
		if code != 0 {
			os.Exit(code)
		}
	}

	// Threads that predate the filter and stay: TSYNC must reach them.
	var started sync.WaitGroup
	for range 4 {
		started.Add(1)
		go func() {
			runtime.LockOSThread()
			started.Done()
			select {}
		}()
	}
	started.Wait()

	// In a fresh network namespace ping sockets are off ("1 0"); open them
	// so that the control run shows they work. Best effort.
	_ = os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte("0 2147483647"), 0)

	h := &seccompTarget{
		tmp:        tmp,
		absent:     cstr(filepath.Join(tmp, "absent")),
		absentFile: cstr(filepath.Join(tmp, "absent", "file")),
		empty:      cstr(""),
		noModule:   cstr("nsjnet_no_such_module"),
		noKeyType:  cstr("nsjnet_no_such_key_type"),
		desc:       cstr("nsjnet"),
		ppid:       uintptr(os.Getppid()),
	}

	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		report.Error = "no_new_privs: " + err.Error()
		finish(3)
	}
	if mode == "filter" {
		if err := installSeccomp(filterOpts{full: true}); err != nil {
			report.Error = "installSeccomp: " + err.Error()
			finish(3)
		}
	}
	var err error
	report.Threads, report.Unfiltered, err = threadsWithoutFilter()
	if err != nil {
		report.Error = err.Error()
		finish(3)
	}
	for _, a := range seccompRefusedAttempts() {
		report.Errno[a.name] = int(onThrowawayThread(func() unix.Errno { return a.run(h) }))
	}
	for _, a := range seccompAllowedAttempts() {
		report.Errno[a.name] = int(a.run(h))
	}
	finish(0)

	// As the init stage: execve from the thread that installed the filter.
	err = unix.Exec("/bin/sh", []string{"sh", "-c",
		`echo exec-ok; grep -E '^(NoNewPrivs|Seccomp|Seccomp_filters):' /proc/self/status`}, os.Environ())
	os.Stderr.WriteString("exec: " + err.Error() + "\n")
	os.Exit(4)
}

type seccompHelperResult struct {
	report seccompHelperReport
	shell  string // what /bin/sh printed after exec
}

func runSeccompHelperProcess(t *testing.T, mode string) seccompHelperResult {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	// Namespaces that make the calls that do succeed without the filter
	// (socket, unshare) harmless: a throwaway network namespace and a
	// private mount namespace. As root directly; otherwise inside a user
	// namespace when the system allows one, else without.
	attrs := []*syscall.SysProcAttr{{}}
	if os.Geteuid() == 0 {
		attrs = []*syscall.SysProcAttr{{Unshareflags: unix.CLONE_NEWNS | unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS}}
	} else {
		attrs = append([]*syscall.SysProcAttr{{
			Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWNET,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		}}, attrs...)
	}
	var out, stderr bytes.Buffer
	for i, attr := range attrs {
		out.Reset()
		stderr.Reset()
		cmd := exec.Command(exe, "-test.run=^TestSeccompHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), seccompHelperEnv+"="+mode, seccompHelperTmpEnv+"="+tmp)
		cmd.Stdout, cmd.Stderr = &out, &stderr
		cmd.SysProcAttr = attr
		err = cmd.Start()
		if err != nil && i < len(attrs)-1 {
			t.Logf("%s helper: no user namespace (%v); running without namespaces", mode, err)
			continue
		}
		if err == nil {
			err = cmd.Wait()
		}
		break
	}
	first, rest, _ := strings.Cut(out.String(), "\n")
	var r seccompHelperResult
	if jerr := json.Unmarshal([]byte(first), &r.report); jerr != nil {
		t.Fatalf("%s helper: %v; stdout %q; stderr %q", mode, errors.Join(err, jerr), out.String(), stderr.String())
	}
	if r.report.Error != "" || err != nil {
		t.Fatalf("%s helper: %v %s; stderr %q", mode, err, r.report.Error, stderr.String())
	}
	r.shell = rest
	return r
}

func TestSeccompKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	control := runSeccompHelperProcess(t, "control")
	filtered := runSeccompHelperProcess(t, "filter")

	if control.report.Unfiltered != control.report.Threads {
		t.Errorf("control: %d of %d threads filtered before any filter", control.report.Threads-control.report.Unfiltered, control.report.Threads)
	}
	if filtered.report.Threads < 5 || filtered.report.Unfiltered != 0 {
		t.Errorf("filter: %d of %d threads without the filter (TSYNC)", filtered.report.Unfiltered, filtered.report.Threads)
	}
	for _, line := range []string{"exec-ok\n", "NoNewPrivs:\t1\n", "Seccomp:\t2\n", "Seccomp_filters:\t1\n"} {
		if !strings.Contains(filtered.shell, line) {
			t.Errorf("after exec, missing %q in:\n%s", line, filtered.shell)
		}
	}

	proven := 0
	for _, a := range append(seccompRefusedAttempts(), seccompAllowedAttempts()...) {
		got, ok1 := filtered.report.Errno[a.name]
		without, ok2 := control.report.Errno[a.name]
		if !ok1 || !ok2 {
			t.Errorf("%s: not reported", a.name)
			continue
		}
		g, w := unix.Errno(got), unix.Errno(without)
		switch a.want {
		case wantEPERM, wantENOSYS:
			want := unix.EPERM
			if a.want == wantENOSYS {
				want = unix.ENOSYS
			}
			if g != want {
				t.Errorf("%s: errno %d (%v) with the filter, want %v", a.name, got, g, want)
			}
			if w != want {
				proven++
			}
			t.Logf("%-45s filter: %-25v without: %v", a.name, g, errnoText(w))
		case wantOK:
			if g != 0 || w != 0 {
				t.Errorf("%s: %v with the filter, %v without; want success", a.name, errnoText(g), errnoText(w))
			}
		case wantSame:
			if g != w {
				t.Errorf("%s: %v with the filter, %v without; want the same", a.name, errnoText(g), errnoText(w))
			}
			t.Logf("%-45s filter: %-25v without: %v", a.name, errnoText(g), errnoText(w))
		}
	}
	// Some calls succeed or fail otherwise without the filter even for an
	// unprivileged user (socket(AF_UNIX, SOCK_RAW), the invalid-argument
	// ones): the EPERM seen is the filter's, not the kernel's.
	if proven == 0 {
		t.Errorf("no refused call behaved differently without the filter")
	}
	t.Logf("%d refused calls behave differently without the filter", proven)
}

func errnoText(e unix.Errno) string {
	if e == 0 {
		return "success"
	}
	return e.Error()
}

// Without a shared process group (no controlling terminal) the program's
// group is the sandbox's own, and signalling it is allowed.
func TestSeccompOwnGroupWithoutSharedGroup(t *testing.T) {
	for _, build := range []func(filterOpts) ([]unix.SockFilter, error){seccompProgram, terminalProgram} {
		prog, err := build(filterOpts{full: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := runSeccomp(t, prog, seccompNativeCall(unix.SYS_KILL, 0, uint64(unix.SIGTERM))); got != seccompAllow {
			t.Errorf("kill(0, SIGTERM) = %#x, want ALLOW", got)
		}
	}
}
