package policy

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// DefaultHidden are the host sockets hidden inside every sandbox: their
// services are root on the host, or start containers with a network of
// their own, so reaching one is a way out of the network jail. Files are
// covered by an unusable one, directories by an empty one; what does not
// exist is skipped. "%u" stands for the uid the program runs as (rootless
// Docker and Podman keep their sockets under the user's runtime dir).
// [security] hide adds paths, [security] keep takes any of these back.
var DefaultHidden = []string{
	"/run/docker.sock",
	"/var/run/docker.sock",
	"/run/docker",
	"/run/containerd",
	"/run/podman",
	"/run/buildkit",
	"/run/crio",
	"/run/cri-dockerd.sock",
	"/run/k3s",
	"/run/libvirt",
	"/run/user/%u/docker.sock",
	"/run/user/%u/podman",
	"/run/user/%u/buildkit",
	"/var/lib/incus/unix.socket",
	"/var/lib/lxd/unix.socket",
	"/var/snap/lxd/common/lxd/unix.socket",
}

// rootGroups are the groups whose members may use a root-equivalent
// service's socket, with the socket: the program runs without them, so
// that the service stays out of reach even where its socket is not
// covered (one created or re-created after the sandbox started: a daemon
// restarted). [security] keep naming the socket keeps the group too.
var rootGroups = []struct{ group, socket string }{
	{"docker", "/run/docker.sock"},
	{"libvirt", "/run/libvirt"},
	{"incus-admin", "/var/lib/incus/unix.socket"},
	{"lxd", "/var/snap/lxd/common/lxd/unix.socket"},
}

// DroppedGroups names the supplementary groups the program runs without,
// for a profile's [security] keep list.
func DroppedGroups(keep []string) []string {
	var out []string
	for _, g := range rootGroups {
		if !slices.Contains(keep, g.socket) {
			out = append(out, g.group)
		}
	}
	return out
}

// HiddenPaths returns the paths to hide for a program running as uid: the
// defaults less [security] keep, then [security] hide.
func (p *Profile) HiddenPaths(uid int) []string {
	return HiddenFor(p.Security.Hide, p.Security.Keep, uid)
}

// HiddenFor is HiddenPaths from a profile's hide and keep lists (as a
// sandbox's record keeps them for exec).
func HiddenFor(hide, keep []string, uid int) []string {
	var out []string
	for _, d := range DefaultHidden {
		if !slices.Contains(keep, d) {
			out = append(out, strings.ReplaceAll(d, "%u", strconv.Itoa(uid)))
		}
	}
	return append(out, hide...)
}

// checkHidePath validates a [security] hide or keep entry: an absolute,
// clean path (keep may also name a default with "%u").
func checkHidePath(s string) *valueError {
	switch {
	case !strings.HasPrefix(s, "/"):
		return valErr("paths must be absolute", "bad path %q", s)
	case filepath.Clean(s) != s || s == "/":
		return valErr(fmt.Sprintf("write it as %q", filepath.Clean(s)), "path %q is not clean", s)
	case len(s) > 4096:
		return valErr("longer than 4096 bytes", "bad path %q", s)
	}
	for _, c := range s {
		if c < ' ' || c == 0x7f {
			return valErr(fmt.Sprintf("character %q not allowed", c), "bad path %q", s)
		}
	}
	return nil
}
