package policy

import "fmt"

// mergeKeys lists, for every key a child may set, how it overrides its
// parent. Rules are not here: the child's come first, then the parent's.
// description is not inherited either: it describes the file.
func mergeKeys() []struct {
	key  string
	copy func(dst, src *Profile)
} {
	return []struct {
		key  string
		copy func(dst, src *Profile)
	}{
		{"network.mode", func(d, s *Profile) { d.Network.Mode = s.Network.Mode }},
		{"network.ipv6", func(d, s *Profile) { d.Network.IPv6 = s.Network.IPv6 }},
		{"dns.servers", func(d, s *Profile) { d.DNS.Servers = s.DNS.Servers }},
		{"dns.search", func(d, s *Profile) { d.DNS.Search = s.DNS.Search }},
		{"dns.options", func(d, s *Profile) { d.DNS.Options = s.DNS.Options }},
		{"dns.allow", func(d, s *Profile) { d.DNS.Allow = s.DNS.Allow }},
		{"firewall.default", func(d, s *Profile) { d.Firewall.Default = s.Firewall.Default }},
		{"firewall.allow_host", func(d, s *Profile) { d.Firewall.AllowHost = s.Firewall.AllowHost }},
		{"firewall.allow_private", func(d, s *Profile) { d.Firewall.AllowPrivate = s.Firewall.AllowPrivate }},
		{"firewall.allow_sandboxes", func(d, s *Profile) { d.Firewall.AllowSandboxes = s.Firewall.AllowSandboxes }},
		{"firewall.log_blocked", func(d, s *Profile) { d.Firewall.LogBlocked = s.Firewall.LogBlocked }},
		{"publish", func(d, s *Profile) { d.Publish = s.Publish }},
		{"limits.egress_rate", func(d, s *Profile) { d.Limits.EgressRate = s.Limits.EgressRate }},
		{"limits.ingress_rate", func(d, s *Profile) { d.Limits.IngressRate = s.Limits.IngressRate }},
		{"limits.connections", func(d, s *Profile) { d.Limits.Connections = s.Limits.Connections }},
		{"security.seccomp", func(d, s *Profile) { d.Security.Seccomp = s.Security.Seccomp }},
		{"security.hide", func(d, s *Profile) { d.Security.Hide = s.Security.Hide }},
		{"security.keep", func(d, s *Profile) { d.Security.Keep = s.Security.Keep }},
		{"security.clearenv", func(d, s *Profile) { d.Security.ClearEnv = s.Security.ClearEnv }},
	}
}

// merge applies child layer l over the effective parent and returns the
// effective child. parentDesc names the parent for the lineage comment.
func merge(parent *Profile, l *layer) *Profile {
	c := l.p.clone()
	out := parent.clone()
	out.Name, out.Origin, out.Description, out.Extends = c.Name, c.Origin, c.Description, c.Extends
	for _, k := range mergeKeys() {
		if l.set[k.key] {
			k.copy(out, c)
		}
	}
	out.Firewall.Rules = append(c.Firewall.Rules, out.Firewall.Rules...)
	out.lineage = append([]string{fmt.Sprintf("%s (%s)", parent.Name, parent.Origin)}, parent.lineage...)
	out.sources = append(c.sources, parent.sources...)
	for k, v := range c.src {
		out.src[k] = v
	}
	return out
}

// check runs the checks that need the whole effective profile.
func (p *Profile) check() error {
	if len(p.Publish) > 0 && p.Network.Mode != ModeBridge {
		at := p.src["publish"]
		return at.errorf("publish needs network.mode \"bridge\", but the mode is %q", p.Network.Mode)
	}
	return nil
}
