package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Host sockets that are root or network on the host (Docker's and the
// like) are hidden inside the sandbox; [security] hide adds paths. Here a
// socket and a directory of the test's own stand for them.
func TestHiddenHostPaths(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed (make deps installs it)")
	}
	l := newRunLab(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "agent.sock")
	secret := filepath.Join(dir, "private")
	if err := os.Mkdir(secret, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secret, "key"), []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := exec.CommandContext(ctx, "socat", "UNIX-LISTEN:"+sock+",fork,mode=0777", "SYSTEM:echo reached")
	srv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // gone with the test binary
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = srv.Wait() })
	waitFor(t, func() bool { _, err := os.Stat(sock); return err == nil })

	probe := fmt.Sprintf(`socat -u UNIX-CONNECT:%s - 2>/dev/null | grep -q reached && echo ESCAPED socket
cat %s/key >/dev/null 2>&1 && echo ESCAPED directory
echo done`, sock, secret)
	// Without the profile key, both are reachable: the probe works.
	r := l.NSJ(t, "run", "--", "sh", "-c", probe)
	if !strings.Contains(r.Stdout, "ESCAPED socket") || !strings.Contains(r.Stdout, "ESCAPED directory") {
		t.Fatalf("control run: the probe does not reach the socket and directory: %s", r)
	}
	prof := writeProfile(t, "hide", fmt.Sprintf("[security]\nhide = [%q, %q]\n", sock, secret))
	for _, user := range []string{"0", "nobody"} {
		t.Run("user="+user, func(t *testing.T) {
			start := time.Now()
			r := l.NSJ(t, "run", "--profile", prof, "--user", user, "--", "sh", "-c", probe)
			wantCode(t, r, 0)
			if strings.Contains(r.Stdout, "ESCAPED") || !strings.Contains(r.Stdout, "done") {
				t.Errorf("hidden paths reachable (%v):\n%s", time.Since(start), r)
			}
		})
	}
}

// The program runs without the groups that open root-equivalent sockets
// (docker, libvirt, incus-admin, lxd), so a socket the host re-creates
// after the sandbox covered it (a daemon restarted) stays out of reach;
// [security] keep naming the socket keeps the group.
func TestRootEquivalentGroupsDropped(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	group, err := os.ReadFile("/etc/group")
	if err != nil {
		t.Fatal(err)
	}
	gid := 4711
	for strings.Contains(string(group), fmt.Sprintf(":%d:", gid)) {
		gid++
	}
	// An existing docker group is renamed away in the lab's copy.
	base := strings.ReplaceAll(string(group), "\ndocker:", "\nwas-docker:")
	l.bindEtc(t, "group", base+fmt.Sprintf("docker:x:%d:nobody\n", gid))
	member := func(args ...string) bool {
		t.Helper()
		r := l.NSJ(t, append(append([]string{"run", "--user", "nobody"}, args...), "--", "id", "-G")...)
		wantCode(t, r, 0)
		return strings.Contains(" "+strings.TrimSpace(r.Stdout)+" ", fmt.Sprintf(" %d ", gid))
	}
	if member() {
		t.Errorf("the program runs in the docker group (%d)", gid)
	}
	keep := writeProfile(t, "keepdocker", "[security]\nkeep = [\"/run/docker.sock\"]\n")
	if !member("--profile", keep) {
		t.Errorf("keep = [\"/run/docker.sock\"]: the program lost the docker group (%d)", gid)
	}
}
