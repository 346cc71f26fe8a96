package launch

import (
	"testing"

	"github.com/nsjail-net/nsjail-net/dns"
	"github.com/nsjail-net/nsjail-net/state"
)

func TestDefaultHostname(t *testing.T) {
	tests := []struct{ name, want string }{
		{"lab1", "lab1"},
		{"nsj-0a1b2c3d", "nsj-0a1b2c3d"},
		{"my-project.dev", "my-project.dev"},
		{"my_proj", "my-proj"},
		{"a..b", "a.b"},
		{"x.", "x"},
		{"a-.-b", "a.b"},
		{"a_", "a"},
		{"0.__.1", "0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := defaultHostname(tt.name); got != tt.want {
				t.Errorf("defaultHostname(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

// TestDefaultHostnameAlwaysValid: every sandbox name of up to four
// characters (and the longest ones) gives a valid host name.
func TestDefaultHostnameAlwaysValid(t *testing.T) {
	const alphabet = "a0_.-"
	names := []string{"a_.-_.-_.-_.-_.-_.-_.-_.-_.-_.-", "0123456789012345678901234567890"}
	var grow func(prefix string)
	grow = func(prefix string) {
		names = append(names, prefix)
		if len(prefix) == 4 {
			return
		}
		for _, c := range alphabet {
			grow(prefix + string(c))
		}
	}
	grow("")
	n := 0
	for _, name := range names {
		if state.ValidName(name) != nil {
			continue
		}
		n++
		if h := defaultHostname(name); dns.ValidHostname(h) != nil {
			t.Errorf("sandbox name %q gives hostname %q: %v", name, h, dns.ValidHostname(h))
		}
	}
	if n < 100 {
		t.Fatalf("only %d valid names tried", n)
	}
}
