package dns

import (
	"net/netip"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

func TestBucket(t *testing.T) {
	start := time.Unix(1000, 0)
	for _, c := range []struct {
		name  string
		takes []time.Duration // when each take happens, after start
		want  []bool
	}{
		{"burst, then empty", []time.Duration{0, 0, 0, 0}, []bool{true, true, true, false}},
		{"refills at the rate", []time.Duration{0, 0, 0, 0, 500 * time.Millisecond, 500 * time.Millisecond}, []bool{true, true, true, false, true, false}},
		{"never more than the burst", []time.Duration{0, time.Hour, time.Hour, time.Hour, time.Hour}, []bool{true, true, true, true, false}},
	} {
		t.Run(c.name, func(t *testing.T) {
			now := start
			b := newBucket(2, 3, func() time.Time { return now })
			for i, d := range c.takes {
				now = start.Add(d)
				if got := b.take(); got != c.want[i] {
					t.Errorf("take %d at +%v: %v, want %v", i, d, got, c.want[i])
				}
			}
		})
	}
}

// The resolver asks its upstreams at most UpstreamRate times a second
// (twice that at once): each query there is an entry in the host's
// connection table. Past it, SERVFAIL at once.
func TestResolverUpstreamRate(t *testing.T) {
	up := startUpstream(t, false)
	tr := startResolver(t, ResolverConfig{Upstreams: []netip.AddrPort{up.addr}, UpstreamRate: 5})
	failed := 0
	for range 20 {
		if resp := tr.mustAsk(t, "udp", "allowed.test", mdns.TypeA); resp.Rcode == mdns.RcodeServerFailure {
			failed++
		}
	}
	// A query or two may find a token that came back meanwhile.
	if n := len(up.queries()); n < 10 || n > 12 || failed != 20-n {
		t.Errorf("upstream saw %d queries and %d got SERVFAIL, want 10 (the burst) and the rest", n, failed)
	}
}
