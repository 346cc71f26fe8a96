package stage

import "golang.org/x/sys/unix"

// nativeAuditArch is the seccomp_data.arch of this binary's ABI.
const nativeAuditArch = unix.AUDIT_ARCH_X86_64

// checkX32 is set where x32 syscalls share the native arch value and differ
// only by a bit in the number (__X32_SYSCALL_BIT).
const checkX32 = true

// foreignIoctls are the ioctl(2) numbers of the other ABIs this kernel may
// run beside the native one: the terminal filter, installed when the
// profile turns the full filter off, judges their requests too. x32 has its
// own entry (the compat ioctl) with the x32 bit set.
var foreignIoctls = []archSyscall{
	{unix.AUDIT_ARCH_I386, 54},
	{nativeAuditArch, 514 | x32SyscallBit},
}
