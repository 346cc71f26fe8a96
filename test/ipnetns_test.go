package test

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// ipnsProfile lets one of dnsRecords' names through the sandbox's resolver.
const ipnsProfile = `
[network]
mode = "bridge"
[dns]
allow = ["www.example.test"]
[firewall]
default = "allow"
`

// ipnsEtcExists reports whether the lab host has /etc/netns/name.
func ipnsEtcExists(t *testing.T, l *Lab, name string) bool {
	t.Helper()
	_, err := os.Lstat(l.HostPath(labNetnsEtcDir + "/" + name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

func TestIPNetnsExecResolvesThroughTheSandbox(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	world := l.DNSServer(t, labDNSIP+":53", dnsRecords())
	prof := writeProfile(t, "ipns", ipnsProfile)
	wantCode(t, l.NSJ(t, "create", "--profile", prof, "ipns1"), 0)

	// The same answer whichever way the program entered the sandbox.
	viaIP := l.Run(t, "ip", "netns", "exec", "ipns1", "getent", "hosts", "www.example.test")
	wantCode(t, viaIP, 0)
	viaExec := l.NSJ(t, "exec", "ipns1", "--", "getent", "hosts", "www.example.test")
	wantCode(t, viaExec, 0)
	if viaIP.Stdout != viaExec.Stdout || !strings.Contains(viaIP.Stdout, "www.example.test") {
		t.Errorf("ip netns exec getent: %q; nsjail-net exec getent: %q; want the same answer", viaIP.Stdout, viaExec.Stdout)
	}
	// A name outside [dns] allow is refused, and never asked upstream.
	r := l.Run(t, "ip", "netns", "exec", "ipns1", "getent", "hosts", "other.example.test")
	if r.Code != 2 || r.Stdout != "" {
		t.Errorf("ip netns exec getent of a denied name: exit %d, %q; want 2 (not found)", r.Code, r.Stdout)
	}
	for _, q := range world.Queries() {
		if strings.HasPrefix(q.Name, "other.example.test") {
			t.Errorf("denied name %s reached the upstream", q.Name)
		}
	}
	if len(world.Queries()) == 0 {
		t.Error("the world's DNS server saw no query: not resolved through the sandbox's resolver")
	}
	// The file is the sandbox's own resolv.conf.
	own := l.NSJ(t, "exec", "ipns1", "--", "cat", "/etc/resolv.conf")
	wantCode(t, own, 0)
	b, err := os.ReadFile(l.HostPath(labNetnsEtcDir + "/ipns1/resolv.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != own.Stdout || !strings.Contains(own.Stdout, "nameserver 127.0.0.53") {
		t.Errorf("/etc/netns/ipns1/resolv.conf:\n%s\nthe sandbox's:\n%s", b, own.Stdout)
	}

	wantCode(t, l.NSJ(t, "delete", "ipns1"), 0)
	if ipnsEtcExists(t, l, "ipns1") {
		t.Error("/etc/netns/ipns1 outlived delete")
	}
}

func TestIPNetnsEtcGoneAfterStopAndGC(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	prof := writeProfile(t, "ipns", ipnsProfile)

	// A run that ends.
	_, _, wait := background(t, l, "run", "--name", "ipns2", "--profile", prof, "--", "sleep", "600")
	waitFor(t, func() bool { return ipnsEtcExists(t, l, "ipns2") })
	wantCode(t, l.NSJ(t, "stop", "ipns2"), 0)
	if code := wait(); code != 143 {
		t.Errorf("run exited %d after stop, want 143", code)
	}
	if ipnsEtcExists(t, l, "ipns2") {
		t.Error("/etc/netns/ipns2 outlived its sandbox")
	}

	// A launcher killed: gc removes what it left.
	cmd, _, wait := background(t, l, "run", "--name", "ipns3", "--profile", prof, "--", "sleep", "600")
	waitFor(t, func() bool { return ipnsEtcExists(t, l, "ipns3") })
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if code := wait(); code != 137 {
		t.Fatalf("launcher exit %d, want 137", code)
	}
	if !ipnsEtcExists(t, l, "ipns3") {
		t.Fatal("/etc/netns/ipns3 gone before gc: nothing left to test")
	}
	r := l.NSJ(t, "gc")
	wantCode(t, r, 0)
	if ipnsEtcExists(t, l, "ipns3") {
		t.Errorf("/etc/netns/ipns3 outlived gc:\n%s", r.Stdout)
	}
}
