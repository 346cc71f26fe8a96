package lifecycle

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// FirewallTable is one table of a sandbox's firewall, with counters.
type FirewallTable struct {
	Family string          `json:"family"` // ipv4 or ipv6
	Table  string          `json:"table"`
	Chains []FirewallChain `json:"chains"`
}

// FirewallChain is a chain: its policy (built-in chains; "-" otherwise),
// the packets and bytes that met the policy, and its rules in order.
type FirewallChain struct {
	Name    string         `json:"name"`
	Policy  string         `json:"policy"`
	Packets uint64         `json:"packets"`
	Bytes   uint64         `json:"bytes"`
	Rules   []FirewallRule `json:"rules"`
}

// FirewallRule is one rule in iptables-save syntax (after "-A CHAIN")
// with the packets and bytes that matched it.
type FirewallRule struct {
	Rule    string `json:"rule"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// ParseSaveCounters parses the output of `iptables-save -c`.
func ParseSaveCounters(family, out string) ([]FirewallTable, error) {
	var (
		tables []FirewallTable
		cur    *FirewallTable
	)
	chain := func(name string) *FirewallChain {
		for i := range cur.Chains {
			if cur.Chains[i].Name == name {
				return &cur.Chains[i]
			}
		}
		cur.Chains = append(cur.Chains, FirewallChain{Name: name, Policy: "-", Rules: []FirewallRule{}})
		return &cur.Chains[len(cur.Chains)-1]
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "*"):
			tables = append(tables, FirewallTable{Family: family, Table: line[1:], Chains: []FirewallChain{}})
			cur = &tables[len(tables)-1]
		case line == "COMMIT":
			cur = nil
		case cur == nil:
			return nil, fmt.Errorf("line %d: %q outside a table", n, line)
		case strings.HasPrefix(line, ":"):
			// :NAME POLICY [packets:bytes]
			f := strings.Fields(line[1:])
			if len(f) < 2 {
				return nil, fmt.Errorf("line %d: bad chain line %q", n, line)
			}
			c := chain(f[0])
			c.Policy = f[1]
			if len(f) > 2 {
				c.Packets, c.Bytes, _ = parseCounter(f[2])
			}
		default:
			// [packets:bytes] -A CHAIN rest
			var r FirewallRule
			if strings.HasPrefix(line, "[") {
				cnt, rest, _ := strings.Cut(line, " ")
				var err error
				if r.Packets, r.Bytes, err = parseCounter(cnt); err != nil {
					return nil, fmt.Errorf("line %d: %w", n, err)
				}
				line = strings.TrimSpace(rest)
			}
			f := strings.SplitN(line, " ", 3)
			if len(f) < 2 || f[0] != "-A" {
				return nil, fmt.Errorf("line %d: bad rule line %q", n, line)
			}
			if len(f) == 3 {
				r.Rule = f[2]
			}
			c := chain(f[1])
			c.Rules = append(c.Rules, r)
		}
	}
	return tables, sc.Err()
}

// parseCounter parses "[packets:bytes]".
func parseCounter(s string) (packets, bytes uint64, err error) {
	in, open := strings.CutPrefix(s, "[")
	in, closed := strings.CutSuffix(in, "]")
	if !open || !closed {
		return 0, 0, fmt.Errorf("bad counter %q", s)
	}
	p, b, ok := strings.Cut(in, ":")
	if !ok {
		return 0, 0, fmt.Errorf("bad counter %q", s)
	}
	if packets, err = strconv.ParseUint(p, 10, 64); err == nil {
		bytes, err = strconv.ParseUint(b, 10, 64)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("bad counter %q: %w", s, err)
	}
	return packets, bytes, nil
}
