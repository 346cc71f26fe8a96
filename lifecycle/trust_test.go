package lifecycle

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsjail-net/nsjail-net/policy"
)

// trustFixture: a project profile that extends "mid", which extends
// "base", which extends the built-in "web"; the parents in a search
// directory after an empty one; and a trust store.
type trustFixture struct {
	early, dir, proj string
	store            TrustStore
	finder           *policy.Finder
}

func newTrustFixture(t *testing.T) *trustFixture {
	t.Helper()
	root := t.TempDir()
	x := &trustFixture{
		early: filepath.Join(root, "early"),
		dir:   filepath.Join(root, "profiles"),
		proj:  filepath.Join(root, "proj", ProjectFile),
		store: TrustStore{Path: filepath.Join(root, "store", "trusted.json")},
	}
	for _, d := range []string{x.early, x.dir, filepath.Dir(x.proj)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(x.dir, "base.toml"), "extends = \"web\"\n[network]\nmode = \"bridge\"\n")
	write(t, filepath.Join(x.dir, "mid.toml"), "extends = \"base\"\n")
	write(t, x.proj, "extends = \"mid\"\n")
	x.finder = &policy.Finder{Dirs: []string{x.early, x.dir}}
	return x
}

func (x *trustFixture) load(t *testing.T, ref string) *policy.Profile {
	t.Helper()
	p, err := x.finder.Load(ref)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTrustCoversExtendsChain: the record covers every file of the chain;
// changing any of them, or what a name in it resolves to, undoes the trust.
func TestTrustCoversExtendsChain(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, x *trustFixture)
		want   func(x *trustFixture) string // start of the error; "" for none
	}{
		{"unchanged", func(*testing.T, *trustFixture) {}, func(*trustFixture) string { return "" }},
		{"own file edited",
			func(t *testing.T, x *trustFixture) {
				write(t, x.proj, "extends = \"mid\"\n[firewall]\nallow_host = true\n")
			},
			func(x *trustFixture) string {
				return x.proj + " changed since it was trusted: review it, then run `nsjail-net trust " + x.proj + "`"
			}},
		{"parent edited",
			func(t *testing.T, x *trustFixture) {
				write(t, filepath.Join(x.dir, "mid.toml"), "extends = \"base\"\n[firewall]\nallow_host = true\n")
			},
			func(x *trustFixture) string {
				return filepath.Join(x.dir, "mid.toml") + ", which " + x.proj + " extends, changed since it was trusted: review it, then run `nsjail-net trust " + x.proj + "`"
			}},
		{"grandparent edited",
			func(t *testing.T, x *trustFixture) {
				write(t, filepath.Join(x.dir, "base.toml"), "extends = \"open\"\n")
			},
			func(x *trustFixture) string {
				return filepath.Join(x.dir, "base.toml") + ", which " + x.proj + " extends, changed since it was trusted"
			}},
		{"parent found earlier in the search order",
			func(t *testing.T, x *trustFixture) {
				write(t, filepath.Join(x.early, "mid.toml"), "extends = \"base\"\n")
			},
			func(x *trustFixture) string {
				return "profile " + x.proj + " changed since it was trusted: it now extends " + filepath.Join(x.early, "mid.toml") + ", which was not part of it then"
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := newTrustFixture(t)
			files, err := x.store.Trust(x.load(t, x.proj))
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != 3 || files[0].Path != x.proj || files[2].Path != filepath.Join(x.dir, "base.toml") {
				t.Fatalf("trusted %+v, want the project file, mid and base (not the built-in)", files)
			}
			tt.change(t, x)
			err = x.store.Check(x.load(t, x.proj))
			want := tt.want(x)
			if want == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, ErrChanged) {
				t.Errorf("Check:\n got %v\nwant %s... (ErrChanged)", err, want)
			}
			if _, err := x.store.Trust(x.load(t, x.proj)); err != nil {
				t.Fatal(err)
			}
			if err := x.store.Check(x.load(t, x.proj)); err != nil {
				t.Errorf("trusted again: %v", err)
			}
		})
	}
}

// TestAdmit: which profiles need a trust record before a run.
func TestAdmit(t *testing.T) {
	tests := []struct {
		name     string
		ref      func(x *trustFixture) string
		project  bool
		trusted  bool
		needRoot bool   // the files must be root's
		want     string // start of the error; "" for none
	}{
		{"built-in", func(*trustFixture) string { return "offline" }, false, false, false, ""},
		{"project, untrusted", func(x *trustFixture) string { return x.proj }, true, false, false,
			"project profile PROJ is not trusted: review it and every file it extends, then run `nsjail-net trust PROJ` (or pass --profile)"},
		{"project, trusted", func(x *trustFixture) string { return x.proj }, true, true, false, ""},
		{"others may write it, untrusted", func(x *trustFixture) string { return x.open(t) }, false, false, false,
			"profile OPEN is not trusted (users other than root could have written it): review it and every file it extends, then run `nsjail-net trust OPEN`"},
		{"others may write it, trusted", func(x *trustFixture) string { return x.open(t) }, false, true, false, ""},
		{"others may write its parent", func(x *trustFixture) string { return x.openParent(t) }, false, false, true,
			"profile CLOSED is not trusted (it extends OPENBASE, which users other than root could have written): review it"},
		{"root's files", func(x *trustFixture) string { return filepath.Join(x.dir, "mid.toml") }, false, false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needRoot && os.Geteuid() != 0 {
				t.Skip("needs files owned by root")
			}
			x := newTrustFixture(t)
			p := x.load(t, tt.ref(x))
			if tt.trusted {
				if _, err := x.store.Trust(p); err != nil {
					t.Fatal(err)
				}
			}
			err := x.store.Admit(p, tt.project)
			want := strings.NewReplacer("PROJ", x.proj, "OPENBASE", filepath.Join(x.openDir(t), "base.toml"),
				"OPEN", filepath.Join(x.openDir(t), "ci.toml"), "CLOSED", filepath.Join(x.dir, "closed.toml")).Replace(tt.want)
			if tt.want == "" {
				if err != nil {
					t.Errorf("Admit: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, ErrUntrusted) {
				t.Errorf("Admit:\n got %v\nwant %s... (ErrUntrusted)", err, want)
			}
		})
	}
}

// openDir is a profile directory anyone may write.
func (x *trustFixture) openDir(t *testing.T) string {
	d := filepath.Join(filepath.Dir(x.dir), "open")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o777); err != nil {
		t.Fatal(err)
	}
	return d
}

// open is a profile in openDir.
func (x *trustFixture) open(t *testing.T) string {
	p := filepath.Join(x.openDir(t), "ci.toml")
	write(t, p, "extends = \"offline\"\n")
	return p
}

// openParent is a profile whose parent is in openDir.
func (x *trustFixture) openParent(t *testing.T) string {
	write(t, filepath.Join(x.openDir(t), "base.toml"), "version = 1\n")
	x.finder.Dirs = []string{x.openDir(t)}
	p := filepath.Join(x.dir, "closed.toml")
	write(t, p, "extends = \"base\"\n")
	return p
}

// TestTrustStore: the store's life: trust, check, revoke, refuse a store
// others may write, read records of older versions.
func TestTrustStore(t *testing.T) {
	x := newTrustFixture(t)
	write(t, x.proj, "version = 1\n")
	p := x.load(t, x.proj)
	if err := x.store.Check(p); !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), "nsjail-net trust "+x.proj) {
		t.Fatalf("before trust: %v, want ErrUntrusted naming the command", err)
	}
	files, err := x.store.Trust(p)
	if err != nil || len(files) != 1 || len(files[0].SHA256) != 64 {
		t.Fatalf("Trust: %+v, %v", files, err)
	}
	if err := x.store.Check(p); err != nil {
		t.Fatalf("after trust: %v", err)
	}
	fi, err := os.Stat(x.store.Path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("store mode: %v, %v", fi.Mode(), err)
	}

	// A record of an older version: the file's hash as a plain string.
	legacy := `{"` + x.proj + `": "` + files[0].SHA256 + `"}`
	if err := os.WriteFile(x.store.Path, []byte(legacy), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := x.store.Check(p); err != nil {
		t.Errorf("older record, same file: %v", err)
	}
	write(t, x.proj, "extends = \"mid\"\n")
	if err := x.store.Check(x.load(t, x.proj)); !errors.Is(err, ErrChanged) {
		t.Errorf("older record, the file now extends: %v, want ErrChanged", err)
	}

	if had, err := x.store.Revoke(x.proj); err != nil || !had {
		t.Fatal(err)
	}
	if err := x.store.Check(p); !errors.Is(err, ErrUntrusted) {
		t.Errorf("after revoke: %v, want ErrUntrusted", err)
	}

	if err := os.Chmod(x.store.Path, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := x.store.Check(p); err == nil || !strings.Contains(err.Error(), "lets others write") {
		t.Errorf("world-writable store: %v, want a refusal", err)
	}
}

func TestTrustBuiltin(t *testing.T) {
	x := newTrustFixture(t)
	if _, err := x.store.Trust(x.load(t, "web")); err == nil || !strings.Contains(err.Error(), "built in: it needs no trust") {
		t.Errorf("trusting a built-in: %v", err)
	}
}
