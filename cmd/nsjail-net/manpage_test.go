package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// renderMan renders a roff page as man(1) would at 80 columns, and fails
// the test on any warning from the formatter.
func renderMan(t *testing.T, page []byte) string {
	t.Helper()
	manPath, err := exec.LookPath("man")
	if err != nil {
		t.Skip("man is not installed (make deps installs man-db and groff)")
	}
	file := filepath.Join(t.TempDir(), "page")
	if err := os.WriteFile(file, page, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(manPath, "--warnings", "-l", file)
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "LC_ALL=C.UTF-8")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("man -l: %v\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("man --warnings -l warns:\n%s", stderr.String())
	}
	if bytes.Contains(stdout.Bytes(), []byte("\b")) {
		t.Fatal("man -l kept the formatting (overstrike) in a pipe")
	}
	return stdout.String()
}

func TestManPage(t *testing.T) {
	app := newApp()
	app.Setup()
	var page bytes.Buffer
	if err := writeManPage(&page, app, "1.2.3"); err != nil {
		t.Fatal(err)
	}
	out := renderMan(t, page.Bytes())
	for _, want := range []string{
		"NAME", "SYNOPSIS", "DESCRIPTION", "GLOBAL OPTIONS", "COMMANDS", "EXIT STATUS", "FILES", "ENVIRONMENT", "SEE ALSO",
		"125", "126", "127", "128+N",
		"/run/nsjail-net", "/etc/nsjail-net/profiles", "~/.config/nsjail-net", "/run/netns",
		"NSJAIL_NET_LOG_LEVEL", "SUDO_USER", "XDG_CONFIG_HOME",
		"[/tcp|udp]", "nsjail-net.toml(5)", "nsjail-net 1.2.3",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("man page lacks %q", want)
		}
	}
	forEachCommand(app.Commands, nil, func(path []string, c *cli.Command) {
		if !strings.Contains(out, "nsjail-net "+strings.Join(path, " ")) {
			t.Errorf("man page lacks the command %q", strings.Join(path, " "))
		}
	})
	for _, hidden := range []string{"--ready-fd", "--persistent", "__complete"} {
		if strings.Contains(out, hidden) {
			t.Errorf("man page shows the hidden %q", hidden)
		}
	}
}

func TestProfileManPage(t *testing.T) {
	md, err := os.ReadFile("../../docs/profiles.md")
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := writeProfileManPage(&page, string(md), "1.2.3"); err != nil {
		t.Fatal(err)
	}
	out := renderMan(t, page.Bytes())
	for _, want := range []string{
		"NAME", "nsjail-net.toml - network profiles", "SYNOPSIS", "FINDING A PROFILE", "THE FORMAT (VERSION 1)",
		"[[firewall.rules]]", "allow_private", "EXTENDS", "nsjail-net(8)",
		"[HOST_IP:]HOST_PORT:SANDBOX_PORT[/PROTO]", // a table cell with brackets
	} {
		if !strings.Contains(out, want) {
			t.Errorf("nsjail-net.toml(5) lacks %q", want)
		}
	}
	for _, markup := range []string{"**", "```", "](", "|---"} {
		if strings.Contains(out, markup) {
			t.Errorf("nsjail-net.toml(5) shows markdown %q", markup)
		}
	}
}
