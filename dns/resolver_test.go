package dns

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// fakeZone is what the fake upstream knows. Names absent here are NXDOMAIN.
var fakeZone = []string{
	"allowed.test. 300 IN A 192.0.2.1",
	"v6.allowed.test. 120 IN AAAA 2001:db8::1",
	"mapped.allowed.test. 120 IN AAAA ::ffff:192.0.2.7",
	"alias.allowed.test. 60 IN CNAME mid.allowed.test.",
	"mid.allowed.test. 60 IN CNAME target.allowed.test.",
	"target.allowed.test. 300 IN A 192.0.2.2",
	"target.allowed.test. 300 IN A 192.0.2.3",
	"leak.allowed.test. 60 IN CNAME evil.denied.test.",
	"evil.denied.test. 60 IN A 192.0.2.66",
	"loop.allowed.test. 60 IN CNAME loop2.allowed.test.",
	"loop2.allowed.test. 60 IN CNAME loop.allowed.test.",
	"extra.allowed.test. 300 IN A 192.0.2.5",
	"slow.allowed.test. 300 IN A 192.0.2.8",
	"failing.allowed.test. 300 IN A 192.0.2.9",
}

// fakeUpstream is a small authoritative-looking server on 127.0.0.1, UDP
// and TCP on one port. Special names:
//   - tc.allowed.test: truncated over UDP, 40 A records over TCP
//   - extra.allowed.test: adds an out-of-chain record and glue
//   - slow.allowed.test: answers after 500ms
//   - failing.allowed.test: SERVFAIL (from upstreams with servfail set)
type fakeUpstream struct {
	addr     netip.AddrPort
	servfail bool
	zone     map[string][]mdns.RR

	mu   sync.Mutex
	seen []string // "udp|tcp name type"
}

func startUpstream(t testing.TB, servfail bool) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{servfail: servfail, zone: map[string][]mdns.RR{}}
	for _, s := range fakeZone {
		rr, err := mdns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		f.zone[rr.Header().Name] = append(f.zone[rr.Header().Name], rr)
	}
	for i := range 40 {
		rr, _ := mdns.NewRR(fmt.Sprintf("tc.allowed.test. 30 IN A 198.51.100.%d", i+1))
		f.zone["tc.allowed.test."] = append(f.zone["tc.allowed.test."], rr)
	}
	pc, l := listenPair(t)
	f.addr = netip.MustParseAddrPort(pc.LocalAddr().String())
	for _, srv := range []*mdns.Server{{PacketConn: pc, Handler: f}, {Listener: l, Handler: f}} {
		go srv.ActivateAndServe()
		t.Cleanup(func() { srv.Shutdown() })
	}
	return f
}

// listenPair listens on UDP and TCP on the same loopback port.
func listenPair(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l
		}
		pc.Close()
	}
	t.Fatal("no free UDP+TCP port pair on 127.0.0.1")
	return nil, nil
}

func (f *fakeUpstream) ServeDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	q := req.Question[0]
	tcp := w.LocalAddr().Network() == "tcp"
	proto := "udp"
	if tcp {
		proto = "tcp"
	}
	f.mu.Lock()
	f.seen = append(f.seen, fmt.Sprintf("%s %s %s", proto, strings.ToLower(q.Name), mdns.TypeToString[q.Qtype]))
	f.mu.Unlock()

	m := new(mdns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if opt := req.IsEdns0(); opt != nil {
		m.SetEdns0(opt.UDPSize(), false)
	}
	name := strings.ToLower(q.Name)
	switch {
	case name == "slow.allowed.test.":
		time.Sleep(500 * time.Millisecond)
	case name == "failing.allowed.test." && f.servfail:
		m.Rcode = mdns.RcodeServerFailure
		w.WriteMsg(m)
		return
	case name == "tc.allowed.test." && !tcp:
		m.Truncated = true
		w.WriteMsg(m)
		return
	}
	if _, ok := f.zone[name]; !ok {
		m.Rcode = mdns.RcodeNameError
		w.WriteMsg(m)
		return
	}
	for cur, n := name, 0; n < 10; n++ {
		rrs := f.zone[cur]
		if len(rrs) > 0 && rrs[0].Header().Rrtype == mdns.TypeCNAME && !slices.Contains(m.Answer, rrs[0]) {
			m.Answer = append(m.Answer, rrs[0])
			cur = rrs[0].(*mdns.CNAME).Target
			continue
		}
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
		break
	}
	if name == "extra.allowed.test." {
		other, _ := mdns.NewRR("other.denied.test. 300 IN A 192.0.2.99")
		glue, _ := mdns.NewRR("glue.denied.test. 300 IN A 192.0.2.98")
		m.Answer = append(m.Answer, other)
		m.Extra = append(m.Extra, glue)
	}
	w.WriteMsg(m)
}

func (f *fakeUpstream) queries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.seen)
}

// testResolver is a Resolver served on 127.0.0.1 (UDP and TCP).
type testResolver struct {
	*Resolver
	udp, tcp string
	logs     *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func mustPatterns(t testing.TB, ps ...string) []Pattern {
	t.Helper()
	c, err := CompilePatterns(ps)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func startResolver(t testing.TB, cfg ResolverConfig) *testResolver {
	t.Helper()
	logs := &syncBuffer{}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if cfg.SandboxName == "" {
		cfg.SandboxName = "box1"
	}
	r := NewResolver(cfg)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	go func() { errs <- r.ServeUDP(pc) }()
	go func() { errs <- r.ServeTCP(l) }()
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		for range 2 {
			select {
			case err := <-errs:
				// ErrClosed: the goroutine only got to Serve after Close,
				// as a quick test allows.
				if err != nil && !errors.Is(err, ErrClosed) {
					t.Errorf("Serve returned %v after Close, want nil", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("Serve did not return after Close")
			}
		}
	})
	return &testResolver{Resolver: r, udp: pc.LocalAddr().String(), tcp: l.Addr().String(), logs: logs}
}

// ask sends one query; edns > 0 adds an EDNS0 OPT with that UDP size.
func (tr *testResolver) ask(t testing.TB, network, name string, qtype uint16, edns uint16) (*mdns.Msg, error) {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), qtype)
	if edns > 0 {
		m.SetEdns0(edns, false)
	}
	c := &mdns.Client{Net: network, Timeout: 3 * time.Second}
	addr := tr.udp
	if network == "tcp" {
		addr = tr.tcp
	}
	resp, _, err := c.Exchange(m, addr)
	if err != nil {
		return nil, err
	}
	if resp.Id != m.Id {
		t.Errorf("answer id %d, want query id %d", resp.Id, m.Id)
	}
	if !resp.RecursionAvailable {
		t.Errorf("answer to %s without RA", name)
	}
	return resp, nil
}

func (tr *testResolver) mustAsk(t testing.TB, network, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	resp, err := tr.ask(t, network, name, qtype, 0)
	if err != nil {
		t.Fatalf("query %s %s over %s: %v", name, mdns.TypeToString[qtype], network, err)
	}
	return resp
}

// answers renders the answer section as "name TYPE data".
func answers(m *mdns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		out = append(out, mdnsFormatRR(rr))
	}
	return out
}

// mdnsFormatRR renders a record as "name TYPE data" with miekg/dns: what
// formatRR must print.
func mdnsFormatRR(rr mdns.RR) string {
	h := rr.Header()
	data := strings.TrimPrefix(rr.String(), h.String())
	return strings.TrimSuffix(h.Name, ".") + " " + mdns.Type(h.Rrtype).String() + " " + data
}

func TestResolverAllowlist(t *testing.T) {
	up := startUpstream(t, false)
	tr := startResolver(t, ResolverConfig{
		Upstreams: []netip.AddrPort{up.addr},
		Allow:     mustPatterns(t, "allowed.test", "*.allowed.test"),
	})
	tests := []struct {
		name    string
		qname   string
		qtype   uint16
		rcode   int
		answers []string
		aa      bool
	}{
		{"exact", "allowed.test", mdns.TypeA, mdns.RcodeSuccess, []string{"allowed.test A 192.0.2.1"}, true},
		{"case", "AlLoWeD.TeSt", mdns.TypeA, mdns.RcodeSuccess, []string{"allowed.test A 192.0.2.1"}, true},
		{"AAAA", "v6.allowed.test", mdns.TypeAAAA, mdns.RcodeSuccess, []string{"v6.allowed.test AAAA 2001:db8::1"}, true},
		{"allowed chain", "alias.allowed.test", mdns.TypeA, mdns.RcodeSuccess, []string{
			"alias.allowed.test CNAME mid.allowed.test.",
			"mid.allowed.test CNAME target.allowed.test.",
			"target.allowed.test A 192.0.2.2",
			"target.allowed.test A 192.0.2.3",
		}, true},
		{"denied name", "evil.denied.test", mdns.TypeA, mdns.RcodeNameError, nil, true},
		{"wildcard is not its base", "test", mdns.TypeA, mdns.RcodeNameError, nil, true},
		{"chain to denied name", "leak.allowed.test", mdns.TypeA, mdns.RcodeNameError, nil, true},
		{"CNAME loop", "loop.allowed.test", mdns.TypeA, mdns.RcodeSuccess, []string{
			"loop.allowed.test CNAME loop2.allowed.test.",
			"loop2.allowed.test CNAME loop.allowed.test.",
		}, true},
		{"upstream NXDOMAIN", "nothing.allowed.test", mdns.TypeA, mdns.RcodeNameError, nil, true},
		{"out-of-chain records dropped", "extra.allowed.test", mdns.TypeA, mdns.RcodeSuccess, []string{"extra.allowed.test A 192.0.2.5"}, true},
	}
	for _, tt := range tests {
		for _, network := range []string{"udp", "tcp"} {
			t.Run(tt.name+"/"+network, func(t *testing.T) {
				resp := tr.mustAsk(t, network, tt.qname, tt.qtype)
				if resp.Rcode != tt.rcode {
					t.Errorf("rcode %s, want %s", mdns.RcodeToString[resp.Rcode], mdns.RcodeToString[tt.rcode])
				}
				if got := answers(resp); !slices.Equal(got, tt.answers) {
					t.Errorf("answers\n got %q\nwant %q", got, tt.answers)
				}
				if resp.Authoritative != tt.aa {
					t.Errorf("AA = %v, want %v", resp.Authoritative, tt.aa)
				}
				if len(resp.Extra) != 0 {
					t.Errorf("additional section %v, want empty", resp.Extra)
				}
			})
		}
	}
	for _, q := range up.queries() {
		if strings.HasSuffix(q, "denied.test. A") || strings.HasSuffix(q, " test. A") {
			t.Errorf("denied name reached the upstream: %q", q)
		}
	}
}

func TestResolverNoAllowlistResolvesAll(t *testing.T) {
	up := startUpstream(t, false)
	tr := startResolver(t, ResolverConfig{Upstreams: []netip.AddrPort{up.addr}})
	resp := tr.mustAsk(t, "udp", "leak.allowed.test", mdns.TypeA)
	want := []string{"leak.allowed.test CNAME evil.denied.test.", "evil.denied.test A 192.0.2.66"}
	if got := answers(resp); resp.Rcode != mdns.RcodeSuccess || !slices.Equal(got, want) {
		t.Errorf("got %s %q, want NOERROR %q", mdns.RcodeToString[resp.Rcode], got, want)
	}
}

func TestResolverRefuses(t *testing.T) {
	up := startUpstream(t, false)
	tr := startResolver(t, ResolverConfig{Upstreams: []netip.AddrPort{up.addr}})
	tests := []struct {
		name  string
		net   string
		build func(m *mdns.Msg)
		rcode int
	}{
		{"AXFR", "tcp", func(m *mdns.Msg) { m.SetQuestion("allowed.test.", mdns.TypeAXFR) }, mdns.RcodeRefused},
		{"IXFR", "tcp", func(m *mdns.Msg) { m.SetQuestion("allowed.test.", mdns.TypeIXFR) }, mdns.RcodeRefused},
		{"CHAOS class", "udp", func(m *mdns.Msg) {
			m.SetQuestion("version.bind.", mdns.TypeTXT)
			m.Question[0].Qclass = mdns.ClassCHAOS
		}, mdns.RcodeRefused},
		{"notify", "udp", func(m *mdns.Msg) { m.SetNotify("allowed.test.") }, mdns.RcodeNotImplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := new(mdns.Msg)
			tt.build(m)
			addr := tr.udp
			if tt.net == "tcp" {
				addr = tr.tcp
			}
			resp, _, err := (&mdns.Client{Net: tt.net, Timeout: 3 * time.Second}).Exchange(m, addr)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Rcode != tt.rcode || resp.Id != m.Id {
				t.Errorf("rcode %s id %d, want %s id %d", mdns.RcodeToString[resp.Rcode], resp.Id, mdns.RcodeToString[tt.rcode], m.Id)
			}
		})
	}
	if qs := up.queries(); len(qs) != 0 {
		t.Errorf("refused queries reached the upstream: %q", qs)
	}
}

func TestResolverTruncationAndEDNS(t *testing.T) {
	up := startUpstream(t, false)
	tr := startResolver(t, ResolverConfig{Upstreams: []netip.AddrPort{up.addr}})

	// Over TCP, or over UDP with a large EDNS0 buffer: all 40 records,
	// fetched from the upstream over TCP after its truncated UDP answer.
	for _, c := range []struct {
		net  string
		edns uint16
	}{{"tcp", 0}, {"udp", 4096}} {
		resp, err := tr.ask(t, c.net, "tc.allowed.test", mdns.TypeA, c.edns)
		if err != nil {
			t.Fatalf("%s edns %d: %v", c.net, c.edns, err)
		}
		if len(resp.Answer) != 40 || resp.Truncated {
			t.Errorf("%s edns %d: %d answers, TC %v; want 40, no TC", c.net, c.edns, len(resp.Answer), resp.Truncated)
		}
		if c.edns > 0 && resp.IsEdns0() == nil {
			t.Errorf("%s: EDNS0 query answered without OPT", c.net)
		}
	}
	// Over UDP without EDNS0: at most 512 bytes, TC set.
	resp, err := tr.ask(t, "udp", "tc.allowed.test", mdns.TypeA, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Truncated || len(resp.Answer) >= 40 {
		t.Errorf("plain UDP: %d answers, TC %v; want fewer than 40 and TC", len(resp.Answer), resp.Truncated)
	}
	resp.Compress = true
	if resp.Len() > mdns.MinMsgSize {
		t.Errorf("plain UDP answer is %d bytes, want at most %d", resp.Len(), mdns.MinMsgSize)
	}
	var udp, tcp int
	for _, q := range up.queries() {
		switch q {
		case "udp tc.allowed.test. A":
			udp++
		case "tcp tc.allowed.test. A":
			tcp++
		}
	}
	if udp != 3 || tcp != 3 {
		t.Errorf("upstream saw %d UDP and %d TCP queries, want 3 and 3 (UDP first, TCP on truncation)", udp, tcp)
	}

	// A small answer keeps EDNS0.
	resp, err = tr.ask(t, "udp", "allowed.test", mdns.TypeA, 1232)
	if err != nil {
		t.Fatal(err)
	}
	if resp.IsEdns0() == nil {
		t.Error("EDNS0 query answered without OPT")
	}
}

func TestResolverOpenBeforeAnswer(t *testing.T) {
	up := startUpstream(t, false)
	release := make(chan struct{})
	opened := make(chan Opened, 16)
	tr := startResolver(t, ResolverConfig{
		Upstreams: []netip.AddrPort{up.addr},
		NameRules: []NameRule{
			{ID: 7, Patterns: mustPatterns(t, "target.allowed.test")},
			{ID: 8, Patterns: mustPatterns(t, "*.allowed.test")},
			{ID: 9, Patterns: mustPatterns(t, "other.test")},
		},
		Open: func(o Opened) error {
			opened <- o
			<-release
			return nil
		},
	})
	got := make(chan *mdns.Msg, 1)
	go func() {
		resp, err := tr.ask(t, "udp", "alias.allowed.test", mdns.TypeA, 0)
		if err != nil {
			t.Error(err)
		}
		got <- resp
	}()
	var first Opened
	select {
	case first = <-opened:
	case <-time.After(3 * time.Second):
		t.Fatal("Open not called")
	}
	select {
	case <-got:
		t.Fatal("answer reached the client before Open returned")
	case <-time.After(150 * time.Millisecond):
	}
	close(release)
	resp := <-got
	if resp == nil || len(resp.Answer) != 4 {
		t.Fatalf("answer %v, want the chain and 2 addresses", resp)
	}
	all := []Opened{first}
	for len(opened) > 0 {
		all = append(all, <-opened)
	}
	want := []Opened{
		{RuleID: 7, Name: "target.allowed.test", Addr: netip.MustParseAddr("192.0.2.2"), TTL: 300 * time.Second},
		{RuleID: 7, Name: "target.allowed.test", Addr: netip.MustParseAddr("192.0.2.3"), TTL: 300 * time.Second},
		{RuleID: 8, Name: "alias.allowed.test", Addr: netip.MustParseAddr("192.0.2.2"), TTL: 300 * time.Second},
		{RuleID: 8, Name: "alias.allowed.test", Addr: netip.MustParseAddr("192.0.2.3"), TTL: 300 * time.Second},
	}
	if !slices.Equal(all, want) {
		t.Errorf("Open calls\n got %v\nwant %v", all, want)
	}
}

func TestResolverOpen(t *testing.T) {
	up := startUpstream(t, false)
	var mu sync.Mutex
	var opened []Opened
	tr := startResolver(t, ResolverConfig{
		Upstreams: []netip.AddrPort{up.addr},
		NameRules: []NameRule{{ID: 1, Patterns: mustPatterns(t, "v6.allowed.test", "mapped.allowed.test", "extra.allowed.test")}},
		Open: func(o Opened) error {
			mu.Lock()
			defer mu.Unlock()
			opened = append(opened, o)
			return nil
		},
	})
	tr.mustAsk(t, "tcp", "v6.allowed.test", mdns.TypeAAAA)
	tr.mustAsk(t, "udp", "mapped.allowed.test", mdns.TypeAAAA)
	tr.mustAsk(t, "udp", "extra.allowed.test", mdns.TypeA)   // out-of-chain 192.0.2.99 not opened
	tr.mustAsk(t, "udp", "allowed.test", mdns.TypeA)         // no rule
	tr.mustAsk(t, "udp", "nothing.allowed.test", mdns.TypeA) // NXDOMAIN: nothing
	want := []Opened{
		{RuleID: 1, Name: "v6.allowed.test", Addr: netip.MustParseAddr("2001:db8::1"), TTL: 120 * time.Second},
		{RuleID: 1, Name: "mapped.allowed.test", Addr: netip.MustParseAddr("192.0.2.7"), TTL: 120 * time.Second},
		{RuleID: 1, Name: "extra.allowed.test", Addr: netip.MustParseAddr("192.0.2.5"), TTL: 300 * time.Second},
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(opened, want) {
		t.Errorf("Open calls\n got %v\nwant %v", opened, want)
	}
}

func TestResolverOpenError(t *testing.T) {
	up := startUpstream(t, false)
	tr := startResolver(t, ResolverConfig{
		Upstreams: []netip.AddrPort{up.addr},
		NameRules: []NameRule{{ID: 1, Patterns: mustPatterns(t, "allowed.test")}},
		Open:      func(Opened) error { return errors.New("iptables exploded") },
	})
	for _, network := range []string{"udp", "tcp"} {
		resp := tr.mustAsk(t, network, "allowed.test", mdns.TypeA)
		if resp.Rcode != mdns.RcodeServerFailure || len(resp.Answer) != 0 {
			t.Errorf("%s: got %s %q, want SERVFAIL without answers", network, mdns.RcodeToString[resp.Rcode], answers(resp))
		}
	}
	qs := tr.Queries()
	if len(qs) != 2 || qs[0].Decision != DecisionError || qs[0].Rcode != "SERVFAIL" {
		t.Errorf("query log %+v, want 2 SERVFAIL errors", qs)
	}
}

func TestResolverQueryLog(t *testing.T) {
	up := startUpstream(t, false)
	tr := startResolver(t, ResolverConfig{
		Upstreams: []netip.AddrPort{up.addr},
		Allow:     mustPatterns(t, "*.allowed.test"),
	})
	before := time.Now()
	tr.mustAsk(t, "udp", "alias.allowed.test", mdns.TypeA)
	tr.mustAsk(t, "tcp", "EVIL.denied.test.", mdns.TypeAAAA)
	tr.mustAsk(t, "udp", "leak.allowed.test", mdns.TypeA)
	got := tr.Queries()
	want := []QueryRecord{
		{Name: "alias.allowed.test", Type: "A", Decision: DecisionAllowed, Rcode: "NOERROR", Answers: []string{
			"alias.allowed.test CNAME mid.allowed.test.",
			"mid.allowed.test CNAME target.allowed.test.",
			"target.allowed.test A 192.0.2.2",
			"target.allowed.test A 192.0.2.3",
		}},
		{Name: "EVIL.denied.test", Type: "AAAA", Decision: DecisionDenied, Rcode: "NXDOMAIN"},
		{Name: "leak.allowed.test", Type: "A", Decision: DecisionDenied, Rcode: "NXDOMAIN"},
	}
	if len(got) != len(want) {
		t.Fatalf("query log %+v, want %d entries", got, len(want))
	}
	for i := range want {
		if got[i].Time.Before(before) || got[i].Time.After(time.Now()) {
			t.Errorf("entry %d: time %v out of range", i, got[i].Time)
		}
		got[i].Time = time.Time{}
		if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) {
			t.Errorf("entry %d\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}

	// The ring keeps the last 100, oldest first.
	for i := range 120 {
		tr.mustAsk(t, "udp", fmt.Sprintf("n%d.denied.test", i), mdns.TypeA)
	}
	got = tr.Queries()
	if len(got) != queryLogSize || got[0].Name != "n20.denied.test" || got[99].Name != "n119.denied.test" {
		t.Errorf("after 123 queries: %d entries, first %q, last %q; want 100, n20, n119", len(got), got[0].Name, got[len(got)-1].Name)
	}
}

func TestResolverLogsDeniedOnce(t *testing.T) {
	up := startUpstream(t, false)
	tr := startResolver(t, ResolverConfig{
		SandboxName: "web-1",
		Upstreams:   []netip.AddrPort{up.addr},
		Allow:       mustPatterns(t, "*.allowed.test"),
	})
	for range 3 {
		tr.mustAsk(t, "udp", "evil.denied.test", mdns.TypeA)
		tr.mustAsk(t, "tcp", "Evil.Denied.Test.", mdns.TypeAAAA)
		tr.mustAsk(t, "udp", "leak.allowed.test", mdns.TypeA)
	}
	tr.mustAsk(t, "udp", "other.denied.test", mdns.TypeA)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(tr.logs.String()), "\n") {
		_, msg, _ := strings.Cut(l, " level=")
		lines = append(lines, msg)
	}
	want := []string{
		`INFO msg="dns: name denied" sandbox=web-1 name=evil.denied.test`,
		`INFO msg="dns: name denied" sandbox=web-1 name=other.denied.test`,
	}
	if !slices.Equal(lines, want) {
		t.Errorf("log\n got %q\nwant %q", lines, want)
	}
}

func TestResolverLogsDeniedCNAMETarget(t *testing.T) {
	up := startUpstream(t, false)
	tr := startResolver(t, ResolverConfig{
		SandboxName: "web-1",
		Upstreams:   []netip.AddrPort{up.addr},
		Allow:       mustPatterns(t, "*.allowed.test"),
	})
	tr.mustAsk(t, "udp", "leak.allowed.test", mdns.TypeA)
	tr.mustAsk(t, "udp", "leak.allowed.test", mdns.TypeA)
	if got, want := tr.logs.String(), `msg="dns: name denied" sandbox=web-1 name=evil.denied.test via=leak.allowed.test`; strings.Count(got, "name denied") != 1 || !strings.Contains(got, want) {
		t.Errorf("log %q, want once %q", got, want)
	}
}

// deadUpstream returns a loopback address where nothing listens.
func deadUpstream(t *testing.T) netip.AddrPort {
	pc, l := listenPair(t)
	a := netip.MustParseAddrPort(pc.LocalAddr().String())
	pc.Close()
	l.Close()
	return a
}

// silentUpstream returns a loopback address that reads queries and never
// answers.
func silentUpstream(t *testing.T) netip.AddrPort {
	pc, l := listenPair(t)
	t.Cleanup(func() { pc.Close(); l.Close() })
	return netip.MustParseAddrPort(pc.LocalAddr().String())
}

func TestResolverUpstreams(t *testing.T) {
	good := startUpstream(t, false)
	failing := startUpstream(t, true)
	dead := deadUpstream(t)
	silent := silentUpstream(t)
	tests := []struct {
		name      string
		upstreams []netip.AddrPort
		qname     string
		rcode     int
		answers   int
		max       time.Duration
	}{
		{"first dead", []netip.AddrPort{dead, good.addr}, "allowed.test", mdns.RcodeSuccess, 1, time.Second},
		{"first silent", []netip.AddrPort{silent, good.addr}, "allowed.test", mdns.RcodeSuccess, 1, time.Second},
		{"first SERVFAIL", []netip.AddrPort{failing.addr, good.addr}, "failing.allowed.test", mdns.RcodeSuccess, 1, time.Second},
		{"only SERVFAIL", []netip.AddrPort{failing.addr}, "failing.allowed.test", mdns.RcodeServerFailure, 0, time.Second},
		{"all dead", []netip.AddrPort{dead, silent}, "allowed.test", mdns.RcodeServerFailure, 0, time.Second},
		{"slow upstream times out", []netip.AddrPort{good.addr}, "slow.allowed.test", mdns.RcodeServerFailure, 0, time.Second},
		{"none", nil, "allowed.test", mdns.RcodeServerFailure, 0, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := startResolver(t, ResolverConfig{Upstreams: tt.upstreams, Timeout: 200 * time.Millisecond})
			for _, network := range []string{"udp", "tcp"} {
				start := time.Now()
				resp := tr.mustAsk(t, network, tt.qname, mdns.TypeA)
				if d := time.Since(start); d > tt.max {
					t.Errorf("%s: answered after %v, want under %v", network, d, tt.max)
				}
				if resp.Rcode != tt.rcode || len(resp.Answer) != tt.answers {
					t.Errorf("%s: got %s with %d answers, want %s with %d", network, mdns.RcodeToString[resp.Rcode], len(resp.Answer), mdns.RcodeToString[tt.rcode], tt.answers)
				}
			}
		})
	}
}

func TestResolverClose(t *testing.T) {
	up := startUpstream(t, false)
	r := NewResolver(ResolverConfig{Upstreams: []netip.AddrPort{up.addr}})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.ServeUDP(pc) }()
	c := &mdns.Client{Net: "udp", Timeout: 2 * time.Second}
	m := new(mdns.Msg).SetQuestion("allowed.test.", mdns.TypeA)
	if _, _, err := c.Exchange(m, pc.LocalAddr().String()); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("ServeUDP after Close = %v, want nil", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ServeTCP(l); !errors.Is(err, ErrClosed) {
		t.Errorf("ServeTCP after Close = %v, want ErrClosed", err)
	}
	if _, err := l.Accept(); err == nil {
		t.Error("listener still open after ServeTCP on a closed resolver")
	}

	// Closing the socket instead ends ServeUDP too, without error.
	r2 := NewResolver(ResolverConfig{})
	defer r2.Close()
	pc2, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { done <- r2.ServeUDP(pc2) }()
	time.Sleep(50 * time.Millisecond)
	pc2.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeUDP after closing its socket = %v, want nil", err)
		}
	case <-time.After(3 * time.Second):
		t.Error("ServeUDP did not return after its socket was closed")
	}
}

func TestResolverCloseAbortsUpstream(t *testing.T) {
	silent := silentUpstream(t)
	r := NewResolver(ResolverConfig{Upstreams: []netip.AddrPort{silent}, Timeout: 10 * time.Second})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go r.ServeUDP(pc)
	go (&mdns.Client{Timeout: 5 * time.Second}).Exchange(new(mdns.Msg).SetQuestion("a.test.", mdns.TypeA), pc.LocalAddr().String())
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	r.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v with a query waiting on a silent upstream", d)
	}
}

func BenchmarkResolverAllowedQuery(b *testing.B) {
	up := startUpstream(b, false)
	tr := startResolver(b, ResolverConfig{
		Upstreams: []netip.AddrPort{up.addr},
		Allow:     mustPatterns(b, "*.allowed.test", "example.com", "*.github.com"),
		NameRules: []NameRule{{ID: 1, Patterns: mustPatterns(b, "target.allowed.test")}},
		Open:      func(Opened) error { return nil },
	})
	conn, err := net.Dial("udp", tr.udp)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	co := &mdns.Conn{Conn: conn}
	m := new(mdns.Msg).SetQuestion("alias.allowed.test.", mdns.TypeA)
	b.ReportAllocs()
	for b.Loop() {
		m.Id = mdns.Id()
		if err := co.WriteMsg(m); err != nil {
			b.Fatal(err)
		}
		resp, err := co.ReadMsg()
		if err != nil {
			b.Fatal(err)
		}
		if len(resp.Answer) != 4 {
			b.Fatalf("answer %v", resp)
		}
	}
}
