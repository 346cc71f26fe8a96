package test

// Servers living in the lab's world. Each listening socket is created inside
// the world's network namespace (InWorld) and keeps it after the thread
// switches back, so the serving goroutines are ordinary ones. Every server
// records who talked to it, for assertions such as "the world saw the lab
// host's address, not the sandbox's" (NAT). All are closed at cleanup.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// tcpGreeting is what TCPServer writes on every connection.
const tcpGreeting = "hello from world\n"

// recorder is an append-only log that can be waited on.
type recorder[T any] struct {
	mu      sync.Mutex
	items   []T
	changed chan struct{} // closed and replaced on every add
}

func newRecorder[T any]() *recorder[T] {
	return &recorder[T]{changed: make(chan struct{})}
}

func (r *recorder[T]) add(v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, v)
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder[T]) all() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.items...)
}

// wait returns the items once there are at least n, or what there is and
// false when timeout passes first.
func (r *recorder[T]) wait(n int, timeout time.Duration) ([]T, bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		r.mu.Lock()
		if len(r.items) >= n {
			items := append([]T(nil), r.items...)
			r.mu.Unlock()
			return items, true
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return r.all(), false
		}
	}
}

// waitSeen is the shared body of the servers' WaitSeen methods.
func waitSeen[T any](t testing.TB, what string, r *recorder[T], n int, timeout time.Duration) []T {
	t.Helper()
	items, ok := r.wait(n, timeout)
	if !ok {
		t.Fatalf("%s: saw %d of %d expected within %v: %v", what, len(items), n, timeout, items)
	}
	return items
}

// addrPortOf converts a net.Addr to an unmapped netip.AddrPort.
func addrPortOf(a net.Addr) netip.AddrPort {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// listenTCP creates a TCP listener on addr inside the world.
func (l *Lab) listenTCP(t testing.TB, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	err := l.InWorld(t, func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("world: listening on tcp %s: %v", addr, err)
	}
	return ln
}

// listenUDP creates a UDP socket bound to addr inside the world.
func (l *Lab) listenUDP(t testing.TB, addr string) net.PacketConn {
	t.Helper()
	var pc net.PacketConn
	err := l.InWorld(t, func() error {
		var err error
		pc, err = net.ListenPacket("udp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("world: listening on udp %s: %v", addr, err)
	}
	return pc
}

// TCPServer greets every connection with "hello from world\n", records the
// peer and closes.
type TCPServer struct {
	ln   net.Listener
	seen *recorder[netip.AddrPort]
	wg   sync.WaitGroup
}

// TCPServer starts a TCPServer on addr (e.g. "203.0.113.10:8080") in the
// world.
func (l *Lab) TCPServer(t testing.TB, addr string) *TCPServer {
	t.Helper()
	s := &TCPServer{ln: l.listenTCP(t, addr), seen: newRecorder[netip.AddrPort]()}
	s.wg.Go(s.serve)
	t.Cleanup(func() {
		_ = s.ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *TCPServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed at cleanup
		}
		s.seen.add(addrPortOf(c.RemoteAddr()))
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Write([]byte(tcpGreeting))
		_ = c.Close()
	}
}

// Addr is the listening address.
func (s *TCPServer) Addr() netip.AddrPort { return addrPortOf(s.ln.Addr()) }

// Seen returns the peers of all connections so far, in order.
func (s *TCPServer) Seen() []netip.AddrPort { return s.seen.all() }

// WaitSeen waits until at least n connections were seen and returns them;
// it fails t on timeout.
func (s *TCPServer) WaitSeen(t testing.TB, n int, timeout time.Duration) []netip.AddrPort {
	t.Helper()
	return waitSeen(t, "tcp server "+s.Addr().String(), s.seen, n, timeout)
}

// HTTPRequest is one request an HTTPServer answered.
type HTTPRequest struct {
	Remote netip.AddrPort
	Method string
	Host   string
	Path   string
}

// HTTPServer answers "/" (and every path) with 200 "ok <remote ip>\n" and
// records the requests.
type HTTPServer struct {
	srv      *http.Server
	ln       net.Listener
	requests *recorder[HTTPRequest]
	wg       sync.WaitGroup
	// CertFile is, for an HTTPS server, a PEM file with its self-signed
	// certificate (curl --cacert CertFile, or curl -k); empty for HTTP.
	CertFile string
}

// HTTPServer starts a plain HTTP server on addr (e.g. "203.0.113.10:80") in
// the world.
func (l *Lab) HTTPServer(t testing.TB, addr string) *HTTPServer {
	t.Helper()
	return l.httpServer(t, addr, false)
}

// HTTPSServer starts an HTTPS server on addr in the world with a fresh
// self-signed certificate valid for the address's IP, "localhost" and
// "*.example.test" (see CertFile).
func (l *Lab) HTTPSServer(t testing.TB, addr string) *HTTPServer {
	t.Helper()
	return l.httpServer(t, addr, true)
}

func (l *Lab) httpServer(t testing.TB, addr string, useTLS bool) *HTTPServer {
	t.Helper()
	s := &HTTPServer{requests: newRecorder[HTTPRequest]()}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 10 * time.Second}
	s.ln = l.listenTCP(t, addr)
	serve := func() { _ = s.srv.Serve(s.ln) }
	if useTLS {
		certFile, cert, err := selfSigned(t.TempDir(), addrPortOf(s.ln.Addr()).Addr())
		if err != nil {
			_ = s.ln.Close()
			t.Fatalf("https server %s: %v", addr, err)
		}
		s.CertFile = certFile
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		serve = func() { _ = s.srv.ServeTLS(s.ln, "", "") }
	}
	s.wg.Go(serve)
	t.Cleanup(func() {
		_ = s.srv.Close()
		s.wg.Wait()
	})
	return s
}

func (s *HTTPServer) handle(w http.ResponseWriter, r *http.Request) {
	remote, _ := netip.ParseAddrPort(r.RemoteAddr)
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	s.requests.add(HTTPRequest{Remote: remote, Method: r.Method, Host: r.Host, Path: r.URL.Path})
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "ok %s\n", remote.Addr())
}

// Addr is the listening address.
func (s *HTTPServer) Addr() netip.AddrPort { return addrPortOf(s.ln.Addr()) }

// URL is the server's base URL, e.g. "http://203.0.113.10:8080/".
func (s *HTTPServer) URL() string {
	scheme := "http"
	if s.CertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + s.Addr().String() + "/"
}

// Requests returns the requests answered so far, in order.
func (s *HTTPServer) Requests() []HTTPRequest { return s.requests.all() }

// Seen returns the peers of the requests answered so far, in order.
func (s *HTTPServer) Seen() []netip.AddrPort { return remotes(s.requests.all()) }

// WaitSeen waits until at least n requests were answered and returns their
// peers; it fails t on timeout.
func (s *HTTPServer) WaitSeen(t testing.TB, n int, timeout time.Duration) []netip.AddrPort {
	t.Helper()
	return remotes(waitSeen(t, "http server "+s.Addr().String(), s.requests, n, timeout))
}

func remotes(reqs []HTTPRequest) []netip.AddrPort {
	out := make([]netip.AddrPort, len(reqs))
	for i, r := range reqs {
		out[i] = r.Remote
	}
	return out
}

// selfSigned writes a fresh self-signed certificate for ip to dir/cert.pem
// and returns the file and the key pair.
func selfSigned(dir string, ip netip.Addr) (string, tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", tls.Certificate{}, fmt.Errorf("generating key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "nsjail-net lab"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost", "*.example.test", "example.test"},
		IPAddresses:           []net.IP{ip.AsSlice()},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", tls.Certificate{}, fmt.Errorf("creating certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", tls.Certificate{}, fmt.Errorf("encoding key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return "", tls.Certificate{}, fmt.Errorf("loading key pair: %w", err)
	}
	file := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(file, certPEM, 0o644); err != nil {
		return "", tls.Certificate{}, fmt.Errorf("writing %s: %w", file, err)
	}
	return file, pair, nil
}

// UDPServer echoes every datagram back to its sender and records senders.
type UDPServer struct {
	pc   net.PacketConn
	seen *recorder[netip.AddrPort]
	wg   sync.WaitGroup
}

// UDPServer starts a UDP echo server on addr in the world.
func (l *Lab) UDPServer(t testing.TB, addr string) *UDPServer {
	t.Helper()
	s := &UDPServer{pc: l.listenUDP(t, addr), seen: newRecorder[netip.AddrPort]()}
	s.wg.Go(s.serve)
	t.Cleanup(func() {
		_ = s.pc.Close()
		s.wg.Wait()
	})
	return s
}

func (s *UDPServer) serve() {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.seen.add(addrPortOf(from))
		_, _ = s.pc.WriteTo(buf[:n], from)
	}
}

// Addr is the bound address.
func (s *UDPServer) Addr() netip.AddrPort { return addrPortOf(s.pc.LocalAddr()) }

// Seen returns the senders of all datagrams so far, in order.
func (s *UDPServer) Seen() []netip.AddrPort { return s.seen.all() }

// WaitSeen waits until at least n datagrams were seen and returns their
// senders; it fails t on timeout.
func (s *UDPServer) WaitSeen(t testing.TB, n int, timeout time.Duration) []netip.AddrPort {
	t.Helper()
	return waitSeen(t, "udp server "+s.Addr().String(), s.seen, n, timeout)
}

// DNSQuery is one question a DNSServer received.
type DNSQuery struct {
	Name   string // lower-case FQDN, e.g. "www.example.test."
	Type   string // e.g. "A", "AAAA"
	Source netip.AddrPort
	Net    string // "udp" or "tcp"
}

// DNSServer is an authoritative server for a fixed set of records, on UDP
// and TCP. Unknown names get NXDOMAIN; known names without the asked type
// get an empty NOERROR answer; CNAMEs are followed within the records.
type DNSServer struct {
	addr    string
	mu      sync.Mutex // guards zone
	zone    map[string][]dns.RR
	queries *recorder[DNSQuery]
	servers []*dns.Server
}

// dnsTTL is the TTL of every answer.
const dnsTTL = 60

// DNSServer starts a DNS server on addr (e.g. "203.0.113.53:53") in the
// world, serving records: name -> {"A 203.0.113.10", "AAAA 2001:db8:1::10",
// "CNAME other.example.test.", "TXT \"x\"", ...} (any type miekg/dns can
// parse after "<name> <ttl> IN "). Names are case-insensitive; a missing
// trailing dot is added.
func (l *Lab) DNSServer(t testing.TB, addr string, records map[string][]string) *DNSServer {
	t.Helper()
	return l.dnsServer(t, addr, records, l.InWorld)
}

// HostDNSServer is DNSServer in the lab host's namespace, e.g. a stub on
// 127.0.0.53 as systemd-resolved runs one.
func (l *Lab) HostDNSServer(t testing.TB, addr string, records map[string][]string) *DNSServer {
	t.Helper()
	return l.dnsServer(t, addr, records, l.InHost)
}

func (l *Lab) dnsServer(t testing.TB, addr string, records map[string][]string, in func(testing.TB, func() error) error) *DNSServer {
	t.Helper()
	zone, err := parseZone(records)
	if err != nil {
		t.Fatalf("dns server %s: %v", addr, err)
	}
	s := &DNSServer{addr: addr, zone: zone, queries: newRecorder[DNSQuery]()}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		for _, srv := range s.servers {
			_ = srv.Shutdown()
		}
		wg.Wait()
	})
	var (
		pc net.PacketConn
		ln net.Listener
	)
	err = in(t, func() error {
		var err error
		if pc, err = net.ListenPacket("udp", addr); err != nil {
			return err
		}
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("dns server: listening on %s: %v", addr, err)
	}
	for _, srv := range []*dns.Server{
		{PacketConn: pc, Net: "udp", Handler: s},
		{Listener: ln, Net: "tcp", Handler: s},
	} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		errc := make(chan error, 1)
		wg.Go(func() { errc <- srv.ActivateAndServe() })
		select {
		case <-started:
			s.servers = append(s.servers, srv)
		case err := <-errc:
			_ = pc.Close()
			_ = ln.Close()
			t.Fatalf("dns server %s/%s: %v", addr, srv.Net, err)
		}
	}
	return s
}

// parseZone turns DNSServer's records into resource records.
func parseZone(records map[string][]string) (map[string][]dns.RR, error) {
	zone := make(map[string][]dns.RR, len(records))
	for name, recs := range records {
		fqdn := dns.Fqdn(strings.ToLower(name))
		for _, rec := range recs {
			rr, err := dns.NewRR(fmt.Sprintf("%s %d IN %s", fqdn, dnsTTL, rec))
			if err != nil {
				return nil, fmt.Errorf("record %q for %q: %w", rec, name, err)
			}
			if rr == nil {
				return nil, fmt.Errorf("record %q for %q: empty", rec, name)
			}
			zone[fqdn] = append(zone[fqdn], rr)
		}
	}
	return zone, nil
}

// Set replaces the records of name (none removes it), with the same syntax
// as DNSServer's records.
func (s *DNSServer) Set(t testing.TB, name string, recs ...string) {
	t.Helper()
	zone, err := parseZone(map[string][]string{name: recs})
	if err != nil {
		t.Fatalf("dns server %s: %v", s.addr, err)
	}
	fqdn := dns.Fqdn(strings.ToLower(name))
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(recs) == 0 {
		delete(s.zone, fqdn)
		return
	}
	s.zone[fqdn] = zone[fqdn]
}

// ServeDNS answers one query (dns.Handler).
func (s *DNSServer) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	m.RecursionAvailable = true
	netName := "udp"
	if _, ok := w.LocalAddr().(*net.TCPAddr); ok {
		netName = "tcp"
	}
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	s.queries.add(DNSQuery{
		Name:   strings.ToLower(q.Name),
		Type:   dns.TypeToString[q.Qtype],
		Source: addrPortOf(w.RemoteAddr()),
		Net:    netName,
	})
	answer, found := s.answer(strings.ToLower(q.Name), q.Qtype)
	if !found {
		m.Rcode = dns.RcodeNameError
	}
	m.Answer = answer
	if netName == "udp" {
		size := dns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

// answer collects the records of name matching qtype, following CNAMEs
// (at most 8) unless CNAME itself is asked; found is false when name is
// unknown.
func (s *DNSServer) answer(name string, qtype uint16) (rrs []dns.RR, found bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	const maxChain = 8
	for hop := range maxChain {
		set, ok := s.zone[name]
		if !ok {
			return rrs, hop > 0
		}
		next := ""
		for _, rr := range set {
			t := rr.Header().Rrtype
			switch {
			case t == qtype || qtype == dns.TypeANY:
				rrs = append(rrs, dns.Copy(rr))
			case t == dns.TypeCNAME:
				rrs = append(rrs, dns.Copy(rr))
				next = strings.ToLower(rr.(*dns.CNAME).Target)
			}
		}
		if next == "" {
			return rrs, true
		}
		name = next
	}
	return rrs, true
}

// Queries returns the questions received so far, in order.
func (s *DNSServer) Queries() []DNSQuery { return s.queries.all() }

// WaitQueries waits until at least n questions were received and returns
// them; it fails t on timeout.
func (s *DNSServer) WaitQueries(t testing.TB, n int, timeout time.Duration) []DNSQuery {
	t.Helper()
	return waitSeen(t, "dns server "+s.addr, s.queries, n, timeout)
}

// exampleRecords is a small zone for tests: a fresh map on every call.
func exampleRecords() map[string][]string {
	return map[string][]string{
		"www.example.test.":   {"A " + labServerIP, "AAAA " + labServerIP6},
		"alias.example.test.": {"CNAME www.example.test."},
		"other.example.test.": {"A " + labOtherIP},
	}
}
