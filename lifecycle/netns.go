package lifecycle

import (
	"errors"
	"fmt"
	"os/exec"

	"github.com/vishvananda/netns"

	"github.com/nsjail-net/nsjail-net/nat"
)

// outputInNetns runs a program inside target and returns its stdout.
func outputInNetns(target netns.NsHandle, name string, args ...string) ([]byte, error) {
	path, err := lookTool(name)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = nat.InNetns(target, func() error {
		cmd := exec.Command(path, args...)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
		var err error
		out, err = cmd.Output()
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			return fmt.Errorf("%s: %w: %s", name, err, trimBytes(ee.Stderr))
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
	return out, err
}

// lookTool finds an administration tool on PATH or in the sbin
// directories (sudo and cron often leave them off PATH).
func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin/", "/sbin/", "/usr/local/sbin/"} {
		if p, err := exec.LookPath(d + name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found: install the iptables package", name)
}

func trimBytes(b []byte) string {
	const max = 300
	s := string(b)
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
