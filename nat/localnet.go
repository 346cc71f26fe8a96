package nat

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// EnsureRouteLocalnet sets net.ipv4.conf.<bridge>.route_localnet = 1 in
// the launcher's network namespace. A port published on 127.0.0.1 needs
// it: the host's own connection to 127.0.0.1:HOST_PORT is DNATed in
// nat/OUTPUT to the sandbox, and the kernel routes a packet with a
// loopback source out of a non-loopback device (and accepts the replies,
// addressed to 127.0.0.1, coming in on it) only when route_localnet is on
// for that device. The MASQUERADE in NSJNET-POSTROUTING then gives the
// sandbox the bridge's address as the source, so nothing with a loopback
// address ever reaches the sandbox. It is turned on for the bridge only,
// never for "all", reads first so that the common case writes nothing,
// and is left on (it belongs to the shared base: the bridge carries it
// away when deleted).
func EnsureRouteLocalnet(bridge string) error {
	if bridge == "" || len(bridge) > 15 || strings.ContainsAny(bridge, "/ \x00") || bridge == "." || bridge == ".." {
		return fmt.Errorf("route_localnet: bad link name %q", bridge)
	}
	p := "/proc/sys/net/ipv4/conf/" + bridge + "/route_localnet"
	cur, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	if bytes.Equal(bytes.TrimSpace(cur), []byte("1")) {
		return nil
	}
	if err := os.WriteFile(p, []byte("1"), 0); err != nil {
		return fmt.Errorf("enabling route_localnet on %q (%s): %w", bridge, p, err)
	}
	return nil
}
