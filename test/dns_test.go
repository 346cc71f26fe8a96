package test

import (
	"strings"
	"testing"
	"time"
)

// dnsRecords: a zone with allowed and denied names and CNAME chains.
func dnsRecords() map[string][]string {
	return map[string][]string{
		"www.example.test.":   {"A " + labServerIP, "AAAA " + labServerIP6},
		"alias.example.test.": {"CNAME www.example.test."},
		"a.ok.test.":          {"A 203.0.113.77"},
		"deep.b.ok.test.":     {"A 203.0.113.78"},
		"ok.test.":            {"A 203.0.113.79"},
		"sneaky.ok.test.":     {"CNAME other.example.test."},
		"other.example.test.": {"A " + labOtherIP},
	}
}

func TestDNSThroughTheHostsLoopbackStub(t *testing.T) {
	t.Parallel()
	l := newRunLab(t, WithResolvConf("nameserver 127.0.0.53\noptions edns0\n"))
	stub := l.HostDNSServer(t, "127.0.0.53:53", dnsRecords())
	r := l.NSJ(t, "run", "--profile", "web", "--", "getent", "ahostsv4", "www.example.test")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, labServerIP) {
		t.Errorf("getent through the host's stub: %q", r.Stdout)
	}
	// TCP DNS, asked of the sandbox's resolver explicitly.
	r = l.NSJ(t, "run", "--profile", "web", "--", "dig", "+tcp", "+short", "@127.0.0.53", "a.ok.test")
	wantCode(t, r, 0)
	if strings.TrimSpace(r.Stdout) != "203.0.113.77" {
		t.Errorf("dig +tcp: %q", r.Stdout)
	}
	// Lookups cannot take a path around resolv.conf.
	r = l.NSJ(t, "run", "--profile", "web", "--", "sh", "-c", "grep '^hosts:' /etc/nsswitch.conf; ls -A /run/systemd/resolve 2>/dev/null | wc -l")
	if lines := strings.Fields(r.Stdout); len(lines) < 4 || strings.Join(lines[:3], " ") != "hosts: files dns" || lines[3] != "0" {
		t.Errorf("nsswitch hosts line and resolved's socket dir: %q, want \"hosts: files dns\" and nothing visible", r.Stdout)
	}
	if n := len(stub.WaitQueries(t, 2, 3*time.Second)); n < 2 {
		t.Errorf("the host's stub saw %d queries", n)
	}
}

func TestDNSAllowlist(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	world := l.DNSServer(t, labDNSIP+":53", dnsRecords())
	prof := writeProfile(t, "allow", `
[network]
mode = "bridge"
[dns]
allow = ["www.example.test", "alias.example.test", "*.ok.test"]
[firewall]
default = "allow"
`)
	script := `for n in www.example.test a.ok.test deep.b.ok.test ok.test alias.example.test sneaky.ok.test other.example.test; do
  printf '%s %s\n' "$n" "$(dig +noall +comments +tries=1 +time=3 "$n" | sed -n 's/.*status: \([A-Z]*\).*/\1/p')"
done`
	r := l.NSJ(t, "run", "--profile", prof, "--", "sh", "-c", script)
	wantCode(t, r, 0)
	want := map[string]string{
		"www.example.test":   "NOERROR",
		"a.ok.test":          "NOERROR",
		"deep.b.ok.test":     "NOERROR",
		"ok.test":            "NXDOMAIN", // *.ok.test does not match ok.test itself
		"alias.example.test": "NOERROR",  // CNAME to an allowed name
		"sneaky.ok.test":     "NXDOMAIN", // CNAME to a denied name
		"other.example.test": "NXDOMAIN",
	}
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		name, status, _ := strings.Cut(line, " ")
		if w, ok := want[name]; ok && status != w {
			t.Errorf("%s: status %q, want %s", name, status, w)
		}
		delete(want, name)
	}
	if len(want) > 0 {
		t.Errorf("no answer line for %v:\n%s", want, r.Stdout)
	}
	for _, q := range world.Queries() {
		if strings.HasPrefix(q.Name, "other.example.test") || strings.HasPrefix(q.Name, "ok.test") {
			t.Errorf("denied name %s reached the upstream", q.Name)
		}
	}
}

func TestDNSCannotBeBypassed(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	world := l.DNSServer(t, labDNSIP+":53", dnsRecords())
	for _, proto := range []string{"+notcp", "+tcp"} {
		start := time.Now()
		r := l.NSJ(t, "run", "--profile", "open", "--", "dig", proto, "+tries=1", "+time=3", "@"+labDNSIP, "www.example.test")
		if r.Code == 0 && strings.Contains(r.Stdout, "status: NOERROR") {
			t.Errorf("direct %s query to the world's DNS server answered:\n%s", proto, r.Stdout)
		}
		if d := time.Since(start); d > 2500*time.Millisecond {
			t.Errorf("direct %s query took %v: want refused at once", proto, d)
		}
	}
	if n := len(world.Queries()); n != 0 {
		t.Errorf("the world's DNS server saw %d direct queries from a sandbox", n)
	}
}

func TestDNSNamesInFirewallRules(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	l.DNSServer(t, labDNSIP+":53", dnsRecords())
	allowed := l.TCPServer(t, labServerIP+":8080")
	other := l.TCPServer(t, labOtherIP+":8080")
	prof := writeProfile(t, "names", `
[network]
mode = "bridge"
[firewall]
default = "deny"
[[firewall.rules]]
action = "allow"
proto = "tcp"
to = ["www.example.test"]
ports = [8080]
`)
	// Before the sandbox resolves the name, the address is closed; after,
	// exactly that address opens (not the other name's).
	script := `nc -w 2 ` + labServerIP + ` 8080 && echo EARLY
getent ahostsv4 www.example.test >/dev/null && getent ahostsv4 other.example.test >/dev/null
nc -w 3 ` + labServerIP + ` 8080 | head -1
nc -w 2 ` + labOtherIP + ` 8080 && echo OTHER; true`
	r := l.NSJ(t, "run", "--profile", prof, "--", "sh", "-c", script)
	wantCode(t, r, 0)
	if strings.Contains(r.Stdout, "EARLY") {
		t.Error("the named address was open before the sandbox resolved the name")
	}
	if !strings.Contains(r.Stdout, "hello from world") {
		t.Errorf("after resolving, the named address stayed closed:\n%s", r)
	}
	if strings.Contains(r.Stdout, "OTHER") || len(other.Seen()) != 0 {
		t.Error("an address of a name no rule allows was opened")
	}
	if got := allowed.WaitSeen(t, 1, 3*time.Second)[0].Addr(); got != natIP {
		t.Errorf("world saw %s, want %s", got, natIP)
	}
	// Another sandbox that did not resolve the name gets nothing.
	r = l.NSJ(t, "run", "--profile", prof, "--", "nc", "-w", "2", labServerIP, "8080")
	if r.Code == 0 {
		t.Error("a sandbox reached an address it never resolved")
	}
}

func TestDNSQueriesShowInInspect(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	l.DNSServer(t, labDNSIP+":53", dnsRecords())
	prof := writeProfile(t, "insp", `
[network]
mode = "bridge"
[dns]
allow = ["www.example.test"]
`)
	wantCode(t, l.NSJ(t, "create", "q1", "--profile", prof), 0)
	t.Cleanup(func() { l.NSJ(t, "delete", "q1") })
	l.NSJ(t, "exec", "q1", "--", "sh", "-c", "getent ahostsv4 www.example.test; getent ahostsv4 other.example.test; true")
	var out string
	waitFor(t, func() bool {
		out = l.NSJ(t, "inspect", "q1").Stdout
		return strings.Contains(out, "other.example.test") && strings.Contains(out, "www.example.test")
	})
	for _, want := range []string{"allowed", "denied", labServerIP} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect lacks %q in its DNS section:\n%s", want, out)
		}
	}
	wantCode(t, l.NSJ(t, "delete", "q1"), 0)
}

func TestDNSConcurrentSandboxesKeepTheirOwnAllowlists(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	l.DNSServer(t, labDNSIP+":53", dnsRecords())
	mk := func(name, allow string) string {
		return writeProfile(t, name, "[network]\nmode = \"bridge\"\n[dns]\nallow = [\""+allow+"\"]\n")
	}
	wantCode(t, l.NSJ(t, "create", "dnsa", "--profile", mk("a", "www.example.test")), 0)
	t.Cleanup(func() { l.NSJ(t, "delete", "dnsa") })
	wantCode(t, l.NSJ(t, "create", "dnsb", "--profile", mk("b", "a.ok.test")), 0)
	t.Cleanup(func() { l.NSJ(t, "delete", "dnsb") })
	status := func(sb, name string) string {
		r := l.NSJ(t, "exec", sb, "--", "dig", "+noall", "+comments", "+tries=1", "+time=3", name)
		for _, line := range strings.Split(r.Stdout, "\n") {
			if _, after, ok := strings.Cut(line, "status: "); ok {
				return strings.TrimSuffix(strings.Fields(after)[0], ",")
			}
		}
		return "no answer: " + r.String()
	}
	for _, c := range []struct{ sb, name, want string }{
		{"dnsa", "www.example.test", "NOERROR"}, {"dnsa", "a.ok.test", "NXDOMAIN"},
		{"dnsb", "a.ok.test", "NOERROR"}, {"dnsb", "www.example.test", "NXDOMAIN"},
	} {
		if got := status(c.sb, c.name); got != c.want {
			t.Errorf("%s resolving %s: %s, want %s", c.sb, c.name, got, c.want)
		}
	}
	wantCode(t, l.NSJ(t, "delete", "dnsa"), 0)
	wantCode(t, l.NSJ(t, "delete", "dnsb"), 0)
}

func TestDNSNamesInRulesOpenAAAAToo(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	l.DNSServer(t, labDNSIP+":53", dnsRecords())
	srv := l.TCPServer(t, "["+labServerIP6+"]:8080")
	prof := writeProfile(t, "v6names", `
[network]
mode = "bridge"
ipv6 = true
[firewall]
default = "deny"
[[firewall.rules]]
action = "allow"
proto = "tcp"
to = ["www.example.test"]
ports = [8080]
`)
	script := `nc -6 -w 2 ` + labServerIP6 + ` 8080 && echo EARLY
getent ahostsv6 www.example.test >/dev/null
nc -6 -w 3 ` + labServerIP6 + ` 8080 | head -1`
	r := l.NSJ(t, "run", "--profile", prof, "--", "sh", "-c", script)
	wantCode(t, r, 0)
	if strings.Contains(r.Stdout, "EARLY") || !strings.Contains(r.Stdout, "hello from world") {
		t.Errorf("AAAA name rule: want closed before the lookup, open after:\n%s", r)
	}
	if got := srv.WaitSeen(t, 1, 3*time.Second)[0].Addr().String(); got != "2001:db8:1::1" {
		t.Errorf("world saw %s, want the host's IPv6 address after NAT66", got)
	}
}
