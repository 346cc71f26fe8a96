package lifecycle

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTrustStore(t *testing.T) {
	dir := t.TempDir()
	store := TrustStore{Path: filepath.Join(dir, "store", "trusted.json")}
	proj := filepath.Join(dir, "proj", ProjectFile)
	if err := os.MkdirAll(filepath.Dir(proj), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, proj, "version = 1\n")

	if err := store.Check(proj); !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), "nsjail-net trust "+proj) {
		t.Fatalf("before trust: %v, want ErrUntrusted naming the command", err)
	}
	sum, err := store.Trust(proj)
	if err != nil || len(sum) != 64 {
		t.Fatalf("Trust: %q, %v", sum, err)
	}
	if err := store.Check(proj); err != nil {
		t.Fatalf("after trust: %v", err)
	}
	fi, err := os.Stat(store.Path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("store mode: %v, %v", fi.Mode(), err)
	}

	// Through a symlink: the same file, the same trust.
	link := filepath.Join(dir, "link.toml")
	if err := os.Symlink(proj, link); err != nil {
		t.Fatal(err)
	}
	if err := store.Check(link); err != nil {
		t.Errorf("via symlink: %v", err)
	}

	write(t, proj, "version = 1\n[network]\nmode = \"bridge\"\n")
	err = store.Check(proj)
	if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "changed since it was trusted") {
		t.Fatalf("after change: %v, want ErrChanged", err)
	}
	if _, err := store.Trust(proj); err != nil {
		t.Fatal(err)
	}
	if err := store.Check(proj); err != nil {
		t.Errorf("re-trusted: %v", err)
	}

	if err := store.Revoke(proj); err != nil {
		t.Fatal(err)
	}
	if err := store.Check(proj); !errors.Is(err, ErrUntrusted) {
		t.Errorf("after revoke: %v, want ErrUntrusted", err)
	}

	// A store others may write is refused.
	if err := os.Chmod(store.Path, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := store.Check(proj); err == nil || !strings.Contains(err.Error(), "lets others write") {
		t.Errorf("world-writable store: %v, want a refusal", err)
	}
}

func TestTrustMissingFile(t *testing.T) {
	store := TrustStore{Path: filepath.Join(t.TempDir(), "trusted.json")}
	if err := store.Check(filepath.Join(t.TempDir(), "none.toml")); err == nil {
		t.Error("missing file: want an error")
	}
}
