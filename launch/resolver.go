package launch

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nsjail-net/nsjail-net/dns"
	"github.com/nsjail-net/nsjail-net/nat"
	"github.com/nsjail-net/nsjail-net/policy"
)

// NameGrace is how long an address opened for a name stays open beyond the
// record's TTL. Closing it never cuts a live connection: established
// traffic is accepted before any rule.
const NameGrace = 60 * time.Second

// QueryLogFile, in the sandbox's state directory, holds its resolver's
// recent queries for inspect.
const QueryLogFile = "dns.json"

// sandboxResolver is a sandbox's own DNS resolver: sockets inside the
// sandbox's namespace on 127.0.0.53, upstream queries from the launcher's.
type sandboxResolver struct {
	res  *dns.Resolver
	fw   *nameFirewall
	stop chan struct{}
	wg   sync.WaitGroup
}

// startResolver opens the resolver's sockets in the sandbox's namespace
// (lo must be up) and serves them until close.
func startResolver(ns netns.NsHandle, p *policy.Profile, name string, upstreams []netip.AddrPort, logPath string, log *slog.Logger) (*sandboxResolver, error) {
	allow, err := dns.CompilePatterns(p.DNS.Allow)
	if err != nil {
		return nil, fmt.Errorf("dns.allow: %w", err)
	}
	var rules []dns.NameRule
	for i, r := range p.Firewall.Rules {
		if len(r.ToNames) == 0 {
			continue
		}
		pats, err := dns.CompilePatterns(r.ToNames)
		if err != nil {
			return nil, fmt.Errorf("firewall rule %d: %w", i+1, err)
		}
		rules = append(rules, dns.NameRule{ID: i, Patterns: pats})
	}
	fd, err := unix.Dup(int(ns))
	if err != nil {
		return nil, fmt.Errorf("dup netns handle: %w", err)
	}
	fw := &nameFirewall{ns: netns.NsHandle(fd), p: p, expiry: map[nameKey]time.Time{}, log: log}
	var (
		pc net.PacketConn
		ln net.Listener
	)
	addr := dns.ResolverAddr.String()
	err = nat.InNetns(fw.ns, func() error {
		var err error
		if pc, err = net.ListenPacket("udp4", addr); err != nil {
			return err
		}
		if ln, err = net.Listen("tcp4", addr); err != nil {
			pc.Close()
		}
		return err
	})
	if err != nil {
		fw.ns.Close()
		return nil, fmt.Errorf("resolver sockets on %s in the sandbox: %w", addr, err)
	}
	s := &sandboxResolver{fw: fw, stop: make(chan struct{})}
	s.res = dns.NewResolver(dns.ResolverConfig{
		SandboxName: name, Upstreams: upstreams, Allow: allow, NameRules: rules,
		Open: fw.open, Log: log,
	})
	s.wg.Add(3)
	go func() { defer s.wg.Done(); _ = s.res.ServeUDP(pc) }()
	go func() { defer s.wg.Done(); _ = s.res.ServeTCP(ln) }()
	go func() { defer s.wg.Done(); s.housekeeping(logPath) }()
	return s, nil
}

// housekeeping closes expired names and publishes the query log.
func (s *sandboxResolver) housekeeping(logPath string) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var newest time.Time
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.fw.expire(now)
			qs := s.res.Queries()
			if len(qs) == 0 || !qs[len(qs)-1].Time.After(newest) {
				continue
			}
			newest = qs[len(qs)-1].Time
			writeJSONAtomic(logPath, qs)
		}
	}
}

func (s *sandboxResolver) close() error {
	close(s.stop)
	err := s.res.Close()
	s.wg.Wait()
	return errors.Join(err, s.fw.ns.Close())
}

func writeJSONAtomic(path string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	tmp := path + ".tmp"
	if os.WriteFile(tmp, b, 0o644) == nil {
		_ = os.Rename(tmp, path)
	}
}

// nameFirewall opens, in the sandbox's own firewall, the addresses its
// resolver hands out for names in rules: each in the rule's chain, until
// the record's TTL plus NameGrace passes without the name being resolved
// again. Only this sandbox's resolver opens anything for this sandbox.
type nameFirewall struct {
	ns     netns.NsHandle
	p      *policy.Profile
	log    *slog.Logger
	mu     sync.Mutex
	expiry map[nameKey]time.Time
}

type nameKey struct {
	rule int
	addr netip.Addr
}

// open is the resolver's Open hook: it returns once the rule is in force.
func (f *nameFirewall) open(o dns.Opened) error {
	if o.Addr.Is6() && !f.p.Network.IPv6 {
		return nil // no IPv6 in this sandbox: nothing to open
	}
	k := nameKey{o.RuleID, o.Addr}
	until := time.Now().Add(o.TTL + NameGrace)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.expiry[k]; ok {
		if until.After(f.expiry[k]) {
			f.expiry[k] = until
		}
		return nil
	}
	lines := policy.NameRuleLines(f.p, o.RuleID, o.Addr)
	if err := nat.RestoreInNetns(f.ns, o.Addr.Is6(), restoreText(lines)); err != nil {
		return fmt.Errorf("opening %s for %s: %w", o.Addr, o.Name, err)
	}
	f.expiry[k] = until
	f.log.Debug("dns: opened", "name", o.Name, "addr", o.Addr, "rule", o.RuleID+1, "until", until.Format(time.TimeOnly))
	return nil
}

// expire closes what has expired.
func (f *nameFirewall) expire(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, until := range f.expiry {
		if now.Before(until) {
			continue
		}
		lines := policy.DeleteLines(policy.NameRuleLines(f.p, k.rule, k.addr))
		if err := nat.RestoreInNetns(f.ns, k.addr.Is6(), restoreText(lines)); err != nil {
			f.log.Warn("dns: closing an expired address", "addr", k.addr, "err", err)
			continue
		}
		delete(f.expiry, k)
	}
}

func restoreText(lines []string) string {
	return "*filter\n" + strings.Join(lines, "\n") + "\nCOMMIT\n"
}

// queryLogPath is the sandbox's query log file.
func queryLogPath(sbDir string) string { return filepath.Join(sbDir, QueryLogFile) }
