package nat

import (
	"errors"
	"fmt"
	"strings"

	"github.com/coreos/go-iptables/iptables"
)

// Rule is one per-sandbox host rule. The same value adds and deletes it,
// so teardown removes exactly what setup added.
type Rule struct {
	Table, Chain string
	Args         []string
	IPv6         bool
}

func (r Rule) String() string { return fmt.Sprintf("%s/%s %v", r.Table, r.Chain, r.Args) }

// AddRules appends the rules of a sandbox, each family's in one
// iptables-restore --noflush transaction: one process however many rules
// the profile needs, and all or nothing. On failure it removes those it
// added. A sandbox's rules are added once (its id is in every one), so
// nothing checks for copies first.
func AddRules(rules []Rule) (retErr error) {
	var added []Rule
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, DeleteRules(added))
		}
	}()
	for _, v6 := range []bool{false, true} {
		fam := familyRules(rules, v6)
		if len(fam) == 0 {
			continue
		}
		text, err := rulesRestoreText(fam, "-A")
		if err == nil {
			err = restoreNoflush(protocol(v6), text)
		}
		if err != nil {
			return fmt.Errorf("adding host rules: %w", err)
		}
		added = append(added, fam...)
	}
	return nil
}

// DeleteRules removes the rules, keeping going past failures; absent is
// success. Each family's go in one transaction; when that fails (a rule is
// already gone, after a crash or a gc), one by one.
func DeleteRules(rules []Rule) error {
	var errs []error
	for _, v6 := range []bool{false, true} {
		fam := familyRules(rules, v6)
		if len(fam) == 0 {
			continue
		}
		reversed := make([]Rule, len(fam))
		for i, r := range fam {
			reversed[len(fam)-1-i] = r
		}
		if text, err := rulesRestoreText(reversed, "-D"); err == nil && restoreNoflush(protocol(v6), text) == nil {
			continue
		}
		errs = append(errs, deleteRulesOneByOne(reversed))
	}
	return errors.Join(errs...)
}

func deleteRulesOneByOne(rules []Rule) error {
	var errs []error
	ipts := map[bool]*iptables.IPTables{}
	for _, r := range rules {
		ipt, err := iptFor(ipts, r.IPv6)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := ipt.DeleteIfExists(r.Table, r.Chain, r.Args...); err != nil && !isNotExist(err) {
			errs = append(errs, fmt.Errorf("deleting host rule %s: %w", r, err))
		}
	}
	return errors.Join(errs...)
}

func familyRules(rules []Rule, v6 bool) []Rule {
	var out []Rule
	for _, r := range rules {
		if r.IPv6 == v6 {
			out = append(out, r)
		}
	}
	return out
}

func protocol(v6 bool) iptables.Protocol {
	if v6 {
		return iptables.ProtocolIPv6
	}
	return iptables.ProtocolIPv4
}

// rulesRestoreText renders rules as iptables-restore input, op ("-A" or
// "-D") on each, grouped by table in the order the tables first appear
// and, within a table, in the order given.
func rulesRestoreText(rules []Rule, op string) (string, error) {
	var tables []string
	byTable := map[string][]string{}
	for _, r := range rules {
		line := []string{op, r.Chain}
		for _, a := range r.Args {
			q, err := restoreQuote(a)
			if err != nil {
				return "", fmt.Errorf("host rule %s: %w", r, err)
			}
			line = append(line, q)
		}
		if _, ok := byTable[r.Table]; !ok {
			tables = append(tables, r.Table)
		}
		byTable[r.Table] = append(byTable[r.Table], strings.Join(line, " "))
	}
	var b strings.Builder
	for _, t := range tables {
		b.WriteString("*" + t + "\n")
		for _, l := range byTable[t] {
			b.WriteString(l + "\n")
		}
		b.WriteString("COMMIT\n")
	}
	return b.String(), nil
}

// restoreQuote quotes one argument for iptables-restore: in double quotes
// when it holds blanks or quotes, with backslashes before the quotes and
// backslashes inside. Line breaks cannot be said at all.
func restoreQuote(a string) (string, error) {
	switch {
	case strings.ContainsAny(a, "\n\r\x00"):
		return "", fmt.Errorf("argument %q: line breaks cannot be passed to iptables-restore", a)
	case a == "":
		return `""`, nil
	case !strings.ContainsAny(a, " \t\"'\\"):
		return a, nil
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a) + `"`, nil
}

func iptFor(cache map[bool]*iptables.IPTables, v6 bool) (*iptables.IPTables, error) {
	if ipt, ok := cache[v6]; ok {
		return ipt, nil
	}
	ipt, err := newIPT(protocol(v6))
	if err != nil {
		return nil, err
	}
	cache[v6] = ipt
	return ipt, nil
}
