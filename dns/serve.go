package dns

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// This file is the resolver's server side: the loops that read queries
// from the sandbox's sockets and write the answers back.

// Limits of a TCP connection, those of common servers.
const (
	tcpReadTimeout  = 2 * time.Second // until the first query
	tcpIdleTimeout  = 8 * time.Second // between queries
	tcpWriteTimeout = 2 * time.Second
	tcpMaxQueries   = 128
	// tcpMaxConns bounds the connections served at once: each holds a
	// goroutine in the launcher, and a sandboxed program must not be able
	// to grow its supervisor without bound. Past it, new connections are
	// closed at once (clients fall back or retry).
	tcpMaxConns = 64
)

// maxAcceptBackoff bounds the pause after a failed Accept or read.
const maxAcceptBackoff = time.Second

// ServeUDP answers queries arriving on pc until pc or the resolver is
// closed; it closes pc on return. A closed pc is a normal end (nil).
func (r *Resolver) ServeUDP(pc net.PacketConn) error {
	if err := r.startServing(pc); err != nil {
		return err
	}
	defer r.stopServing(pc)
	return r.servingError(r.serveUDP(pc), "udp", pc.LocalAddr())
}

// ServeTCP answers queries arriving on l until l or the resolver is
// closed; it closes l on return. A closed l is a normal end (nil).
func (r *Resolver) ServeTCP(l net.Listener) error {
	if err := r.startServing(l); err != nil {
		return err
	}
	defer r.stopServing(l)
	return r.servingError(r.serveTCP(l), "tcp", l.Addr())
}

// startServing registers a socket for Close to close; on a closed
// resolver it closes the socket and returns ErrClosed.
func (r *Resolver) startServing(c io.Closer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		c.Close()
		return ErrClosed
	}
	r.sockets[c] = struct{}{}
	r.serving.Add(1)
	return nil
}

func (r *Resolver) stopServing(c io.Closer) {
	r.mu.Lock()
	delete(r.sockets, c)
	r.mu.Unlock()
	c.Close()
	r.serving.Done()
}

// servingError is what ServeUDP and ServeTCP return for the error that
// ended their loop: nil when their socket or the resolver was closed.
func (r *Resolver) servingError(err error, network string, addr net.Addr) error {
	if err == nil || errors.Is(err, net.ErrClosed) || r.isClosed() {
		return nil
	}
	return fmt.Errorf("serving dns for sandbox %q on %s %s: %w", r.cfg.SandboxName, network, addr, err)
}

// serveUDP answers each datagram in its own goroutine, and waits for them
// before it returns.
func (r *Resolver) serveUDP(pc net.PacketConn) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	var backoff time.Duration
	buf := make([]byte, maxMsgSize)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if backoff = r.pause(err, backoff); backoff > 0 {
				continue
			}
			return err
		}
		backoff = 0
		if n < headerLen {
			continue // not even a header: no answer
		}
		msg := bytes.Clone(buf[:n])
		wg.Go(func() {
			r.handle(msg, false, func(b []byte) error {
				_, err := pc.WriteTo(b, from)
				return err
			})
		})
	}
}

// serveTCP serves each connection in its own goroutine; on return it
// closes them and waits for their goroutines.
func (r *Resolver) serveTCP(l net.Listener) error {
	var conns connSet
	defer conns.closeAndWait()
	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if backoff = r.pause(err, backoff); backoff > 0 {
				continue
			}
			return err
		}
		backoff = 0
		if conns.count() >= tcpMaxConns {
			r.cfg.Log.Debug("dns: too many tcp connections", "sandbox", r.cfg.SandboxName, "max", tcpMaxConns)
			c.Close()
			continue
		}
		conns.serve(c, r.serveConn)
	}
}

// serveConn answers the queries of one TCP connection (RFC 7766), one
// after the other, until the client closes it, stays idle too long or
// has sent tcpMaxQueries queries.
func (r *Resolver) serveConn(c net.Conn) {
	send := func(b []byte) error {
		if err := c.SetWriteDeadline(time.Now().Add(tcpWriteTimeout)); err != nil {
			return err
		}
		return writeTCPMsg(c, b)
	}
	timeout := tcpReadTimeout
	for range tcpMaxQueries {
		if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return
		}
		msg, err := readTCPMsg(c)
		if err != nil {
			return
		}
		timeout = tcpIdleTimeout
		if len(msg) < headerLen {
			continue
		}
		if err := r.handle(msg, true, send); err != nil {
			return
		}
	}
}

// pause tells how long to wait before reading or accepting again after
// err: zero if err is not a passing one (a closed socket is not), else
// the previous pause doubled, from 5ms up to maxAcceptBackoff, as
// net/http does. It waits that long, or less if the resolver is closed.
func (r *Resolver) pause(err error, prev time.Duration) time.Duration {
	var ne net.Error
	passing := errors.As(err, &ne) && ne.Timeout() ||
		errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED)
	if !passing || errors.Is(err, net.ErrClosed) {
		return 0
	}
	d := min(max(2*prev, 5*time.Millisecond), maxAcceptBackoff)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.ctx.Done():
	}
	return d
}

// connSet is the open connections of one ServeTCP.
type connSet struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// serve runs f(c) in a goroutine and closes c when f returns.
func (s *connSet) serve(c net.Conn, f func(net.Conn)) {
	s.mu.Lock()
	if s.conns == nil {
		s.conns = map[net.Conn]struct{}{}
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	s.wg.Go(func() {
		defer func() {
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
		f(c)
	})
}

// count is the number of connections being served.
func (s *connSet) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// closeAndWait closes the connections, which ends their reads and writes,
// and waits for their goroutines. No serve may follow.
func (s *connSet) closeAndWait() {
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
