package policy

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// valueError is a problem with one value, rendered with the place it was
// found: `bad CIDR "10.0.0.0/33" in firewall.rules[1].to: prefix length 33
// out of range 0-32`. head names the value, detail explains (optional).
type valueError struct{ head, hint, detail string }

func (v *valueError) in(where string) string {
	s := v.head
	if where != "" {
		s += " in " + where
	}
	s += v.hint
	if v.detail != "" {
		s += ": " + v.detail
	}
	return s
}

func (v *valueError) String() string { return v.in("") }

func valErr(detail, format string, args ...any) *valueError {
	return &valueError{head: fmt.Sprintf(format, args...), detail: detail}
}

// parseDest parses one "to" entry: an address, a CIDR, a domain name or a
// "*.example.com" pattern. Exactly one of the results is set on success.
func parseDest(s string) (netip.Prefix, string, *valueError) {
	if strings.Contains(s, "/") {
		p, err := parseCIDR(s)
		return p, "", err
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return netip.Prefix{}, "", valErr("zones are not allowed", "bad address %q", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), "", nil
	}
	if looksLikeAddr(s) {
		detail := "not an IPv4 address"
		if strings.Contains(s, ":") {
			detail = "not an IPv6 address"
		}
		return netip.Prefix{}, "", valErr(detail, "bad address %q", s)
	}
	name, err := checkName(s, true)
	return netip.Prefix{}, name, err
}

func parseCIDR(s string) (netip.Prefix, *valueError) {
	addr, bits, _ := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, valErr(fmt.Sprintf("%q is not an IP address", addr), "bad CIDR %q", s)
	}
	n, err := strconv.Atoi(bits)
	if err != nil || bits == "" || bits[0] == '+' || bits[0] == '-' {
		return netip.Prefix{}, valErr(fmt.Sprintf("prefix length %q is not a number", bits), "bad CIDR %q", s)
	}
	if n > a.BitLen() {
		return netip.Prefix{}, valErr(fmt.Sprintf("prefix length %d out of range 0-%d", n, a.BitLen()), "bad CIDR %q", s)
	}
	p := netip.PrefixFrom(a, n)
	if m := p.Masked(); m != p {
		return netip.Prefix{}, valErr(fmt.Sprintf("host bits set (did you mean %q?)", m.String()), "bad CIDR %q", s)
	}
	if a.Is4In6() && n >= 96 {
		p = netip.PrefixFrom(a.Unmap(), n-96)
	}
	return p, nil
}

// looksLikeAddr tells an attempted IP address from a domain name: IPv6
// has colons, and no top-level domain is all digits.
func looksLikeAddr(s string) bool {
	if strings.Contains(s, ":") {
		return true
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	if last == "" {
		return false
	}
	for _, c := range last {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// checkName validates a domain name, or, with pattern, also a
// "*.example.com" pattern. It returns the name lowercased without a
// trailing dot.
func checkName(s string, pattern bool) (string, *valueError) {
	what := "name"
	if strings.Contains(s, "*") {
		what = "pattern"
	}
	bad := func(detail string) (string, *valueError) { return "", valErr(detail, "bad %s %q", what, s) }
	name := strings.ToLower(strings.TrimSuffix(s, "."))
	if name == "" {
		return bad("empty name")
	}
	if len(name) > 253 {
		return bad("longer than 253 characters")
	}
	body := name
	if strings.HasPrefix(name, "*.") {
		if !pattern {
			return bad("patterns are not allowed here")
		}
		body = name[2:]
	}
	if strings.Contains(body, "*") {
		if !pattern {
			return bad("patterns are not allowed here")
		}
		return bad(`"*" is allowed only as a leading "*." (as in "*.example.com")`)
	}
	for _, label := range strings.Split(body, ".") {
		if err := checkLabel(label); err != "" {
			return bad(err)
		}
	}
	return name, nil
}

func checkLabel(label string) string {
	switch {
	case label == "":
		return "empty label"
	case len(label) > 63:
		return fmt.Sprintf("label %q longer than 63 characters", label)
	case label[0] == '-' || label[len(label)-1] == '-':
		return fmt.Sprintf("label %q starts or ends with '-'", label)
	}
	for _, c := range label {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Sprintf("character %q not allowed (letters, digits, '-', '_')", c)
		}
	}
	return ""
}

// portNumber checks a port given as a number.
func portNumber(n int64) (uint16, *valueError) {
	if n < 1 || n > math.MaxUint16 {
		return 0, valErr("", "port %d out of range 1-65535", n)
	}
	return uint16(n), nil
}

// parsePort parses "443" or "8000-8100".
func parsePort(s string) (PortRange, *valueError) {
	lo, hi, isRange := strings.Cut(s, "-")
	l, err := portString(lo, s)
	if err != nil {
		return PortRange{}, err
	}
	if !isRange {
		return PortRange{l, l}, nil
	}
	h, err := portString(hi, s)
	if err != nil {
		return PortRange{}, err
	}
	if l > h {
		e := valErr("", "reversed port range %q", s)
		e.hint = fmt.Sprintf(" (did you mean \"%d-%d\"?)", h, l)
		return PortRange{}, e
	}
	return PortRange{l, h}, nil
}

func portString(s, whole string) (uint16, *valueError) {
	if s == "" || len(s) > 6 || strings.Trim(s, "0123456789") != "" {
		return 0, valErr(`want a number 1-65535 or a range "lo-hi"`, "bad port %q", whole)
	}
	n, _ := strconv.ParseInt(s, 10, 64)
	return portNumber(n)
}

// ParseRate parses a rate such as "10mbit" or "1.5gbit" into bits per
// second. Units are bit, kbit, mbit and gbit (decimal: 1kbit = 1000 bit/s,
// case-insensitive); "0" means no limit.
func ParseRate(s string) (uint64, error) {
	n, err := parseRate(s)
	if err != nil {
		return 0, &Error{Msg: err.String()}
	}
	return n, nil
}

func parseRate(s string) (uint64, *valueError) {
	const units = "bit, kbit, mbit, gbit"
	bad := func(detail string) (uint64, *valueError) { return 0, valErr(detail, "bad rate %q", s) }
	if s == "0" {
		return 0, nil
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.ToLower(s[i:])
	mult := map[string]uint64{"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9}[unit]
	switch {
	case num == "":
		return bad("want a number followed by a unit (" + units + "), e.g. \"10mbit\"")
	case unit == "":
		return bad("missing unit (" + units + ")")
	case mult == 0 && strings.HasSuffix(unit, "ps"):
		return bad(fmt.Sprintf("unknown unit %q (allowed: %s; bits per second, so \"10mbit\", not \"10mbps\", which tc reads as bytes)", s[i:], units))
	case mult == 0:
		return bad(fmt.Sprintf("unknown unit %q (allowed: %s)", s[i:], units))
	}
	whole, frac, _ := strings.Cut(num, ".")
	if whole == "" || strings.Contains(frac, ".") || len(whole) > 12 || len(frac) > 9 {
		return bad(fmt.Sprintf("bad number %q", num))
	}
	w, _ := strconv.ParseUint(whole, 10, 64)
	if w > math.MaxUint64/mult-1 {
		return bad("too large")
	}
	v := w * mult
	if frac != "" {
		f, _ := strconv.ParseUint(frac, 10, 64)
		scale := uint64(math.Pow10(len(frac)))
		if f*mult%scale != 0 {
			return bad("not a whole number of bits per second")
		}
		v += f * mult / scale
	}
	// The kernel's token bucket cannot express less (nat.ApplyLimits).
	if v > 0 && v < MinRate {
		return bad("below the smallest rate the kernel shapes, 8kbit (use \"0\" for no limit)")
	}
	return v, nil
}

// MinRate is the smallest non-zero rate limit, in bits per second.
const MinRate = 8000

// formatRate renders bits per second with the largest exact unit.
func formatRate(v uint64) string {
	for _, u := range []struct {
		name string
		mult uint64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}} {
		if v >= u.mult && v%u.mult == 0 {
			return strconv.FormatUint(v/u.mult, 10) + u.name
		}
	}
	return strconv.FormatUint(v, 10) + "bit"
}

// dnsOptions are the resolv.conf options a profile may set; true means the
// option takes a ":n" number.
func dnsOptions() map[string]bool {
	return map[string]bool{
		"ndots": true, "timeout": true, "attempts": true,
		"rotate": false, "edns0": false, "single-request": false, "single-request-reopen": false,
		"no-tld-query": false, "use-vc": false, "no-reload": false, "trust-ad": false,
		"no-aaaa": false, "inet6": false, "no-check-names": false,
	}
}

func checkDNSOption(s string) *valueError {
	opts := dnsOptions()
	name, arg, hasArg := strings.Cut(s, ":")
	numeric, known := opts[name]
	switch {
	case !known:
		var names []string
		for _, k := range sortedKeys(opts) {
			if opts[k] {
				k += ":n"
			}
			names = append(names, k)
		}
		e := valErr("allowed: "+strings.Join(names, ", "), "unknown option %q", s)
		e.hint = suggest(name, sortedKeys(opts))
		return e
	case numeric && !hasArg:
		return valErr(fmt.Sprintf("want %s:n, e.g. %q", name, name+":1"), "bad option %q", s)
	case !numeric && hasArg:
		return valErr(fmt.Sprintf("%s takes no value", name), "bad option %q", s)
	case numeric:
		if n, err := strconv.Atoi(arg); err != nil || n < 0 || n > 30 {
			return valErr(fmt.Sprintf("want %s:n with n from 0 to 30", name), "bad option %q", s)
		}
	}
	return nil
}

// checkComment keeps comments safe to embed in iptables-restore input and
// in -m comment (at most 200 bytes, printable, no '"' or '\').
func checkComment(s string) *valueError {
	if len(s) > 200 {
		return valErr("longer than 200 bytes", "bad comment %q", s)
	}
	for _, c := range s {
		if c < ' ' || c == 0x7f || c == '"' || c == '\\' || c == '\uFFFD' {
			return valErr(fmt.Sprintf("character %q not allowed", c), "bad comment %q", s)
		}
	}
	return nil
}
