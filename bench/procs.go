package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// procSet tracks the long-running processes the benchmark started
// (background sandboxes, iperf3 servers), so that they are stopped by pid
// and only those, on success, failure or interrupt.
type procSet struct {
	mu    sync.Mutex
	procs map[int]*tracked
}

type tracked struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when Wait returned
	err  error         // Wait's result, valid after done
}

func newProcSet() *procSet { return &procSet{procs: map[int]*tracked{}} }

// start starts cmd and tracks it until it exits; its Wait runs in the
// background.
func (s *procSet) start(cmd *exec.Cmd) (*tracked, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	t := &tracked{cmd: cmd, done: make(chan struct{})}
	s.mu.Lock()
	s.procs[cmd.Process.Pid] = t
	s.mu.Unlock()
	go func() {
		t.err = cmd.Wait()
		s.mu.Lock()
		delete(s.procs, cmd.Process.Pid)
		s.mu.Unlock()
		close(t.done)
	}()
	return t, nil
}

func (t *tracked) pid() int { return t.cmd.Process.Pid }

func (t *tracked) exited() bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// stop sends sig (nsjail-net passes SIGTERM on to the program and tears
// down), waits up to grace, then kills.
func (t *tracked) stop(sig syscall.Signal, grace time.Duration) error {
	if err := t.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signalling pid %d: %w", t.pid(), err)
	}
	select {
	case <-t.done:
		return nil
	case <-time.After(grace):
	}
	_ = t.cmd.Process.Kill()
	<-t.done
	return fmt.Errorf("pid %d (%s) ignored %v for %v: killed", t.pid(), t.cmd.Args[0], sig, grace)
}

// stopAll stops every tracked process: SIGTERM to all, then SIGKILL to
// those still there after 10 s.
func (s *procSet) stopAll() {
	s.mu.Lock()
	var all []*tracked
	for _, t := range s.procs {
		all = append(all, t)
	}
	s.mu.Unlock()
	for _, t := range all {
		_ = t.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, t := range all {
		select {
		case <-t.done:
		case <-time.After(time.Until(deadline)):
			_ = t.cmd.Process.Kill()
			<-t.done
		}
	}
}

// killOnSignal stops everything we started and exits on SIGINT, SIGTERM
// or SIGHUP. The returned function stops listening.
func (s *procSet) killOnSignal() func() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	quit := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			fmt.Fprintf(os.Stderr, "bench: %v: stopping the processes we started\n", sig)
			s.stopAll()
			os.Exit(130)
		case <-quit:
		}
	}()
	return func() { signal.Stop(ch); close(quit) }
}
