package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
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
func LookupUser(spec string) (*User, error) {
	if spec == "" {
		if os.Geteuid() == 0 {
			if uid := os.Getenv("SUDO_UID"); uid != "" {
				u, err := LookupUser(uid)
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
			return &User{Name: spec, UID: n, GID: n, Groups: []int{}, Home: "/"}, nil
		}
	} else {
		u, err = user.Lookup(spec)
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, fmt.Errorf("%w %q (not in the passwd database)", ErrUnknownUser, spec)
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

// WithoutGroups returns u's supplementary groups less the named ones (a
// name that is not in the group database is skipped).
func (u *User) WithoutGroups(names []string) []int {
	drop := map[int]bool{}
	for _, n := range names {
		if g, err := user.LookupGroup(n); err == nil {
			if gid, err := strconv.Atoi(g.Gid); err == nil {
				drop[gid] = true
			}
		}
	}
	out := []int{}
	for _, g := range u.Groups {
		if !drop[g] {
			out = append(out, g)
		}
	}
	return out
}
