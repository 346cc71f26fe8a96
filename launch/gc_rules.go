package launch

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/coreos/go-iptables/iptables"

	"github.com/nsjail-net/nsjail-net/policy"
	"github.com/nsjail-net/nsjail-net/state"
)

// perSandboxChains are the shared chains that hold per-sandbox host rules
// (policy.HostRules), each tagged with policy.OwnerTag(id).
var perSandboxChains = []struct{ table, chain string }{
	{"filter", policy.ChainHostAllow},
	{"filter", policy.ChainSandboxAllow},
	{"filter", policy.ChainSandboxPeers},
	{"filter", policy.ChainTranslated},
	{"filter", policy.ChainForward},
	{"nat", policy.ChainDNAT},
	{"nat", policy.ChainPostrouting},
}

// sweepRules deletes the per-sandbox rules, in both families, whose
// sandbox is not live. A family without iptables, or a table without our
// chains, has nothing to sweep.
func sweepRules(dir *state.Dir, dry bool) ([]string, error) {
	var (
		out  []string
		errs []error
	)
	for _, fam := range []iptables.Protocol{iptables.ProtocolIPv4, iptables.ProtocolIPv6} {
		ipt, err := iptables.New(iptables.IPFamily(fam), iptables.Timeout(10))
		if err != nil {
			continue // no ip6tables: nothing of ours there either
		}
		tool := "iptables"
		if fam == iptables.ProtocolIPv6 {
			tool = "ip6tables"
		}
		chainsOf := map[string][]string{}
		for _, c := range perSandboxChains {
			chains, ok := chainsOf[c.table]
			if !ok {
				if chains, err = ipt.ListChains(c.table); err != nil {
					errs = append(errs, fmt.Errorf("%s: listing chains of table %s: %w", tool, c.table, err))
				}
				chainsOf[c.table] = chains
			}
			if !slices.Contains(chains, c.chain) {
				continue
			}
			lines, err := ipt.List(c.table, c.chain)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: listing %s/%s: %w", tool, c.table, c.chain, err))
				continue
			}
			for _, line := range lines {
				id, args, ok := parseTaggedRule(c.chain, line)
				if !ok || liveSandbox(dir, id) {
					continue
				}
				if !dry {
					if err := ipt.DeleteIfExists(c.table, c.chain, args...); err != nil {
						errs = append(errs, fmt.Errorf("%s: deleting %s/%s %s: %w", tool, c.table, c.chain, strings.Join(args, " "), err))
						continue
					}
				}
				out = append(out, fmt.Sprintf("%s -t %s %s", tool, c.table, line))
			}
		}
	}
	return out, errors.Join(errs...)
}

// parseTaggedRule parses one line of `iptables -S chain`. For a rule of
// chain carrying a per-sandbox owner tag ("-m comment --comment
// nsjail-net:<id>", quoted or not) it returns the sandbox id and the
// rule's arguments after "-A chain", unquoted, as Delete takes them.
func parseTaggedRule(chain, line string) (id string, args []string, ok bool) {
	words, err := splitRule(line)
	if err != nil || len(words) < 3 || words[0] != "-A" || words[1] != chain {
		return "", nil, false
	}
	args = words[2:]
	for i := 0; i+1 < len(args); i++ {
		if args[i] != "--comment" {
			continue
		}
		id, found := strings.CutPrefix(args[i+1], policy.OwnerTag(""))
		if found && validTagID(id) {
			return id, args, true
		}
	}
	return "", nil, false
}

// validTagID accepts the ids state.NewID makes and the state package
// accepts: [a-z0-9][a-z0-9_-]*, at most 64 characters.
func validTagID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '_' || c == '-')) {
			return false
		}
	}
	return true
}

// errUnterminatedQuote: a rule line with an odd number of quotes.
var errUnterminatedQuote = errors.New("unterminated quote")

// splitRule splits an `iptables -S` line into words: blanks separate
// words, double quotes group (iptables quotes comments), and inside them a
// backslash escapes the next character.
func splitRule(line string) ([]string, error) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool
		quoted bool
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case quoted && c == '"':
			quoted = false
		case quoted:
			cur.WriteByte(c)
		case c == '"':
			quoted, inWord = true, true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("%w in %q", errUnterminatedQuote, line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
