package policy

import (
	"slices"
	"strings"
	"testing"
)

func TestHiddenFor(t *testing.T) {
	tests := []struct {
		name       string
		hide, keep []string
		uid        int
		want, not  []string
	}{
		{"defaults", nil, nil, 1000,
			[]string{"/run/docker.sock", "/var/run/docker.sock", "/run/containerd", "/run/user/1000/docker.sock", "/run/user/1000/podman"}, nil},
		{"uid of the program", nil, nil, 0, []string{"/run/user/0/docker.sock"}, []string{"/run/user/1000/docker.sock"}},
		{"keep takes a default back", nil, []string{"/run/docker.sock", "/run/user/%u/podman"}, 7,
			[]string{"/var/run/docker.sock"}, []string{"/run/docker.sock", "/run/user/7/podman"}},
		{"hide adds", []string{"/srv/agent.sock"}, nil, 7, []string{"/srv/agent.sock", "/run/docker.sock"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := HiddenFor(tt.hide, tt.keep, tt.uid)
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("%q missing from %q", w, got)
				}
			}
			for _, n := range tt.not {
				if slices.Contains(got, n) {
					t.Errorf("%q in %q", n, got)
				}
			}
		})
	}
}

func TestSecurityHideKeepValidation(t *testing.T) {
	tests := []struct {
		name, body, err string
	}{
		{"ok", "[security]\nhide = [\"/srv/a.sock\"]\nkeep = [\"/run/docker.sock\"]\n", ""},
		{"relative", "[security]\nhide = [\"srv/a.sock\"]\n", "paths must be absolute"},
		{"not clean", "[security]\nhide = [\"/srv/../a.sock\"]\n", `write it as "/a.sock"`},
		{"root", "[security]\nkeep = [\"/\"]\n", "not clean"},
		{"newline", "[security]\nhide = [\"/srv/a\\nb\"]\n", "not allowed"},
		{"not a list", "[security]\nhide = \"/srv/a.sock\"\n", "security.hide"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("t", "/x/t.toml", []byte(tt.body))
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Security.Hide) != 1 || len(p.Security.Keep) != 1 {
					t.Errorf("hide %q keep %q", p.Security.Hide, p.Security.Keep)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
}
