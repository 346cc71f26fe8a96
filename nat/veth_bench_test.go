package nat

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// benchBridge is the bridge the veth benchmark attaches to, inside its own
// private "host" namespace.
const benchBridge = "nsjbench0"

// BenchmarkVethSetup measures what a bridged launch does to its veth:
// AddVeth (the host end on the bridge, the peer born in the sandbox's
// fresh namespace, isolated, up) then DeleteVeth. Everything happens in a
// private "host" namespace held by a `sleep` process the benchmark clones
// with CLONE_NEWNET, never in the machine's own. The sandbox namespaces
// are created outside the timed region (netns-new, run last, times that).
// The add and delete halves are reported apart (add-ns/op, delete-ns/op).
// live=200 runs with 200 other sandboxes' veths on the bridge: the cost
// must not grow with them.
func BenchmarkVethSetup(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: creates network namespaces and veths")
	}
	host := benchHostNS(b)
	bridge, err := EnsureBridge(host, benchBridge, netip.MustParsePrefix("10.213.0.1/16"), netip.Prefix{})
	if err != nil {
		b.Fatal(err)
	}

	for _, live := range []int{0, 200} {
		b.Run(fmt.Sprintf("live=%d", live), func(b *testing.B) {
			for i := 0; i < live; i++ {
				id := fmt.Sprintf("live%d", i)
				ns, err := freshNetNS()
				if err != nil {
					b.Fatal(err)
				}
				_, err = AddVeth(host, bridge, id, ns, true)
				_ = ns.Close() // the peer keeps the namespace alive
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() {
					if err := DeleteVeth(host, id); err != nil {
						b.Error(err)
					}
				})
			}
			var add, del time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				ns, err := freshNetNS()
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				t0 := time.Now()
				if _, err := AddVeth(host, bridge, "bench", ns, true); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := DeleteVeth(host, "bench"); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				b.StopTimer()
				add, del = add+t1.Sub(t0), del+t2.Sub(t1)
				_ = ns.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(add.Nanoseconds())/float64(b.N), "add-ns/op")
			b.ReportMetric(float64(del.Nanoseconds())/float64(b.N), "delete-ns/op")
		})
	}
	// Last: the namespaces it creates are destroyed by the kernel in the
	// background, which would slow whatever runs next.
	b.Run("netns-new", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ns, err := freshNetNS()
			if err != nil {
				b.Fatal(err)
			}
			_ = ns.Close()
		}
	})
}

// benchHostNS starts a `sleep` in a new network namespace (clone flags,
// so it is never in the machine's), checks that the namespace is not ours
// and returns a netlink handle bound to it. The sleep is killed, by pid, at
// cleanup; the namespace and everything in it go with it.
func benchHostNS(b *testing.B) *netlink.Handle {
	b.Helper()
	holder := exec.Command("sleep", "infinity")
	holder.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if err := holder.Start(); err != nil {
		b.Fatalf("starting the namespace holder: %v", err)
	}
	b.Cleanup(func() {
		if err := holder.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			b.Errorf("killing namespace holder %d: %v", holder.Process.Pid, err)
		}
		_ = holder.Wait()
	})
	ns, err := netns.GetFromPid(holder.Process.Pid)
	if err != nil {
		b.Fatalf("opening the holder's netns: %v", err)
	}
	b.Cleanup(func() { _ = ns.Close() })
	self, err := netns.GetFromPid(os.Getpid())
	if err != nil {
		b.Fatalf("opening our own netns: %v", err)
	}
	defer self.Close()
	if ns.Equal(self) {
		b.Fatal("the holder is in the machine's own network namespace; refusing")
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		b.Fatalf("netlink handle in the holder's netns: %v", err)
	}
	b.Cleanup(h.Close)
	return h
}

// freshNetNS returns a handle to a new, empty network namespace. It is
// made by a throwaway goroutine that locks its thread, unshares and
// never unlocks, so that the runtime ends the thread with the goroutine
// rather than reuse it in the wrong namespace.
func freshNetNS() (netns.NsHandle, error) {
	type result struct {
		ns  netns.NsHandle
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		ns, err := netns.New()
		ch <- result{ns, err}
	}()
	r := <-ch
	if r.err != nil {
		return netns.None(), fmt.Errorf("creating a network namespace: %w", r.err)
	}
	return r.ns, nil
}
