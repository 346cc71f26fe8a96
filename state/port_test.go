package state

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	loopback = netip.MustParseAddr("127.0.0.1")
	anyAddr  = netip.MustParseAddr("0.0.0.0")
	otherIP  = netip.MustParseAddr("192.0.2.7")
)

func TestClaimPortConflicts(t *testing.T) {
	type claim struct {
		proto string
		ip    netip.Addr
		port  uint16
		id    string
	}
	tests := []struct {
		name    string
		held    []claim
		try     claim
		wantErr string // "" = success
	}{
		{"free", nil, claim{"tcp", loopback, 8080, "b"}, ""},
		{"same address", []claim{{"tcp", loopback, 8080, "a"}}, claim{"tcp", loopback, 8080, "b"},
			"host port tcp 127.0.0.1:8080 already published by sandbox a"},
		{"any after specific", []claim{{"tcp", loopback, 8080, "a"}}, claim{"tcp", anyAddr, 8080, "b"},
			"host port tcp 0.0.0.0:8080 already published by sandbox a (on 127.0.0.1:8080)"},
		{"specific after any", []claim{{"tcp", anyAddr, 8080, "a"}}, claim{"tcp", loopback, 8080, "b"},
			"host port tcp 127.0.0.1:8080 already published by sandbox a (on 0.0.0.0:8080)"},
		{"two specific addresses", []claim{{"tcp", loopback, 8080, "a"}}, claim{"tcp", otherIP, 8080, "b"}, ""},
		{"other protocol", []claim{{"tcp", anyAddr, 8080, "a"}}, claim{"udp", anyAddr, 8080, "b"}, ""},
		{"other port", []claim{{"tcp", anyAddr, 8080, "a"}}, claim{"tcp", anyAddr, 8081, "b"}, ""},
		{"again by its holder", []claim{{"tcp", loopback, 8080, "a"}}, claim{"tcp", loopback, 8080, "a"}, ""},
		{"bad proto", nil, claim{"icmp", loopback, 1, "a"}, "protocol must be tcp or udp"},
		{"port 0", nil, claim{"tcp", loopback, 0, "a"}, "port 0"},
		{"no address", nil, claim{"tcp", netip.Addr{}, 80, "a"}, "bad host address"},
		{"bad id", nil, claim{"tcp", loopback, 80, "../x"}, "bad char"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := openTemp(t)
			me := self(t)
			for _, c := range tt.held {
				if err := d.ClaimPort(c.proto, c.ip, c.port, c.id, me); err != nil {
					t.Fatal(err)
				}
			}
			c := tt.try
			err := d.ClaimPort(c.proto, c.ip, c.port, c.id, me)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ClaimPort = %v, want success", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr && !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ClaimPort = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(tt.wantErr, "already published") && !errors.Is(err, ErrPortTaken) {
				t.Errorf("%v does not match ErrPortTaken", err)
			}
		})
	}
}

func TestClaimPortReclaimsDeadOwner(t *testing.T) {
	d := openTemp(t)
	gone := deadOwner(t)
	if err := d.ClaimPort("tcp", anyAddr, 8080, "dead", gone); err != nil {
		t.Fatal(err)
	}
	if err := d.ClaimPort("tcp", loopback, 8080, "live", self(t)); err != nil {
		t.Fatalf("claim over a dead owner's: %v", err)
	}
	ps, err := d.Ports()
	if err != nil || len(ps) != 1 || ps[0].ID != "live" {
		t.Errorf("Ports = %+v, %v; want only the live claim", ps, err)
	}
}

func TestReleasePort(t *testing.T) {
	d := openTemp(t)
	me := self(t)
	for _, c := range []struct {
		ip netip.Addr
		id string
	}{{loopback, "a"}, {otherIP, "b"}} {
		if err := d.ClaimPort("udp", c.ip, 53, c.id, me); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.ReleasePort("udp", loopback, 53, "b"); !errors.Is(err, ErrNotOwner) {
		t.Errorf("release by another sandbox = %v, want ErrNotOwner", err)
	}
	if err := d.ReleasePort("udp", loopback, 53, "a"); err != nil {
		t.Fatal(err)
	}
	if err := d.ReleasePort("udp", loopback, 53, "a"); err != nil {
		t.Errorf("releasing twice: %v", err)
	}
	if err := d.ClaimPort("udp", anyAddr, 53, "c", me); !errors.Is(err, ErrPortTaken) {
		t.Errorf("0.0.0.0 while b holds 192.0.2.7: %v, want ErrPortTaken", err)
	}
	if err := d.ReleasePort("udp", otherIP, 53, "b"); err != nil {
		t.Fatal(err)
	}
	// Nothing published: no ports/ directory left behind.
	if _, err := os.Stat(d.portsPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ports/ after the last release: %v, want it gone", err)
	}
	if err := d.ReleasePort("udp", otherIP, 53, "b"); err != nil {
		t.Errorf("release without ports/: %v", err)
	}
}

func TestReapPorts(t *testing.T) {
	d := openTemp(t)
	me, gone := self(t), deadOwner(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(d.ClaimPort("tcp", loopback, 80, "live", me))
	must(d.ClaimPort("tcp", otherIP, 80, "dead1", gone))
	must(d.ClaimPort("udp", anyAddr, 5353, "dead2", gone))
	os.WriteFile(filepath.Join(d.portsPath(), "tcp-9999"), []byte("[{"), 0o600) // crashed writer
	os.WriteFile(filepath.Join(d.portsPath(), "notes"), []byte("x"), 0o600)     // not ours
	got, err := d.ReapPorts()
	if err != nil {
		t.Fatal(err)
	}
	want := "tcp 192.0.2.7:80, tcp-9999 (unreadable), udp 0.0.0.0:5353"
	if s := strings.Join(got, ", "); s != want {
		t.Errorf("ReapPorts = %s, want %s", s, want)
	}
	ps, _ := d.Ports()
	if len(ps) != 1 || ps[0].String() != "tcp 127.0.0.1:80" || ps[0].ID != "live" {
		t.Errorf("left %+v, want only the live claim", ps)
	}
	if again, err := d.ReapPorts(); err != nil || len(again) != 0 {
		t.Errorf("second ReapPorts = %v, %v", again, err)
	}
}

// TestClaimPortRace: many claimers of one port at once, each its own Dir
// (its own lock description, like separate launchers); exactly one wins.
func TestClaimPortRace(t *testing.T) {
	d := openTemp(t)
	me := self(t)
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() {
			ip := loopback
			if i%2 == 1 {
				ip = anyAddr
			}
			errs[i] = (&Dir{Path: d.Path}).ClaimPort("tcp", ip, 8080, fmt.Sprintf("s%d", i), me)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrPortTaken):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d claimers won, want 1", won)
	}
}
