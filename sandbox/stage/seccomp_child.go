//go:build amd64 || arm64

package stage

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The seccomp filter installed by the init stage just before execve.
//
// It refuses, with EPERM, the calls a network jail never needs and an escape
// would: leaving or making namespaces, changing mounts, reaching into other
// processes, loading code into the kernel, and opening packet or raw sockets.
// EPERM rather than a kill, so that a program gets a clean error message.
// Everything else is allowed: this is a deny list that narrows the kernel's
// attack surface behind the capability drop, not a sandbox on its own.
//
// The program is classic BPF over struct seccomp_data, built here with
// x/sys/unix rather than a library: it is about a hundred instructions of
// one shape ("if nr == X return EPERM"), each conditional jump at most a few
// instructions forward, and seccomp_test.go runs it through an interpreter
// for every syscall number as well as on this kernel.
//
// Layout:
//
//	arch != native                      -> KILL_PROCESS (foreign ABI, see below)
//	nr has the x32 bit (amd64)          -> KILL_PROCESS (nr == -1 excepted)
//	nr == clone3                        -> ERRNO(ENOSYS)
//	nr in refused                       -> ERRNO(EPERM)
//	nr == clone:  flags & CLONE_NEW*    -> ERRNO(EPERM), else ALLOW
//	nr == ioctl:  request in refusedIoctls -> ERRNO(EPERM), else ALLOW
//	nr == fcntl:  F_SETSIG, or F_SETFL with O_ASYNC -> ERRNO(EPERM), else ALLOW
//	nr == kill (shared group): pid 0, sig not in jobSignals -> ERRNO(EPERM)
//	nr == socket: domain not UNIX, INET, INET6, NETLINK -> ERRNO(EPERM)
//	              NETLINK: protocol not in allowedNetlink -> ERRNO(EPERM)
//	              INET, INET6: type&0xf RAW, PACKET -> ERRNO(EPERM)
//	              else ALLOW
//	nr == socketpair: domain not UNIX   -> ERRNO(EPERM)
//	otherwise                           -> ALLOW
//
// When a profile turns the filter off, the terminal rule stays: a smaller
// filter (terminalProgram) refuses the same ioctl requests, for the native
// ABI and the compat ones, and allows everything else.
//
// The only kill is for syscalls of a foreign ABI (i386 through int 0x80 or a
// 32-bit binary, x32): their numbers mean other calls, so the table cannot
// judge them, and a uniform errno would leave the program spinning in its
// failed exit(). Programs for those ABIs therefore do not run with the
// filter on.

// Offsets in struct seccomp_data (linux/seccomp.h).
const (
	seccompDataNr   = 0
	seccompDataArch = 4
	seccompDataArgs = 16 // args[6], each a u64
)

// x32 syscalls arrive with AUDIT_ARCH_X86_64 and this bit set in nr.
const x32SyscallBit = 0x40000000

// cloneNamespaceFlags are the clone(2) flags that make a new namespace.
// The kernel reads clone's flags as 32 bits, so checking the low word is
// exact. CLONE_NEWTIME shares its value with bit 7 of the exit signal in
// clone(2) (only clone3 and unshare can ask for a time namespace); no valid
// signal number has that bit, so refusing it costs nothing.
const cloneNamespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET |
	unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// refusedIoctls are the ioctl(2) requests no sandboxed program may make,
// whatever the fd. The kernel reads the request as 32 bits, so the filter
// compares the low word only: a request with high bits set is the same
// request (Flatpak's CVE-2019-10063 compared 64 bits and was walked around).
var refusedIoctls = []struct {
	name string
	req  uint32
}{
	// Pushes bytes into a terminal's input queue: into the user's shell,
	// outside the sandbox, once the program ends (bubblewrap
	// CVE-2017-5226). Refused whatever dev.tty.legacy_tiocsti says.
	{"TIOCSTI", unix.TIOCSTI},
	// Virtual console requests; subcode 3 pastes the selection into the
	// console's input, the same injection (Flatpak CVE-2023-28100).
	{"TIOCLINUX", unix.TIOCLINUX},
	// Changing a terminal's line discipline loads kernel code on demand
	// (dev.tty.ldisc_autoload), a classic exploit path; only pppd-like
	// tools need it, and those need the host's network anyway.
	{"TIOCSETD", unix.TIOCSETD},
	// /dev/userfaultfd hands out a userfaultfd through this ioctl, past
	// the refusal of the userfaultfd(2) call.
	{"USERFAULTFD_IOC_NEW", userfaultfdIocNew},
	// Signal-driven I/O, as fcntl's O_ASYNC (see asyncIO).
	{"FIOASYNC", fioAsync},
}

// fioAsync is FIOASYNC (asm-generic/ioctls.h, the same on amd64 and arm64).
const fioAsync = 0x5452

// Signal-driven I/O is refused: fcntl F_SETFL with O_ASYNC, F_SETSIG, and
// ioctl FIOASYNC. On a terminal, O_ASYNC makes the kernel signal the
// terminal's foreground process group whenever input arrives, with the
// signal F_SETSIG chose (SIGKILL, say); the setting belongs to the open file
// the sandbox shares with the user's shell, so it outlives the sandbox, and
// the next key the user types kills the shell, outside the sandbox. Few
// programs use signal-driven I/O at all; none needs it in a network jail.

// userfaultfdIocNew is _IO(0xAA, 0x00) (linux/userfaultfd.h).
const userfaultfdIocNew = 0xAA00

// allowedSocketFamilies are the address families a program may open:
// local sockets, IP, and netlink (for tools such as `ip addr` and `ss`,
// limited to the protocols in allowedNetlink). Everything else is refused:
// AF_VSOCK is not isolated by network namespaces (a sandbox on a VM would
// share the host's vsock ports), AF_PACKET sees and forges frames, and the
// rest (bluetooth, CAN, TIPC, RDS, ALG, ...) is kernel attack surface a
// network jail never needs.
var allowedSocketFamilies = []uint32{unix.AF_UNIX, unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK}

// allowedNetlink are the netlink protocols allowed: the routing and
// socket-diagnosis interfaces of the sandbox's own namespace, netfilter
// (reading the sandbox's firewall; changing it needs a capability the
// program does not have) and generic netlink. Not allowed, among others:
// the audit, connector (process events of the whole host), uevent and
// crypto interfaces, which are not per network namespace.
var allowedNetlink = []uint32{unix.NETLINK_ROUTE, unix.NETLINK_SOCK_DIAG, unix.NETLINK_NETFILTER, unix.NETLINK_GENERIC}

// foreignABI is an ABI beside the native one, with the numbers of the calls
// the terminal filter judges.
type foreignABI struct {
	arch, ioctl, kill uint32
	fcntl             []uint32 // fcntl, and fcntl64 where there is one
}

// jobSignals may still be sent to the caller's whole process group
// (kill(0, sig)) when that group is the launcher's job (sharedGroup): they
// suspend and continue the job as Ctrl-Z would (vim suspends itself with
// kill(0, SIGTSTP)); 0 only probes. Any other signal to the group would
// reach the shell's job outside the sandbox (a script that ran nsjail-net,
// the rest of a pipeline), which the pid namespace otherwise hides.
var jobSignals = []uint32{0, uint32(unix.SIGTSTP), uint32(unix.SIGTTIN), uint32(unix.SIGTTOU), uint32(unix.SIGCONT)}

// filterOpts chooses the filter (installSeccomp).
type filterOpts struct {
	full        bool // the whole filter; false: the terminal rules alone
	sharedGroup bool // the program shares the launcher's process group
}

// Return values of the filter.
const (
	seccompAllow  = unix.SECCOMP_RET_ALLOW
	seccompEPERM  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	seccompENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	seccompKill   = unix.SECCOMP_RET_KILL_PROCESS
)

// errSeccompThreads reports that the kernel could not apply the filter to
// every thread (SECCOMP_FILTER_FLAG_TSYNC).
var errSeccompThreads = errors.New("filter not applied to every thread")

// seccompRule refuses one syscall number outright.
type seccompRule struct {
	name string
	nr   uint32
	ret  uint32
}

// seccompRefused lists the calls refused whatever their arguments. clone
// and socket, which depend on their arguments, are handled separately.
func seccompRefused() []seccompRule {
	eperm := func(name string, nr int) seccompRule { return seccompRule{name, uint32(nr), seccompEPERM} }
	return []seccompRule{
		// clone3's flags sit behind a pointer the filter cannot read.
		// ENOSYS makes glibc (pthread_create, posix_spawn) fall back to
		// clone, whose flags it can (Docker's default profile does the same).
		{"clone3", unix.SYS_CLONE3, seccompENOSYS},

		// Namespaces: leaving the jail's or making new ones (a new user
		// namespace gives back every capability, inside it).
		eperm("setns", unix.SYS_SETNS),
		eperm("unshare", unix.SYS_UNSHARE),

		// Mounts: the old and the new mount API.
		eperm("mount", unix.SYS_MOUNT),
		eperm("umount2", unix.SYS_UMOUNT2),
		eperm("pivot_root", unix.SYS_PIVOT_ROOT),
		eperm("chroot", unix.SYS_CHROOT),
		eperm("move_mount", unix.SYS_MOVE_MOUNT),
		eperm("open_tree", unix.SYS_OPEN_TREE),
		eperm("open_tree_attr", unix.SYS_OPEN_TREE_ATTR),
		eperm("fsopen", unix.SYS_FSOPEN),
		eperm("fsconfig", unix.SYS_FSCONFIG),
		eperm("fsmount", unix.SYS_FSMOUNT),
		eperm("fspick", unix.SYS_FSPICK),
		eperm("mount_setattr", unix.SYS_MOUNT_SETATTR),

		// Other processes. There is no pid namespace: the program may run
		// as the same uid as the user's processes outside and must not
		// read, write or steal from them.
		eperm("ptrace", unix.SYS_PTRACE),
		eperm("process_vm_readv", unix.SYS_PROCESS_VM_READV),
		eperm("process_vm_writev", unix.SYS_PROCESS_VM_WRITEV),
		eperm("kcmp", unix.SYS_KCMP),
		eperm("pidfd_getfd", unix.SYS_PIDFD_GETFD),

		// The kernel itself: code loading, tracing, reboot, swap, accounting.
		eperm("bpf", unix.SYS_BPF),
		eperm("perf_event_open", unix.SYS_PERF_EVENT_OPEN),
		eperm("kexec_load", unix.SYS_KEXEC_LOAD),
		eperm("kexec_file_load", unix.SYS_KEXEC_FILE_LOAD),
		eperm("init_module", unix.SYS_INIT_MODULE),
		eperm("finit_module", unix.SYS_FINIT_MODULE),
		eperm("delete_module", unix.SYS_DELETE_MODULE),
		eperm("reboot", unix.SYS_REBOOT),
		eperm("swapon", unix.SYS_SWAPON),
		eperm("swapoff", unix.SYS_SWAPOFF),
		eperm("acct", unix.SYS_ACCT),

		// The clock is not namespaced. adjtimex and clock_adjtime take
		// their mode behind a pointer, so read-only queries go too.
		eperm("settimeofday", unix.SYS_SETTIMEOFDAY),
		eperm("clock_settime", unix.SYS_CLOCK_SETTIME),
		eperm("adjtimex", unix.SYS_ADJTIMEX),
		eperm("clock_adjtime", unix.SYS_CLOCK_ADJTIME),

		// Kernel keyrings are not namespaced either.
		eperm("keyctl", unix.SYS_KEYCTL),
		eperm("add_key", unix.SYS_ADD_KEY),
		eperm("request_key", unix.SYS_REQUEST_KEY),

		// Classic exploit helpers and file-handle opens that bypass paths.
		eperm("userfaultfd", unix.SYS_USERFAULTFD),
		eperm("open_by_handle_at", unix.SYS_OPEN_BY_HANDLE_AT),
		eperm("name_to_handle_at", unix.SYS_NAME_TO_HANDLE_AT),

		// io_uring performs operations, socket creation among them
		// (IORING_OP_SOCKET), without passing through this filter; with it
		// the socket rules below could be walked around. Programs fall back
		// to epoll when io_uring_setup fails, as with kernel.io_uring_disabled.
		eperm("io_uring_setup", unix.SYS_IO_URING_SETUP),
		eperm("io_uring_enter", unix.SYS_IO_URING_ENTER),
		eperm("io_uring_register", unix.SYS_IO_URING_REGISTER),
	}
}

// installSeccomp installs the filter on every thread of this process.
//
// The caller must have set no_new_privs (or hold CAP_SYS_ADMIN), as the
// kernel requires; the filter survives execve and is inherited by every
// child, and cannot be removed.
//
// SECCOMP_FILTER_FLAG_TSYNC applies it to all threads of the Go runtime at
// once, not only to the calling one. The init stage execs from its locked
// thread, so strictly only that thread matters, but any thread left
// unfiltered would be a window for as long as the process lives; TSYNC also
// spreads no_new_privs to every thread.
//
// With o.full false (the profile turned the filter off) only the terminal
// rules (terminalProgram) are installed.
func installSeccomp(o filterOpts) error {
	build := seccompProgram
	if !o.full {
		build = terminalProgram
	}
	prog, err := build(o)
	if err != nil {
		return err
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		if errno == unix.EACCES {
			return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %w (no_new_privs not set)", errno)
		}
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %w", errno)
	}
	if r != 0 {
		// With TSYNC, a positive return is the id of a thread that could
		// not be synchronised; nothing was installed.
		return fmt.Errorf("seccomp: thread %d: %w", r, errSeccompThreads)
	}
	return nil
}

// seccompProgram builds the filter for the native architecture.
func seccompProgram(o filterOpts) ([]unix.SockFilter, error) {
	var b bpfBuilder

	// Architecture: anything but the native ABI is killed (see above).
	b.load(seccompDataArch)
	b.jumpEq(nativeAuditArch, 1, 0)
	b.ret(seccompKill)

	b.load(seccompDataNr)
	if checkX32 {
		// nr == -1 is let through: the kernel answers ENOSYS itself.
		b.jumpSet(x32SyscallBit, 0, 3)
		b.jumpEq(0xffffffff, 0, 1)
		b.ret(seccompAllow)
		b.ret(seccompKill)
	}

	for _, r := range seccompRefused() {
		b.jumpEq(r.nr, 0, 1)
		b.ret(r.ret)
	}

	// clone: refused only with a namespace flag.
	b.ifEq(unix.SYS_CLONE, func() {
		b.load(seccompArgLow(0))
		b.jumpSet(cloneNamespaceFlags, 0, 1)
		b.ret(seccompEPERM)
		b.ret(seccompAllow)
	})

	b.ifEq(unix.SYS_IOCTL, b.ioctlRequests)
	b.ifEq(unix.SYS_FCNTL, b.asyncIO)
	if o.sharedGroup {
		b.ifEq(unix.SYS_KILL, b.killOwnGroup)
	}

	// socket(domain, type, protocol): the families in
	// allowedSocketFamilies only; netlink (whose sockets are SOCK_RAW) with
	// the protocols in allowedNetlink; no raw sockets in IP. SOCK_PACKET
	// covers the obsolete socket(AF_INET, SOCK_PACKET), which the kernel
	// turns into a packet socket. Ping sockets (SOCK_DGRAM, IPPROTO_ICMP)
	// are untouched.
	b.ifEq(unix.SYS_SOCKET, func() {
		b.load(seccompArgLow(0))
		b.ifEq(unix.AF_NETLINK, func() {
			b.load(seccompArgLow(2))
			b.allowIn(allowedNetlink)
		})
		b.jumpEq(unix.AF_INET, 3, 0)
		b.jumpEq(unix.AF_INET6, 2, 0)
		b.jumpEq(unix.AF_UNIX, 1, 0)
		b.ret(seccompEPERM)
		b.load(seccompArgLow(1))
		b.and(0xf) // SOCK_TYPE_MASK: without SOCK_NONBLOCK, SOCK_CLOEXEC
		b.jumpEq(unix.SOCK_RAW, 1, 0)
		b.jumpEq(unix.SOCK_PACKET, 0, 1)
		b.ret(seccompEPERM)
		b.ret(seccompAllow)
	})
	// socketpair: only local sockets make pairs, but say so rather than
	// leave the other families to each protocol's code.
	b.ifEq(unix.SYS_SOCKETPAIR, func() {
		b.load(seccompArgLow(0))
		b.allowIn([]uint32{unix.AF_UNIX})
	})

	b.ret(seccompAllow)
	return b.program()
}

// terminalProgram builds the filter installed when the profile turns the
// full one off: the ioctl requests in refusedIoctls are refused, and with a
// shared process group the signals to it (killOwnGroup), for the native ABI
// and the compat ones (foreignABIs); everything else is allowed.
func terminalProgram(o filterOpts) ([]unix.SockFilter, error) {
	var b bpfBuilder
	abis := append([]foreignABI{{nativeAuditArch, unix.SYS_IOCTL, unix.SYS_KILL, []uint32{unix.SYS_FCNTL}}}, foreignABIs...)
	b.load(seccompDataArch)
	for _, c := range abis {
		b.ifEq(c.arch, func() {
			b.load(seccompDataNr)
			b.ifEq(c.ioctl, b.ioctlRequests)
			for _, nr := range c.fcntl {
				b.ifEq(nr, b.asyncIO)
			}
			if o.sharedGroup {
				b.ifEq(c.kill, b.killOwnGroup)
			}
			b.load(seccompDataArch) // A again, for the next arch test
		})
	}
	b.ret(seccompAllow)
	return b.program()
}

// asyncIO refuses fcntl(fd, F_SETSIG, ...) and fcntl(fd, F_SETFL, flags)
// with O_ASYNC in flags (A is the syscall number; it loads the arguments),
// and allows every other fcntl.
func (b *bpfBuilder) asyncIO() {
	b.load(seccompArgLow(1))
	b.jumpEq(unix.F_SETSIG, 0, 1)
	b.ret(seccompEPERM)
	b.jumpEq(unix.F_SETFL, 0, 3)
	b.load(seccompArgLow(2))
	b.jumpSet(unix.O_ASYNC, 0, 1)
	b.ret(seccompEPERM)
	b.ret(seccompAllow)
}

// killOwnGroup refuses kill(0, sig) but for jobSignals (A is the syscall
// number; it loads the arguments) and allows every other kill: a pid or
// group inside the pid namespace is the only other thing it can name.
func (b *bpfBuilder) killOwnGroup() {
	b.load(seccompArgLow(0))
	b.jumpEq(0, 1, 0)
	b.ret(seccompAllow)
	b.load(seccompArgLow(1))
	b.allowIn(jobSignals)
}

// ioctlRequests refuses the requests in refusedIoctls (A is the syscall
// number; it loads the request) and allows the rest.
func (b *bpfBuilder) ioctlRequests() {
	b.load(seccompArgLow(1))
	for _, r := range refusedIoctls {
		b.jumpEq(r.req, 0, 1)
		b.ret(seccompEPERM)
	}
	b.ret(seccompAllow)
}

// allowIn allows when A is one of vals and refuses (EPERM) otherwise.
func (b *bpfBuilder) allowIn(vals []uint32) {
	for _, v := range vals {
		b.jumpEq(v, 0, 1)
		b.ret(seccompAllow)
	}
	b.ret(seccompEPERM)
}

// seccompArgLow is the offset of the low 32 bits of argument i. Both
// supported architectures are little-endian. The kernel reads every argument
// checked here as 32 bits (socket's are ints, clone keeps the low half of its
// flags), so the high half does not matter.
func seccompArgLow(i int) uint32 { return seccompDataArgs + 8*uint32(i) }

// bpfBuilder assembles a classic BPF program; the first error sticks.
type bpfBuilder struct {
	insns []unix.SockFilter
	err   error
}

func (b *bpfBuilder) stmt(code uint16, k uint32) {
	b.insns = append(b.insns, unix.SockFilter{Code: code, K: k})
}

func (b *bpfBuilder) load(off uint32) { b.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, off) }
func (b *bpfBuilder) and(k uint32)    { b.stmt(unix.BPF_ALU|unix.BPF_AND|unix.BPF_K, k) }
func (b *bpfBuilder) ret(k uint32)    { b.stmt(unix.BPF_RET|unix.BPF_K, k) }

func (b *bpfBuilder) jump(op uint16, k uint32, jt, jf uint8) {
	b.insns = append(b.insns, unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, Jt: jt, Jf: jf, K: k})
}

func (b *bpfBuilder) jumpEq(k uint32, jt, jf uint8)  { b.jump(unix.BPF_JEQ, k, jt, jf) }
func (b *bpfBuilder) jumpSet(k uint32, jt, jf uint8) { b.jump(unix.BPF_JSET, k, jt, jf) }

// ifEq runs body when A == k and skips it otherwise. body must end with a
// return: it is not followed by a jump past the rest.
func (b *bpfBuilder) ifEq(k uint32, body func()) {
	at := len(b.insns)
	b.jumpEq(k, 0, 0)
	body()
	skip := len(b.insns) - at - 1
	if skip > 0xff {
		b.err = errors.Join(b.err, fmt.Errorf("seccomp: block for %d is %d instructions, more than a jump reaches", k, skip))
		return
	}
	b.insns[at].Jf = uint8(skip)
}

func (b *bpfBuilder) program() ([]unix.SockFilter, error) {
	if b.err != nil {
		return nil, b.err
	}
	if n := len(b.insns); n == 0 || n > 4096 { // BPF_MAXINSNS
		return nil, fmt.Errorf("seccomp: program of %d instructions", n)
	}
	return b.insns, nil
}
