package nat

import (
	"net/netip"
	"os"
	"testing"

	"github.com/nsjail-net/nsjail-net/policy"
)

// BenchmarkRuleInstall measures installing a sandbox's compiled firewall
// into its fresh network namespace, as every bridged launch does: one
// iptables-restore for the whole ruleset (the built-in profiles, here
// "web" and "open"). Each iteration gets a new namespace, made outside the
// timed region by a throwaway thread (freshNetNS), never the machine's.
func BenchmarkRuleInstall(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: creates network namespaces and installs rules in them")
	}
	if _, err := RestoreBinary(false); err != nil {
		b.Skip(err)
	}
	env := policy.Env{
		SandboxID: "bench", Subnet: netip.MustParsePrefix("10.213.0.0/16"),
		Gateway: netip.MustParseAddr("10.213.0.1"), DNSGuard: true,
	}
	for _, name := range []string{"web", "open"} {
		p, err := (&policy.Finder{}).Load(name)
		if err != nil {
			b.Fatalf("loading built-in %q: %v", name, err)
		}
		rs, err := policy.Compile(p, env)
		if err != nil {
			b.Fatalf("compiling %q: %v", name, err)
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				ns, err := freshNetNS()
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := RestoreInNetns(ns, false, rs.IPv4); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				_ = ns.Close()
				b.StartTimer()
			}
		})
	}
}
