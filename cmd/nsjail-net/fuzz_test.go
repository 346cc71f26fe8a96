package main

import (
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/nsjail-net/nsjail-net/sandbox"
)

// FuzzProgramEnv: the program's environment never carries the launcher's
// NSJAIL_NET_* variables, every entry is KEY=VALUE with a unique key, --env
// wins over the inherited environment, a bare --env KEY passes the
// caller's KEY, and a malformed --env is an error.
// base and extra are newline-separated lists.
func FuzzProgramEnv(f *testing.F) {
	f.Add("PATH=/bin\nHOME=/root\nNSJAIL_NET_LOG_LEVEL=debug", "FOO=bar", true)
	f.Add("NSJAIL_NET_TEST_STOP_AT=exec\nA=1\nA=2", "A=3\nB=", false)
	f.Add("X", "=v", false)
	f.Add("TOKEN=s\nA=1", "TOKEN\nMISSING", false)
	f.Add("", "K=a=b\nK=c", true)
	f.Add("HOME=/h", "NUL=a\x00b", true)
	f.Add("=", "", false)
	u := &sandbox.User{Name: "alice", UID: 1000, GID: 1000, Home: "/home/alice"}
	f.Fuzz(func(t *testing.T, base, extra string, switched bool) {
		baseList := splitNonEmpty(base)
		extraList := splitNonEmpty(extra)
		// os.Environ never holds NUL; the kernel would not pass it.
		baseList = slices.DeleteFunc(baseList, func(s string) bool { return strings.ContainsRune(s, 0) })
		env, err := programEnv(baseList, u, switched, false, extraList)
		if bad := slices.IndexFunc(extraList, func(kv string) bool {
			k, _, _ := strings.Cut(kv, "=")
			return k == "" || strings.ContainsRune(kv, 0)
		}); bad >= 0 {
			if err == nil {
				t.Fatalf("--env %q accepted", extraList[bad])
			}
			if !strings.Contains(err.Error(), "--env") {
				t.Fatalf("error %q does not name --env", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("programEnv(%q, %q): %v", baseList, extraList, err)
		}
		want, caller := map[string]string{}, map[string]string{}
		for _, kv := range baseList {
			// Entries with an empty key ("=x") are dropped.
			if k, v, ok := strings.Cut(kv, "="); ok && k != "" && !strings.HasPrefix(k, "NSJAIL_NET_") {
				want[k], caller[k] = v, v
			}
		}
		if switched {
			want["HOME"], want["USER"], want["LOGNAME"] = u.Home, u.Name, u.Name
		}
		for _, kv := range extraList {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				// A bare KEY passes the caller's KEY, if any.
				if v, ok = caller[k]; !ok {
					continue
				}
			}
			want[k] = v
		}
		got := map[string]string{}
		for _, kv := range env {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" || strings.ContainsRune(kv, 0) {
				t.Fatalf("malformed entry %q in %q", kv, env)
			}
			if _, dup := got[k]; dup {
				t.Fatalf("key %q twice in %q", k, env)
			}
			got[k] = v
			if strings.HasPrefix(k, "NSJAIL_NET_") && !slices.ContainsFunc(extraList, func(e string) bool { return strings.HasPrefix(e, k+"=") }) {
				t.Fatalf("launcher variable %q reached the program", kv)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("env %q, want %v", env, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%s=%q, want %q (env %q)", k, got[k], v, env)
			}
		}
	})
}

func splitNonEmpty(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestBadNamesRefusedBeforeAnyChange: every command that takes a sandbox
// name refuses a bad one with exit 125 and a message, before it touches
// anything: the state dir (a fresh temporary one) stays empty.
//
// It needs root, because the commands check their privileges before their
// arguments. As a further guard, every command names a profile that does
// not exist, so that a bad name that slipped through fails on the profile
// (and the test with it) instead of creating a sandbox.
func TestBadNamesRefusedBeforeAnyChange(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the commands check privileges before names")
	}
	bad := map[string]string{
		"slash":     "/",
		"dotdot":    "..",
		"dot":       ".",
		"nul":       "a\x00b",
		"long":      strings.Repeat("a", 300),
		"subdir":    "a/b",
		"traversal": "../x",
		"abs":       "/etc/passwd",
		"upper":     "Lab",
		"dash":      "-rf",
		"newline":   "a\nb",
	}
	commands := map[string]func(name string) []string{
		"run --name": func(n string) []string {
			return []string{"run", "--profile", "no-such-profile-xyz", "--name", n, "--", "true"}
		},
		"create": func(n string) []string { return []string{"create", "--profile", "no-such-profile-xyz", "--", n} },
		"exec":   func(n string) []string { return []string{"exec", "--", n, "true"} },
		"delete": func(n string) []string { return []string{"delete", "--", n} },
		"run -n=…": func(n string) []string {
			return []string{"run", "--profile", "no-such-profile-xyz", "--name=" + n, "--", "true"}
		},
	}
	for cmdName, argsFor := range commands {
		for what, name := range bad {
			t.Run(cmdName+"/"+what, func(t *testing.T) {
				refusedBeforeAnyChange(t, argsFor(name), "name")
			})
		}
	}
}

// refusedBeforeAnyChange runs the CLI with args after the global flags, in
// a fresh state dir, and checks that it exits 125 with a message that
// contains want and does not mention no-such-profile-xyz (the argument
// under test was refused before the profile was loaded), and that the
// state dir stays empty.
func refusedBeforeAnyChange(t *testing.T, args []string, want string) {
	t.Helper()
	stateDir := t.TempDir()
	args = append([]string{"nsjail-net", "--state-dir", stateDir}, args...)
	app := newApp()
	app.Writer, app.ErrWriter = io.Discard, io.Discard
	cliArgs = args // as runCLI does
	err := app.Run(args)
	var ex *exitError
	if !errors.As(err, &ex) || ex.code != sandbox.ExitSetup || ex.err == nil {
		t.Fatalf("%q: got %v, want exit 125 with a message", args, err)
	}
	msg := ex.err.Error()
	if strings.Contains(msg, "no-such-profile-xyz") {
		t.Fatalf("%q: the argument passed validation (failed on the profile instead): %v", args, msg)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("%q: message %q does not contain %q", args, msg, want)
	}
	if ents, err := os.ReadDir(stateDir); err != nil || len(ents) != 0 {
		t.Errorf("%q: state dir changed: %v %v", args, ents, err)
	}
}
