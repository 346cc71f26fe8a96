package policy

import (
	"fmt"
	"strings"
	"testing"
)

// twentyRules is a bridged profile with 20 rules: 19 denies for unrelated
// ranges, then the one allow that matters (the shape `make bench` uses for
// its throughput run).
func twentyRules() string {
	var b strings.Builder
	b.WriteString("version = 1\ndescription = \"20 rules\"\n\n[network]\nmode = \"bridge\"\n\n[firewall]\ndefault = \"deny\"\n")
	for i := range 19 {
		fmt.Fprintf(&b, "\n[[firewall.rules]]\naction = \"deny\"\nproto = \"tcp\"\nto = [\"198.18.%d.0/24\"]\nports = [%d, \"8000-8100\"]\ncomment = \"unrelated %d\"\n", i, 1000+i, i)
	}
	b.WriteString("\n[[firewall.rules]]\naction = \"allow\"\nproto = \"tcp\"\nto = [\"203.0.113.10\"]\nports = [5201]\ncomment = \"iperf3\"\n")
	return b.String()
}

// BenchmarkCompile compiles the built-in profiles and a 20-rule profile
// for one sandbox, as every bridged launch does.
func BenchmarkCompile(b *testing.B) {
	cases := map[string]*Profile{}
	f := &Finder{}
	for _, name := range []string{"offline", "web", "open", "dev"} {
		p, err := f.Load(name)
		if err != nil {
			b.Fatalf("loading built-in %q: %v", name, err)
		}
		cases[name] = p
	}
	p, err := Parse("rules20", "bench", []byte(twentyRules()))
	if err != nil {
		b.Fatalf("parsing the 20-rule profile: %v", err)
	}
	if len(p.Firewall.Rules) != 20 {
		b.Fatalf("20-rule profile has %d rules", len(p.Firewall.Rules))
	}
	cases["rules20"] = p
	env := testEnv()
	for _, name := range []string{"offline", "web", "open", "dev", "rules20"} {
		p := cases[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile(p, env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
