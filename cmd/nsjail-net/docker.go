package main

import (
	"errors"
	"strings"

	"github.com/urfave/cli/v2"
)

// dockerHints say, for a docker run/exec flag nsjail-net does not take,
// what it does instead. Keyed by the flag's name without dashes.
var dockerHints = map[string]string{
	"rm":          "--rm: nsjail-net always removes a sandbox when its program exits (a sandbox that stays: create NAME, delete NAME)",
	"i":           "-i: the program always uses your terminal and stdin as they are, no flag needed",
	"interactive": "--interactive: the program always uses your terminal and stdin as they are, no flag needed",
	"t":           "-t: the program always uses your terminal and stdin as they are, no flag needed",
	"tty":         "--tty: the program always uses your terminal and stdin as they are, no flag needed",
	"it":          "-it: the program always uses your terminal and stdin as they are, no flag needed",
	"ti":          "-ti: the program always uses your terminal and stdin as they are, no flag needed",
	"d":           "-d: nsjail-net does not detach; run it in the background (&), or 'create NAME' then 'exec NAME -- PROGRAM'",
	"detach":      "--detach: nsjail-net does not detach; run it in the background (&), or 'create NAME' then 'exec NAME -- PROGRAM'",
	"P":           "-P: nsjail-net publishes only the ports you name, with --publish HOST_PORT:SANDBOX_PORT (binds 127.0.0.1)",
	"network":     "--network: the profile decides the network (--profile NAME; 'nsjail-net profile list')",
	"net":         "--net: the profile decides the network (--profile NAME; 'nsjail-net profile list')",
}

// publishHint is the hint for docker's -p HOST:CONTAINER, which nsjail-net
// reads as --profile.
const publishHint = "-p: nsjail-net publishes ports with --publish [HOST_IP:]HOST_PORT:SANDBOX_PORT (binds 127.0.0.1 unless HOST_IP is given); -p is --profile"

// dockerHintCommands are the commands whose usage errors get a hint.
var dockerHintCommands = map[string]bool{"run": true, "exec": true, "create": true}

// dockerHint returns the hint for a usage error of command cmd, if the
// error is an unknown flag that docker takes.
func dockerHint(cmd string, err error) (string, bool) {
	if !dockerHintCommands[cmd] {
		return "", false
	}
	// Go's flag package and lifecycle.SplitArgs word it the same way.
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: ")
	if !ok {
		return "", false
	}
	name, _, _ = strings.Cut(strings.TrimLeft(name, "-"), "=")
	hint, ok := dockerHints[name]
	return hint, ok
}

// profileHint refuses a --profile (-p) value that is docker's -p
// HOST_PORT:CONTAINER_PORT[/PROTO], which can be no profile name (names
// have no ':') and is no profile file.
func profileHint(c *cli.Context) error {
	if looksLikePortMapping(c.String("profile")) {
		return errors.New(publishHint)
	}
	return nil
}

// looksLikePortMapping tells whether s has the shape of docker's -p value:
// [IP:][HOST_PORT[-END]:]PORT[-END][/PROTO], with a ':' or a /PROTO.
func looksLikePortMapping(s string) bool {
	spec, proto, hasProto := strings.Cut(s, "/")
	if hasProto && proto != "tcp" && proto != "udp" && proto != "sctp" {
		return false
	}
	if spec == "" || (!hasProto && !strings.Contains(spec, ":")) {
		return false
	}
	for _, r := range spec {
		if !(r >= '0' && r <= '9' || r == ':' || r == '.' || r == '-' || r == '[' || r == ']' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	last := spec[strings.LastIndexByte(spec, ':')+1:]
	return last != "" && strings.Trim(last, "0123456789-") == ""
}
