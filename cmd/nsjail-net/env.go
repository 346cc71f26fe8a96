package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/nsjail-net/nsjail-net/sandbox"
)

// clearEnvKeep are the caller's variables a cleared environment keeps
// (--clearenv, security.clearenv): what a login would set, and nothing
// that carries a secret (tokens, SUDO_*, SSH_AUTH_SOCK).
var clearEnvKeep = []string{"PATH", "HOME", "USER", "LOGNAME", "TERM", "LANG"}

// defaultPath is PATH in a cleared environment when the caller has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// programEnv is the program's environment: the caller's (only the
// clearEnvKeep variables of it when clear), with HOME, USER and LOGNAME of
// the target user when it differs from us, then extra in order (the
// --env-file lines, then --env): KEY=VALUE sets KEY, a bare KEY passes the
// caller's KEY through and is skipped when the caller has none, as docker
// does. The launcher's own NSJAIL_NET_* variables are never inherited.
func programEnv(base []string, u *sandbox.User, switched, clear bool, extra []string) ([]string, error) {
	env := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	caller := map[string]string{}
	for _, kv := range base {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.HasPrefix(k, "NSJAIL_NET_") {
			continue
		}
		caller[k] = v
		if !clear {
			set(k, v)
		}
	}
	if clear {
		for _, k := range clearEnvKeep {
			if v, ok := caller[k]; ok {
				set(k, v)
			}
		}
		if _, ok := env["PATH"]; !ok {
			set("PATH", defaultPath)
		}
	}
	if switched {
		set("HOME", u.Home)
		set("USER", u.Name)
		set("LOGNAME", u.Name)
	}
	for _, kv := range extra {
		if strings.ContainsRune(kv, 0) {
			return nil, fmt.Errorf("--env %q: contains a NUL byte", kv)
		}
		k, v, hasValue := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("--env %q: no variable name (want KEY=VALUE or KEY)", kv)
		}
		if !hasValue {
			if v, ok := caller[k]; ok {
				set(k, v)
			}
			continue
		}
		set(k, v)
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+env[k])
	}
	return out, nil
}

// maxEnvFileSize bounds what --env-file reads.
const maxEnvFileSize = 1 << 20

// readEnvFile reads an --env-file.
//
// The launcher reads it as root: a file the program's user could not read
// (mode bits, owner, groups) is refused, or `--env-file /root/secret.env`
// would hand root's secrets to the program.
func readEnvFile(path string, u *sandbox.User) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--env-file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("--env-file %s: %w", path, err)
	}
	if !readableBy(fi, u) {
		return nil, fmt.Errorf("--env-file %s: not readable by %s, whom the program runs as", path, u.Name)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxEnvFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("--env-file %s: %w", path, err)
	}
	if len(data) > maxEnvFileSize {
		return nil, fmt.Errorf("--env-file %s: larger than %d bytes", path, maxEnvFileSize)
	}
	return parseEnvFile(path, data)
}

// parseEnvFile parses docker's --env-file format: one VAR=value per line,
// the value taken literally to the end of the line (no quotes, no
// expansion); a line with VAR alone passes the caller's VAR through (see
// programEnv); blank lines and lines starting with '#' are skipped; leading
// white space is ignored. A name with white space in it, an empty name,
// a NUL byte or invalid UTF-8 is an error naming the file and line.
func parseEnvFile(name string, data []byte) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxEnvFileSize)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(strings.TrimLeftFunc(sc.Text(), unicode.IsSpace), "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		fail := func(msg string) error { return fmt.Errorf("--env-file %s:%d: %s", name, n, msg) }
		if !utf8.ValidString(line) {
			return nil, fail("invalid UTF-8")
		}
		if strings.ContainsRune(line, 0) {
			return nil, fail("contains a NUL byte")
		}
		k, _, _ := strings.Cut(line, "=")
		switch {
		case k == "":
			return nil, fail("no variable name before '='")
		case strings.IndexFunc(k, unicode.IsSpace) >= 0:
			return nil, fail(fmt.Sprintf("variable name %q contains white space", k))
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--env-file %s: %w", name, err)
	}
	return out, nil
}

// readableBy reports whether user u may read the file fi by its mode bits
// (uid 0 may read anything).
func readableBy(fi os.FileInfo, u *sandbox.User) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	mode := fi.Mode().Perm()
	switch {
	case u.UID == 0:
		return true
	case int(st.Uid) == u.UID:
		return mode&0o400 != 0
	case int(st.Gid) == u.GID || slices.Contains(u.Groups, int(st.Gid)):
		return mode&0o040 != 0
	}
	return mode&0o004 != 0
}
