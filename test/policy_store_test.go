package test

// Policy the sandbox cannot touch: a program run as an ordinary user
// (through sudo, the default user) must not change the policy of a later
// run by writing the files nsjail-net reads profiles from.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// labUser is an ordinary user that exists only in one lab's passwd and
// group files, with a home directory of its own: the user behind sudo.
type labUser struct {
	name string
	uid  int
	home string
	env  []string // what sudo sets: SUDO_USER, SUDO_UID, SUDO_GID
}

// newLabUser adds a user to the lab host's view of /etc/passwd and
// /etc/group (bind mounts in the lab's own mount namespace; the machine's
// files are not touched) and makes its home directory.
func newLabUser(t *testing.T, l *Lab) *labUser {
	t.Helper()
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	uid := 4242
	for strings.Contains(string(passwd), fmt.Sprintf(":%d:", uid)) {
		uid++
	}
	u := &labUser{name: "nsjtest", uid: uid}
	u.env = []string{"SUDO_USER=" + u.name, fmt.Sprintf("SUDO_UID=%d", uid), fmt.Sprintf("SUDO_GID=%d", uid)}
	u.home = u.mkdir(t, "", "home")
	group, err := os.ReadFile("/etc/group")
	if err != nil {
		t.Fatal(err)
	}
	l.bindEtc(t, "passwd", string(passwd)+fmt.Sprintf("%s:x:%d:%d:nsjail-net test:%s:/bin/sh\n", u.name, uid, uid, u.home))
	l.bindEtc(t, "group", string(group)+fmt.Sprintf("%s:x:%d:\n", u.name, uid))
	return u
}

// bindEtc replaces /etc/NAME with content in the lab host's view only (a
// bind mount in the lab's own mount namespace; the machine's file is not
// touched).
func (l *Lab) bindEtc(t *testing.T, name, content string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	l.MustRun(t, "mount", "--bind", p, "/etc/"+name)
}

// mkdir makes dir (under the user's home, or a new directory in /tmp when
// under is ""), owned by the user, and returns its path.
func (u *labUser) mkdir(t *testing.T, under, dir string) string {
	t.Helper()
	if under == "" {
		top, err := os.MkdirTemp("", "nsjnet-user-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(top) })
		if err := os.Chmod(top, 0o755); err != nil {
			t.Fatal(err)
		}
		under = top
	}
	p := filepath.Join(under, dir)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := p; d != under; d = filepath.Dir(d) {
		if err := os.Chown(d, u.uid, u.uid); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// write writes a file the user owns.
func (u *labUser) write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, u.uid, u.uid); err != nil {
		t.Fatal(err)
	}
}

// run runs nsjail-net as root through "sudo" for u, in dir ("" for /).
func (u *labUser) run(t *testing.T, l *Lab, dir string, args ...string) Result {
	t.Helper()
	return l.RunWith(t, RunOpts{Env: u.env, Dir: dir}, l.Bin(t), args...)
}

// escPlantedOffline is what the program writes over "offline": bridged,
// every egress and the host allowed, no seccomp filter.
const escPlantedOffline = `[network]
mode = "bridge"
[firewall]
default = "allow"
allow_host = true
[security]
seccomp = false
`

// offlineProbe prints the number of links and the seccomp mode: "1 2" in
// an offline sandbox (lo alone, a filter).
const offlineProbe = `echo "$(ip -o link show | wc -l) $(awk '/^Seccomp:/ {print $2}' /proc/self/status)"`

// TestSandboxCannotRedefineBuiltinProfile: the program writes
// ~/.config/nsjail-net/profiles/offline.toml; the next default run is
// still offline. With the directory there, the write itself is refused
// (it is read-only in the sandbox); without it, the program may create
// it, and the file is ignored (a built-in name is only taken from files
// root alone could write).
func TestSandboxCannotRedefineBuiltinProfile(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	u := newLabUser(t, l)
	for _, tc := range []struct {
		name      string
		dirExists bool
		wantWrite string
	}{
		{"configuration directory exists", true, "refused"},
		{"configuration directory absent", false, "wrote"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.RemoveAll(filepath.Join(u.home, ".config")); err != nil {
				t.Fatal(err)
			}
			if tc.dirExists {
				u.mkdir(t, u.home, ".config/nsjail-net/profiles")
			}
			attack := `d="$HOME/.config/nsjail-net/profiles"; mkdir -p "$d" 2>/dev/null
if printf '%s' '` + escPlantedOffline + `' > "$d/offline.toml" 2>/dev/null; then echo wrote; else echo refused; fi`
			r := u.run(t, l, "", "run", "--", "sh", "-c", attack)
			wantCode(t, r, 0)
			if got := strings.TrimSpace(r.Stdout); got != tc.wantWrite {
				t.Errorf("writing offline.toml from the sandbox: %q, want %q", got, tc.wantWrite)
			}
			r = u.run(t, l, "", "run", "--", "sh", "-c", offlineProbe)
			wantCode(t, r, 0)
			if got := strings.TrimSpace(r.Stdout); got != "1 2" {
				t.Errorf("next default run: links and seccomp mode %q, want \"1 2\" (offline, filtered)\n%s", got, r)
			}
		})
	}
}

// TestTrustCoversExtendsParent: a trusted project profile stops being
// trusted when the profile it extends changes.
func TestTrustCoversExtendsParent(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	// The trust store lives in /var/lib/nsjail-net: give the lab host a
	// private, empty /var/lib.
	l.MustRun(t, "mount", "-t", "tmpfs", "-o", "mode=0755", "lab-varlib", "/var/lib")
	u := newLabUser(t, l)
	profiles := u.mkdir(t, u.home, ".config/nsjail-net/profiles")
	base := filepath.Join(profiles, "base.toml")
	u.write(t, base, "[network]\nmode = \"loopback\"\n")
	proj := u.mkdir(t, "", "proj")
	u.write(t, filepath.Join(proj, ".nsjail-net.toml"), "extends = \"base\"\n")

	wantCode(t, u.run(t, l, proj, "trust"), 0)
	r := u.run(t, l, proj, "run", "--", "sh", "-c", offlineProbe)
	wantCode(t, r, 0)
	if got := strings.TrimSpace(r.Stdout); got != "1 2" {
		t.Fatalf("trusted project profile: %q, want \"1 2\"\n%s", got, r)
	}

	u.write(t, base, escPlantedOffline)
	r = u.run(t, l, proj, "run", "--", "sh", "-c", offlineProbe)
	wantCode(t, r, 125)
	projFile := filepath.Join(proj, ".nsjail-net.toml")
	want := base + ", which " + projFile + " extends, changed since it was trusted: review it, then run `nsjail-net trust " + projFile + "`"
	if !strings.Contains(r.Stderr, want) || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Errorf("run after the parent changed: stderr\n%s\nwant one line with %q", r.Stderr, want)
	}
}
