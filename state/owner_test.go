package state

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	tail := " 1 1 1 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 %s 10000 300"
	tests := []struct {
		name      string
		stat      string
		wantState byte
		wantStart uint64
		wantErr   string
	}{
		{"plain", "42 (bash) S" + strings.Replace(tail, "%s", "123456", 1), 'S', 123456, ""},
		{"comm with spaces and parens", "42 (a) b (c) R" + strings.Replace(tail, "%s", "7", 1), 'R', 7, ""},
		{"zombie", "42 (x) Z" + strings.Replace(tail, "%s", "9", 1), 'Z', 9, ""},
		{"no paren", "42 bash S 1 2 3", 0, 0, "no ')'"},
		{"truncated", "42 (bash) S 1 1 1", 0, 0, "fields after the command name"},
		{"bad start", "42 (bash) S" + strings.Replace(tail, "%s", "x", 1), 0, 0, "start time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := parseProcStat([]byte(tt.stat))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.state != tt.wantState || st.startTime != tt.wantStart {
				t.Errorf("got state %c start %d, want %c %d", st.state, st.startTime, tt.wantState, tt.wantStart)
			}
		})
	}
}

func TestOwnerAlive(t *testing.T) {
	me := self(t)
	if me.PID != os.Getpid() || me.StartTime == 0 {
		t.Fatalf("Self() = %+v", me)
	}
	tests := []struct {
		name  string
		owner Owner
		want  bool
	}{
		{"self", me, true},
		{"self with another start time (recycled pid)", Owner{PID: me.PID, StartTime: me.StartTime + 1}, false},
		{"exited and reaped", deadOwner(t), false},
		{"zero", Owner{}, false},
		{"negative pid", Owner{PID: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.owner.Alive(); got != tt.want {
				t.Errorf("%+v.Alive() = %v, want %v", tt.owner, got, tt.want)
			}
		})
	}
}

func TestOwnerZombieIsDead(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "exit 0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	o, err := OwnerOf(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	// Not reaped yet: it turns into a zombie.
	deadline := time.Now().Add(5 * time.Second)
	for o.Alive() {
		if time.Now().After(deadline) {
			t.Fatal("exited child still alive after 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st, err := readProcStat(o.PID); err != nil || st.state != 'Z' {
		t.Logf("state %c, err %v (expected a zombie)", st.state, err)
	}
}

func TestOwnerOfMissing(t *testing.T) {
	o := deadOwner(t)
	if _, err := OwnerOf(o.PID); err == nil {
		// The pid may have been recycled already; that is fine, but rare.
		t.Skip("pid recycled")
	}
}
