package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// childRunning reports whether a child or grandchild of pid is running a
// program named comm: for a launcher, that its sandboxed program (the
// child of the sandbox's init) has been exec'd.
func childRunning(pid int, comm string) bool {
	return descendantRunning(pid, comm, 2)
}

// descendantRunning reports whether a descendant of pid, at most depth
// generations down, is named comm: the launcher's program is its
// grandchild, under the sandbox's init.
func descendantRunning(pid int, comm string, depth int) bool {
	if depth == 0 {
		return false
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			c, err := os.ReadFile("/proc/" + f + "/comm")
			if err == nil && string(bytes.TrimSpace(c)) == comm {
				return true
			}
			if child, err := strconv.Atoi(f); err == nil && descendantRunning(child, comm, depth-1) {
				return true
			}
		}
	}
	return false
}

// vmRSS is VmRSS of pid in bytes.
func vmRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading status of pid %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == "VmRSS:" && fields[2] == "kB" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("pid %d VmRSS %q: %w", pid, fields[1], err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("pid %d: no VmRSS (exited?)", pid)
}

// liveCounts counts nsjail-net's state records and host veths in the lab.
func liveCounts() (records, veths int) {
	recs, _ := filepath.Glob(filepath.Join(labStateDir, "sandboxes", "*.json"))
	links, _ := filepath.Glob("/sys/class/net/nsj*")
	for _, l := range links {
		if filepath.Base(l) != "nsjnet0" { // the shared bridge
			veths++
		}
	}
	return len(recs), veths
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
