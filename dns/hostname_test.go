package dns

import (
	"net/netip"
	"strings"
	"testing"
)

func TestValidHostname(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	tests := []struct {
		name    string
		host    string
		wantErr string // "" = valid
	}{
		{"one letter", "a", ""},
		{"digits", "0", ""},
		{"labels", "box1.example-2.test", ""},
		{"upper case", "Box1", ""},
		{"label of 63", label63, ""},
		{"64 bytes", label63[:31] + "." + label63[:32], ""},
		{"empty", "", "empty host name"},
		{"label of 64", label63 + "a", `label "` + label63 + `a" longer than 63 characters`},
		{"65 bytes", label63[:32] + "." + label63[:32], "too long (65 bytes, max 64)"},
		{"300 bytes", strings.Repeat("a.", 150), "too long (300 bytes, max 64)"},
		{"trailing dot", "box1.", "ends with '.'"},
		{"leading dot", ".box1", "empty label"},
		{"double dot", "a..b", "empty label"},
		{"newline", "x\nevil", `character '\n' at byte 2`},
		{"hosts line", "x\n10.0.0.1 evil", `character '\n'`},
		{"cr", "x\r", `character '\r'`},
		{"space", "bad host!", `character ' ' at byte 4`},
		{"bang", "bad-host!", `character '!' at byte 9`},
		{"tab", "a\tb", `character '\t'`},
		{"hash", "a#b", `character '#'`},
		{"nul", "a\x00b", `character '\x00'`},
		{"underscore", "my_box", `character '_'`},
		{"slash", "a/b", `character '/'`},
		{"non-ascii", "café", `character 'é' at byte 4`},
		{"invalid utf-8", "a\xff", "invalid UTF-8 at byte 2"},
		{"leading dash", "-box", `label "-box" starts or ends with '-'`},
		{"trailing dash", "box-.a", `label "box-" starts or ends with '-'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidHostname(tt.host)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("ValidHostname(%q) = %v, want nil", tt.host, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ValidHostname(%q) = %v, want an error containing %q", tt.host, err, tt.wantErr)
			}
		})
	}
}

// TestHostsRefusesBadHostname: the /etc/hosts writer defends itself, so a
// hostname no caller checked cannot add a line.
func TestHostsRefusesBadHostname(t *testing.T) {
	addr := netip.MustParseAddr("10.213.0.7")
	tests := []struct {
		name     string
		hostname string
		addr     netip.Addr
		want     string // the hostname line; "" = refused
	}{
		{"bridged", "box1", addr, "10.213.0.7\tbox1\n"},
		{"offline", "box1", netip.Addr{}, "127.0.1.1\tbox1\n"},
		{"newline", "x\n10.0.0.1\tevil", addr, ""},
		{"alias", "x evil", netip.Addr{}, ""},
		{"empty", "", addr, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Hosts(tt.hostname, tt.addr, nil)
			if tt.want == "" {
				if err == nil || b != nil {
					t.Fatalf("Hosts(%q) = %q, %v; want an error and nothing written", tt.hostname, b, err)
				}
				if !strings.Contains(err.Error(), "hostname") {
					t.Errorf("error %q does not name the hostname", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Hosts(%q): %v", tt.hostname, err)
			}
			if !strings.HasSuffix(string(b), tt.want) || strings.Count(string(b), "\n") != 4 {
				t.Errorf("Hosts(%q) =\n%s\nwant 4 lines ending in %q", tt.hostname, b, tt.want)
			}
		})
	}
}

// TestHostsExtraEntries: --add-host entries come last, one line each, and
// the writer refuses a name or address that could add more.
func TestHostsExtraEntries(t *testing.T) {
	addr := netip.MustParseAddr("10.213.0.7")
	for _, tt := range []struct {
		name  string
		extra []HostEntry
		want  string // the tail of the file; "" = refused
	}{
		{"two", []HostEntry{{"db", netip.MustParseAddr("10.0.0.5")}, {"db6.example", netip.MustParseAddr("fd00::5")}},
			"10.213.0.7\tbox1\n10.0.0.5\tdb\nfd00::5\tdb6.example\n"},
		{"253 bytes", []HostEntry{{strings.Repeat("a.", 126) + "a", netip.MustParseAddr("10.0.0.5")}},
			"10.0.0.5\t" + strings.Repeat("a.", 126) + "a\n"},
		{"newline in name", []HostEntry{{"db\n1.2.3.4\tevil", netip.MustParseAddr("10.0.0.5")}}, ""},
		{"no address", []HostEntry{{"db", netip.Addr{}}}, ""},
		{"zone", []HostEntry{{"db", netip.MustParseAddr("fe80::1%eth0")}}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Hosts("box1", addr, tt.extra)
			if tt.want == "" {
				if err == nil || b != nil {
					t.Fatalf("Hosts = %q, %v; want an error", b, err)
				}
				return
			}
			if err != nil || !strings.HasSuffix(string(b), tt.want) {
				t.Fatalf("Hosts =\n%s%v\nwant it to end in\n%s", b, err, tt.want)
			}
		})
	}
}
