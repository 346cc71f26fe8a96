package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	toml "github.com/pelletier/go-toml/v2"
)

// layer is one validated file: the values it sets and which keys it set,
// before defaults and before merging with its parent.
type layer struct {
	p    *Profile
	set  map[string]bool // TOML key paths present in the file
	file string
}

// parseLayer decodes and validates one file. All validation errors are
// collected; a syntax error stops at once.
func parseLayer(file, name, origin string, data []byte) (*layer, error) {
	raw, unknown, err := decodeRaw(file, data)
	if err != nil {
		return nil, err
	}
	v := &validator{ix: indexPositions(file, data)}
	reported := map[pos]bool{}
	for i := range unknown {
		e := unknownKeyError(v.ix, &unknown[i])
		reported[pos{file: file, line: e.Line, col: e.Col}] = true
		v.errs.add(e)
	}
	v.exactKeys(reported)
	l := &layer{p: &Profile{Name: name, Origin: origin, src: map[string]pos{}}, set: map[string]bool{}, file: file}
	for path := range v.ix.val {
		if !strings.Contains(path, "[") {
			l.set[path] = true
		}
	}
	for _, k := range []string{"network.mode", "publish", "extends"} {
		if l.set[k] {
			l.p.src[k] = v.ix.valueAt(k)
		}
	}
	v.profile(raw, l.p)
	sort.SliceStable(v.errs, func(i, j int) bool {
		a, b := errPos(v.errs[i]), errPos(v.errs[j])
		return a.line < b.line || a.line == b.line && a.col < b.col
	})
	if err := v.errs.err(); err != nil {
		return nil, err
	}
	return l, nil
}

// validator checks raw values and converts them; each check adds at most
// one error per value and carries on, so that one run reports them all.
type validator struct {
	ix   *posIndex
	errs errList
}

// display renders an internal path (0-based indexes) for users: indexes
// count from 1, like the "rule N" comments in compiled rules.
func display(path string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(path, '[')
		if i < 0 {
			b.WriteString(path)
			return b.String()
		}
		j := strings.IndexByte(path[i:], ']')
		if j < 0 {
			b.WriteString(path)
			return b.String()
		}
		n, err := strconv.Atoi(path[i+1 : i+j])
		if err != nil {
			b.WriteString(path[:i+j+1])
		} else {
			fmt.Fprintf(&b, "%s[%d]", path[:i], n+1)
		}
		path = path[i+j+1:]
	}
}

func (v *validator) failAt(at pos, format string, args ...any) {
	v.errs.add(at.errorf(format, args...))
}

// fail reports a problem with the value at path.
func (v *validator) fail(path string, format string, args ...any) {
	v.failAt(v.ix.valueAt(path), format, args...)
}

// bad reports a valueError for the value at path, located at elem (the
// array element, or path itself).
func (v *validator) bad(path, elem string, e *valueError) {
	v.failAt(v.ix.valueAt(elem), "%s", e.in(display(path)))
}

// describe renders a decoded value for messages: `string "yes"`.
func describe(x any) string {
	switch x := x.(type) {
	case string:
		return fmt.Sprintf("string %q", x)
	case int64:
		return fmt.Sprintf("integer %d", x)
	case float64:
		return fmt.Sprintf("float %v", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time, toml.LocalDate, toml.LocalTime, toml.LocalDateTime:
		return "a date/time"
	}
	return fmt.Sprintf("%T", x)
}

func (v *validator) wrongType(path, want string, x any) {
	v.fail(path, "%s must be %s, got %s", display(path), want, describe(x))
}

func (v *validator) str(path string, x any) (string, bool) {
	s, ok := x.(string)
	if !ok {
		v.wrongType(path, "a string", x)
	}
	return s, ok
}

func (v *validator) boolean(path string, x any) (bool, bool) {
	b, ok := x.(bool)
	if !ok {
		v.wrongType(path, "true or false", x)
	}
	return b, ok
}

// array returns the elements of an array value, or reports a type error.
func (v *validator) array(path string, x any, want string) ([]any, bool) {
	a, ok := x.([]any)
	if !ok {
		v.wrongType(path, want, x)
	}
	return a, ok
}

// strings returns the string elements of an array (each non-string
// element is an error) and their paths.
func (v *validator) strings(path string, x any) ([]string, []string) {
	a, ok := v.array(path, x, "an array of strings")
	if !ok {
		return nil, nil
	}
	var out, paths []string
	for i, e := range a {
		p := fmt.Sprintf("%s[%d]", path, i)
		if s, ok := v.str(p, e); ok {
			out = append(out, s)
			paths = append(paths, p)
		}
	}
	return out, paths
}

// enum checks that x is one of allowed.
func (v *validator) enum(path string, x any, allowed ...string) (string, bool) {
	s, ok := v.str(path, x)
	if !ok {
		return "", false
	}
	for _, a := range allowed {
		if s == a {
			return s, true
		}
	}
	v.fail(path, "unknown value %q in %s (allowed: %s)", s, display(path), quoteList(allowed))
	return "", false
}

// checkProfileName validates a profile name (as in --profile or extends).
func checkProfileName(s string) *valueError {
	if !simpleName(s, 64, false) || strings.Contains(s, "..") {
		return valErr("names are 1-64 of a-z, 0-9, '_', '.', '-', start with a letter or digit, and have no \"..\"", "bad profile name %q", s)
	}
	return nil
}

func (v *validator) profile(raw *rawProfile, p *Profile) {
	if raw.Version != nil {
		if n, ok := raw.Version.(int64); !ok {
			v.wrongType("version", "the integer 1", raw.Version)
		} else if n != Version {
			v.fail("version", "unsupported version %d (this nsjail-net reads version %d)", n, Version)
		}
	}
	if raw.Description != nil {
		if s, ok := v.str("description", raw.Description); ok {
			if e := checkText(s); e != nil {
				v.bad("description", "description", e)
			}
			p.Description = s
		}
	}
	if raw.Extends != nil {
		if s, ok := v.str("extends", raw.Extends); ok {
			if e := checkProfileName(s); e != nil {
				v.bad("extends", "extends", e)
			}
			p.Extends = s
		}
	}
	if raw.Network != nil {
		v.network(raw.Network, &p.Network)
	}
	if raw.DNS != nil {
		v.dns(raw.DNS, &p.DNS)
	}
	if raw.Firewall != nil {
		v.firewall(raw.Firewall, &p.Firewall)
	}
	for _, k := range []string{"firewall.rules", "publish"} {
		if v.ix.tables[k] {
			v.fail(k, "%s must be an array of tables ([[%s]]), got a table", k, k)
		}
	}
	v.publish(raw.Publish, p)
	if raw.Limits != nil {
		p.Limits.EgressRate = v.rate("limits.egress_rate", raw.Limits.EgressRate)
		p.Limits.IngressRate = v.rate("limits.ingress_rate", raw.Limits.IngressRate)
		p.Limits.Connections = v.connections("limits.connections", raw.Limits.Connections)
	}
	if raw.Security != nil {
		v.security(raw.Security, &p.Security)
	}
}

func (v *validator) security(raw *rawSecurity, s *Security) {
	if raw.Seccomp != nil {
		s.Seccomp, _ = v.boolean("security.seccomp", raw.Seccomp)
	}
	if raw.ClearEnv != nil {
		s.ClearEnv, _ = v.boolean("security.clearenv", raw.ClearEnv)
	}
	s.Hide = v.hidePaths("security.hide", raw.Hide)
	s.Keep = v.hidePaths("security.keep", raw.Keep)
}

// hidePaths validates [security] hide or keep.
func (v *validator) hidePaths(key string, x any) []string {
	if x == nil {
		return nil
	}
	var out []string
	vals, paths := v.strings(key, x)
	for i, s := range vals {
		if err := checkHidePath(s); err != nil {
			v.bad(key, paths[i], err)
			continue
		}
		out = append(out, s)
	}
	return out
}

// checkText checks free text (descriptions): no control characters.
func checkText(s string) *valueError {
	if len(s) > 500 {
		return valErr("longer than 500 bytes", "bad text %q", s)
	}
	for _, c := range s {
		if c < ' ' || c == 0x7f || c == '\uFFFD' {
			return valErr(fmt.Sprintf("character %q not allowed", c), "bad text %q", s)
		}
	}
	return nil
}

func (v *validator) network(raw *rawNetwork, n *Network) {
	if raw.Mode != nil {
		if s, ok := v.enum("network.mode", raw.Mode, string(ModeLoopback), string(ModeBridge)); ok {
			n.Mode = Mode(s)
		}
	}
	if raw.IPv6 != nil {
		n.IPv6, _ = v.boolean("network.ipv6", raw.IPv6)
	}
}

func (v *validator) dns(raw *rawDNS, d *DNS) {
	if raw.Servers != nil {
		vals, paths := v.strings("dns.servers", raw.Servers)
		for i, s := range vals {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				v.bad("dns.servers", paths[i], valErr("want an IP address", "bad address %q", s))
				continue
			}
			d.Servers = append(d.Servers, a.Unmap())
		}
	}
	if raw.Search != nil {
		vals, paths := v.strings("dns.search", raw.Search)
		for i, s := range vals {
			name, err := checkName(s, false)
			if err != nil {
				v.bad("dns.search", paths[i], err)
				continue
			}
			d.Search = append(d.Search, name)
		}
	}
	if raw.Options != nil {
		vals, paths := v.strings("dns.options", raw.Options)
		for i, s := range vals {
			if err := checkDNSOption(s); err != nil {
				v.bad("dns.options", paths[i], err)
				continue
			}
			d.Options = append(d.Options, s)
		}
	}
	if raw.Allow != nil {
		vals, paths := v.strings("dns.allow", raw.Allow)
		for i, s := range vals {
			name, err := checkName(s, true)
			if err != nil {
				v.bad("dns.allow", paths[i], err)
				continue
			}
			d.Allow = append(d.Allow, name)
		}
	}
}

func (v *validator) firewall(raw *rawFirewall, f *Firewall) {
	if raw.Default != nil {
		if s, ok := v.enum("firewall.default", raw.Default, string(ActionAllow), string(ActionDeny)); ok {
			f.Default = Action(s)
		}
	}
	for _, b := range []struct {
		key string
		raw any
		dst *bool
	}{
		{"firewall.allow_host", raw.AllowHost, &f.AllowHost},
		{"firewall.allow_private", raw.AllowPrivate, &f.AllowPrivate},
		{"firewall.allow_sandboxes", raw.AllowSandboxes, &f.AllowSandboxes},
		{"firewall.log_blocked", raw.LogBlocked, &f.LogBlocked},
	} {
		if b.raw != nil {
			*b.dst, _ = v.boolean(b.key, b.raw)
		}
	}
	for i := range raw.Rules {
		if r, ok := v.rule(fmt.Sprintf("firewall.rules[%d]", i), &raw.Rules[i]); ok {
			f.Rules = append(f.Rules, r)
		}
	}
}

func (v *validator) rule(path string, raw *rawRule) (Rule, bool) {
	n := len(v.errs)
	var r Rule
	if raw.Action == nil {
		v.fail(path, "missing action in %s (allowed: %s)", display(path), quoteList([]string{string(ActionAllow), string(ActionDeny)}))
	} else if s, ok := v.enum(path+".action", raw.Action, string(ActionAllow), string(ActionDeny)); ok {
		r.Action = Action(s)
	}
	r.Proto = ProtoAny
	protoOK := true
	if raw.Proto != nil {
		var s string
		if s, protoOK = v.enum(path+".proto", raw.Proto, string(ProtoTCP), string(ProtoUDP), string(ProtoICMP), string(ProtoAny)); protoOK {
			r.Proto = Proto(s)
		}
	}
	if raw.To != nil {
		vals, paths := v.strings(path+".to", raw.To)
		if a, ok := raw.To.([]any); ok && len(a) == 0 {
			v.fail(path+".to", "empty %s: omit \"to\" to match any destination", display(path+".to"))
		}
		for i, s := range vals {
			net, name, err := parseDest(s)
			switch {
			case err != nil:
				v.bad(path+".to", paths[i], err)
			case name != "":
				r.ToNames = append(r.ToNames, name)
			default:
				r.ToNets = append(r.ToNets, net)
			}
		}
	}
	if raw.Ports != nil {
		if protoOK && r.Proto != ProtoTCP && r.Proto != ProtoUDP {
			v.fail(path+".ports", "ports not allowed with proto %q in %s (ports need proto \"tcp\" or \"udp\")", r.Proto, display(path))
		} else {
			r.Ports = v.ports(path+".ports", raw.Ports)
		}
	}
	if raw.Comment != nil {
		if s, ok := v.str(path+".comment", raw.Comment); ok {
			if err := checkComment(s); err != nil {
				v.bad(path+".comment", path+".comment", err)
			}
			r.Comment = s
		}
	}
	return r, len(v.errs) == n
}

func (v *validator) ports(path string, x any) []PortRange {
	a, ok := v.array(path, x, `an array of ports (443 or "8000-8100")`)
	if !ok {
		return nil
	}
	if len(a) == 0 {
		v.fail(path, "empty %s: omit \"ports\" to match every port", display(path))
	}
	var out []PortRange
	for i, e := range a {
		p := fmt.Sprintf("%s[%d]", path, i)
		var pr PortRange
		var err *valueError
		switch e := e.(type) {
		case int64:
			var n uint16
			n, err = portNumber(e)
			pr = PortRange{n, n}
		case string:
			pr, err = parsePort(e)
		default:
			v.wrongType(p, `a port number or a "lo-hi" range`, e)
			continue
		}
		if err != nil {
			v.bad(path, p, err)
			continue
		}
		out = append(out, pr)
	}
	return out
}

func (v *validator) publish(raw []rawPublish, p *Profile) {
	type key struct {
		proto Proto
		port  uint16
	}
	seen := map[key][]int{} // -> indexes into p.Publish
	for i := range raw {
		path := fmt.Sprintf("publish[%d]", i)
		n := len(v.errs)
		pub := Publish{Proto: ProtoTCP, HostIP: DefaultHostIP()}
		pub.HostPort = v.port(path, "host_port", raw[i].HostPort)
		pub.SandboxPort = v.port(path, "sandbox_port", raw[i].SandboxPort)
		if raw[i].Proto != nil {
			if s, ok := v.enum(path+".proto", raw[i].Proto, string(ProtoTCP), string(ProtoUDP)); ok {
				pub.Proto = Proto(s)
			}
		}
		if raw[i].HostIP != nil {
			if s, ok := v.str(path+".host_ip", raw[i].HostIP); ok {
				a, err := parseHostIP(s)
				if err != nil {
					v.bad(path+".host_ip", path+".host_ip", err)
				}
				pub.HostIP = a
			}
		}
		if len(v.errs) != n {
			continue
		}
		k := key{pub.Proto, pub.HostPort}
		for _, j := range seen[k] {
			if q := p.Publish[j]; overlaps(q.HostIP, pub.HostIP) {
				v.fail(path+".host_port", "host port %d/%s published twice in %s (also in %s)", pub.HostPort, pub.Proto, display(path), display(fmt.Sprintf("publish[%d]", j)))
			}
		}
		seen[k] = append(seen[k], len(p.Publish))
		p.Publish = append(p.Publish, pub)
	}
}

// overlaps tells whether two host addresses of published ports collide.
func overlaps(a, b netip.Addr) bool { return a == b || a.IsUnspecified() || b.IsUnspecified() }

// parseHostIP parses a publish host_ip: an IPv4 address.
func parseHostIP(s string) (netip.Addr, *valueError) {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil || a.Zone() != "":
		return netip.Addr{}, valErr("want an IPv4 address such as \"127.0.0.1\" or \"0.0.0.0\"", "bad address %q", s)
	case !a.Unmap().Is4():
		return netip.Addr{}, valErr("published ports take an IPv4 host address", "bad address %q", s)
	}
	return a.Unmap(), nil
}

// port checks a required port-number key of a publish entry.
func (v *validator) port(path, key string, x any) uint16 {
	if x == nil {
		v.fail(path, "missing %s in %s", key, display(path))
		return 0
	}
	n, ok := x.(int64)
	if !ok {
		v.wrongType(path+"."+key, "a port number", x)
		return 0
	}
	port, err := portNumber(n)
	if err != nil {
		v.bad(path+"."+key, path+"."+key, err)
	}
	return port
}

func (v *validator) rate(path string, x any) uint64 {
	if x == nil {
		return 0
	}
	s, ok := x.(string)
	if !ok {
		v.wrongType(path, `a string with a unit, e.g. "10mbit"`, x)
		return 0
	}
	n, err := parseRate(s)
	if err != nil {
		v.bad(path, path, err)
	}
	return n
}

// connections checks limits.connections: an integer from 1 to
// MaxConnections.
func (v *validator) connections(path string, x any) uint32 {
	if x == nil {
		return 0
	}
	n, ok := x.(int64)
	if !ok {
		v.wrongType(path, "an integer", x)
		return 0
	}
	if n < 1 || n > MaxConnections {
		v.bad(path, path, valErr("", "connections %d out of range 1-%d", n, MaxConnections))
		return 0
	}
	return uint32(n)
}

func errPos(err error) pos {
	if e, ok := err.(*Error); ok {
		return pos{line: e.Line, col: e.Col}
	}
	return pos{}
}

// exactKeys reports keys that differ from the schema only in case: the
// TOML decoder matches them to fields case-insensitively, but a profile
// must spell every key exactly (and extends merging relies on it).
func (v *validator) exactKeys(reported map[pos]bool) {
	bad := map[string]bool{} // key prefixes already reported
	for _, path := range sortedKeys(v.ix.key) {
		parts := splitPath(path)
		for i, part := range parts {
			known := knownKeys(parts[:i])
			if known == nil || slices.Contains(known, part) {
				continue
			}
			if !slices.ContainsFunc(known, func(k string) bool { return strings.EqualFold(k, part) }) {
				break // unknown in any case: the strict decoder reported it
			}
			prefix := strings.Join(parts[:i+1], ".")
			at := v.ix.keyAt(path)
			if !reported[at] && !bad[prefix] {
				bad[prefix] = true
				reported[at] = true
				what := "key"
				if i < len(parts)-1 || v.ix.tables[path] {
					what = "table"
				}
				v.failAt(at, "unknown %s %q%s", what, part, suggest(part, known))
			}
			break
		}
	}
}
