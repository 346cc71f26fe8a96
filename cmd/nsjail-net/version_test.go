package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionFrom(t *testing.T) {
	rev := "0123456789abcdef0123456789abcdef01234567"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name, ldflags string
		bi            *debug.BuildInfo
		want          string
	}{
		{"make build", "v1.2.0-3-gabcdef", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("true")}, "v1.2.0-3-gabcdef"},
		{"go install @version", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}, Settings: vcs("false")}, "v1.2.0"},
		{"go build, clean tree", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("false")}, "0123456789ab"},
		{"go build, changed tree", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("true")}, "0123456789ab-dirty"},
		{"go build, Go 1.24+", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261129123159-0123456789ab"}, Settings: vcs("false")}, "0123456789ab"},
		{"go build, Go 1.24+, changed", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.1-0.20261129123159-0123456789ab+dirty"}, Settings: vcs("true")}, "0123456789ab-dirty"},
		{"tagged commit, changed", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0+dirty"}, Settings: vcs("true")}, "v1.2.0+dirty"},
		{"pre-release tag", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0-rc.1"}, Settings: vcs("false")}, "v1.3.0-rc.1"},
		{"no VCS", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"no build info", "", nil, "dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionFrom(tt.ldflags, tt.bi); got != tt.want {
				t.Errorf("versionFrom(%q, ...) = %q, want %q", tt.ldflags, got, tt.want)
			}
		})
	}
}

// TestVersionOfPlainBuild builds the working tree's nsjail-net as a user
// who does not run make would (go build in a git checkout), and checks
// that --version and doctor print the commit, then the commit with -dirty
// after a change (TestVersionFrom covers make's -ldflags). The tree is copied
// into a fresh repository: Go records no commit for a git worktree (its
// .git is a file), nor for uncommitted files.
func TestVersionOfPlainBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nsjail-net twice")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("needs git")
	}
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not in a git checkout: %v", err)
	}
	files, err := exec.Command("git", "-C", strings.TrimSpace(string(root)), "ls-files", "-z", "-c", "-o", "--exclude-standard").Output()
	if err != nil {
		t.Fatal(err)
	}
	repo := publicTempDir(t)
	for _, f := range strings.Split(strings.Trim(string(files), "\x00"), "\x00") {
		data, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(root)), f))
		if os.IsNotExist(err) {
			continue // deleted, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(repo, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %q: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "snapshot")
	rev := git("rev-parse", "HEAD")[:12]

	version := func(buildArgs ...string) (string, string) {
		t.Helper()
		bin := filepath.Join(repo, "bin", "nsjail-net")
		// -buildvcs=true overrides a GOFLAGS=-buildvcs=false of this machine.
		build := exec.Command("go", append(append([]string{"build", "-buildvcs=true"}, buildArgs...), "-o", bin, "./cmd/nsjail-net")...)
		build.Dir = repo
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		out, err := exec.Command(bin, "--version").Output()
		if err != nil {
			t.Fatal(err)
		}
		doctor := exec.Command(bin, "--log-level", "error", "doctor")
		if os.Geteuid() == 0 {
			// As root doctor would try a namespace; the version line is first either way.
			doctor = exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin, "doctor")
		}
		dout, _ := doctor.Output() // exits 1 without root
		first, _, _ := strings.Cut(string(dout), "\n")
		return strings.TrimSpace(string(out)), strings.Join(strings.Fields(first), " ")
	}

	if v, d := version(); v != "nsjail-net version "+rev || d != "OK version nsjail-net "+rev {
		t.Errorf("clean tree: --version %q, doctor %q; want the commit %s", v, d, rev)
	}
	if err := os.WriteFile(filepath.Join(repo, "README.md"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if v, d := version(); v != "nsjail-net version "+rev+"-dirty" || d != "OK version nsjail-net "+rev+"-dirty" {
		t.Errorf("changed tree: --version %q, doctor %q; want %s-dirty", v, d, rev)
	}
	if v, _ := version("-ldflags", "-X main.version=v9.9.9"); v != "nsjail-net version v9.9.9" {
		t.Errorf("make build: --version %q, want the -ldflags value v9.9.9", v)
	}
}
