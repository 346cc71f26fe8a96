package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func testSandbox(t *testing.T, id, name string) *Sandbox {
	return &Sandbox{
		ID: id, Name: name, Owner: self(t),
		Pid: 4242, PidStart: 99,
		Profile: "web", ProfileOrigin: "builtin",
		IP: "10.213.0.2", HostVeth: "nsj" + id, Bridge: "nsjnet0",
		Created: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Command: []string{"curl", "-sI", "https://example.com"},
		Stage:   "network",
		HostRules: []json.RawMessage{
			json.RawMessage(`{"table":"filter","chain":"NSJNET-FWD","args":["-s","10.213.0.2"]}`),
		},
	}
}

func TestSandboxRoundTrip(t *testing.T) {
	d := openTemp(t)
	s := testSandbox(t, "abcd1234", "lab1")
	if err := d.WriteSandbox(s); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(d.SandboxDir(s.ID)); err != nil || !fi.IsDir() {
		t.Fatalf("sandbox dir: %v", err)
	}
	got, err := d.ReadSandbox(s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, s)
	}
	// Rewrite with a later stage: replaced, not appended.
	s.Stage = "running"
	if err := d.WriteSandbox(s); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.ReadSandbox(s.ID); got.Stage != "running" {
		t.Errorf("stage = %q after rewrite", got.Stage)
	}
}

func TestReadSandboxErrors(t *testing.T) {
	d := openTemp(t)
	os.WriteFile(d.recordPath("broken"), []byte("{"), 0o600)
	os.WriteFile(d.recordPath("other"), []byte(`{"id":"elsewhere"}`), 0o600)
	tests := []struct {
		id      string
		is      error
		wantMsg string
	}{
		{"missing", ErrNotFound, "sandbox missing not found"},
		{"broken", nil, "broken.json"},
		{"other", nil, `holds id "elsewhere"`},
		{"../x", nil, "bad char"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			_, err := d.ReadSandbox(tt.id)
			if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("ReadSandbox(%q) = %v, want %v containing %q", tt.id, err, tt.is, tt.wantMsg)
			}
		})
	}
}

func TestWriteSandboxRefuses(t *testing.T) {
	d := openTemp(t)
	for _, s := range []*Sandbox{{ID: ""}, {ID: "../evil"}, {ID: "ok", Name: "Bad/Name"}} {
		if err := d.WriteSandbox(s); err == nil {
			t.Errorf("WriteSandbox(%+v) succeeded", s)
		}
	}
	if ents, _ := os.ReadDir(d.sandboxesPath()); len(ents) != 0 {
		t.Errorf("sandboxes/ holds %d entries after refused writes", len(ents))
	}
}

// TestWriteSandboxAtomic: concurrent writers and readers of one record; a
// reader never sees a partial record, and no temp file is left behind.
func TestWriteSandboxAtomic(t *testing.T) {
	d := openTemp(t)
	base := testSandbox(t, "abcd1234", "lab1")
	if err := d.WriteSandbox(base); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				s := *base
				s.Command = []string{strings.Repeat("x", 1000*(w+1)), fmt.Sprint(i)}
				if err := d.WriteSandbox(&s); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := d.ReadSandbox(base.ID); err != nil {
				t.Errorf("reader saw: %v", err)
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-readerDone
	var names []string
	ents, _ := os.ReadDir(d.sandboxesPath())
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "abcd1234 abcd1234.json" {
		t.Errorf("sandboxes/ holds %v, want only the record and its directory", names)
	}
}

func TestSandboxes(t *testing.T) {
	d := openTemp(t)
	for i, id := range []string{"cccc0003", "aaaa0001", "bbbb0002"} {
		s := testSandbox(t, id, "")
		s.Created = s.Created.Add(time.Duration(i) * time.Second)
		if err := d.WriteSandbox(s); err != nil {
			t.Fatal(err)
		}
	}
	dir := d.sandboxesPath()
	os.WriteFile(filepath.Join(dir, ".dddd0004.json.tmp-123"), []byte("{"), 0o600) // crashed writer
	os.WriteFile(filepath.Join(dir, "eeee0005.json"), []byte("{"), 0o600)          // corrupt
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o600)          // not ours
	list, err := d.Sandboxes()
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	if strings.Join(ids, " ") != "cccc0003 aaaa0001 bbbb0002" {
		t.Errorf("Sandboxes = %v, want oldest first, corrupt and temp files skipped", ids)
	}
	if err == nil || !strings.Contains(err.Error(), "eeee0005.json") || strings.Contains(err.Error(), "dddd") {
		t.Errorf("error = %v, want only the corrupt record reported", err)
	}
}

func TestRemoveSandbox(t *testing.T) {
	d := openTemp(t)
	s := testSandbox(t, "abcd1234", "lab1")
	if err := d.WriteSandbox(s); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d.SandboxDir(s.ID), "resolv.conf"), []byte("nameserver 10.213.0.1\n"), 0o644)
	if err := d.RemoveSandbox(s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadSandbox(s.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("record still there: %v", err)
	}
	if _, err := os.Stat(d.SandboxDir(s.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory still there: %v", err)
	}
	if err := d.RemoveSandbox(s.ID); err != nil {
		t.Errorf("removing an absent sandbox: %v", err)
	}
}

func TestFindByName(t *testing.T) {
	d := openTemp(t)
	me := self(t)
	s := testSandbox(t, "abcd1234", "lab1")
	mustClaim(t, d, "lab1", s.ID, me)
	if err := d.WriteSandbox(s); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, d, "norecord", "ffff0000", me)
	renamed := testSandbox(t, "eeee0000", "other")
	mustClaim(t, d, "stale", renamed.ID, me)
	d.WriteSandbox(renamed)

	got, err := d.FindByName("lab1")
	if err != nil || got.ID != s.ID {
		t.Errorf("FindByName(lab1) = %+v, %v", got, err)
	}
	for _, name := range []string{"nobody", "norecord", "stale"} {
		if _, err := d.FindByName(name); !errors.Is(err, ErrNotFound) {
			t.Errorf("FindByName(%q) = %v, want ErrNotFound", name, err)
		}
	}
	if _, err := d.FindByName("Bad"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("FindByName(Bad) = %v, want a validation error", err)
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewID()
		if len(id) != 8 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("NewID() = %q, want 8 lowercase hex chars", id)
		}
		if err := validID(id); err != nil {
			t.Fatal(err)
		}
		seen[id] = true
	}
	if len(seen) < 999 {
		t.Errorf("only %d distinct ids in 1000", len(seen))
	}
}
