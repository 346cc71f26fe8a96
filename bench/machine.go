package main

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// machine describes where the benchmark ran.
type machine struct {
	CPUs     int
	Model    string
	Kernel   string
	Go       string
	Version  string // nsjail-net --version
	Iptables string
}

func describeMachine(l *lab) machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), Model: "unknown", Kernel: "unknown"}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = string(bytes.TrimRight(u.Release[:], "\x00"))
	}
	if out, err := l.output(l.cfg.bin, "--version"); err == nil {
		m.Version = lastLine(out)
	}
	if out, err := l.output("iptables", "--version"); err == nil {
		m.Iptables = lastLine(out)
	}
	return m
}
