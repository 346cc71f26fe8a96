// Package nat owns the host side of the sandbox network: the shared bridge
// with its gateway address, forwarding, the NAT and guard chains (the
// "shared base"), and each sandbox's veth pair and address.
//
// Every host resource has an idempotent Ensure and a Delete that treats
// "absent" as success, and carries an owner tag (link alias "nsjail-net",
// iptables comment "nsjail-net" or "nsjail-net:<id>") so that crash
// clean-up can tell ours from everyone else's.
package nat

// OwnerTag marks shared host resources created by nsjail-net.
const OwnerTag = "nsjail-net"
