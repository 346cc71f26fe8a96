package stage

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// bindFileRO mounts a read-only bind of src over dst.
//
// It uses the new mount API so that dst is not followed when it is a
// symlink: /etc/resolv.conf is often a symlink into /run (systemd-resolved,
// NetworkManager), sometimes a dangling one. Mounting over the link itself
// means every path through /etc/resolv.conf reaches our file, while the
// host's target file is never touched, not even in our mount namespace.
func bindFileRO(src, dst string) error {
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", src, err)
	}
	defer unix.Close(fd)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return fmt.Errorf("mount_setattr %s read-only: %w", src, err)
	}
	// No MOVE_MOUNT_T_SYMLINKS: a symlink at dst is covered, not followed.
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, dst, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount %s over %s: %w", src, dst, err)
	}
	return nil
}

// protectDirs binds each of dirs read-only over itself. One that is not
// there, or not a directory (a symbolic link put there since the parent
// resolved it), is skipped: it holds nothing to protect. The parent
// resolves links, so a link the user controls is never followed here.
func protectDirs(dirs []string) error {
	for _, d := range dirs {
		if fi, err := os.Lstat(d); err != nil || !fi.IsDir() {
			continue
		}
		if err := bindReadOnly(d); err != nil {
			return step("make "+d+" read-only", err)
		}
	}
	return nil
}

// bindReadOnly covers path with a read-only bind of itself (recursive).
func bindReadOnly(path string) error {
	fd, err := unix.OpenTree(unix.AT_FDCWD, path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", path, err)
	}
	defer unix.Close(fd)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		return fmt.Errorf("mount_setattr %s read-only: %w", path, err)
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, path, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount over %s: %w", path, err)
	}
	return nil
}
