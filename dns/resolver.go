package dns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
)

// Sentinel errors of the resolver.
var (
	// ErrClosed is returned by ServeUDP and ServeTCP on a closed Resolver.
	ErrClosed = errors.New("dns resolver closed")
	// ErrNoUpstream means that no upstream resolver gave a usable answer.
	ErrNoUpstream = errors.New("no upstream resolver answered")
)

// Defaults of ResolverConfig.
const (
	DefaultTimeout     = 2 * time.Second
	DefaultMaxInFlight = 256
)

// maxChain bounds the CNAME chain the resolver follows in one answer.
const maxChain = 16

// deniedMemory bounds how many denied names are remembered for logging once.
const deniedMemory = 4096

// NameRule is a firewall rule whose destinations are names. ID is opaque
// to the resolver and handed back in Opened.
type NameRule struct {
	ID       int
	Patterns []Pattern
}

// Opened is an address that the resolver is about to hand to the sandbox
// for a name that matches a NameRule.
type Opened struct {
	RuleID int
	// Name is the name that matched the rule: the question or a CNAME
	// target along the chain, lower case, without the trailing dot.
	Name string
	// Addr is the address of an A or AAAA record (IPv4-mapped IPv6
	// addresses are unmapped: a connection to them leaves as IPv4).
	Addr netip.Addr
	TTL  time.Duration // the record's TTL
}

// ResolverConfig configures a Resolver.
type ResolverConfig struct {
	SandboxName string
	// Upstreams are tried in order. The resolver dials them from ordinary
	// (unlocked) goroutines, that is in the launcher's own network
	// namespace, whatever namespace the served sockets were opened in; so
	// loopback stubs such as 127.0.0.53:53 work.
	Upstreams []netip.AddrPort
	// Allow lists the names that resolve; empty means every name.
	Allow     []Pattern
	NameRules []NameRule
	// Open is called for every A/AAAA address in an answer whose question
	// or CNAME chain matches a NameRule, once per address and rule and
	// answer, before the answer is written to the client. An error turns
	// the answer into SERVFAIL. Open may be called concurrently.
	Open func(o Opened) error
	// Log receives denied names (once per name, at Info) and upstream
	// failures (at Debug). Nil discards.
	Log *slog.Logger
	// Timeout bounds each attempt at one upstream (default 2s).
	Timeout time.Duration
	// MaxInFlight bounds the queries forwarded at once; beyond it, queries
	// get SERVFAIL at once (default 256).
	MaxInFlight int
}

// Resolver is a sandbox's forwarding resolver: it enforces the DNS
// allowlist and tells the firewall which addresses it hands out for names
// in firewall rules. Serve it on any number of sockets; Close stops them.
type Resolver struct {
	cfg      ResolverConfig
	udp, tcp mdns.Client
	sem      chan struct{}
	queries  queryLog
	denied   onceSet
	ctx      context.Context // cancelled by Close: aborts upstream queries
	cancel   context.CancelFunc

	mu       sync.RWMutex
	closed   bool
	inflight sync.WaitGroup // handlers running; Add only under mu.RLock while !closed
	servers  map[*mdns.Server]io.Closer
}

// NewResolver returns a resolver; it serves nothing until ServeUDP or
// ServeTCP is called.
func NewResolver(cfg ResolverConfig) *Resolver {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Resolver{
		cfg:     cfg,
		udp:     mdns.Client{Net: "udp", Timeout: cfg.Timeout},
		tcp:     mdns.Client{Net: "tcp", Timeout: cfg.Timeout},
		sem:     make(chan struct{}, cfg.MaxInFlight),
		denied:  onceSet{max: deniedMemory},
		ctx:     ctx,
		cancel:  cancel,
		servers: map[*mdns.Server]io.Closer{},
	}
}

// ServeUDP answers queries arriving on pc until pc or the resolver is
// closed; it closes pc on return. A closed pc is a normal end (nil).
func (r *Resolver) ServeUDP(pc net.PacketConn) error {
	srv := &mdns.Server{PacketConn: pc, Net: "udp", Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, m *mdns.Msg) {
		r.serve(w, m, false)
	})}
	return r.run(srv, pc, "udp", pc.LocalAddr())
}

// ServeTCP answers queries arriving on l until l or the resolver is
// closed; it closes l on return. A closed l is a normal end (nil).
func (r *Resolver) ServeTCP(l net.Listener) error {
	srv := &mdns.Server{Listener: l, Net: "tcp", Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, m *mdns.Msg) {
		r.serve(w, m, true)
	})}
	return r.run(srv, l, "tcp", l.Addr())
}

func (r *Resolver) run(srv *mdns.Server, c io.Closer, network string, addr net.Addr) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		c.Close()
		return ErrClosed
	}
	r.servers[srv] = c
	r.mu.Unlock()

	err := srv.ActivateAndServe()

	r.mu.Lock()
	delete(r.servers, srv)
	closed := r.closed
	r.mu.Unlock()
	c.Close()
	if err == nil || closed || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return fmt.Errorf("serving dns for sandbox %q on %s %s: %w", r.cfg.SandboxName, network, addr, err)
}

// Close stops every ServeUDP and ServeTCP, aborts upstream queries and
// waits for running handlers, so that Open is not called once Close has
// returned (provided Open itself returns). Close is idempotent.
func (r *Resolver) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	servers := make(map[*mdns.Server]io.Closer, len(r.servers))
	for s, c := range r.servers {
		servers[s] = c
	}
	r.mu.Unlock()

	r.cancel()
	for s, c := range servers {
		// Shutdown fails on a server that has not started yet; closing
		// its socket makes ActivateAndServe return as soon as it does.
		if err := s.Shutdown(); err != nil {
			c.Close()
		}
	}
	r.inflight.Wait()
	return nil
}

// Queries returns the recent queries (at most 100), oldest first.
func (r *Resolver) Queries() []QueryRecord { return r.queries.records() }

// serve answers one query.
func (r *Resolver) serve(w mdns.ResponseWriter, req *mdns.Msg, tcp bool) {
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return
	}
	r.inflight.Add(1)
	r.mu.RUnlock()
	defer r.inflight.Done()

	start := time.Now()
	resp, decision := r.answer(req)
	resp.Id = req.Id
	resp.RecursionAvailable = true
	e := queryEntry{time: start, decision: decision, rcode: resp.Rcode, answer: resp.Answer}
	if len(req.Question) > 0 {
		e.name, e.qtype = req.Question[0].Name, req.Question[0].Qtype
	}
	r.queries.add(e)
	if !tcp {
		resp.Truncate(udpSize(req))
	}
	if err := w.WriteMsg(resp); err != nil {
		r.cfg.Log.Debug("dns: writing answer", "sandbox", r.cfg.SandboxName, "name", e.name, "err", err)
	}
}

// udpSize is the largest UDP answer the client accepts.
func udpSize(req *mdns.Msg) int {
	if opt := req.IsEdns0(); opt != nil && int(opt.UDPSize()) > mdns.MinMsgSize {
		return int(opt.UDPSize())
	}
	return mdns.MinMsgSize
}

// answer decides and builds the reply to req.
func (r *Resolver) answer(req *mdns.Msg) (*mdns.Msg, string) {
	if len(req.Question) != 1 {
		return reply(req, mdns.RcodeFormatError), DecisionError
	}
	if req.Opcode != mdns.OpcodeQuery {
		return reply(req, mdns.RcodeNotImplemented), DecisionError
	}
	q := req.Question[0]
	if q.Qclass != mdns.ClassINET || q.Qtype == mdns.TypeAXFR || q.Qtype == mdns.TypeIXFR {
		return reply(req, mdns.RcodeRefused), DecisionDenied
	}
	if len(r.cfg.Allow) > 0 && !MatchAny(r.cfg.Allow, q.Name) {
		r.logDenied(q.Name, "")
		return nxdomain(req), DecisionDenied
	}

	select {
	case r.sem <- struct{}{}:
		defer func() { <-r.sem }()
	default:
		r.cfg.Log.Debug("dns: too many queries in flight", "sandbox", r.cfg.SandboxName, "name", q.Name)
		return reply(req, mdns.RcodeServerFailure), DecisionError
	}
	resp, err := r.forward(req)
	if err != nil {
		r.cfg.Log.Debug("dns: forwarding", "sandbox", r.cfg.SandboxName, "name", q.Name, "err", err)
		return reply(req, mdns.RcodeServerFailure), DecisionError
	}

	var buf [maxChain]string
	chain := followChain(q.Name, resp.Answer, buf[:0])
	resp.Answer = keepOwnedBy(chain, resp.Answer)
	resp.Extra = keepOPT(resp.Extra)
	if len(r.cfg.Allow) > 0 {
		for _, name := range chain[1:] {
			if !MatchAny(r.cfg.Allow, name) {
				r.logDenied(name, q.Name)
				return nxdomain(req), DecisionDenied
			}
		}
	}
	if err := r.open(chain, resp.Answer); err != nil {
		r.cfg.Log.Warn("dns: opening firewall for answer", "sandbox", r.cfg.SandboxName, "name", q.Name, "err", err)
		return reply(req, mdns.RcodeServerFailure), DecisionError
	}
	return resp, DecisionAllowed
}

// forward sends req to the upstreams in order: UDP, then TCP if the answer
// is truncated. An upstream that answers SERVFAIL, REFUSED or NOTIMP is
// passed over, like a stub resolver does, but its answer is kept in case
// no other does better. req's ID is replaced while it is forwarded (with a
// fresh random one per attempt, not the client's) and restored.
func (r *Resolver) forward(req *mdns.Msg) (*mdns.Msg, error) {
	if len(r.cfg.Upstreams) == 0 {
		return nil, fmt.Errorf("%w: none configured", ErrNoUpstream)
	}
	id := req.Id
	defer func() { req.Id = id }()
	var fallback *mdns.Msg
	var errs []error
	for _, up := range r.cfg.Upstreams {
		addr := up.String()
		resp, err := r.exchange(&r.udp, req, addr)
		if resp != nil && resp.Truncated {
			if err == nil {
				fallback = resp
			}
			resp, err = r.exchange(&r.tcp, req, addr)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("upstream %s: %w", addr, err))
			if r.ctx.Err() != nil {
				break
			}
			continue
		}
		switch resp.Rcode {
		case mdns.RcodeServerFailure, mdns.RcodeRefused, mdns.RcodeNotImplemented:
			errs = append(errs, fmt.Errorf("upstream %s: rcode %s", addr, mdns.RcodeToString[resp.Rcode]))
			fallback = resp
			continue
		}
		return resp, nil
	}
	if fallback != nil {
		return fallback, nil
	}
	return nil, fmt.Errorf("%w: %w", ErrNoUpstream, errors.Join(errs...))
}

func (r *Resolver) exchange(c *mdns.Client, req *mdns.Msg, addr string) (*mdns.Msg, error) {
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.Timeout)
	defer cancel()
	co, err := c.DialContext(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer co.Close()
	// The client takes only the context's deadline; Close cancels r.ctx,
	// and this turns the cancellation into an expired deadline so that a
	// read waiting on a silent upstream returns at once.
	stop := context.AfterFunc(ctx, func() { co.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	req.Id = mdns.Id()
	resp, _, err := c.ExchangeWithConnContext(ctx, req, co)
	return resp, err
}

// followChain returns the question name followed by the CNAME targets
// found in answer, in chain order, appended to buf.
func followChain(qname string, answer []mdns.RR, buf []string) []string {
	chain := append(buf, qname)
	for len(chain) < maxChain {
		next := ""
		for _, rr := range answer {
			if c, ok := rr.(*mdns.CNAME); ok && sameName(c.Hdr.Name, chain[len(chain)-1]) {
				next = c.Target
				break
			}
		}
		if next == "" || inChain(chain, next) {
			break
		}
		chain = append(chain, next)
	}
	return chain
}

func inChain(chain []string, name string) bool {
	for _, n := range chain {
		if sameName(n, name) {
			return true
		}
	}
	return false
}

// keepOwnedBy drops, in place, the records whose owner is not on the
// chain: the client then sees only names that were checked.
func keepOwnedBy(chain []string, rrs []mdns.RR) []mdns.RR {
	kept := rrs[:0]
	for _, rr := range rrs {
		if inChain(chain, rr.Header().Name) {
			kept = append(kept, rr)
		}
	}
	clear(rrs[len(kept):])
	return kept
}

// keepOPT drops, in place, the additional records except the EDNS0 OPT
// record: glue and other extras could carry addresses of unchecked names.
func keepOPT(rrs []mdns.RR) []mdns.RR {
	kept := rrs[:0]
	for _, rr := range rrs {
		if rr.Header().Rrtype == mdns.TypeOPT {
			kept = append(kept, rr)
		}
	}
	clear(rrs[len(kept):])
	return kept
}

// open calls Open for each address in answer and each rule that a name of
// the chain matches, once per address and rule.
func (r *Resolver) open(chain []string, answer []mdns.RR) error {
	if r.cfg.Open == nil {
		return nil
	}
	for _, rule := range r.cfg.NameRules {
		matched := ""
		for _, name := range chain {
			if MatchAny(rule.Patterns, name) {
				matched = strings.ToLower(strings.TrimSuffix(name, "."))
				break
			}
		}
		if matched == "" {
			continue
		}
		for i, rr := range answer {
			a, ttl, ok := address(rr)
			if !ok || seenAddr(answer[:i], a) {
				continue
			}
			o := Opened{RuleID: rule.ID, Name: matched, Addr: a, TTL: ttl}
			if err := r.cfg.Open(o); err != nil {
				return fmt.Errorf("opening %s for %q (rule %d): %w", a, matched, rule.ID, err)
			}
		}
	}
	return nil
}

// address returns the address of an A or AAAA record.
func address(rr mdns.RR) (netip.Addr, time.Duration, bool) {
	var ip net.IP
	switch rr := rr.(type) {
	case *mdns.A:
		ip = rr.A
	case *mdns.AAAA:
		ip = rr.AAAA
	default:
		return netip.Addr{}, 0, false
	}
	a, ok := netip.AddrFromSlice(ip)
	return a.Unmap(), time.Duration(rr.Header().Ttl) * time.Second, ok
}

func seenAddr(rrs []mdns.RR, a netip.Addr) bool {
	for _, rr := range rrs {
		if b, _, ok := address(rr); ok && b == a {
			return true
		}
	}
	return false
}

func (r *Resolver) logDenied(name, via string) {
	key := strings.ToLower(strings.TrimSuffix(name, "."))
	if !r.denied.first(key) {
		return
	}
	attrs := []any{"sandbox", r.cfg.SandboxName, "name", key}
	if via != "" {
		attrs = append(attrs, "via", strings.TrimSuffix(via, "."))
	}
	r.cfg.Log.Info("dns: name denied", attrs...)
}

// reply builds an answer of our own with rcode, keeping the question and
// answering EDNS0 with EDNS0.
func reply(req *mdns.Msg, rcode int) *mdns.Msg {
	m := new(mdns.Msg)
	m.SetRcode(req, rcode)
	if opt := req.IsEdns0(); opt != nil {
		m.SetEdns0(mdns.DefaultMsgSize, opt.Do())
	}
	return m
}

// nxdomain is the answer to a denied name. It looks authoritative (AA set),
// as if the name did not exist, and carries no records at all.
func nxdomain(req *mdns.Msg) *mdns.Msg {
	m := reply(req, mdns.RcodeNameError)
	m.Authoritative = true
	return m
}
