package main

import (
	"os"
	"strings"
	"testing"
)

// TestBadHostnamesRefusedBeforeAnyChange: run and create refuse a
// --hostname that is not an RFC 1123 host name with exit 125 and a
// one-line message naming the flag, before they touch anything. Root only,
// as for TestBadNamesRefusedBeforeAnyChange.
func TestBadHostnamesRefusedBeforeAnyChange(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the commands check privileges before flags")
	}
	tests := []struct {
		name, hostname, want string
	}{
		{"newline", "x\nevil", `--hostname "x\nevil": character '\n'`},
		{"hosts line", "x\n10.0.0.1 evil", `--hostname "x\n10.0.0.1 evil"`},
		{"space and bang", "bad host!", `--hostname "bad host!": character ' '`},
		{"empty", "", `--hostname is empty`},
		{"trailing dot", "box.", "no trailing dot"},
		{"too long", strings.Repeat("a", 65), "too long (65 bytes, max 64)"},
		{"dash", "-box", `label "-box" starts or ends with '-'`},
	}
	commands := map[string]func(h string) []string{
		"run": func(h string) []string {
			return []string{"run", "--profile", "no-such-profile-xyz", "--hostname", h, "--", "true"}
		},
		"run --hostname=": func(h string) []string {
			return []string{"run", "--profile", "no-such-profile-xyz", "--hostname=" + h, "--", "true"}
		},
		"create": func(h string) []string {
			return []string{"create", "--profile", "no-such-profile-xyz", "--hostname", h, "box1"}
		},
	}
	for cmdName, argsFor := range commands {
		for _, tt := range tests {
			t.Run(cmdName+"/"+tt.name, func(t *testing.T) {
				refusedBeforeAnyChange(t, argsFor(tt.hostname), tt.want)
			})
		}
	}
}
