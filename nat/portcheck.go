package nat

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
)

// CheckHostPortFree fails when a process on the host already listens on
// hostIP:port: DNAT would silently take its traffic. It binds the port
// (in the launcher's, the host's, namespace) and lets go at once.
func CheckHostPortFree(proto string, hostIP netip.Addr, port uint16) error {
	addr := net.JoinHostPort(hostIP.String(), strconv.Itoa(int(port)))
	var err error
	switch proto {
	case "udp":
		var pc net.PacketConn
		if pc, err = net.ListenPacket("udp4", addr); err == nil {
			pc.Close()
		}
	default:
		var l net.Listener
		if l, err = net.Listen("tcp4", addr); err == nil {
			l.Close()
		}
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("host port %s %s is in use by a process on the host: publishing it would take its traffic", proto, addr)
	}
	return nil // other errors (e.g. an address the host lacks) are not ours to judge here
}
