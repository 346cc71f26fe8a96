package sandbox

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// fakeNSS answers getent and id as a host whose LDAP knows ldapuser
// (uid 70001) and the group ldapdocker, and nothing else.
func fakeNSS(calls *[]string) nssTool {
	return func(name string, args ...string) ([]byte, error) {
		*calls = append(*calls, name+" "+strings.Join(args, " "))
		notFound := &exec.ExitError{}
		switch name + " " + strings.Join(args, " ") {
		case "getent passwd ldapuser", "getent passwd 70001":
			return []byte("ldapuser:*:70001:70000:LDAP User:/home/ldapuser:/bin/bash\n"), nil
		case "getent passwd nohome":
			return []byte("nohome:*:70002:70002::relative:/bin/sh\n"), nil
		case "getent passwd broken":
			return []byte("broken:*:x:70000::/:/bin/sh\n"), nil
		case "id -G ldapuser":
			return []byte("70000 70010 70011\n"), nil
		case "getent group 70010":
			return []byte("ldapdocker:*:70010:ldapuser\n"), nil
		case "getent group 70011":
			return []byte("ldapstaff:*:70011:ldapuser\n"), nil
		}
		return nil, notFound
	}
}

func TestLookupUserNSSFallback(t *testing.T) {
	for _, tt := range []struct {
		spec  string
		want  *User
		err   error
		calls []string
	}{
		{spec: "ldapuser", want: &User{Name: "ldapuser", UID: 70001, GID: 70000, Groups: []int{70000, 70010, 70011}, Home: "/home/ldapuser"},
			calls: []string{"getent passwd ldapuser", "id -G ldapuser"}},
		{spec: "70001", want: &User{Name: "ldapuser", UID: 70001, GID: 70000, Groups: []int{70000, 70010, 70011}, Home: "/home/ldapuser"},
			calls: []string{"getent passwd 70001", "id -G ldapuser"}},
		{spec: "nohome", want: &User{Name: "nohome", UID: 70002, GID: 70002, Groups: []int{}, Home: "/"},
			calls: []string{"getent passwd nohome", "id -G nohome"}},
		// A number nobody knows is still uid=gid=N.
		{spec: "70999", want: &User{Name: "70999", UID: 70999, GID: 70999, Groups: []int{}, Home: "/"},
			calls: []string{"getent passwd 70999"}},
		{spec: "nosuchuser", err: ErrUnknownUser, calls: []string{"getent passwd nosuchuser"}},
		{spec: "broken", err: ErrUnknownUser, calls: []string{"getent passwd broken"}},
		// Never handed to getent as an option or a second field.
		{spec: "-s", err: ErrUnknownUser},
		{spec: "a:b", err: ErrUnknownUser},
		// Users in /etc/passwd never reach NSS.
		{spec: "root", want: &User{Name: "root", UID: 0, GID: 0, Home: "/root"}},
	} {
		t.Run(tt.spec, func(t *testing.T) {
			var calls []string
			u, err := lookupUser(tt.spec, fakeNSS(&calls))
			if !slices.Equal(calls, tt.calls) {
				t.Errorf("NSS calls %q, want %q", calls, tt.calls)
			}
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("lookupUser(%q) = %+v, %v; want %v", tt.spec, u, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("lookupUser(%q): %v", tt.spec, err)
			}
			if tt.spec == "root" {
				u.Groups = nil // whatever /etc/group says
			}
			if u.Name != tt.want.Name || u.UID != tt.want.UID || u.GID != tt.want.GID || u.Home != tt.want.Home || !slices.Equal(u.Groups, tt.want.Groups) {
				t.Fatalf("lookupUser(%q) = %+v, want %+v", tt.spec, u, tt.want)
			}
		})
	}
}

func TestWithoutGroupsNSS(t *testing.T) {
	var calls []string
	u := &User{Name: "ldapuser", UID: 70001, GID: 70000, Groups: []int{70000, 70010, 70011}}
	got := u.withoutGroups([]string{"ldapdocker", "nosuchgroup-xyz", "-x"}, fakeNSS(&calls))
	if want := []int{70000, 70011}; !slices.Equal(got, want) {
		t.Fatalf("withoutGroups = %v, want %v (NSS calls %q)", got, want, calls)
	}
}

// Dropping groups costs no process for a user whose groups are all in
// /etc/group (root's here), however many names are dropped: a getent per
// name took 28 ms of every launch.
func TestWithoutGroupsStartsNoProcessForLocalGroups(t *testing.T) {
	var calls []string
	u := &User{Name: "root", Groups: []int{0}}
	got := u.withoutGroups([]string{"docker", "libvirt", "incus-admin", "lxd"}, fakeNSS(&calls))
	if !slices.Equal(got, []int{0}) || len(calls) > 0 {
		t.Fatalf("withoutGroups = %v with NSS calls %q, want [0] and none", got, calls)
	}
}

func TestParsePasswdLine(t *testing.T) {
	for _, tt := range []struct {
		line string
		ok   bool
	}{
		{"a:x:1:2:g:/h:/bin/sh", true},
		{"a:x:1:2:g:/h", false},
		{":x:1:2:g:/h:/bin/sh", false},
		{"a:x:-1:2:g:/h:/bin/sh", false},
		{"a:x:1:4294967296:g:/h:/bin/sh", false},
		{"a:x:2147483648:2:g:/h:/bin/sh", false},
	} {
		if _, err := parsePasswdLine(tt.line); (err == nil) != tt.ok {
			t.Errorf("parsePasswdLine(%q): %v, want ok=%v", tt.line, err, tt.ok)
		}
	}
}
