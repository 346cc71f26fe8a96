#!/usr/bin/env bash
# A short, offline demo of nsjail-net, run entirely inside a private lab:
# a network + mount namespace plays "the host", a second namespace plays
# "the world" (203.0.113.0/24, documentation addresses). Nothing touches this
# machine's own network.
#
#   sudo make demo
set -euo pipefail
BIN=${1:-$(dirname "$0")/../bin/nsjail-net}
BIN=$(readlink -f "$BIN")
if [[ $(id -u) != 0 ]]; then echo "demo: needs root (sudo make demo)" >&2; exit 1; fi
if [[ ${NSJ_DEMO_INSIDE:-} != 1 ]]; then
	# The demo's tmpfs mounts need these directories on the machine's /run;
	# the ones created here are removed afterwards (if still empty).
	made=()
	for d in /run/netns /run/nsjail-net; do
		if [[ ! -d $d ]]; then mkdir "$d" && made+=("$d"); fi
	done
	rc=0
	unshare --net --mount --propagation private env NSJ_DEMO_INSIDE=1 "$0" "$BIN" || rc=$?
	for d in "${made[@]}"; do rmdir "$d" 2>/dev/null || true; done
	exit "$rc"
fi

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
mkdir -p /run/netns /run/nsjail-net
mount -t tmpfs lab-netns /run/netns
mount -t tmpfs lab-state /run/nsjail-net
printf 'nameserver 203.0.113.53\n' > /run/nsjail-net/.demo-resolv.conf
mount --bind /run/nsjail-net/.demo-resolv.conf /etc/resolv.conf 2>/dev/null || true

ip link set lo up
ip netns add world
# On exit, end the servers this demo started (they live in its world).
trap 'kill $(ip netns pids world) 2>/dev/null || true' EXIT
ip link add up0 type veth peer name world0 netns world
ip addr add 203.0.113.1/24 dev up0 && ip link set up0 up
ip -n world addr add 203.0.113.2/24 dev world0
ip -n world addr add 203.0.113.10/32 dev world0
ip -n world addr add 198.51.100.7/24 dev world0
ip -n world link set world0 up && ip -n world link set lo up
ip route add default via 203.0.113.2

# Two tiny servers in the world; each prints who connected (after NAT).
serve() { # addr port
	ip netns exec world sh -c "while true; do echo 'hello from the world' | nc -N -n -v -l $1 $2 2>&1 | sed -u -n 's/.*Connection received on \([^ ]*\).*/  world saw a connection to $1:$2 from \1/p'; done" &
}
serve 203.0.113.10 80
serve 198.51.100.7 5432
sleep 0.3

cat > /tmp/nsjail-net-demo.toml <<'TOML'
description = "demo: HTTP to 203.0.113.10 only"
[network]
mode = "bridge"
[firewall]
default = "deny"
[[firewall.rules]]
action = "allow"
proto = "tcp"
to = ["203.0.113.10"]
ports = [80]
comment = "the web server"
TOML

say "profile: only tcp/80 to 203.0.113.10"
sed 's/^/  /' /tmp/nsjail-net-demo.toml

say "allowed: nc 203.0.113.10 80 from inside the sandbox"
"$BIN" run --profile /tmp/nsjail-net-demo.toml -- nc -w 3 203.0.113.10 80 | sed "s/^/  sandbox got: /"
sleep 0.2

say "blocked: nc 198.51.100.7 5432 (no rule allows it: rejected at once)"
if "$BIN" run --profile /tmp/nsjail-net-demo.toml -- nc -w 2 198.51.100.7 5432; then echo "  UNEXPECTED: connected"; else echo "  refused, exit status $?"; fi

say "blocked: the host itself (10.213.0.1) and private ranges are guarded"
"$BIN" run --profile /tmp/nsjail-net-demo.toml -- nc -w 2 -z 10.213.0.1 22 || echo "  refused, exit status $?"

say "offline (the default profile): only lo"
"$BIN" run -- ip -br addr | sed 's/^/  /'

say "inside a bridged sandbox: its own address, route and resolv.conf"
"$BIN" run --profile /tmp/nsjail-net-demo.toml -- sh -c 'ip -br addr; ip route; cat /etc/resolv.conf' | sed 's/^/  /'

say "what the host keeps between runs: the bridge and the NAT rule"
ip -br link show type bridge | sed 's/^/  /'
iptables -t nat -S NSJNET-POSTROUTING | sed 's/^/  /'
