package state

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// validNameRE is the documented grammar of sandbox names.
var validNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,30}$`)

// FuzzValidName: ValidName accepts exactly the documented grammar, every
// refusal says why, and an accepted name is a plain file name: claiming it
// creates names/<name> inside the state dir and nothing anywhere else.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{
		"lab1", "a", "0", "my-project_2.dev", "a..b", strings.Repeat("a", 31), strings.Repeat("a", 32),
		"", "/", ".", "..", "../x", "a/b", "a\x00b", strings.Repeat("x", 300), ".hidden", "-x", "Lab",
		"café", "\xffab", "a b", "a\nb", "a\\b", "a%2fb",
	} {
		f.Add(s)
	}
	dir, err := Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	owner, err := Self()
	if err != nil {
		f.Fatal(err)
	}
	id := NewID()
	namesPath := filepath.Join(dir.Path, namesDir)
	f.Fuzz(func(t *testing.T, name string) {
		err := ValidName(name)
		if want := validNameRE.MatchString(name); (err == nil) != want {
			t.Fatalf("ValidName(%q) = %v; the grammar says valid=%v", name, err, want)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ValidName(%q): empty error message", name)
			}
			if cerr := dir.ClaimName(name, id, owner); cerr == nil {
				t.Fatalf("ClaimName(%q) accepted a name ValidName refuses", name)
			}
			return
		}
		for _, parent := range []string{namesPath, "/run/netns"} {
			p := filepath.Join(parent, name)
			if filepath.Dir(p) != parent || filepath.Base(p) != name {
				t.Fatalf("name %q escapes %s as %s", name, parent, p)
			}
		}
		if err := dir.ClaimName(name, id, owner); err != nil {
			t.Fatalf("ClaimName(%q): %v", name, err)
		}
		ents, err := os.ReadDir(namesPath)
		if err != nil {
			t.Fatal(err)
		}
		var files []string
		for _, e := range ents {
			if !isTempOrHidden(e.Name()) {
				files = append(files, e.Name())
			}
		}
		if len(files) != 1 || files[0] != name {
			t.Fatalf("after claiming %q, names/ holds %q", name, files)
		}
		if err := dir.ReleaseName(name, id); err != nil {
			t.Fatalf("ReleaseName(%q): %v", name, err)
		}
	})
}
