package test

// Concurrency: many launches at once, each connecting to the world. All
// succeed, all get distinct addresses, the world sees every connection from
// the NAT address, and nothing is left after.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// concTimeout bounds one command of a burst.
const concTimeout = 5 * time.Minute

// concScript connects to the world's TCP server, then prints eth0's address.
var concScript = "nc -w 5 " + labServerIP + " 8080 >/dev/null; ip -4 -o addr show eth0"

// concJob is one command of a burst and what came of it.
type concJob struct {
	label string
	steps [][]string // nsjail-net argument lists, run in order
	outs  []Result
	err   error
}

// concRun runs nsjail-net args in the lab host without touching t (it is
// called from many goroutines).
func concRun(l *Lab, bin string, args ...string) (Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), concTimeout)
	defer cancel()
	cmd := l.Cmd(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String(), Code: exitCode(cmd, err)}
	if ctx.Err() != nil {
		return r, fmt.Errorf("timed out after %v", concTimeout)
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return r, err
	}
	return r, nil
}

// concBurst starts every job at the same moment and waits for all.
func concBurst(t *testing.T, l *Lab, jobs []*concJob) {
	t.Helper()
	bin := l.Bin(t)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			<-start
			for _, args := range j.steps {
				r, err := concRun(l, bin, args...)
				j.outs = append(j.outs, r)
				if err == nil && r.Code != 0 {
					err = fmt.Errorf("nsjail-net %s: %v", strings.Join(args, " "), r)
				}
				if err != nil {
					j.err = err
					return
				}
			}
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	t.Logf("%d jobs took %v", len(jobs), time.Since(began).Round(time.Millisecond))
}

// concCheck asserts that every job succeeded, that the addresses the
// sandboxes printed are distinct, and that the world saw exactly one
// connection per job, all from the NAT address.
func concCheck(t *testing.T, jobs []*concJob, srv *TCPServer, addrOut func(*concJob) string) {
	t.Helper()
	owner := map[string]string{}
	for _, j := range jobs {
		if j.err != nil {
			t.Errorf("%s: %v", j.label, j.err)
			continue
		}
		a := escInet(addrOut(j), "inet")
		if !strings.HasPrefix(a, "10.213.") {
			t.Errorf("%s: no 10.213 address in %q", j.label, addrOut(j))
			continue
		}
		if prev, dup := owner[a]; dup {
			t.Errorf("%s and %s both had %s", prev, j.label, a)
		}
		owner[a] = j.label
	}
	seen := srv.WaitSeen(t, len(jobs), 30*time.Second)
	time.Sleep(500 * time.Millisecond) // any extra connection
	if seen = srv.Seen(); len(seen) != len(jobs) {
		t.Errorf("world saw %d connections, want %d", len(seen), len(jobs))
	}
	for _, s := range seen {
		if s.Addr() != natIP {
			t.Errorf("world saw a connection from %s, want %s", s.Addr(), natIP)
		}
	}
}

func TestConcurrencyHundredRuns(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	srv := l.TCPServer(t, labServerIP+":8080")
	var jobs []*concJob
	for i := range 100 {
		jobs = append(jobs, &concJob{
			label: fmt.Sprintf("run %d", i),
			steps: [][]string{{"run", "--profile", "open", "--", "sh", "-c", concScript}},
		})
	}
	concBurst(t, l, jobs)
	concCheck(t, jobs, srv, func(j *concJob) string { return j.outs[0].Stdout })
	if got := listJSON(t, l); len(got) != 0 {
		t.Errorf("list after the burst: %v", got)
	}
}

func TestConcurrencyCreateExecDeleteWithRuns(t *testing.T) {
	t.Parallel()
	l := newRunLab(t)
	srv := l.TCPServer(t, labServerIP+":8080")
	var jobs []*concJob
	for i := range 20 {
		name := fmt.Sprintf("cc%d", i)
		jobs = append(jobs, &concJob{
			label: "cycle " + name,
			steps: [][]string{
				{"create", "--profile", "open", name},
				{"exec", name, "--", "sh", "-c", concScript},
				{"delete", name},
			},
		})
		for k := range 2 {
			jobs = append(jobs, &concJob{
				label: fmt.Sprintf("run %d.%d", i, k),
				steps: [][]string{{"run", "--profile", "open", "--", "sh", "-c", concScript}},
			})
		}
	}
	concBurst(t, l, jobs)
	concCheck(t, jobs, srv, func(j *concJob) string {
		if len(j.outs) == 3 {
			return j.outs[1].Stdout // the exec
		}
		return j.outs[0].Stdout
	})
	if got := listJSON(t, l); len(got) != 0 {
		t.Errorf("list after the burst: %v", got)
	}
	if r := l.MustRun(t, "ip", "netns", "list"); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("ip netns list after the burst:\n%s", r.Stdout)
	}
}
