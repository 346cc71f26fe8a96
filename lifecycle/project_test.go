package lifecycle

import (
	"os"
	"path/filepath"
	"testing"
)

func TestProjectProfile(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b", "c")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := ProjectProfile(deep); err != nil || got != "" && !isOutside(got, root) {
		// A .nsjail-net.toml above the temp dir would be the machine's; only
		// insist on "none found below root".
		t.Fatalf("no project file: got %q, %v", got, err)
	}
	top := filepath.Join(root, "a", ProjectFile)
	write(t, top, "version = 1\n")
	for _, dir := range []string{deep, filepath.Join(root, "a", "b"), filepath.Join(root, "a")} {
		if got, err := ProjectProfile(dir); err != nil || got != top {
			t.Errorf("ProjectProfile(%s) = %q, %v; want %q", dir, got, err, top)
		}
	}
	nearer := filepath.Join(root, "a", "b", ProjectFile)
	write(t, nearer, "version = 1\n")
	if got, _ := ProjectProfile(deep); got != nearer {
		t.Errorf("nearest wins: got %q, want %q", got, nearer)
	}
	dirInstead := filepath.Join(deep, ProjectFile)
	if err := os.Mkdir(dirInstead, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ProjectProfile(deep); err == nil {
		t.Errorf("a directory named %s: want an error", ProjectFile)
	}
}

func isOutside(path, root string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && len(rel) > 2 && rel[:3] == "../"
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
