package test

// Snapshots of the lab host's network state, as normalised text, for leak
// accounting: take one before nsjail-net runs, run it, and AssertNoLeaks.
//
// Every line starts with its section, so a line means the same thing on
// its own and predicates can match it without context:
//
//	iptables *nat                                   table header (iptables-save)
//	iptables nat :POSTROUTING ACCEPT                chain, counters dropped
//	iptables nat -A POSTROUTING -j NSJNET-POSTROUTING ...
//	iptables nat COMMIT
//	ip6tables ...                                   same for ip6tables-save
//	link nsjnet0 bridge                             name and kind, sorted
//	route4 default via 203.0.113.2 dev up0 ...      `ip -4 route show table all`, sorted
//	route6 ...                                      `ip -6 route show table all`, sorted
//	rule4 / rule6 ...                               `ip rule`, sorted
//	netns NAME                                      /run/netns, sorted
//	etcnetns NAME/resolv.conf                       /etc/netns, recursive, names only
//	state leases/                                   state dir, recursive, names only, dirs end in "/"
//
// iptables lines keep their order (it matters: jumps are inserted first).

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// counters matches iptables-save's "[packets:bytes]" counters.
var counters = regexp.MustCompile(`\s*\[\d+:\d+\]`)

// Snapshot returns the lab host's network state as normalised text (see
// the top of this file).
func (l *Lab) Snapshot(t testing.TB) string {
	t.Helper()
	var lines []string
	for _, tool := range []string{"iptables", "ip6tables"} {
		lines = append(lines, iptablesLines(tool, l.quietRun(t, tool+"-save"))...)
	}
	links, err := l.linkLines()
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	lines = append(lines, links...)
	for _, q := range []struct{ section, family, object string }{
		{"route4", "-4", "route"}, {"route6", "-6", "route"},
		{"rule4", "-4", "rule"}, {"rule6", "-6", "rule"},
	} {
		args := []string{q.family, q.object, "show"}
		if q.object == "route" {
			args = append(args, "table", "all")
		}
		for _, line := range sortedLines(q.section, l.quietRun(t, "ip", args...)) {
			// The lab's own uplink gets its link-local address whenever
			// addrconf gets round to it: not a change anything made.
			if strings.Contains(line, "fe80::") && strings.Contains(line, "dev "+labHostLink+" ") {
				continue
			}
			lines = append(lines, line)
		}
	}
	for _, d := range []struct{ section, dir string }{{"netns", labNetnsDir}, {"etcnetns", labNetnsEtcDir}, {"state", labStateDir}} {
		files, err := listTree(l.HostPath(d.dir))
		if err != nil {
			t.Fatalf("snapshot: listing %s: %v", d.dir, err)
		}
		for _, f := range files {
			lines = append(lines, d.section+" "+f)
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// quietRun runs a snapshot command in the lab host without logging it and
// returns its stdout; it fails t unless the command exits 0.
func (l *Lab) quietRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	r := l.run(t, RunOpts{}, false, name, args...)
	if r.Code != 0 {
		t.Fatalf("snapshot: %s %s: %v", name, strings.Join(args, " "), r)
	}
	return r.Stdout
}

// SnapshotExcept is Snapshot without the lines for which ignore is true.
func (l *Lab) SnapshotExcept(t testing.TB, ignore func(line string) bool) string {
	t.Helper()
	return filterLines(l.Snapshot(t), ignore)
}

// AssertNoLeaks takes a snapshot and reports, with t.Errorf and a line
// diff, any difference from before outside the ignored lines. A line is
// ignored when any of ignore says so; with no predicate, sharedBase is used
// (pass ignoreNothing for a strict comparison).
//
// The kernel removes a dead network namespace's devices in the background
// (nsjail-net leaves a sandbox's veth pair to that when nothing else is in
// its namespace), so a difference is looked at again for a few seconds
// before it counts.
func (l *Lab) AssertNoLeaks(t testing.TB, before string, ignore ...func(line string) bool) {
	t.Helper()
	preds := ignore
	if len(preds) == 0 {
		preds = []func(string) bool{sharedBase}
	}
	after := l.Snapshot(t)
	for deadline := time.Now().Add(3 * time.Second); snapshotDiff(before, after, anyOf(preds...)) != "" && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		after = l.Snapshot(t)
	}
	assertNoLeaks(t, before, after, ignore...)
}

// assertNoLeaks is AssertNoLeaks on two given snapshots.
func assertNoLeaks(t testing.TB, before, after string, ignore ...func(line string) bool) {
	t.Helper()
	if len(ignore) == 0 {
		ignore = []func(string) bool{sharedBase}
	}
	if d := snapshotDiff(before, after, anyOf(ignore...)); d != "" {
		t.Errorf("lab host state changed (-before +after):\n%s", d)
	}
}

// ignoreNothing is the predicate for a strict AssertNoLeaks.
func ignoreNothing(string) bool { return false }

// anyOf ignores a line when any predicate does.
func anyOf(preds ...func(string) bool) func(string) bool {
	return func(line string) bool {
		for _, p := range preds {
			if p(line) {
				return true
			}
		}
		return false
	}
}

// perSandboxTag matches the owner tag of a per-sandbox rule.
var perSandboxTag = regexp.MustCompile(`nsjail-net:[0-9a-f]{8}\b`)

// nsjnetChain matches any chain name of ours.
var nsjnetChain = regexp.MustCompile(`NSJNET-[A-Za-z0-9_.-]+`)

// sharedChains are the chains nsjail-net keeps between runs.
var sharedChains = []string{"NSJNET-INPUT", "NSJNET-HOSTALLOW", "NSJNET-SBALLOW", "NSJNET-SBPEERS", "NSJNET-FORWARD", "NSJNET-TRANSLATED", "NSJNET-POSTROUTING", "NSJNET-DNAT"}

// builtinPolicy matches a built-in chain with its default policy, which
// iptables-save prints as soon as the table exists.
var builtinPolicy = regexp.MustCompile(`^ip6?tables \w+ :(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) ACCEPT$`)

// sharedBaseState are the state-dir entries allowed to stay.
var sharedBaseState = []string{"state base.json", "state gc.stamp", "state leases/", "state sandboxes/", "state names/"}

// sharedBase says whether a snapshot line belongs to the shared base that
// nsjail-net may leave behind after any number of runs:
//
//   - never a line carrying a per-sandbox owner tag "nsjail-net:<8 hex>";
//   - iptables skeleton: table headers "*nat", "COMMIT", and built-in
//     chains with policy ACCEPT (they appear when a table is first used);
//   - iptables lines naming a shared chain (NSJNET-INPUT, -HOSTALLOW,
//     -SBPEERS, -FORWARD, -TRANSLATED, -POSTROUTING, -DNAT) and no other
//     NSJNET- chain, so a jump
//     from a shared chain into a per-sandbox chain still counts as a leak;
//   - anything mentioning the bridge nsjnet0 (its link, its routes);
//   - routes of the bridge subnet 10.213.0.0/16;
//   - state dir: base.json, gc.stamp, any *.lock, the allocator's hint
//     leases/.next-<pool>, and the directories
//     leases/, sandboxes/, names/ themselves (their contents are listed as
//     separate lines, so "empty" is what is allowed).
func sharedBase(line string) bool {
	if perSandboxTag.MatchString(line) {
		return false
	}
	section, rest, _ := strings.Cut(line, " ")
	switch section {
	case "iptables", "ip6tables":
		if strings.HasPrefix(rest, "*") || strings.HasSuffix(rest, " COMMIT") || builtinPolicy.MatchString(line) {
			return true
		}
		chains := nsjnetChain.FindAllString(rest, -1)
		if len(chains) == 0 {
			return strings.Contains(rest, "nsjnet0")
		}
		for _, c := range chains {
			if !slices.Contains(sharedChains, c) {
				return false
			}
		}
		return true
	case "link", "route4", "route6":
		// IPv6 forwarding (turned on for IPv6 sandboxes) makes the kernel
		// add subnet-router anycast routes to the host's own links.
		return strings.Contains(rest, "nsjnet0") || strings.Contains(rest, "10.213.0.0/16") ||
			(section == "route6" && strings.HasPrefix(rest, "anycast ") && strings.Contains(rest, "table local"))
	case "state":
		return slices.Contains(sharedBaseState, line) || strings.HasSuffix(line, ".lock") ||
			strings.HasPrefix(line, "state leases/.next-") // the allocator's hint
	}
	return false
}

// iptablesLines normalises the output of tool-save: comments dropped,
// counters dropped, every line prefixed with the tool and its table.
func iptablesLines(tool, out string) []string {
	var lines []string
	table := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimSpace(counters.ReplaceAllString(line, ""))
		if name, ok := strings.CutPrefix(line, "*"); ok {
			table = name
			lines = append(lines, tool+" "+line)
			continue
		}
		lines = append(lines, tool+" "+table+" "+line)
	}
	return lines
}

// sortedLines prefixes each non-empty line of out with section, squeezing
// blanks, and sorts them.
func sortedLines(section, out string) []string {
	var lines []string
	for l := range strings.Lines(out) {
		if f := strings.Fields(l); len(f) > 0 {
			lines = append(lines, section+" "+strings.Join(f, " "))
		}
	}
	slices.Sort(lines)
	return lines
}

// linkLines lists the lab host's links as "link NAME KIND", sorted.
func (l *Lab) linkLines() ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hostNL == nil {
		return nil, errors.New("lab is torn down")
	}
	links, err := l.hostNL.LinkList()
	if err != nil {
		return nil, fmt.Errorf("listing lab host links: %w", err)
	}
	lines := make([]string, 0, len(links))
	for _, link := range links {
		lines = append(lines, "link "+link.Attrs().Name+" "+link.Type())
	}
	slices.Sort(lines)
	return lines, nil
}

// listTree lists root recursively as slash paths relative to it, sorted,
// directories with a trailing "/".
func listTree(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			rel += "/"
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walking %s: %w", root, err)
	}
	slices.Sort(out)
	return out, nil
}

// filterLines drops the lines of text for which ignore is true.
func filterLines(text string, ignore func(string) bool) string {
	var b strings.Builder
	for l := range strings.Lines(text) {
		if !ignore(strings.TrimSuffix(l, "\n")) {
			b.WriteString(l)
		}
	}
	return b.String()
}

// snapshotDiff compares two snapshots without the ignored lines and
// returns "" when they agree, else a unified-style diff ("-" only before,
// "+" only after) with two lines of context around each change.
func snapshotDiff(before, after string, ignore func(string) bool) string {
	a := splitLines(filterLines(before, ignore))
	b := splitLines(filterLines(after, ignore))
	return unifiedDiff(a, b, 2)
}

func splitLines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		out = append(out, strings.TrimSuffix(l, "\n"))
	}
	return out
}

// diffOp is one line of an edit script: ' ' kept, '-' removed, '+' added.
type diffOp struct {
	kind byte
	text string
}

// unifiedDiff returns the changes from a to b as "@@"-separated hunks with
// ctx lines of context, or "" when a equals b. It uses a plain LCS table,
// fine for the few hundred lines of a snapshot.
func unifiedDiff(a, b []string, ctx int) string {
	if slices.Equal(a, b) {
		return ""
	}
	ops := editScript(a, b)
	show := make([]bool, len(ops))
	for i, op := range ops {
		if op.kind != ' ' {
			for j := max(0, i-ctx); j <= min(len(ops)-1, i+ctx); j++ {
				show[j] = true
			}
		}
	}
	var sb strings.Builder
	for i, op := range ops {
		if !show[i] {
			continue
		}
		if i == 0 || !show[i-1] {
			sb.WriteString("@@\n")
		}
		fmt.Fprintf(&sb, "%c %s\n", op.kind, op.text)
	}
	return sb.String()
}

// editScript is the LCS edit script from a to b.
func editScript(a, b []string) []diffOp {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, diffOp{' ', a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			ops = append(ops, diffOp{'-', a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, diffOp{'-', a[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, diffOp{'+', b[j]})
	}
	return ops
}
