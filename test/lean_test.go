package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// The init stage (the launcher's binary re-executed) must start about as
// cheaply as any Go program: it initialises only package stage's few
// dependencies (sandbox/stage/lean_test.go keeps them few). Measured in
// page faults, which are steady under load, unlike time: the stage, given
// no configuration, against a Go program that only starts and exits
// (bench/floor), medians of 7.
func TestInitStageStartsCheaply(t *testing.T) {
	bin := (&Lab{}).Bin(t)
	gobin := goTool()
	root, err := moduleRoot(gobin)
	if err != nil {
		t.Skip(err)
	}
	floor := filepath.Join(t.TempDir(), "floor")
	build := exec.Command(gobin, "build", "-trimpath", "-ldflags", "-s -w", "-o", floor, "./bench/floor")
	build.Dir, build.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building bench/floor: %v\n%s", err, out)
	}
	faults := func(path string, argv0 string) int64 {
		var runs []int64
		for i := 0; i < 7; i++ {
			r, w, err := os.Pipe() // fd 3: a sync socket that reads EOF at once
			if err != nil {
				t.Fatal(err)
			}
			w.Close()
			cmd := &exec.Cmd{Path: path, Args: []string{argv0}, ExtraFiles: []*os.File{r}}
			err = cmd.Run()
			r.Close()
			if cmd.ProcessState == nil {
				t.Fatalf("running %s: %v", argv0, err)
			}
			runs = append(runs, cmd.ProcessState.SysUsage().(*syscall.Rusage).Minflt)
		}
		slices.Sort(runs)
		return runs[len(runs)/2]
	}
	stage, base := faults(bin, "nsjail-net:init"), faults(floor, "floor")
	t.Logf("init stage %d page faults, Go floor %d", stage, base)
	// Today about floor+75 (the bigger binary, reading the config); a heavy
	// package's initialisation costs from 50 faults up.
	if stage > base+150 {
		t.Errorf("the init stage takes %d page faults to start, the Go floor %d: more than %d over it", stage, base, 150)
	}
}
