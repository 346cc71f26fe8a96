package nat

import (
	"bytes"
	"fmt"
	"os"
)

// EnsureForwarding turns on IPv4 (and, when v6, IPv6) forwarding in the
// launcher's network namespace. It reads first so that the common case
// writes nothing.
func EnsureForwarding(v6 bool) error {
	paths := []string{"/proc/sys/net/ipv4/ip_forward"}
	if v6 {
		paths = append(paths, "/proc/sys/net/ipv6/conf/all/forwarding")
	}
	for _, p := range paths {
		cur, err := os.ReadFile(p)
		if err == nil && bytes.Equal(bytes.TrimSpace(cur), []byte("1")) {
			continue
		}
		if err := os.WriteFile(p, []byte("1"), 0); err != nil {
			return fmt.Errorf("enabling forwarding (%s): %w", p, err)
		}
	}
	return nil
}

// EnsureSourceCheck turns on strict reverse-path filtering on the bridge:
// a packet from the bridge whose source the host would not route back
// through the bridge (a spoofed source) is dropped.
func EnsureSourceCheck(bridge string) error {
	p := "/proc/sys/net/ipv4/conf/" + bridge + "/rp_filter"
	cur, err := os.ReadFile(p)
	if err == nil && bytes.Equal(bytes.TrimSpace(cur), []byte("1")) {
		return nil
	}
	if err := os.WriteFile(p, []byte("1"), 0); err != nil {
		return fmt.Errorf("source check on %s (%s): %w", bridge, p, err)
	}
	return nil
}
