package nat

import (
	"net/netip"
	"os"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// limitsLab is a private "host" namespace with a bridge and a sandbox
// namespace joined to it by AddVeth, as a launch makes them. Nothing is
// created in the machine's own namespace.
type limitsLab struct {
	host, sb *netlink.Handle
	veth     netlink.Link
}

func newLimitsLab(t *testing.T) *limitsLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and veths")
	}
	self, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	var hs [2]*netlink.Handle
	var nss [2]netns.NsHandle
	for i := range hs {
		ns, err := freshNetNS()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ns.Close() })
		if ns.Equal(self) {
			t.Fatal("fresh namespace is the test's own; refusing")
		}
		if hs[i], err = netlink.NewHandleAt(ns); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(hs[i].Close)
		nss[i] = ns
	}
	br, err := EnsureBridge(hs[0], "nsjtest0", netip.MustParsePrefix("10.213.0.1/16"), netip.Prefix{})
	if err != nil {
		t.Fatal(err)
	}
	veth, err := AddVeth(hs[0], br, "limits", nss[1], true)
	if err != nil {
		t.Fatal(err)
	}
	return &limitsLab{host: hs[0], sb: hs[1], veth: veth}
}

// rates returns the TBF rates (bit/s) on the host end and on the
// sandbox's eth0.
func (l *limitsLab) rates(t *testing.T) (egress, ingress uint64) {
	t.Helper()
	eth0, err := l.sb.LinkByName(SandboxIfName)
	if err != nil {
		t.Fatal(err)
	}
	if egress, err = RateLimit(l.sb, eth0); err != nil {
		t.Fatal(err)
	}
	if ingress, err = RateLimit(l.host, l.veth); err != nil {
		t.Fatal(err)
	}
	return egress, ingress
}

func TestApplyLimits(t *testing.T) {
	tests := []struct {
		name             string
		egress, ingress  uint64
		wantEg, wantIn   uint64
		sandboxHandleNil bool
	}{
		{"both", 8_000_000, 50_000_000, 8_000_000, 50_000_000, false},
		{"egress only", 1_000_000, 0, 1_000_000, 0, false},
		{"ingress only, no sandbox handle", 0, 10_000, 0, 10_000, true},
		{"none", 0, 0, 0, 0, true},
		{"above 32 bits of bytes", 40_000_000_000, 100_000_000_000, 40_000_000_000, 100_000_000_000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLimitsLab(t)
			sb := l.sb
			if tt.sandboxHandleNil {
				sb = nil
			}
			if err := ApplyLimits(l.host, l.veth, sb, tt.egress, tt.ingress); err != nil {
				t.Fatal(err)
			}
			if eg, in := l.rates(t); eg != tt.wantEg || in != tt.wantIn {
				t.Errorf("rates egress %d, ingress %d; want %d, %d", eg, in, tt.wantEg, tt.wantIn)
			}
			// Again with other rates: replaced, not added.
			if tt.egress > 0 && tt.ingress > 0 {
				if err := ApplyLimits(l.host, l.veth, sb, 2_000_000, 3_000_000); err != nil {
					t.Fatal(err)
				}
				if eg, in := l.rates(t); eg != 2_000_000 || in != 3_000_000 {
					t.Errorf("after re-apply: egress %d, ingress %d", eg, in)
				}
			}
			for range 2 { // absent is success
				if err := RemoveLimits(l.host, l.veth, l.sb); err != nil {
					t.Fatal(err)
				}
			}
			if eg, in := l.rates(t); eg != 0 || in != 0 {
				t.Errorf("after RemoveLimits: egress %d, ingress %d", eg, in)
			}
			// The veth goes, and its qdiscs with it.
			if err := DeleteVeth(l.host, "limits"); err != nil {
				t.Fatal(err)
			}
			if err := RemoveLimits(l.host, l.veth, l.sb); err != nil {
				t.Errorf("RemoveLimits without the veth: %v", err)
			}
		})
	}
}

func TestApplyLimitsRefuses(t *testing.T) {
	l := newLimitsLab(t)
	if err := ApplyLimits(l.host, l.veth, nil, 1_000_000, 0); err == nil {
		t.Error("egress limit without a sandbox handle succeeded")
	}
	for _, rate := range []uint64{1 << 62, minRate - 1} {
		if err := ApplyLimits(l.host, l.veth, l.sb, rate, 0); err == nil {
			t.Errorf("rate %d accepted", rate)
		}
	}
}

func TestTBFSizing(t *testing.T) {
	link := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Index: 7, MTU: 1500}}
	for _, rate := range []uint64{minRate, 1_000_000, 8_000_000, 10_000_000_000} {
		link.MTU = 1500
		if rate == minRate {
			link.MTU = 65535 // the largest: the bucket must still fit
		}
		q := tbfFor(link, rate)
		burst := netlink.Xmitsize(q.Rate, q.Buffer)
		if burst < 2*uint32(link.MTU+14) {
			t.Errorf("rate %d: burst %d bytes, below two frames", rate, burst)
		}
		if q.Limit < burst {
			t.Errorf("rate %d: limit %d below burst %d", rate, q.Limit, burst)
		}
		if q.Parent != netlink.HANDLE_ROOT || q.Handle != limitHandle || q.LinkIndex != 7 {
			t.Errorf("rate %d: attrs %+v", rate, q.QdiscAttrs)
		}
	}
}
