package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Throughput lab: the baseline is a direct veth between two plain
// namespaces.
const (
	tputNSA    = "tpa"
	tputNSB    = "tpb"
	tputAddrA  = "192.0.2.1"
	tputAddrB  = "192.0.2.2"
	iperfPort  = "5201"
	rules20TOM = "rules20.toml"
)

// tputResult compares TCP throughput sandbox -> world (bridge, NAT, a
// 20-rule firewall) with the direct veth.
type tputResult struct {
	Sandbox, Direct []float64 // bits/s of each round
	Err             string
}

func medianF(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

// rules20 is the sandbox's profile: 19 denies for unrelated ranges, then
// the allow that matters.
func rules20() string {
	var b strings.Builder
	b.WriteString("version = 1\ndescription = \"bench: 20 rules, iperf3 allowed\"\n\n[network]\nmode = \"bridge\"\n\n[firewall]\ndefault = \"deny\"\n")
	for i := range 19 {
		fmt.Fprintf(&b, "\n[[firewall.rules]]\naction = \"deny\"\nproto = \"tcp\"\nto = [\"198.18.%d.0/24\"]\ncomment = \"unrelated %d\"\n", i, i+1)
	}
	fmt.Fprintf(&b, "\n[[firewall.rules]]\naction = \"allow\"\nproto = \"tcp\"\nto = [%q]\nports = [%s]\ncomment = \"iperf3\"\n", labServerIP, iperfPort)
	return b.String()
}

// benchThroughput alternates sandbox and direct runs, cfg.tputRuns each.
func (l *lab) benchThroughput() (tputResult, error) {
	var r tputResult
	dir, err := os.MkdirTemp("", "bench-tput-")
	if err != nil {
		return r, fmt.Errorf("throughput dir: %w", err)
	}
	defer os.RemoveAll(dir)
	profile := filepath.Join(dir, rules20TOM)
	if err := os.WriteFile(profile, []byte(rules20()), 0o644); err != nil {
		return r, fmt.Errorf("writing %s: %w", profile, err)
	}
	if err := l.script([][]string{
		{"ip", "netns", "add", tputNSA},
		{"ip", "netns", "add", tputNSB},
		{"ip", "link", "add", "tpa0", "netns", tputNSA, "type", "veth", "peer", "name", "tpb0", "netns", tputNSB},
		{"ip", "-n", tputNSA, "addr", "add", tputAddrA + "/24", "dev", "tpa0"},
		{"ip", "-n", tputNSB, "addr", "add", tputAddrB + "/24", "dev", "tpb0"},
		{"ip", "-n", tputNSA, "link", "set", "tpa0", "up"},
		{"ip", "-n", tputNSB, "link", "set", "tpb0", "up"},
		{"ip", "-n", tputNSA, "link", "set", "lo", "up"},
		{"ip", "-n", tputNSB, "link", "set", "lo", "up"},
	}); err != nil {
		return r, fmt.Errorf("direct veth: %w", err)
	}
	defer func() {
		_, _ = l.output("ip", "netns", "del", tputNSA)
		_, _ = l.output("ip", "netns", "del", tputNSB)
	}()
	worldSrv, err := l.iperfServer(labWorldNS, labServerIP)
	if err != nil {
		return r, err
	}
	defer func() { _ = worldSrv.stop(syscall.SIGTERM, 5*time.Second) }()
	directSrv, err := l.iperfServer(tputNSB, tputAddrB)
	if err != nil {
		return r, err
	}
	defer func() { _ = directSrv.stop(syscall.SIGTERM, 5*time.Second) }()

	secs := strconv.Itoa(int(l.cfg.iperfDur / time.Second))
	client := []string{"iperf3", "-c", "", "-p", iperfPort, "-t", secs, "-J"}
	for range l.cfg.tputRuns {
		c := slices.Clone(client)
		c[2] = labServerIP
		bps, err := l.iperfClient(l.nsj(append([]string{"run", "--profile", profile, "--"}, c...)...))
		if err != nil {
			return r, fmt.Errorf("sandbox iperf3: %w", err)
		}
		r.Sandbox = append(r.Sandbox, bps)
		c[2] = tputAddrB
		bps, err = l.iperfClient(append([]string{"ip", "netns", "exec", tputNSA}, c...))
		if err != nil {
			return r, fmt.Errorf("direct iperf3: %w", err)
		}
		r.Direct = append(r.Direct, bps)
	}
	return r, nil
}

// iperfServer starts `iperf3 -s` in netns ns, bound to addr, and waits
// until it listens.
func (l *lab) iperfServer(ns, addr string) (*tracked, error) {
	cmd := l.command("ip", "netns", "exec", ns, l.paths["iperf3"], "-s", "-B", addr, "-p", iperfPort)
	var eb bytes.Buffer
	cmd.Stderr = &eb
	t, err := l.procs.start(cmd)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ := l.output("ip", "netns", "exec", ns, "ss", "-Hltn", "src", addr+":"+iperfPort)
		if len(bytes.TrimSpace(out)) > 0 {
			return t, nil
		}
		if t.exited() || time.Now().After(deadline) {
			_ = t.stop(syscall.SIGKILL, time.Second)
			return nil, fmt.Errorf("iperf3 server in %s on %s did not start: %s", ns, addr, lastLine(eb.Bytes()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// iperfClient runs an iperf3 -J client and returns the receiver's rate.
func (l *lab) iperfClient(argv []string) (float64, error) {
	cmd := l.command(argv...)
	var out, eb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &eb
	runErr := cmd.Run()
	var rep struct {
		Error string `json:"error"`
		End   struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		return 0, errors.Join(runErr, fmt.Errorf("iperf3 output: %w; stderr: %s", err, lastLine(eb.Bytes())))
	}
	if rep.Error != "" {
		return 0, fmt.Errorf("iperf3: %s", rep.Error)
	}
	if runErr != nil {
		return 0, fmt.Errorf("%w: %s", runErr, lastLine(eb.Bytes()))
	}
	if rep.End.SumReceived.BitsPerSecond <= 0 {
		return 0, errors.New("iperf3 reported no throughput")
	}
	return rep.End.SumReceived.BitsPerSecond, nil
}
