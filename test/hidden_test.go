package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
