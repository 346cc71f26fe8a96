package stage

import "golang.org/x/sys/unix"

// nativeAuditArch is the seccomp_data.arch of this binary's ABI.
const nativeAuditArch = unix.AUDIT_ARCH_X86_64

// checkX32 is set where x32 syscalls share the native arch value and differ
// only by a bit in the number (__X32_SYSCALL_BIT).
const checkX32 = true
