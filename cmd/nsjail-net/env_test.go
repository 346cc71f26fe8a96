package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nsjail-net/nsjail-net/lifecycle"
	"github.com/nsjail-net/nsjail-net/sandbox"
)

func TestProgramEnv(t *testing.T) {
	caller := []string{"PATH=/usr/bin", "HOME=/root", "TERM=xterm", "LANG=C.UTF-8", "GITHUB_TOKEN=secret",
		"SUDO_USER=alice", "NSJAIL_NET_LOG_LEVEL=debug", "EMPTY="}
	alice := &sandbox.User{Name: "alice", UID: 1000, GID: 1000, Home: "/home/alice"}
	for _, tt := range []struct {
		name     string
		base     []string
		switched bool
		clear    bool
		extra    []string
		want     []string
		err      string
	}{
		{name: "inherits", base: caller, extra: []string{"A=1"},
			want: []string{"PATH=/usr/bin", "HOME=/root", "TERM=xterm", "LANG=C.UTF-8", "GITHUB_TOKEN=secret", "SUDO_USER=alice", "EMPTY=", "A=1"}},
		{name: "bare VAR passes the caller's", base: caller, clear: true, extra: []string{"GITHUB_TOKEN", "EMPTY"},
			want: []string{"PATH=/usr/bin", "HOME=/root", "TERM=xterm", "LANG=C.UTF-8", "GITHUB_TOKEN=secret", "EMPTY="}},
		{name: "bare VAR the caller lacks is skipped", base: caller, clear: true, extra: []string{"NOPE"},
			want: []string{"PATH=/usr/bin", "HOME=/root", "TERM=xterm", "LANG=C.UTF-8"}},
		{name: "bare launcher variable is not passed", base: caller, clear: true, extra: []string{"NSJAIL_NET_LOG_LEVEL"},
			want: []string{"PATH=/usr/bin", "HOME=/root", "TERM=xterm", "LANG=C.UTF-8"}},
		{name: "clearenv keeps only the login variables", base: caller, clear: true,
			want: []string{"PATH=/usr/bin", "HOME=/root", "TERM=xterm", "LANG=C.UTF-8"}},
		{name: "clearenv with a switched user", base: caller, clear: true, switched: true,
			want: []string{"PATH=/usr/bin", "HOME=/home/alice", "TERM=xterm", "LANG=C.UTF-8", "USER=alice", "LOGNAME=alice"}},
		{name: "clearenv without a PATH gets the default", base: []string{"TOKEN=x"}, clear: true,
			want: []string{"PATH=" + defaultPath}},
		{name: "later entries win", base: nil, extra: []string{"A=1", "B=2", "A=3"}, want: []string{"A=3", "B=2"}},
		{name: "value with =", extra: []string{"A=b=c"}, want: []string{"A=b=c"}},
		{name: "empty name", extra: []string{"=v"}, err: "no variable name"},
		{name: "NUL", extra: []string{"A=\x00"}, err: "NUL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := programEnv(tt.base, alice, tt.switched, tt.clear, tt.extra)
			checkList(t, "--env ", got, err, tt.want, tt.err)
		})
	}
}

func TestParseEnvFile(t *testing.T) {
	for _, tt := range []struct {
		name, data string
		want       []string
		err        string
	}{
		{name: "docker's format", data: "# comment\nA=1\n\n  B=two words \nC\nD=\"quoted\"\r\nE==\n   # indented comment\n",
			want: []string{"A=1", "B=two words ", "C", "D=\"quoted\"", "E=="}},
		{name: "empty file", data: "", want: nil},
		{name: "no final newline", data: "A=1", want: []string{"A=1"}},
		{name: "empty name", data: "A=1\n=x\n", err: "env.list:2: no variable name"},
		{name: "space in name", data: "MY VAR=1\n", err: "env.list:1: variable name \"MY VAR\" contains white space"},
		{name: "tab in bare name", data: "A\tB\n", err: "white space"},
		{name: "NUL", data: "A=\x00\n", err: "NUL"},
		{name: "invalid UTF-8", data: "A=\xff\n", err: "UTF-8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseEnvFile("env.list", []byte(tt.data))
			checkList(t, "--env-file ", got, err, tt.want, tt.err)
		})
	}
}

// checkList checks a parser's result: want, or when wantErr is set an
// error that starts with prefix (the flag) and contains wantErr.
func checkList(t *testing.T, prefix string, got []string, err error, want []string, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) || !strings.HasPrefix(err.Error(), prefix) {
			t.Fatalf("got %q, %v; want an error %q... with %q", got, err, prefix, wantErr)
		}
		return
	}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("got\n%q, %v\nwant\n%q", got, err, want)
	}
}

func TestReadEnvFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "env")
	if err := os.WriteFile(p, []byte("A=1\nB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	owner := &sandbox.User{Name: "owner", UID: os.Getuid(), GID: os.Getgid()}
	got, err := readEnvFile(p, owner)
	if err != nil || !slices.Equal(got, []string{"A=1", "B"}) {
		t.Fatalf("readEnvFile = %q, %v", got, err)
	}
	// Read as root for a program that runs as someone else: a file that
	// user could not read is refused, not handed to the program.
	other := &sandbox.User{Name: "other", UID: 4242, GID: 4242}
	if os.Getuid() != other.UID {
		if _, err := readEnvFile(p, other); err == nil || !strings.Contains(err.Error(), "not readable by other") {
			t.Fatalf("a 0600 file of uid %d, read for uid 4242: %v", os.Getuid(), err)
		}
		if err := os.Chmod(p, 0o604); err != nil {
			t.Fatal(err)
		}
		if _, err := readEnvFile(p, other); err != nil {
			t.Fatalf("a world-readable file, read for uid 4242: %v", err)
		}
	}
	if _, err := readEnvFile(filepath.Join(dir, "missing"), owner); err == nil || !strings.Contains(err.Error(), "--env-file") {
		t.Fatalf("missing file: %v", err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte(strings.Repeat("A=1\n", maxEnvFileSize/4+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readEnvFile(big, owner); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("big file: %v", err)
	}
}

func TestDockerHints(t *testing.T) {
	unknown := func(flag string) error { return errors.New("flag provided but not defined: " + flag) }
	for _, tt := range []struct {
		cmd  string
		err  error
		want string // "" = no hint
	}{
		{"run", unknown("-rm"), "--rm: "},
		{"run", unknown("-it"), "-it: "},
		{"run", unknown("-ti"), "-ti: "},
		{"run", unknown("-t"), "-t: "},
		{"run", unknown("-i"), "-i: "},
		{"run", unknown("-d"), "-d: "},
		{"run", unknown("-detach"), "--detach: "},
		{"exec", unknown("-it"), "-it: "},
		{"exec", fmt.Errorf("%w: %s", lifecycle.ErrUnknownFlag, "--interactive"), "--interactive: "},
		{"create", unknown("-network=none"), "--network: "},
		{"run", unknown("-bogus"), ""},
		{"list", unknown("-rm"), ""},
		{"run", errors.New("flag needs an argument: -env"), ""},
	} {
		t.Run(tt.cmd+" "+tt.err.Error(), func(t *testing.T) {
			hint, ok := dockerHint(tt.cmd, tt.err)
			if tt.want == "" {
				if ok {
					t.Fatalf("hint %q, want none", hint)
				}
				return
			}
			if !ok || !strings.HasPrefix(hint, tt.want) || strings.Contains(hint, "\n") {
				t.Fatalf("hint %q, %v; want one line starting %q", hint, ok, tt.want)
			}
		})
	}
}

func TestLooksLikePortMapping(t *testing.T) {
	for s, want := range map[string]bool{
		"8080:80": true, "127.0.0.1:8080:80": true, "8080:80/tcp": true, "53:53/udp": true,
		"80/tcp": true, "8000-8010:8000-8010": true, "[::1]:8080:80": true,
		"web": false, "offline": false, "./ci.toml": false, "/etc/nsjail-net/x.toml": false,
		"80": false, "": false, "8080:": false, "a/b": false, "dead:beef": false,
	} {
		if got := looksLikePortMapping(s); got != want {
			t.Errorf("looksLikePortMapping(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestParseAddHost(t *testing.T) {
	for _, tt := range []struct {
		in, name, addr, err string
	}{
		{in: "db:10.0.0.5", name: "db", addr: "10.0.0.5"},
		{in: "db.internal.example:fd00::5", name: "db.internal.example", addr: "fd00::5"},
		{in: "db:[fd00::5]", name: "db", addr: "fd00::5"},
		{in: "db=10.0.0.5", name: "db", addr: "10.0.0.5"},
		{in: "db", err: "want NAME:IP"},
		{in: ":10.0.0.5", err: "empty host name"},
		{in: "bad_name:10.0.0.5", err: "not allowed"},
		{in: "-db:10.0.0.5", err: "starts or ends with '-'"},
		{in: "db\nevil:10.0.0.5", err: "not allowed"},
		{in: "db:10.0.0.256", err: "not an IP address"},
		{in: "db:", err: "not an IP address"},
		{in: "db:fe80::1%eth0", err: "not an IP address"},
		{in: strings.Repeat("a.", 127) + "ab:10.0.0.5", err: "too long"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			e, err := parseAddHost(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "--add-host ") {
					t.Fatalf("parseAddHost = %v, %v; want an error with %q", e, err, tt.err)
				}
				return
			}
			if err != nil || e.Name != tt.name || e.Addr != netip.MustParseAddr(tt.addr) {
				t.Fatalf("parseAddHost = %v, %v; want %s %s", e, err, tt.name, tt.addr)
			}
		})
	}
}
