package dns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Sentinel errors of the resolver.
var (
	// ErrClosed is returned by ServeUDP and ServeTCP on a closed Resolver.
	ErrClosed = errors.New("dns resolver closed")
	// ErrNoUpstream means that no upstream resolver gave a usable answer.
	ErrNoUpstream = errors.New("no upstream resolver answered")
	// ErrUpstreamRate means that the sandbox asked upstreams more often
	// than UpstreamRate allows.
	ErrUpstreamRate = errors.New("upstream query rate exceeded")
)

// Defaults of ResolverConfig.
const (
	DefaultTimeout     = 2 * time.Second
	DefaultMaxInFlight = 256
	// DefaultUpstreamRate queries a second, with a burst of twice as
	// many: each query to an upstream is a connection-tracking entry of
	// the host's for 30 s (UDP), so a sandbox holds at most a few
	// thousand there through its resolver.
	DefaultUpstreamRate = 100
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
	// UpstreamRate bounds the queries sent to upstreams, each attempt
	// (UDP, TCP, the next upstream) counting: so many a second, with a
	// burst of twice as many (default DefaultUpstreamRate). Beyond it,
	// queries get SERVFAIL at once. The upstreams are asked from the
	// host's namespace, where the sandbox's own connection limit does not
	// count them.
	UpstreamRate int
}

// Resolver is a sandbox's forwarding resolver: it enforces the DNS
// allowlist and tells the firewall which addresses it hands out for names
// in firewall rules. Serve it on any number of sockets; Close stops them.
type Resolver struct {
	cfg     ResolverConfig
	sem     chan struct{}
	rate    *bucket // upstream queries
	queries queryLog
	denied  onceSet
	ctx     context.Context // cancelled by Close: aborts upstream queries
	cancel  context.CancelFunc

	mu      sync.Mutex
	closed  bool
	sockets map[io.Closer]struct{} // served by ServeUDP and ServeTCP
	// serving counts the running ServeUDP and ServeTCP, each of which
	// waits for its own goroutines before it returns. Add only under mu
	// while !closed.
	serving sync.WaitGroup
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
	if cfg.UpstreamRate <= 0 {
		cfg.UpstreamRate = DefaultUpstreamRate
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Resolver{
		cfg:     cfg,
		sem:     make(chan struct{}, cfg.MaxInFlight),
		rate:    newBucket(float64(cfg.UpstreamRate), float64(2*cfg.UpstreamRate), time.Now),
		denied:  onceSet{max: deniedMemory},
		ctx:     ctx,
		cancel:  cancel,
		sockets: map[io.Closer]struct{}{},
	}
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
	sockets := make([]io.Closer, 0, len(r.sockets))
	for c := range r.sockets {
		sockets = append(sockets, c)
	}
	r.mu.Unlock()

	r.cancel()
	for _, c := range sockets {
		// Ends the serving loop, which then closes its TCP connections
		// and waits for its handlers.
		c.Close()
	}
	r.serving.Wait()
	return nil
}

func (r *Resolver) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Queries returns the recent queries (at most 100), oldest first.
func (r *Resolver) Queries() []QueryRecord { return r.queries.records() }

// handle answers one message from a client through send, which writes
// to the client; it returns send's error. A message that is not a query
// gets no answer, one that is not a well-formed query gets FORMERR or
// NOTIMP (and stays out of the query log), like common servers do.
func (r *Resolver) handle(msg []byte, tcp bool, send func([]byte) error) error {
	req, rejected := parseQuery(msg)
	if req == nil {
		if rejected == nil {
			return nil
		}
		b, err := pack(rejected, maxMsgSize)
		if err != nil {
			return nil
		}
		return send(b)
	}
	if r.isClosed() {
		return nil
	}

	start := time.Now()
	resp, decision := r.answer(req)
	resp.Header.ID = req.header.ID
	resp.Header.RecursionAvailable = true
	limit := maxMsgSize
	if !tcp {
		limit = udpSize(req)
	}
	// Packing writes the records' length fields: the query log gets them
	// only afterwards, as Queries may read them at any time.
	b, err := pack(resp, limit)
	r.queries.add(queryEntry{
		time: start, name: req.name, qtype: req.question.Type,
		decision: decision, rcode: rcode(resp), answer: resp.Answers,
	})
	if err != nil {
		r.cfg.Log.Debug("dns: packing answer", "sandbox", r.cfg.SandboxName, "name", req.name, "err", err)
		return nil
	}
	if err := send(b); err != nil {
		r.cfg.Log.Debug("dns: writing answer", "sandbox", r.cfg.SandboxName, "name", req.name, "err", err)
		return err
	}
	return nil
}

// answer decides and builds the reply to req.
func (r *Resolver) answer(req *query) (*dnsmessage.Message, string) {
	if req.header.OpCode != opcodeQuery {
		return reply(req, dnsmessage.RCodeNotImplemented), DecisionError
	}
	q := req.question
	if q.Class != dnsmessage.ClassINET || q.Type == dnsmessage.TypeAXFR || q.Type == typeIXFR {
		return reply(req, dnsmessage.RCodeRefused), DecisionDenied
	}
	if len(r.cfg.Allow) > 0 && !MatchAny(r.cfg.Allow, req.name) {
		r.logDenied(req.name, "")
		return nxdomain(req), DecisionDenied
	}

	select {
	case r.sem <- struct{}{}:
		defer func() { <-r.sem }()
	default:
		r.cfg.Log.Debug("dns: too many queries in flight", "sandbox", r.cfg.SandboxName, "name", req.name)
		return reply(req, dnsmessage.RCodeServerFailure), DecisionError
	}
	resp, err := r.forward(req)
	if err != nil {
		r.cfg.Log.Debug("dns: forwarding", "sandbox", r.cfg.SandboxName, "name", req.name, "err", err)
		return reply(req, dnsmessage.RCodeServerFailure), DecisionError
	}

	var buf [maxChain]string
	chain := followChain(req.name, resp.Answers, buf[:0])
	resp.Answers = keepOwnedBy(chain, resp.Answers)
	resp.Additionals = keepOPT(resp.Additionals)
	if len(r.cfg.Allow) > 0 {
		for _, name := range chain[1:] {
			if !MatchAny(r.cfg.Allow, name) {
				r.logDenied(name, req.name)
				return nxdomain(req), DecisionDenied
			}
		}
	}
	if err := r.open(chain, resp.Answers); err != nil {
		r.cfg.Log.Warn("dns: opening firewall for answer", "sandbox", r.cfg.SandboxName, "name", req.name, "err", err)
		return reply(req, dnsmessage.RCodeServerFailure), DecisionError
	}
	return resp, DecisionAllowed
}

// forward sends req to the upstreams in order: UDP, then TCP if the answer
// is truncated. An upstream that answers SERVFAIL, REFUSED or NOTIMP is
// passed over, like a stub resolver does, but its answer is kept in case
// no other does better. The query goes out as the client sent it, but for
// its ID: a fresh random one per attempt, not the client's.
func (r *Resolver) forward(req *query) (*dnsmessage.Message, error) {
	if len(r.cfg.Upstreams) == 0 {
		return nil, fmt.Errorf("%w: none configured", ErrNoUpstream)
	}
	msg := bytes.Clone(req.raw)
	size := udpSize(req)
	var fallback *dnsmessage.Message
	var errs []error
	for _, up := range r.cfg.Upstreams {
		if !r.rate.take() {
			errs = append(errs, ErrUpstreamRate)
			break
		}
		resp, err := exchange(r.ctx, "udp", up, msg, size, r.cfg.Timeout)
		if resp != nil && resp.Header.Truncated {
			if err == nil {
				fallback = resp
			}
			if !r.rate.take() {
				errs = append(errs, ErrUpstreamRate)
				break
			}
			resp, err = exchange(r.ctx, "tcp", up, msg, size, r.cfg.Timeout)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("upstream %s: %w", up, err))
			if r.ctx.Err() != nil {
				break
			}
			continue
		}
		switch rc := rcode(resp); rc {
		case int(dnsmessage.RCodeServerFailure), int(dnsmessage.RCodeRefused), int(dnsmessage.RCodeNotImplemented):
			errs = append(errs, fmt.Errorf("upstream %s: rcode %s", up, rcodeName(rc)))
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

// followChain returns the question name followed by the CNAME targets
// found in answer, in chain order, appended to buf.
func followChain(qname string, answer []dnsmessage.Resource, buf []string) []string {
	chain := append(buf, qname)
	for len(chain) < maxChain {
		next := ""
		for _, rr := range answer {
			if c, ok := rr.Body.(*dnsmessage.CNAMEResource); ok && sameName(nameText(rr.Header.Name), chain[len(chain)-1]) {
				next = nameText(c.CNAME)
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
func keepOwnedBy(chain []string, rrs []dnsmessage.Resource) []dnsmessage.Resource {
	kept := rrs[:0]
	for _, rr := range rrs {
		if inChain(chain, nameText(rr.Header.Name)) {
			kept = append(kept, rr)
		}
	}
	clear(rrs[len(kept):])
	return kept
}

// keepOPT drops, in place, the additional records except the EDNS0 OPT
// record: glue and other extras could carry addresses of unchecked names.
func keepOPT(rrs []dnsmessage.Resource) []dnsmessage.Resource {
	kept := rrs[:0]
	for _, rr := range rrs {
		if rr.Header.Type == dnsmessage.TypeOPT {
			kept = append(kept, rr)
		}
	}
	clear(rrs[len(kept):])
	return kept
}

// open calls Open for each address in answer and each rule that a name of
// the chain matches, once per address and rule.
func (r *Resolver) open(chain []string, answer []dnsmessage.Resource) error {
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
func address(rr dnsmessage.Resource) (netip.Addr, time.Duration, bool) {
	var a netip.Addr
	switch b := rr.Body.(type) {
	case *dnsmessage.AResource:
		a = netip.AddrFrom4(b.A)
	case *dnsmessage.AAAAResource:
		a = netip.AddrFrom16(b.AAAA)
	default:
		return netip.Addr{}, 0, false
	}
	return a.Unmap(), time.Duration(rr.Header.TTL) * time.Second, true
}

func seenAddr(rrs []dnsmessage.Resource, a netip.Addr) bool {
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
