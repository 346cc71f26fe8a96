package policy

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: the decoder never panics, and every error it returns is a
// *Error with a position (or several joined).
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.toml")
	builtins, _ := filepath.Glob("../profiles/*.toml")
	for _, file := range append(seeds, builtins...) {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("firewall.rules = [{action = \"allow\", portz = 1}, {to = [[]]}]\n"))
	f.Add([]byte("[[publish]]\nhost_port = 1\nsandbox_port = 1\n[[publish]]\nhost_port = 1\n"))
	f.Add([]byte("[a.b]\n[[a.b.c]]\nx = {y = {z = 1}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz", "/fuzz.toml", data)
		if err == nil {
			if p.Network.Mode == "" || p.Firewall.Default == "" {
				t.Fatalf("defaults missing: %+v", p)
			}
			if _, err := p.TOML(); err != nil {
				t.Fatal(err)
			}
			return
		}
		for _, e := range flatten(err) {
			var pe *Error
			if !errors.As(e, &pe) || pe.Line < 1 || pe.Col < 1 || pe.File != "/fuzz.toml" {
				t.Fatalf("error without a position: %#v (%v)", e, e)
			}
		}
	})
}

// FuzzParseRuleFlag: --allow / --deny parsing never panics, and what it
// accepts is a well-formed rule that compiles.
func FuzzParseRuleFlag(f *testing.F) {
	for _, s := range []string{"tcp:203.0.113.0/24:443", "udp:198.51.100.7:53,5353", "icmp:203.0.113.0/24",
		"any:10.0.0.0/8", "tcp:[2001:db8::/32]:443", "tcp:*.github.com:443", "tcp:*:1-65535", "tcp:[::ffff:1.2.3.4]:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRuleFlag(ActionAllow, s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("not an *Error: %v", err)
			}
			return
		}
		p := &Profile{Name: "fuzz", Network: Network{Mode: ModeBridge, IPv6: true}, Firewall: Firewall{Default: ActionDeny, Rules: []Rule{r}}}
		if _, err := Compile(p, testEnv()); err != nil {
			t.Fatalf("accepted %q but Compile fails: %v", s, err)
		}
	})
}

// FuzzParsePublishFlag: --publish parsing never panics and what it
// accepts is valid.
func FuzzParsePublishFlag(f *testing.F) {
	for _, s := range []string{"8080:80/tcp", "127.0.0.1:8080:80/udp", "0.0.0.0:8080:80", "1:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePublishFlag(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("not an *Error: %v", err)
			}
			return
		}
		if p.HostPort == 0 || p.SandboxPort == 0 || !p.HostIP.Is4() || (p.Proto != ProtoTCP && p.Proto != ProtoUDP) {
			t.Fatalf("accepted %q as %+v", s, p)
		}
	})
}
