package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// The shell recipe: what a user does by hand to give a program a bridged,
// NATed network namespace, set up and torn down around one /bin/true.
// The bridge and IPv4 forwarding are set up once, outside the timed runs,
// like a machine that already has a bridge.
const (
	recipeBridge = "rcpbr0"
	recipeGW     = "172.31.213.1"
	recipeIP     = "172.31.213.2"
	recipeNS     = "rcp"
	recipeHost   = "rcph"
	recipePeer   = "rcps"
)

// recipeScript is one iteration.
var recipeScript = fmt.Sprintf(`#!/bin/bash
set -e
ip netns add %[1]s
ip link add %[2]s type veth peer name %[3]s
ip link set %[3]s netns %[1]s
ip link set %[2]s master %[4]s
ip link set %[2]s up
ip -n %[1]s link set lo up
ip -n %[1]s link set %[3]s name eth0
ip -n %[1]s addr add %[5]s/24 dev eth0
ip -n %[1]s link set eth0 up
ip -n %[1]s route add default via %[6]s
iptables -t nat -A POSTROUTING -s %[5]s/32 ! -o %[4]s -j MASQUERADE
iptables -A FORWARD -i %[4]s -s %[5]s/32 -j ACCEPT
iptables -A FORWARD -o %[4]s -d %[5]s/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
ip netns exec %[1]s /bin/true
iptables -D FORWARD -o %[4]s -d %[5]s/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
iptables -D FORWARD -i %[4]s -s %[5]s/32 -j ACCEPT
iptables -t nat -D POSTROUTING -s %[5]s/32 ! -o %[4]s -j MASQUERADE
ip link del %[2]s
ip netns del %[1]s
`, recipeNS, recipeHost, recipePeer, recipeBridge, recipeIP, recipeGW)

// recipeCleanup removes what a failed iteration may have left.
var recipeCleanup = fmt.Sprintf(`
iptables -D FORWARD -o %[4]s -d %[5]s/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
iptables -D FORWARD -i %[4]s -s %[5]s/32 -j ACCEPT
iptables -t nat -D POSTROUTING -s %[5]s/32 ! -o %[4]s -j MASQUERADE
ip link del %[2]s
ip netns del %[1]s
true
`, recipeNS, recipeHost, recipePeer, recipeBridge, recipeIP)

// recipeSeries sets up the recipe's bridge and forwarding and returns
// the series to time and the function that removes the bridge.
func (l *lab) recipeSeries() (*series, func(), error) {
	if err := l.script([][]string{
		{"ip", "link", "add", recipeBridge, "type", "bridge"},
		{"ip", "addr", "add", recipeGW + "/24", "dev", recipeBridge},
		{"ip", "link", "set", recipeBridge, "up"},
	}); err != nil {
		return nil, nil, fmt.Errorf("recipe bridge: %w", err)
	}
	dir, err := os.MkdirTemp("", "bench-recipe-")
	undo := func() {
		_, _ = l.output("ip", "link", "del", recipeBridge)
		if dir != "" {
			_ = os.RemoveAll(dir)
		}
	}
	if err != nil {
		undo()
		return nil, nil, fmt.Errorf("recipe dir: %w", err)
	}
	// Only the lab's namespace: this process is in it (see checkPrivate).
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644); err != nil {
		undo()
		return nil, nil, fmt.Errorf("enabling forwarding in the lab: %w", err)
	}
	script := filepath.Join(dir, "recipe.sh")
	if err := os.WriteFile(script, []byte(recipeScript), 0o755); err != nil {
		undo()
		return nil, nil, fmt.Errorf("writing %s: %w", script, err)
	}
	s := &series{
		argv:   []string{"bash", script},
		onFail: func() { _, _ = l.output("bash", "-c", recipeCleanup) },
	}
	return s, undo, nil
}
