package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// make install puts the binary, both man pages, the three completion
// scripts and the example profile under DESTDIR$PREFIX, and builds into a
// directory of the test's own, not the source tree.
func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and the pages")
	}
	makePath, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make is not installed")
	}
	tmp := t.TempDir()
	dest := filepath.Join(tmp, "dest")
	cmd := exec.Command(makePath, "-C", "../..", "install", "DESTDIR="+dest, "PREFIX=/opt/nj",
		"BIN="+filepath.Join(tmp, "build", "nsjail-net"), "GENDIR="+filepath.Join(tmp, "build", "share"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	for file, mode := range map[string]os.FileMode{
		"bin/nsjail-net":                                  0o755,
		"share/man/man8/nsjail-net.8":                     0o644,
		"share/man/man5/nsjail-net.toml.5":                0o644,
		"share/bash-completion/completions/nsjail-net":    0o644,
		"share/zsh/site-functions/_nsjail-net":            0o644,
		"share/fish/vendor_completions.d/nsjail-net.fish": 0o644,
		"share/doc/nsjail-net/example.toml":               0o644,
	} {
		fi, err := os.Stat(filepath.Join(dest, "opt/nj", file))
		if err != nil {
			t.Errorf("not installed: %v", err)
			continue
		}
		if fi.Mode().Perm() != mode || fi.Size() == 0 {
			t.Errorf("%s: mode %v, size %d; want %v, not empty", file, fi.Mode().Perm(), fi.Size(), mode)
		}
	}
	// The installed binary prints the installed bash script.
	out, err := exec.Command(filepath.Join(dest, "opt/nj/bin/nsjail-net"), "completion", "bash").Output()
	if err != nil {
		t.Fatal(err)
	}
	installed, _ := os.ReadFile(filepath.Join(dest, "opt/nj/share/bash-completion/completions/nsjail-net"))
	if string(out) != string(installed) {
		t.Error("the installed bash completion differs from 'nsjail-net completion bash'")
	}
	// The example profile loads.
	if out, err := exec.Command(filepath.Join(dest, "opt/nj/bin/nsjail-net"), "profile", "check",
		filepath.Join(dest, "opt/nj/share/doc/nsjail-net/example.toml")).CombinedOutput(); err != nil {
		t.Errorf("profile check example.toml: %v\n%s", err, out)
	}
}
