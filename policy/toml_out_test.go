package policy

import (
	"reflect"
	"strings"
	"testing"
)

// TestTOMLRoundTrip: the effective profile printed by TOML parses back to
// the same profile, for every golden case and built-in.
func TestTOMLRoundTrip(t *testing.T) {
	cases := goldenCases(t)
	f := &Finder{}
	for _, name := range []string{"offline", "web", "open", "dev"} {
		p, err := f.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		cases["builtin "+name] = p
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := p.TOML()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(out), "# origin: "+p.Origin+"\n") {
				t.Errorf("no origin comment:\n%s", out)
			}
			back, err := Parse(p.Name, p.Origin, out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			a, b := *p, *back
			a.Extends, a.lineage, a.sources, a.src, b.src = "", nil, nil, nil, nil
			if !reflect.DeepEqual(&a, &b) {
				t.Errorf("round trip differs:\n%+v\n%+v\n%s", a, b, out)
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	ok := map[string]uint64{"0": 0, "10mbit": 10_000_000, "1.5mbit": 1_500_000, "8000bit": 8000, "2Gbit": 2_000_000_000, "0.008mbit": 8000, "100kbit": 100_000}
	for in, want := range ok {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	bad := map[string]string{
		"10mbps":          `bad rate "10mbps": unknown unit "mbps" (allowed: bit, kbit, mbit, gbit; bits per second, so "10mbit", not "10mbps", which tc reads as bytes)`,
		"10":              `bad rate "10": missing unit (bit, kbit, mbit, gbit)`,
		"mbit":            `bad rate "mbit": want a number followed by a unit (bit, kbit, mbit, gbit), e.g. "10mbit"`,
		"1.2.3mbit":       `bad rate "1.2.3mbit": bad number "1.2.3"`,
		"0.5bit":          `bad rate "0.5bit": not a whole number of bits per second`,
		"99999999999gbit": `bad rate "99999999999gbit": too large`,
		"10 mbit":         `bad rate "10 mbit": unknown unit " mbit" (allowed: bit, kbit, mbit, gbit)`,
		"8bit":            `bad rate "8bit": below the smallest rate the kernel shapes, 8kbit (use "0" for no limit)`,
		"7.999kbit":       `bad rate "7.999kbit": below the smallest rate the kernel shapes, 8kbit (use "0" for no limit)`,
	}
	for in, want := range bad {
		if _, err := ParseRate(in); err == nil || err.Error() != want {
			t.Errorf("ParseRate(%q):\ngot  %v\nwant %s", in, err, want)
		}
	}
	for _, v := range []uint64{8000, 8001, 9000, 1_500_000, 10_000_000, 3_000_000_000} {
		if got, err := ParseRate(formatRate(v)); err != nil || got != v {
			t.Errorf("formatRate(%d) = %q does not parse back: %d %v", v, formatRate(v), got, err)
		}
	}
}

func TestHostRulesOwner(t *testing.T) {
	for name, p := range goldenCases(t) {
		for _, r := range HostRules(p, testAddrs()) {
			if !strings.Contains(strings.Join(r.Args, " "), "--comment "+OwnerTag("sb1")) {
				t.Errorf("%s: rule without owner tag: %v", name, r)
			}
		}
	}
	if OwnerTag("x") != "nsjail-net:x" {
		t.Errorf("OwnerTag")
	}
}
