package nat

import (
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestRulesRestoreText(t *testing.T) {
	tag := []string{"-m", "comment", "--comment", "nsjail-net:sb1"}
	for _, c := range []struct {
		name  string
		rules []Rule
		op    string
		want  string
		err   string
	}{
		{"tables in first-seen order", []Rule{
			{Table: "filter", Chain: "NSJNET-TRANSLATED", Args: append([]string{"-s", "10.213.0.7/32"}, append(tag, "-j", "ACCEPT")...)},
			{Table: "nat", Chain: "NSJNET-DNAT", Args: append([]string{"-p", "tcp", "--dport", "80"}, append(tag, "-j", "DNAT", "--to-destination", "10.213.0.7:80")...)},
			{Table: "filter", Chain: "NSJNET-SBALLOW", Args: append([]string{"-s", "10.213.0.7/32"}, append(tag, "-j", "NSJNET-SBPEERS")...)},
		}, "-A", `*filter
-A NSJNET-TRANSLATED -s 10.213.0.7/32 -m comment --comment nsjail-net:sb1 -j ACCEPT
-A NSJNET-SBALLOW -s 10.213.0.7/32 -m comment --comment nsjail-net:sb1 -j NSJNET-SBPEERS
COMMIT
*nat
-A NSJNET-DNAT -p tcp --dport 80 -m comment --comment nsjail-net:sb1 -j DNAT --to-destination 10.213.0.7:80
COMMIT
`, ""},
		{"delete", []Rule{{Table: "filter", Chain: "X", Args: []string{"-j", "ACCEPT"}}}, "-D", "*filter\n-D X -j ACCEPT\nCOMMIT\n", ""},
		{"quoted", []Rule{{Table: "filter", Chain: "X", Args: []string{"-m", "comment", "--comment", `a "b" c\d`, "-j", "ACCEPT"}}}, "-A",
			"*filter\n-A X -m comment --comment \"a \\\"b\\\" c\\\\d\" -j ACCEPT\nCOMMIT\n", ""},
		{"line break", []Rule{{Table: "filter", Chain: "X", Args: []string{"--comment", "a\nb"}}}, "-A", "", "line breaks"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := rulesRestoreText(c.rules, c.op)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one about %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("got %q, %v\nwant %q", got, err, c.want)
			}
		})
	}
}

// TestHostRulesInFreshNamespace installs the shared base and a sandbox's
// rules in a fresh network namespace, as a launch does, and checks that
// adding puts each rule in its chain once, that deleting removes all, and
// that deleting still removes the rest when one is already gone.
func TestHostRulesInFreshNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace")
	}
	if _, err := exec.LookPath("iptables-restore"); err != nil {
		t.Skip("no iptables-restore")
	}
	ns, err := freshNetNS()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	tag := []string{"-m", "comment", "--comment", "nsjail-net:sb1"}
	rules := []Rule{
		{Table: "filter", Chain: ChainTranslated, Args: append([]string{"-s", "10.213.0.7/32", "-d", "10.0.0.0/8"}, append(tag, "-j", "RETURN")...)},
		{Table: "filter", Chain: ChainTranslated, Args: append([]string{"-s", "10.213.0.7/32"}, append(tag, "-j", "ACCEPT")...)},
		{Table: "filter", Chain: ChainSandboxAllow, Args: append([]string{"-s", "10.213.0.7/32"}, append(tag, "-j", ChainSandboxPeers)...)},
		{Table: "filter", Chain: ChainSandboxPeers, Args: append([]string{"-d", "10.213.0.7/32"}, append(tag, "-j", "ACCEPT")...)},
		{Table: "nat", Chain: ChainDNAT, Args: append([]string{"-p", "tcp", "-m", "tcp", "--dport", "8080"}, append(tag, "-j", "DNAT", "--to-destination", "10.213.0.7:80")...)},
		{Table: "filter", Chain: ChainTranslated, IPv6: true, Args: append([]string{"-s", "fd00:213::7/128"}, append(tag, "-j", "ACCEPT")...)},
	}
	base := Base{Bridge: "nsjtest0", Subnet: netip.MustParsePrefix("10.213.0.0/16"), Subnet6: netip.MustParsePrefix("fd00:213::/64")}
	// tagged lists the lines of ours that carry the sandbox's tag.
	tagged := func() []string {
		var out []string
		for _, tool := range []string{"iptables-save", "ip6tables-save"} {
			b, err := exec.Command(tool).Output()
			if err != nil {
				t.Fatalf("%s: %v", tool, err)
			}
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, "nsjail-net:sb1") {
					out = append(out, tool+" "+l)
				}
			}
		}
		return out
	}
	err = InNetns(ns, func() error {
		if err := EnsureBase(base); err != nil {
			return err
		}
		if err := AddRules(rules); err != nil {
			return err
		}
		if got := tagged(); len(got) != len(rules) {
			t.Errorf("after AddRules, %d tagged rules, want %d:\n%s", len(got), len(rules), strings.Join(got, "\n"))
		}
		if err := DeleteRules(rules); err != nil {
			t.Errorf("DeleteRules: %v", err)
		}
		if got := tagged(); len(got) != 0 {
			t.Errorf("after DeleteRules, left:\n%s", strings.Join(got, "\n"))
		}
		// One rule gone already (a gc ran): the rest still go.
		if err := AddRules(rules); err != nil {
			return err
		}
		if err := deleteRulesOneByOne(rules[1:2]); err != nil {
			return err
		}
		if err := DeleteRules(rules); err != nil {
			t.Errorf("DeleteRules with one rule missing: %v", err)
		}
		if got := tagged(); len(got) != 0 {
			t.Errorf("after DeleteRules with one missing, left:\n%s", strings.Join(got, "\n"))
		}
		return DeleteBase(base)
	})
	if err != nil {
		t.Fatal(err)
	}
}
