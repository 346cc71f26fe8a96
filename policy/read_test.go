package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBuiltinNameNotShadowed: a file with a built-in name is used only when
// root alone could have written it and every directory above it; else
// Load passes over it to the built-in, and List marks it ignored.
// The invoking user's directory never supplies a built-in name, even one
// whose file and directories only root could write (a link the sandbox
// put there before the directory existed leads to such a one); other
// names are still found there.
func TestBuiltinNameNeverFromUserDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "profiles")
	mustMkdir(t, dir)
	mustWrite(t, filepath.Join(dir, "offline.toml"), "description = \"from the user dir\"\n[network]\nmode = \"bridge\"\n", 0o644)
	mustWrite(t, filepath.Join(dir, "mine.toml"), "description = \"mine\"\n", 0o644)
	f := &Finder{Dirs: []string{dir}, UserDir: dir}
	p, err := f.Load("offline")
	if err != nil {
		t.Fatal(err)
	}
	if p.Origin != OriginBuiltin {
		t.Errorf("offline came from %s, want the built-in", p.Origin)
	}
	if p, err := f.Load("mine"); err != nil || p.Origin == OriginBuiltin {
		t.Errorf("mine: %v, %v; want the user dir's file", p, err)
	}
}

func TestBuiltinNameNotShadowed(t *testing.T) {
	const body = "description = \"from the directory\"\n[network]\nmode = \"bridge\"\n"
	tests := []struct {
		name                          string
		parentMode, dirMode, fileMode os.FileMode
		link                          bool   // offline.toml is a link to a root-only file
		chown                         bool   // the file belongs to another user (needs root)
		want                          string // "file", "builtin" or the start of an error
	}{
		{"root's directory", 0o755, 0o755, 0o644, false, false, "file"},
		{"sticky directory others may write", 0o755, 0o1777, 0o644, false, false, "file"},
		{"directory others may write", 0o755, 0o777, 0o644, false, false, "builtin"},
		{"directory the group may write", 0o755, 0o775, 0o644, false, false, "builtin"},
		{"file others may write", 0o755, 0o755, 0o646, false, false, "builtin"},
		{"file the group may write", 0o755, 0o755, 0o664, false, false, "builtin"},
		{"a directory above others may write", 0o777, 0o755, 0o644, false, false, "builtin"},
		{"link in a directory others may write", 0o755, 0o777, 0o644, true, false, "builtin"},
		{"link in root's directory", 0o755, 0o755, 0o644, true, false, "reading profile"},
		{"file of another user", 0o755, 0o755, 0o644, false, true, "builtin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.chown && os.Geteuid() != 0 {
				t.Skip("needs root to give a file away")
			}
			parent := filepath.Join(t.TempDir(), "parent")
			dir := filepath.Join(parent, "profiles")
			mustMkdir(t, dir)
			file := filepath.Join(dir, "offline.toml")
			if tt.link {
				target := filepath.Join(t.TempDir(), "target.toml")
				mustWrite(t, target, body, 0o644)
				if err := os.Symlink(target, file); err != nil {
					t.Fatal(err)
				}
			} else {
				mustWrite(t, file, body, tt.fileMode)
			}
			if tt.chown {
				if err := os.Chown(file, 65534, 65534); err != nil {
					t.Fatal(err)
				}
			}
			mustChmod(t, dir, tt.dirMode)
			mustChmod(t, parent, tt.parentMode)
			f := testFinder(dir)

			p, err := f.Load("offline")
			switch {
			case tt.want == "builtin" && (err != nil || p.Origin != OriginBuiltin || p.Network.Mode != ModeLoopback):
				t.Errorf("Load(offline) = %+v, %v; want the built-in", p, err)
			case tt.want == "file" && (err != nil || p.Origin != file || p.Network.Mode != ModeBridge || !p.RootOnly()):
				t.Errorf("Load(offline) = %+v, %v; want %s, root-only", p, err, file)
			case tt.want != "builtin" && tt.want != "file" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Errorf("Load(offline) = %v; want an error starting %q", err, tt.want)
			}

			ents, err := f.List()
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				if e.Origin == file && e.Ignored != (tt.want == "builtin") {
					t.Errorf("List: %s ignored = %v, want %v", file, e.Ignored, tt.want == "builtin")
				}
			}
		})
	}
}

// TestRootOnlyChain: names that are not built in are found anywhere, but
// the profile says which of its files users other than root could write.
func TestRootOnlyChain(t *testing.T) {
	open := writeProfiles(t, map[string]string{
		"ci":   "extends = \"root\"\n",
		"base": "[network]\nmode = \"bridge\"\n",
		"web":  "description = \"planted\"\n[firewall]\nallow_host = true\n",
	})
	mustChmod(t, open, 0o777)
	closed := writeProfiles(t, map[string]string{
		"root":   "extends = \"web\"\n",
		"onbase": "extends = \"base\"\n",
	})
	f := testFinder(closed, open)
	tests := []struct {
		ref      string
		rootOnly []bool // per source, own file first
		origins  []string
	}{
		{"ci", []bool{false, true, true}, []string{filepath.Join(open, "ci.toml"), filepath.Join(closed, "root.toml"), OriginBuiltin}},
		{"root", []bool{true, true}, []string{filepath.Join(closed, "root.toml"), OriginBuiltin}},
		{"onbase", []bool{true, false}, []string{filepath.Join(closed, "onbase.toml"), filepath.Join(open, "base.toml")}},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			p, err := f.Load(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			var got []bool
			var origins []string
			for _, s := range p.Sources() {
				got = append(got, s.RootOnly)
				origins = append(origins, s.Path)
			}
			if strings.Join(origins, " ") != strings.Join(tt.origins, " ") || fmt.Sprint(got) != fmt.Sprint(tt.rootOnly) {
				t.Errorf("sources %q root-only %v, want %q %v", origins, got, tt.origins, tt.rootOnly)
			}
			want := true
			for _, r := range tt.rootOnly {
				want = want && r
			}
			if p.RootOnly() != want {
				t.Errorf("RootOnly() = %v, want %v", p.RootOnly(), want)
			}
			if p.Firewall.AllowHost {
				t.Error("the planted web.toml was used as the parent")
			}
		})
	}
}

// TestSourcesAreTheParsedBytes: each file is read once, and the hash a
// profile carries for it is the hash of the bytes its values come from.
func TestSourcesAreTheParsedBytes(t *testing.T) {
	files := map[string]string{
		"child":  "extends = \"parent\"\n[limits]\negress_rate = \"5mbit\"\n",
		"parent": "extends = \"web\"\n[limits]\ningress_rate = \"2mbit\"\n",
	}
	dir := writeProfiles(t, files)
	p, err := testFinder(dir).Load("child")
	if err != nil {
		t.Fatal(err)
	}
	builtin, err := readFS(testBuiltins(), "web.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := []Source{
		{Name: "child", Path: filepath.Join(dir, "child.toml"), SHA256: sum(files["child"]), RootOnly: true},
		{Name: "parent", Path: filepath.Join(dir, "parent.toml"), SHA256: sum(files["parent"]), RootOnly: true},
		{Name: "web", Path: OriginBuiltin, SHA256: sum(string(builtin)), RootOnly: true},
	}
	if got := p.Sources(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Sources:\n got %+v\nwant %+v", got, want)
	}
	if p.Limits.EgressRate != 5_000_000 || p.Limits.IngressRate != 2_000_000 || len(p.Firewall.Rules) != 1 {
		t.Errorf("values not from those bytes: %+v", p)
	}
}

// TestRefusedFiles: a profile is never read through a symbolic link, nor
// from anything but a regular file (a FIFO must not block the launcher).
func TestRefusedFiles(t *testing.T) {
	dir := writeProfiles(t, map[string]string{"real": "version = 1\n"})
	link := filepath.Join(dir, "link.toml")
	if err := os.Symlink(filepath.Join(dir, "real.toml"), link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.toml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref  string
		want string
		is   error
	}{
		{link, `reading profile "` + link + `": ` + link + ` is a symbolic link to ` + filepath.Join(dir, "real.toml") + `: refusing it; name the file itself`, ErrSymlink},
		{"link", `reading profile "` + link + `": ` + link + ` is a symbolic link to `, ErrSymlink},
		{fifo, `reading profile "` + fifo + `": ` + fifo + `: not a regular file`, nil},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.ref), func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := testFinder(dir).Load(tt.ref)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Load blocked")
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got  %v\nwant %s", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v) = false", tt.is)
			}
		})
	}
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path, body string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	mustChmod(t, path, mode) // whatever the umask
}

func mustChmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode&os.ModePerm|sticky(mode)); err != nil {
		t.Fatal(err)
	}
}

// sticky turns the octal 01000 of a test table into os.ModeSticky.
func sticky(mode os.FileMode) os.FileMode {
	if mode&0o1000 != 0 {
		return os.ModeSticky
	}
	return 0
}
