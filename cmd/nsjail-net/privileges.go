package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// requirePrivileges fails early, with a clear message, when we lack the
// capabilities to do what the command does: what is the command, why what
// it does that needs root ("it creates namespaces ...").
func requirePrivileges(what, why string) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("reading capabilities: %w", err)
	}
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	var missing []string
	for _, c := range []struct {
		n    uint
		name string
	}{{unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"}, {unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"}, {unix.CAP_SETUID, "CAP_SETUID"}, {unix.CAP_SETGID, "CAP_SETGID"}, {unix.CAP_SETPCAP, "CAP_SETPCAP"}} {
		if !has(c.n) {
			missing = append(missing, c.name)
		}
	}
	switch {
	case len(missing) > 0 && unix.Geteuid() != 0:
		return fmt.Errorf("%s needs root: %s; run it with sudo", what, why)
	case len(missing) > 0:
		return fmt.Errorf("%s needs root's capabilities, and %v are missing here: %s", what, missing, why)
	}
	return nil
}
