package nat

import (
	"errors"
	"fmt"

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

// AddRules appends the rules; on failure it removes those it added.
func AddRules(rules []Rule) (retErr error) {
	if len(rules) == 0 {
		return nil
	}
	var added []Rule
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, DeleteRules(added))
		}
	}()
	ipts := map[bool]*iptables.IPTables{}
	for _, r := range rules {
		ipt, err := iptFor(ipts, r.IPv6)
		if err != nil {
			return err
		}
		if err := ipt.AppendUnique(r.Table, r.Chain, r.Args...); err != nil {
			return fmt.Errorf("adding host rule %s: %w", r, err)
		}
		added = append(added, r)
	}
	return nil
}

// DeleteRules removes the rules, keeping going past failures; absent is
// success.
func DeleteRules(rules []Rule) error {
	var errs []error
	ipts := map[bool]*iptables.IPTables{}
	for i := len(rules) - 1; i >= 0; i-- {
		r := rules[i]
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

func iptFor(cache map[bool]*iptables.IPTables, v6 bool) (*iptables.IPTables, error) {
	if ipt, ok := cache[v6]; ok {
		return ipt, nil
	}
	fam := iptables.ProtocolIPv4
	if v6 {
		fam = iptables.ProtocolIPv6
	}
	ipt, err := newIPT(fam)
	if err != nil {
		return nil, err
	}
	cache[v6] = ipt
	return ipt, nil
}
