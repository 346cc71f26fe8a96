package test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Docker's habits (issue 15): -e VAR, --env-file, --clearenv, --add-host,
// and a one-line hint for the flags nsjail-net does not take.

func TestHabitsEnvPassThroughAndEnvFile(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	o := RunOpts{Env: []string{"HABIT_TOKEN=s3cret", "HABIT_FROM_FILE=caller"}}
	show := `printf '%s|%s|%s|%s' "$HABIT_TOKEN" "${HABIT_MISSING-unset}" "$HABIT_FILE" "$HABIT_FROM_FILE"`
	// -e VAR passes the caller's VAR; one the caller lacks stays unset.
	r := l.RunWith(t, o, l.Bin(t), "run", "-e", "HABIT_TOKEN", "-e", "HABIT_MISSING", "--", "sh", "-c", show)
	wantCode(t, r, 0)
	if r.Stdout != "s3cret|unset||caller" {
		t.Errorf("-e VAR: got %q, want %q", r.Stdout, "s3cret|unset||caller")
	}
	// docker's --env-file: comments, VAR=value taken literally, VAR alone
	// passed through; --env wins over the file.
	file := filepath.Join(t.TempDir(), "env.list")
	body := "# a comment\nHABIT_FILE=a value \"as is\"\nHABIT_FROM_FILE\nHABIT_TOKEN=from-file\n"
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	r = l.RunWith(t, o, l.Bin(t), "run", "--clearenv", "--env-file", file, "-e", "HABIT_TOKEN=from-flag", "--", "sh", "-c", show)
	wantCode(t, r, 0)
	if want := `from-flag|unset|a value "as is"|caller`; r.Stdout != want {
		t.Errorf("--env-file: got %q, want %q", r.Stdout, want)
	}
	r = l.NSJ(t, "run", "--env-file", file+".missing", "--", "true")
	wantCode(t, r, 125)
	if !strings.Contains(r.Stderr, "--env-file") {
		t.Errorf("missing --env-file: stderr %q does not name the flag", r.Stderr)
	}
}

// TestHabitsClearenv: --clearenv, and the profile's security.clearenv,
// leave the program only PATH, HOME, USER, LOGNAME, TERM and LANG.
func TestHabitsClearenv(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	o := RunOpts{Env: []string{"HABIT_TOKEN=s3cret", "SUDO_COMMAND=/bin/sh", "TERM=xterm-256color", "LANG=C.UTF-8"}}
	prof := writeProfile(t, "clean", "extends = \"offline\"\n[security]\nclearenv = true\n")
	allowed := []string{"HOME", "LANG", "LOGNAME", "PATH", "TERM", "USER"}
	for _, args := range [][]string{{"--clearenv"}, {"--profile", prof}} {
		r := l.RunWith(t, o, l.Bin(t), append(append([]string{"run"}, args...), "--", "env")...)
		wantCode(t, r, 0)
		var keys []string
		for _, kv := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
			k, _, _ := strings.Cut(kv, "=")
			keys = append(keys, k)
			if !slices.Contains(allowed, k) {
				t.Errorf("%v: %q reached the program", args, kv)
			}
		}
		for _, k := range []string{"PATH", "HOME", "TERM", "LANG"} {
			if !slices.Contains(keys, k) {
				t.Errorf("%v: %s missing from\n%s", args, k, r.Stdout)
			}
		}
		if !strings.Contains(r.Stdout, "TERM=xterm-256color\n") {
			t.Errorf("%v: TERM not the caller's:\n%s", args, r.Stdout)
		}
	}
	// Without it, the caller's environment is inherited as before.
	r := l.RunWith(t, o, l.Bin(t), "run", "--", "env")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "HABIT_TOKEN=s3cret") {
		t.Errorf("without --clearenv the environment is not inherited:\n%s", r.Stdout)
	}
}

// TestHabitsAddHost: --add-host entries resolve inside with getent, both
// families, offline and bridged.
func TestHabitsAddHost(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	for _, prof := range []string{"offline", "open"} {
		r := l.NSJ(t, "run", "--profile", prof, "--add-host", "db.internal:10.9.8.7", "--add-host", "db6:fd00::7",
			"--", "sh", "-c", "getent hosts db.internal; getent hosts db6")
		wantCode(t, r, 0)
		if !strings.Contains(r.Stdout, "10.9.8.7        db.internal") || !strings.Contains(r.Stdout, "fd00::7") {
			t.Errorf("%s: getent inside:\n%s", prof, r.Stdout)
		}
	}
	for _, bad := range []string{"bad_name:10.0.0.1", "db:999.1.1.1", "db"} {
		r := l.NSJ(t, "run", "--add-host", bad, "--", "true")
		wantCode(t, r, 125)
		if !strings.Contains(r.Stderr, "--add-host") || strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("--add-host %s: stderr %q, want one line naming the flag", bad, r.Stderr)
		}
	}
}

// TestHabitsDockerHints: docker's -p, --rm, -it, -d get one line saying
// what nsjail-net does instead, and exit status 125; nothing runs.
func TestHabitsDockerHints(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "-p", "8080:80", "--", "touch", "/tmp/ran"}, "--publish"},
		{[]string{"run", "-p", "127.0.0.1:8080:80/tcp", "--", "touch", "/tmp/ran"}, "--publish"},
		{[]string{"run", "--rm", "--", "touch", "/tmp/ran"}, "--rm: "},
		{[]string{"run", "-it", "--", "touch", "/tmp/ran"}, "-it: "},
		{[]string{"run", "-t", "--", "touch", "/tmp/ran"}, "-t: "},
		{[]string{"run", "-d", "--", "touch", "/tmp/ran"}, "-d: "},
		{[]string{"exec", "somebox", "-it", "--", "touch", "/tmp/ran"}, "-it: "},
	} {
		r := l.NSJ(t, tt.args...)
		wantCode(t, r, 125)
		if !strings.HasPrefix(r.Stderr, "nsjail-net: ") || !strings.Contains(r.Stderr, tt.want) || strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("%v: stderr %q, want one line with %q", tt.args, r.Stderr, tt.want)
		}
		if r.Stdout != "" {
			t.Errorf("%v: stdout %q", tt.args, r.Stdout)
		}
	}
	r := l.NSJ(t, "run", "--help")
	if !strings.Contains(r.Stdout, "binds 127.0.0.1") {
		t.Errorf("run --help does not say where published ports bind:\n%s", r.Stdout)
	}
}

// TestHabitsLowPortAsUser: a server running as nobody, with no capability,
// binds port 80 in its sandbox, and --publish 8080:80 reaches it from the
// lab host.
func TestHabitsLowPortAsUser(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	b := startNSJ(t, l, append([]string{"run", "--profile", "open", "--user", "nobody", "--publish", "8080:80", "--"}, responder("tcp", 80)...)...)
	got := waitPublished(t, l, b, RunOpts{}, "nc", "-w", "3", "127.0.0.1", "8080")
	if got != "from-sandbox "+bridgeGateway {
		t.Errorf("host -> 127.0.0.1:8080 -> sandbox:80: %q", got)
	}
}
