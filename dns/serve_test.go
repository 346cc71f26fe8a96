package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

func TestServeTCPManyQueriesPerConnection(t *testing.T) {
	up := startUpstream(t, false)
	tr := startResolver(t, ResolverConfig{Upstreams: []netip.AddrPort{up.addr}})
	conn, err := net.Dial("tcp", tr.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	co := &mdns.Conn{Conn: conn}
	names := []string{"allowed.test.", "v6.allowed.test.", "alias.allowed.test."}

	// One after the other, then pipelined.
	for _, name := range names {
		m := new(mdns.Msg).SetQuestion(name, mdns.TypeA)
		if err := co.WriteMsg(m); err != nil {
			t.Fatal(err)
		}
		resp, err := co.ReadMsg()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if resp.Id != m.Id || resp.Question[0].Name != name {
			t.Errorf("answer %d %s to query %d %s", resp.Id, resp.Question[0].Name, m.Id, name)
		}
	}
	ids := map[uint16]bool{}
	for _, name := range names {
		m := new(mdns.Msg).SetQuestion(name, mdns.TypeA)
		ids[m.Id] = true
		if err := co.WriteMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	for range names {
		resp, err := co.ReadMsg()
		if err != nil {
			t.Fatal(err)
		}
		if !ids[resp.Id] {
			t.Errorf("answer with unknown id %d", resp.Id)
		}
		delete(ids, resp.Id)
	}
}

func TestServeMalformed(t *testing.T) {
	up := startUpstream(t, false)
	tr := startResolver(t, ResolverConfig{Upstreams: []netip.AddrPort{up.addr}})
	conn, err := net.Dial("udp", tr.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exchangeRaw := func(b []byte) []byte {
		t.Helper()
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 1024)
		n, err := conn.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return buf[:n]
	}
	q := new(mdns.Msg).SetQuestion("allowed.test.", mdns.TypeA)
	q.Id = 7
	b, _ := q.Pack()

	if got := exchangeRaw(b[:5]); got != nil {
		t.Errorf("answer to 5 bytes: %x", got)
	}
	resp := append([]byte(nil), b...)
	resp[2] |= 0x80 // QR
	if got := exchangeRaw(resp); got != nil {
		t.Errorf("answer to a response: %x", got)
	}
	cut := exchangeRaw(b[:len(b)-3])
	var m mdns.Msg
	if err := m.Unpack(cut); err != nil || m.Rcode != mdns.RcodeFormatError || m.Id != 7 || len(m.Question) != 0 {
		t.Errorf("answer to a cut query: %v %v", &m, err)
	}
	// The resolver still answers after all that.
	if got := exchangeRaw(b); got == nil {
		t.Error("no answer to a good query")
	}
	if qs := tr.Queries(); len(qs) != 1 {
		t.Errorf("query log %+v, want the good query alone", qs)
	}
}

func TestEscapedNamesNeverMatch(t *testing.T) {
	up := startUpstream(t, false)
	tr := startResolver(t, ResolverConfig{
		Upstreams: []netip.AddrPort{up.addr},
		Allow:     mustPatterns(t, "*.allowed.test"),
	})
	for _, name := range []string{`a\ b.allowed.test.`, `\200.allowed.test.`, `x\@y.allowed.test.`} {
		resp := tr.mustAsk(t, "udp", name, mdns.TypeA)
		if resp.Rcode != mdns.RcodeNameError {
			t.Errorf("%s: %s, want NXDOMAIN", name, mdns.RcodeToString[resp.Rcode])
		}
	}
	if qs := up.queries(); len(qs) != 0 {
		t.Errorf("upstream saw %q", qs)
	}
	qs := tr.Queries()
	if len(qs) != 3 || qs[0].Name != `a\ b.allowed.test` || qs[1].Name != `\200.allowed.test` {
		t.Errorf("query log %+v", qs)
	}
}

// TestCloseEndsEverything checks that Close leaves no goroutine behind:
// serving loops, idle TCP connections, queries waiting on an upstream.
func TestCloseEndsEverything(t *testing.T) {
	silent := silentUpstream(t)
	before := runtime.NumGoroutine()
	r := NewResolver(ResolverConfig{Upstreams: []netip.AddrPort{silent}, Timeout: 10 * time.Second})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 2)
	go func() { served <- r.ServeUDP(pc) }()
	go func() { served <- r.ServeTCP(l) }()

	idle, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	busy, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	q, _ := new(mdns.Msg).SetQuestion("a.test.", mdns.TypeA).Pack()
	framed := binary.BigEndian.AppendUint16(nil, uint16(len(q)))
	if _, err := busy.Write(append(framed, q...)); err != nil {
		t.Fatal(err)
	}
	u, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if _, err := u.Write(q); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)

	start := time.Now()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	for range 2 {
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve returned %v after Close", err)
			}
		case <-time.After(time.Second):
			t.Fatal("Serve still running after Close returned")
		}
	}
	// The busy connection may get its SERVFAIL before it is closed.
	for _, c := range []net.Conn{idle, busy} {
		c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil && !isReset(err) {
			t.Errorf("connection after Close: read %v, want EOF", err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

func TestExchangeSkipsOtherIDs(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 512)
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		var q mdns.Msg
		if q.Unpack(buf[:n]) != nil {
			return
		}
		for _, id := range []uint16{q.Id + 1, q.Id} {
			m := new(mdns.Msg).SetReply(&q)
			m.Id = id
			rr, _ := mdns.NewRR("a.test. 60 IN A 192.0.2." + map[bool]string{true: "1", false: "66"}[id == q.Id])
			m.Answer = append(m.Answer, rr)
			b, _ := m.Pack()
			pc.WriteTo(b[:5], from) // too short for a header: skipped too
			pc.WriteTo(b, from)
		}
	}()
	q, _ := new(mdns.Msg).SetQuestion("a.test.", mdns.TypeA).Pack()
	up := netip.MustParseAddrPort(pc.LocalAddr().String())
	resp, err := exchange(context.Background(), "udp", up, q, 512, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Answers) != 1 || formatRR(resp.Answers[0]) != "a.test A 192.0.2.1" {
		t.Errorf("answers %+v, want the one with the query's id", resp.Answers)
	}
}

func TestExchangeTCPWrongID(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b, err := readTCPMsg(c)
		if err != nil {
			return
		}
		b[0]++ // another ID
		b[2] |= 0x80
		writeTCPMsg(c, b)
	}()
	q, _ := new(mdns.Msg).SetQuestion("a.test.", mdns.TypeA).Pack()
	_, err = exchange(context.Background(), "tcp", netip.MustParseAddrPort(l.Addr().String()), q, 512, 2*time.Second)
	if !errors.Is(err, errIDMismatch) {
		t.Errorf("exchange = %v, want errIDMismatch", err)
	}
}

// A sandboxed program cannot make its resolver hold more than tcpMaxConns
// connections (each is a goroutine in the launcher): one more is closed at
// once, and a freed slot serves again.
func TestServeTCPBoundsConnections(t *testing.T) {
	up := startUpstream(t, false)
	tr := startResolver(t, ResolverConfig{Upstreams: []netip.AddrPort{up.addr}})
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range tcpMaxConns {
		c, err := net.Dial("tcp", tr.tcp)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	extra, err := net.Dial("tcp", tr.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	extra.SetReadDeadline(time.Now().Add(time.Second)) // well before tcpReadTimeout frees a slot
	if _, err := extra.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("connection %d: read gave %v, want it closed at once", tcpMaxConns+1, err)
	}
	for _, c := range held {
		c.Close()
	}
	held = nil
	// The server notices the closes asynchronously: retry for a while.
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.Dial("tcp", tr.tcp)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(time.Second))
		co := &mdns.Conn{Conn: conn}
		m := new(mdns.Msg).SetQuestion("allowed.test.", mdns.TypeA)
		err = co.WriteMsg(m)
		var resp *mdns.Msg
		if err == nil {
			resp, err = co.ReadMsg()
		}
		conn.Close()
		if err == nil && resp.Id == m.Id {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the held connections closed, a query over TCP still fails: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
