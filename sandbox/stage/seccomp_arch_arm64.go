package stage

import "golang.org/x/sys/unix"

// nativeAuditArch is the seccomp_data.arch of this binary's ABI.
const nativeAuditArch = unix.AUDIT_ARCH_AARCH64

// checkX32 is set where x32 syscalls share the native arch value and differ
// only by a bit in the number; arm64 has no such ABI (arm32 compat has its
// own arch value and is refused by the arch check).
const checkX32 = false

// foreignABIs are the other ABIs this kernel may run beside the native
// one (see the amd64 file): 32-bit ARM.
var foreignABIs = []foreignABI{
	{arch: unix.AUDIT_ARCH_ARM, ioctl: 54, kill: 37, fcntl: []uint32{55, 221}},
}
