package stage

import "golang.org/x/sys/unix"

// nativeAuditArch is the seccomp_data.arch of this binary's ABI.
const nativeAuditArch = unix.AUDIT_ARCH_X86_64

// checkX32 is set where x32 syscalls share the native arch value and differ
// only by a bit in the number (__X32_SYSCALL_BIT).
const checkX32 = true

// foreignABIs are the other ABIs this kernel may run beside the native
// one, with their ioctl(2), kill(2) and fcntl(2) numbers: the terminal filter,
// installed when the profile turns the full filter off, judges their calls
// too. x32 shares the native arch value, with the x32 bit in the number
// (its ioctl is the compat entry, 514).
var foreignABIs = []foreignABI{
	{arch: unix.AUDIT_ARCH_I386, ioctl: 54, kill: 37, fcntl: []uint32{55, 221}},
	{arch: nativeAuditArch, ioctl: 514 | x32SyscallBit, kill: unix.SYS_KILL | x32SyscallBit, fcntl: []uint32{unix.SYS_FCNTL | x32SyscallBit}},
}
