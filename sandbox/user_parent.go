package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strconv"
	"strings"
)

// User is the identity the program runs as.
type User struct {
	Name   string
	UID    int
	GID    int
	Groups []int
	Home   string
}

// ErrUnknownUser is returned for a user name that does not exist.
var ErrUnknownUser = errors.New("unknown user")

// LookupUser resolves --user. Empty spec means the invoking user: the one
// behind sudo (SUDO_UID/SUDO_GID) when we run through sudo as root, else
// ourselves. A number with no passwd entry is accepted as uid=gid=N.
//
// The launcher is built without cgo, so os/user reads /etc/passwd and
// /etc/group only; a user it does not find is looked up through NSS
// (LDAP, SSSD, systemd's dynamic users) with getent(1) and id(1).
func LookupUser(spec string) (*User, error) {
	return lookupUser(spec, runNSSTool)
}

// nssTool runs getent or id with args and returns its standard output; an
// error when the tool is missing or finds nothing. Tests stub it.
type nssTool func(name string, args ...string) ([]byte, error)

// runNSSTool runs name from the system's own directories only, with a
// fixed environment.
func runNSSTool(name string, args ...string) ([]byte, error) {
	for _, dir := range []string{"/usr/bin", "/bin"} {
		path := dir + "/" + name
		if _, err := os.Stat(path); err != nil {
			continue
		}
		cmd := exec.Command(path, args...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
		return cmd.Output()
	}
	return nil, fmt.Errorf("%s: %w", name, exec.ErrNotFound)
}

func lookupUser(spec string, nss nssTool) (*User, error) {
	if spec == "" {
		if os.Geteuid() == 0 {
			if uid := os.Getenv("SUDO_UID"); uid != "" {
				u, err := lookupUser(uid, nss)
				if err == nil {
					if gid, err := strconv.Atoi(os.Getenv("SUDO_GID")); err == nil {
						u.GID = gid
					}
				}
				return u, err
			}
		}
		spec = strconv.Itoa(os.Getuid())
	}
	var (
		u   *user.User
		err error
	)
	if n, convErr := strconv.Atoi(spec); convErr == nil {
		if n < 0 || n > 1<<31-2 {
			return nil, fmt.Errorf("user %q: uid out of range", spec)
		}
		u, err = user.LookupId(spec)
		var unknown user.UnknownUserIdError
		if errors.As(err, &unknown) {
			if nu, ok := nssUser(spec, nss); ok {
				return nu, nil
			}
			return &User{Name: spec, UID: n, GID: n, Groups: []int{}, Home: "/"}, nil
		}
	} else {
		u, err = user.Lookup(spec)
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			if nu, ok := nssUser(spec, nss); ok {
				return nu, nil
			}
			return nil, fmt.Errorf("%w %q (not in the passwd database, nor known to NSS)", ErrUnknownUser, spec)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("looking up user %q: %w", spec, err)
	}
	res := &User{Name: u.Username, Home: u.HomeDir, Groups: []int{}}
	if res.UID, err = strconv.Atoi(u.Uid); err != nil {
		return nil, fmt.Errorf("user %q: uid %q: %w", spec, u.Uid, err)
	}
	if res.GID, err = strconv.Atoi(u.Gid); err != nil {
		return nil, fmt.Errorf("user %q: gid %q: %w", spec, u.Gid, err)
	}
	gids, err := u.GroupIds()
	if err == nil {
		for _, g := range gids {
			if n, err := strconv.Atoi(g); err == nil {
				res.Groups = append(res.Groups, n)
			}
		}
	}
	return res, nil
}

// nssKey tells whether s may be handed to getent or id as a key: nothing
// they could take for an option, and nothing that cannot be in a passwd or
// group entry.
func nssKey(s string) bool {
	return s != "" && s[0] != '-' && !strings.ContainsAny(s, ":\n\x00")
}

// nssUser looks spec (a name or a uid) up with "getent passwd" and its
// groups with "id -G". ok is false when NSS does not know it.
func nssUser(spec string, nss nssTool) (*User, bool) {
	if !nssKey(spec) {
		return nil, false
	}
	out, err := nss("getent", "passwd", spec)
	if err != nil {
		return nil, false
	}
	u, err := parsePasswdLine(firstLine(out))
	if err != nil {
		return nil, false
	}
	u.Groups = []int{}
	if nssKey(u.Name) {
		if out, err := nss("id", "-G", u.Name); err == nil {
			for _, f := range strings.Fields(string(out)) {
				if g, err := strconv.Atoi(f); err == nil && g >= 0 {
					u.Groups = append(u.Groups, g)
				}
			}
		}
	}
	return u, true
}

// parsePasswdLine parses one passwd(5) entry: name:password:uid:gid:gecos:home:shell.
func parsePasswdLine(line string) (*User, error) {
	f := strings.Split(line, ":")
	if len(f) != 7 || f[0] == "" {
		return nil, fmt.Errorf("passwd entry %q: want 7 fields", line)
	}
	uid, err := strconv.ParseUint(f[2], 10, 31)
	if err != nil {
		return nil, fmt.Errorf("passwd entry %q: uid: %w", line, err)
	}
	gid, err := strconv.ParseUint(f[3], 10, 31)
	if err != nil {
		return nil, fmt.Errorf("passwd entry %q: gid: %w", line, err)
	}
	home := f[5]
	if !strings.HasPrefix(home, "/") {
		home = "/"
	}
	return &User{Name: f[0], UID: int(uid), GID: int(gid), Home: home}, nil
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}

// WithoutGroups returns u's supplementary groups less the named ones (a
// name that is neither in the group database nor known to NSS is skipped).
func (u *User) WithoutGroups(names []string) []int {
	return u.withoutGroups(names, runNSSTool)
}

func (u *User) withoutGroups(names []string, nss nssTool) []int {
	out := []int{}
	for _, g := range u.Groups {
		if !slices.Contains(names, groupName(g, nss)) {
			out = append(out, g)
		}
	}
	return out
}

// groupName names gid with os/user, then "getent group" (a group of LDAP,
// say); "" when neither knows it. Only the user's own groups are looked up,
// so that the common case, groups in /etc/group, starts no process: each
// getent costs milliseconds of every launch.
func groupName(gid int, nss nssTool) string {
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		return g.Name
	}
	out, err := nss("getent", "group", strconv.Itoa(gid))
	if err != nil {
		return ""
	}
	// name:password:gid:members
	f := strings.Split(firstLine(out), ":")
	if len(f) != 4 || f[2] != strconv.Itoa(gid) {
		return ""
	}
	return f[0]
}
