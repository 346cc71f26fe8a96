package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/cli_errors.golden from the binary's answers")

// binDir holds the binary buildBinary builds; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildBinary builds nsjail-net with a plain "go build" (no -ldflags, no
// tags: what a user who does not run make gets) into a directory anyone
// may read, once per test process.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := publicDir()
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "nsjail-net")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// publicDir makes a temporary directory that the unprivileged user the
// commands run as can enter and read (t.TempDir's parent is private).
func publicDir() (string, error) {
	dir, err := os.MkdirTemp("", "nsjail-net-cli-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// publicTempDir is a publicDir removed when the test ends.
func publicTempDir(t *testing.T) string {
	t.Helper()
	dir, err := publicDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// cliResult is what one command line printed and how it ended.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runUnprivileged runs the built binary with args in dir, as an ordinary
// user (nobody when the test runs as root), with a small environment. As
// an ordinary user no command can create a namespace or touch the host's
// network: a line that passed validation by mistake ends at "needs root".
func runUnprivileged(t *testing.T, dir string, args ...string) cliResult {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent", "LANG=C"}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return cliResult{stdout.String(), stderr.String(), code}
}

// shellQuote renders an argument as a shell would need it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " '\"!$&*;<>?[\\]`{|}~\t\n") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// TestCLIErrorsGolden runs the built binary for each command line of the
// table, as an ordinary user, and compares what it printed on stderr and
// its exit status with testdata/cli_errors.golden (go test -run
// TestCLIErrorsGolden -update rewrites it). Every error is one line on
// stderr starting with "nsjail-net: ", and nothing on stdout; a command
// that succeeds prints nothing on stderr. Exit statuses are those of the
// README's table: 125 for usage, 1 for a profile that does not load.
func TestCLIErrorsGolden(t *testing.T) {
	work := publicTempDir(t)
	for name, text := range map[string]string{
		"good.toml": "version = 1\ndescription = \"fine\"\n",
		"bad.toml":  "version = 1\nportz = 1\n",
	} {
		if err := os.WriteFile(filepath.Join(work, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lines := [][]string{
		// Unknown commands and flags, with a suggestion when one is close.
		{"bogus"},
		{"runn", "--", "true"},
		{"profile", "shw", "web"},
		{"help", "bogus"},
		{"help", "profile", "shw"},
		{"--bogus", "list"},
		{"--profile", "web", "run", "--", "true"},
		{"run", "--profil", "web", "--", "true"},
		{"run", "--subnet", "10.0.0.0/8", "--", "true"},
		{"run", "-x", "--", "true"},
		{"list", "--jsn"},
		{"inspect", "lab1", "--jsn"},
		// Flags without a value, or with a bad one.
		{"run", "--profile"},
		{"stop", "--timeout", "soon", "lab1"},
		{"stop", "lab1", "--signal", "FOO"},
		{"list", "--json=maybe"},
		// Missing or extra arguments.
		{"profile", "show"},
		{"profile", "check"},
		{"profile", "list", "extra"},
		{"inspect"},
		{"run", "--"},
		// Values: a human message, never a Go error string.
		{"--subnet", "10.0.0.0/33", "list"},
		{"--subnet", "10.0.0.0", "list"},
		{"--subnet", "fd00::/64", "list"},
		{"--log-level", "loud", "list"},
		{"--state-dir", "run", "list"},
		{"--bridge", "a-bridge-name-too-long", "list"},
		{"run", "--allow", "bad", "--", "true"},
		// A port list is one value (the documented "udp:...:53,5353"), not
		// two flags: past the flag checks, to the root check.
		{"run", "--allow", "udp:198.51.100.7:53,5353", "--deny", "tcp:*:22,23", "--", "true"},
		{"run", "--deny", "tcp:10.0.0.0/8:99999", "--", "true"},
		{"run", "--dns", "x", "--", "true"},
		{"run", "--publish", "80", "--", "true"},
		{"run", "--hostname", "bad host!", "--", "true"},
		{"run", "--name", "Lab", "--", "true"},
		{"--profiles-dir", "/nonexistent-profiles", "profile", "list"},
		{"--profiles-dir", "good.toml", "profile", "list"},
		// Empty values are refused, not taken for "not given".
		{"run", "--profile", "", "--", "true"},
		{"run", "--allow", "", "--", "true"},
		{"run", "--user", "", "--", "true"},
		{"run", "--workdir=", "--", "true"},
		{"--profiles-dir", "", "profile", "list"},
		{"--bridge", "", "list"},
		// Profiles: 0 valid, 1 not loading, 125 usage.
		{"profile", "check", "good.toml"},
		{"profile", "check", "bad.toml"},
		{"profile", "show", "bad.toml"},
		{"profile", "show", "no-such-profile"},
		// What needs root says so, and why.
		{"run", "--", "true"},
		{"gc"},
		// Help for a command, as a person would ask for it.
		{"help", "run"},
		{"profile", "help", "show"},
	}
	var got strings.Builder
	for _, args := range lines {
		r := runUnprivileged(t, work, args...)
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = shellQuote(a)
		}
		cmdline := strings.Join(append([]string{"nsjail-net"}, quoted...), " ")
		fmt.Fprintf(&got, "$ %s\n", cmdline)
		if r.code == 0 {
			first, _, _ := strings.Cut(r.stdout, "\n")
			fmt.Fprintf(&got, "stdout: %s\n", first)
			if r.stderr != "" {
				t.Errorf("%s: exit 0 with %q on stderr", cmdline, r.stderr)
			}
		} else {
			got.WriteString(r.stderr)
			if r.stdout != "" {
				t.Errorf("%s: exit %d with %q on stdout, want nothing", cmdline, r.code, r.stdout)
			}
			if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "nsjail-net: ") {
				t.Errorf("%s: stderr %q, want one line starting with \"nsjail-net: \"", cmdline, r.stderr)
			}
			for _, leak := range []string{"netip.", "strconv.", "flag provided", "parse error", "No help topic"} {
				if strings.Contains(r.stderr, leak) {
					t.Errorf("%s: stderr %q has a Go error string (%q)", cmdline, r.stderr, leak)
				}
			}
		}
		fmt.Fprintf(&got, "exit %d\n\n", r.code)
	}
	golden := filepath.Join("testdata", "cli_errors.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -run TestCLIErrorsGolden -update writes it)", err)
	}
	// One block per command line: report the lines whose answer changed.
	gotBlocks, wantBlocks := strings.Split(got.String(), "\n\n"), strings.Split(string(want), "\n\n")
	at := func(blocks []string, i int) string {
		if i < len(blocks) {
			return blocks[i]
		}
		return ""
	}
	for i := range max(len(gotBlocks), len(wantBlocks)) {
		if g, w := at(gotBlocks, i), at(wantBlocks, i); g != w {
			t.Errorf("answer differs from %s (-update rewrites it):\nwant:\n%s\ngot:\n%s", golden, w, g)
		}
	}
}
