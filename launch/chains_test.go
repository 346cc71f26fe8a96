package launch

import (
	"testing"

	"github.com/nsjail-net/nsjail-net/nat"
	"github.com/nsjail-net/nsjail-net/policy"
)

// policy writes the host rules into the shared base chains that nat
// creates; each package names them (neither imports the other), and this
// keeps the two lists the same.
func TestBaseChainNamesAgree(t *testing.T) {
	for _, c := range []struct{ what, policy, nat string }{
		{"input", policy.ChainInput, nat.ChainInput},
		{"host allow", policy.ChainHostAllow, nat.ChainHostAllow},
		{"forward", policy.ChainForward, nat.ChainForward},
		{"sandbox allow", policy.ChainSandboxAllow, nat.ChainSandboxAllow},
		{"sandbox peers", policy.ChainSandboxPeers, nat.ChainSandboxPeers},
		{"translated", policy.ChainTranslated, nat.ChainTranslated},
		{"postrouting", policy.ChainPostrouting, nat.ChainPostrouting},
		{"dnat", policy.ChainDNAT, nat.ChainDNAT},
	} {
		if c.policy != c.nat {
			t.Errorf("%s chain: policy says %q, nat says %q", c.what, c.policy, c.nat)
		}
	}
}
