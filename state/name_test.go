package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string // "" = valid
	}{
		{"lab1", ""},
		{"a", ""},
		{"0", ""},
		{"my-project_2.dev", ""},
		{"a..b", ""}, // matches the pattern; a plain file name
		{strings.Repeat("a", 31), ""},
		{"", "name is empty"},
		{strings.Repeat("a", 32), "name is too long (32 chars, max 31)"},
		{strings.Repeat("x", 300), "name is too long (300 chars, max 31)"},
		{"a/b", `name "a/b" contains '/'`},
		{"/", `contains '/'`},
		{"../etc", `contains '/'`},
		{"..", `name ".." is a directory reference`},
		{".", `name "." is a directory reference`},
		{"a\x00b", `name "a\x00b" contains NUL`},
		{".hidden", `bad first char '.'`},
		{"-x", `bad first char '-'`},
		{"_x", `bad first char '_'`},
		{"Lab", `bad first char 'L'`},
		{"laB", `bad char 'B' at position 3`},
		{"a b", `bad char ' ' at position 2`},
		{"a:b", `bad char ':' at position 2`},
		{"café", `bad char 'é' at position 4`},
		{"\xffab", "bad first char '\ufffd'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidName(tt.name)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("ValidName(%q) = %v, want nil", tt.name, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ValidName(%q) = %v, want an error containing %q", tt.name, err, tt.wantErr)
			}
		})
	}
}

func TestClaimName(t *testing.T) {
	me := self(t)
	gone := deadOwner(t)
	recycled := Owner{PID: me.PID, StartTime: me.StartTime + 1}
	tests := []struct {
		name    string
		setup   func(t *testing.T, d *Dir)
		wantErr error
		wantMsg string
	}{
		{"free", nil, nil, ""},
		{"held by a live sandbox", func(t *testing.T, d *Dir) {
			mustClaim(t, d, "lab1", "aaaa0001", me)
		}, ErrNameTaken, `name "lab1" already in use by sandbox aaaa0001 (launcher pid `},
		{"held by the same id", func(t *testing.T, d *Dir) {
			mustClaim(t, d, "lab1", "bbbb0002", me)
		}, nil, ""},
		{"held by an exited launcher", func(t *testing.T, d *Dir) {
			mustClaim(t, d, "lab1", "aaaa0001", gone)
		}, nil, ""},
		{"held by a recycled pid", func(t *testing.T, d *Dir) {
			mustClaim(t, d, "lab1", "aaaa0001", recycled)
		}, nil, ""},
		{"crashed write", func(t *testing.T, d *Dir) {
			os.WriteFile(d.namePath("lab1"), []byte(`{"na`), 0o600)
		}, nil, ""},
		{"persistent, dead owner", func(t *testing.T, d *Dir) {
			mustClaim(t, d, "lab1", "aaaa0001", gone)
			if err := d.PersistName("lab1", "aaaa0001"); err != nil {
				t.Fatal(err)
			}
		}, ErrNameTaken, `name "lab1" already in use by persistent sandbox aaaa0001`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := openTemp(t)
			if tt.setup != nil {
				tt.setup(t, d)
			}
			err := d.ClaimName("lab1", "bbbb0002", me)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("ClaimName = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("error %q lacks %q", err, tt.wantMsg)
				}
				return
			}
			c, err := d.readName("lab1")
			if err != nil || c.ID != "bbbb0002" || c.Owner != me {
				t.Errorf("after claim: %+v, %v", c, err)
			}
		})
	}
}

func mustClaim(t *testing.T, d *Dir, name, id string, o Owner) {
	t.Helper()
	if err := d.ClaimName(name, id, o); err != nil {
		t.Fatal(err)
	}
}

func TestClaimNameRefusesBadInput(t *testing.T) {
	d := openTemp(t)
	if err := d.ClaimName("../x", "aaaa0001", self(t)); err == nil {
		t.Error("bad name accepted")
	}
	if err := d.ClaimName("ok", "a/b", self(t)); err == nil {
		t.Error("bad id accepted")
	}
	ents, _ := os.ReadDir(filepath.Join(d.Path, namesDir))
	if len(ents) != 0 {
		t.Errorf("names/ holds %d files after refused claims", len(ents))
	}
}

func TestReleaseName(t *testing.T) {
	d := openTemp(t)
	mustClaim(t, d, "lab1", "aaaa0001", self(t))
	if err := d.ReleaseName("lab1", "bbbb0002"); !errors.Is(err, ErrNotOwner) {
		t.Errorf("ReleaseName by another id = %v, want ErrNotOwner", err)
	}
	if err := d.ReleaseName("lab1", "aaaa0001"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.readName("lab1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("name still held: %v", err)
	}
	if err := d.ReleaseName("lab1", "aaaa0001"); err != nil {
		t.Errorf("releasing a free name: %v", err)
	}
	if err := d.PersistName("lab1", "aaaa0001"); !errors.Is(err, ErrNotFound) {
		t.Errorf("PersistName of a free name = %v, want ErrNotFound", err)
	}
}

func TestReapNames(t *testing.T) {
	d := openTemp(t)
	me, gone := self(t), deadOwner(t)
	mustClaim(t, d, "live", "aaaa0001", me)
	mustClaim(t, d, "dead", "aaaa0002", gone)
	mustClaim(t, d, "kept", "aaaa0003", gone)
	if err := d.PersistName("kept", "aaaa0003"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(d.namePath("torn"), nil, 0o600)
	os.WriteFile(filepath.Join(d.Path, namesDir, "NOT-OURS"), nil, 0o600)
	got, err := d.ReapNames()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "dead,torn" {
		t.Errorf("reaped %v, want [dead torn]", got)
	}
	for _, n := range []string{"live", "kept"} {
		if _, err := d.readName(n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if _, err := os.Stat(filepath.Join(d.Path, namesDir, "NOT-OURS")); err != nil {
		t.Errorf("reap touched a file that is not ours: %v", err)
	}
}
