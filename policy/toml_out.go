package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// TOML renders the profile (normally the effective one, after extends,
// defaults and overrides) as a complete version 1 profile, every key
// spelled out. It starts with "# origin: ..." and, for a profile that
// extends others, "# extends: ..." comments; extends itself is not a key
// of the output, since the parents are already applied. Parsing the
// output gives the same profile back.
func (p *Profile) TOML() ([]byte, error) {
	var b strings.Builder
	kv := func(k, v string) { fmt.Fprintf(&b, "%s = %s\n", k, v) }
	fmt.Fprintf(&b, "# origin: %s\n", p.Origin)
	if len(p.lineage) > 0 {
		fmt.Fprintf(&b, "# extends: %s\n", strings.Join(p.lineage, " -> "))
	}
	b.WriteString("# The effective profile: defaults and extends applied.\n\n")
	kv("version", strconv.Itoa(Version))
	kv("description", tomlString(p.Description))

	b.WriteString("\n[network]\n")
	kv("mode", tomlString(string(p.Network.Mode)))
	kv("ipv6", strconv.FormatBool(p.Network.IPv6))

	b.WriteString("\n[dns]\n")
	kv("servers", tomlList(addrStrings(p.DNS.Servers)))
	kv("search", tomlList(p.DNS.Search))
	kv("options", tomlList(p.DNS.Options))
	kv("allow", tomlList(p.DNS.Allow))

	b.WriteString("\n[firewall]\n")
	kv("default", tomlString(string(p.Firewall.Default)))
	kv("allow_host", strconv.FormatBool(p.Firewall.AllowHost))
	kv("allow_private", strconv.FormatBool(p.Firewall.AllowPrivate))
	kv("allow_sandboxes", strconv.FormatBool(p.Firewall.AllowSandboxes))
	kv("log_blocked", strconv.FormatBool(p.Firewall.LogBlocked))
	for _, r := range p.Firewall.Rules {
		b.WriteString("\n[[firewall.rules]]\n")
		kv("action", tomlString(string(r.Action)))
		kv("proto", tomlString(string(r.Proto)))
		if len(r.ToNets)+len(r.ToNames) > 0 {
			var to []string
			for _, n := range r.ToNets {
				if n.IsSingleIP() {
					to = append(to, n.Addr().String())
				} else {
					to = append(to, n.String())
				}
			}
			kv("to", tomlList(append(to, r.ToNames...)))
		}
		if len(r.Ports) > 0 {
			ports := make([]string, len(r.Ports))
			for i, pr := range r.Ports {
				if pr.Lo == pr.Hi {
					ports[i] = strconv.Itoa(int(pr.Lo))
				} else {
					ports[i] = fmt.Sprintf(`"%d-%d"`, pr.Lo, pr.Hi)
				}
			}
			kv("ports", "["+strings.Join(ports, ", ")+"]")
		}
		if r.Comment != "" {
			kv("comment", tomlString(r.Comment))
		}
	}
	for _, pub := range p.Publish {
		b.WriteString("\n[[publish]]\n")
		kv("host_port", strconv.Itoa(int(pub.HostPort)))
		kv("sandbox_port", strconv.Itoa(int(pub.SandboxPort)))
		kv("proto", tomlString(string(pub.Proto)))
		kv("host_ip", tomlString(pub.HostIP.String()))
	}

	b.WriteString("\n[limits]\n")
	for _, l := range []struct {
		key  string
		rate uint64
	}{{"egress_rate", p.Limits.EgressRate}, {"ingress_rate", p.Limits.IngressRate}} {
		if l.rate == 0 {
			fmt.Fprintf(&b, "# %s: no limit\n", l.key)
		} else {
			kv(l.key, tomlString(formatRate(l.rate)))
		}
	}
	if p.Limits.Connections != 0 {
		kv("connections", strconv.FormatUint(uint64(p.Limits.Connections), 10))
	}

	b.WriteString("\n[security]\n")
	kv("seccomp", strconv.FormatBool(p.Security.Seccomp))
	if p.Security.ClearEnv {
		kv("clearenv", "true")
	}
	for _, l := range []struct {
		key   string
		paths []string
	}{{"hide", p.Security.Hide}, {"keep", p.Security.Keep}} {
		if len(l.paths) > 0 {
			kv(l.key, tomlList(l.paths))
		}
	}
	return []byte(b.String()), nil
}

func addrStrings(as []netip.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

func tomlList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = tomlString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// tomlString renders a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
