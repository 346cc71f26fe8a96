package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// This file is the resolver's client side: one query to one upstream.

// errIDMismatch means that a TCP upstream answered another query.
var errIDMismatch = errors.New("answer id does not match the query")

// exchange sends query (a packed message, whose ID it replaces with a
// fresh random one) to addr over network ("udp" or "tcp") and returns the
// answer. Over UDP it reads at most bufSize bytes and skips datagrams that
// do not carry the query's ID (late answers to earlier attempts). The
// attempt ends after timeout or when ctx is done, whichever comes first.
//
// An answer that cannot be parsed is returned with an error, its header
// alone filled in: a truncated one still asks for a retry over TCP.
func exchange(ctx context.Context, network string, addr netip.AddrPort, query []byte, bufSize int, timeout time.Duration) (*dnsmessage.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr.String())
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", network, err)
	}
	defer c.Close()
	// The deadline bounds every read and write; when ctx is cancelled
	// early (Close), an expired deadline makes a read waiting on a silent
	// upstream return at once. The deadline is set before the hook is
	// registered, so that it cannot undo the hook's.
	deadline, _ := ctx.Deadline()
	if err := c.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("setting deadline on %s socket: %w", network, err)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	id := uint16(rand.Uint32())
	binary.BigEndian.PutUint16(query, id)
	if network == "tcp" {
		return exchangeTCP(c, query, id)
	}
	return exchangeUDP(c, query, id, bufSize)
}

func exchangeUDP(c net.Conn, query []byte, id uint16, bufSize int) (*dnsmessage.Message, error) {
	if _, err := c.Write(query); err != nil {
		return nil, fmt.Errorf("sending query over udp: %w", err)
	}
	buf := make([]byte, max(bufSize, minMsgSize))
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, fmt.Errorf("reading answer over udp: %w", err)
		}
		if n < headerLen || binary.BigEndian.Uint16(buf) != id {
			continue
		}
		return parseAnswer(buf[:n])
	}
}

func exchangeTCP(c net.Conn, query []byte, id uint16) (*dnsmessage.Message, error) {
	if err := writeTCPMsg(c, query); err != nil {
		return nil, fmt.Errorf("sending query over tcp: %w", err)
	}
	b, err := readTCPMsg(c)
	if err != nil {
		return nil, fmt.Errorf("reading answer over tcp: %w", err)
	}
	if len(b) < headerLen {
		return nil, fmt.Errorf("reading answer over tcp: %w", io.ErrUnexpectedEOF)
	}
	if got := binary.BigEndian.Uint16(b); got != id {
		return nil, fmt.Errorf("%w: got %d, want %d", errIDMismatch, got, id)
	}
	return parseAnswer(b)
}

// parseAnswer parses an upstream's answer.
func parseAnswer(b []byte) (*dnsmessage.Message, error) {
	var p dnsmessage.Parser
	h, err := p.Start(b)
	if err != nil {
		return nil, fmt.Errorf("parsing answer header: %w", err)
	}
	m := new(dnsmessage.Message)
	if err := m.Unpack(b); err != nil {
		return &dnsmessage.Message{Header: h}, fmt.Errorf("parsing answer: %w", err)
	}
	return m, nil
}
