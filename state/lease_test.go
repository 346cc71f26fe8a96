package state

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// TestAllocateSequence allocates until the pool is exhausted and checks the
// addresses handed out, in order, and the exhaustion error.
func TestAllocateSequence(t *testing.T) {
	tests := []struct {
		name     string
		pool     Pool
		want     []netip.Addr
		wantFull string
	}{
		{"v4 /29 with gateway", testPool(netip.MustParsePrefix("10.0.0.0/29")),
			addrs("10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"),
			"address pool 10.0.0.0/29 exhausted (5 leases live)"},
		{"v4 /30", Pool{Prefix: netip.MustParsePrefix("10.0.0.4/30")},
			addrs("10.0.0.5", "10.0.0.6"), "address pool 10.0.0.4/30 exhausted (2 leases live)"},
		{"v4 /31 has no network or broadcast", Pool{Prefix: netip.MustParsePrefix("10.0.0.8/31")},
			addrs("10.0.0.8", "10.0.0.9"), "exhausted (2 leases live)"},
		{"v4 /32", Pool{Prefix: netip.MustParsePrefix("10.0.0.9/32")},
			addrs("10.0.0.9"), "exhausted (1 leases live)"},
		{"unmasked prefix", Pool{Prefix: netip.MustParsePrefix("10.0.0.13/30")},
			addrs("10.0.0.13", "10.0.0.14"), "address pool 10.0.0.12/30 exhausted"},
		{"v6 /125 has no broadcast", testPool(netip.MustParsePrefix("fd00:213::/125")),
			addrs("fd00:213::2", "fd00:213::3", "fd00:213::4", "fd00:213::5", "fd00:213::6", "fd00:213::7"),
			"address pool fd00:213::/125 exhausted (6 leases live)"},
		{"end of the v4 space", Pool{Prefix: netip.MustParsePrefix("255.255.255.252/30")},
			addrs("255.255.255.253", "255.255.255.254"), "exhausted (2 leases live)"},
		{"end of the v6 space", Pool{Prefix: netip.MustParsePrefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc/126")},
			addrs("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
			"exhausted (3 leases live)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := openTemp(t)
			me := self(t)
			var got []netip.Addr
			for i := range tt.want {
				a, err := d.Allocate(tt.pool, fmt.Sprintf("sb%d", i), me)
				if err != nil {
					t.Fatalf("allocation %d: %v", i, err)
				}
				got = append(got, a)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("allocated %v, want %v", got, tt.want)
			}
			_, err := d.Allocate(tt.pool, "late", me)
			if !errors.Is(err, ErrPoolExhausted) || !strings.Contains(err.Error(), tt.wantFull) {
				t.Errorf("allocating from a full pool: %v, want ErrPoolExhausted with %q", err, tt.wantFull)
			}
		})
	}
}

func TestAllocateBadInput(t *testing.T) {
	d := openTemp(t)
	me := self(t)
	p := testPool(netip.MustParsePrefix("10.0.0.0/29"))
	for _, tt := range []struct {
		name string
		pool Pool
		id   string
	}{
		{"invalid prefix", Pool{}, "sb"},
		{"empty id", p, ""},
		{"id with slash", p, "a/b"},
		{"id with dots", p, ".."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if a, err := d.Allocate(tt.pool, tt.id, me); err == nil {
				t.Errorf("Allocate = %v, want an error", a)
			}
		})
	}
}

func readLease(t *testing.T, d *Dir, a netip.Addr) Lease {
	t.Helper()
	var l Lease
	if err := readJSON(d.leasePath(a), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLeaseContent(t *testing.T) {
	d := openTemp(t)
	me := self(t)
	a, err := d.Allocate(testPool(netip.MustParsePrefix("10.213.0.0/16")), "abcd1234", me)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(d.Path, "leases", "10.213.0.2"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"addr", "id", "owner", "created"} {
		if _, ok := m[k]; !ok {
			t.Errorf("lease JSON %s lacks %q", b, k)
		}
	}
	l := readLease(t, d, a)
	if l.Addr != a || l.ID != "abcd1234" || l.Owner != me || l.Created.IsZero() || l.Persistent {
		t.Errorf("lease = %+v", l)
	}
}

// TestAllocateWraps: the hint moves forward and wraps to a released address.
func TestAllocateWraps(t *testing.T) {
	d := openTemp(t)
	me := self(t)
	p := testPool(netip.MustParsePrefix("10.0.0.0/29"))
	for i := 0; i < 5; i++ {
		if _, err := d.Allocate(p, fmt.Sprintf("sb%d", i), me); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Release(netip.MustParseAddr("10.0.0.3"), "sb1"); err != nil {
		t.Fatal(err)
	}
	a, err := d.Allocate(p, "again", me)
	if err != nil || a != netip.MustParseAddr("10.0.0.3") {
		t.Fatalf("Allocate = %v, %v; want 10.0.0.3", a, err)
	}
	// Released, then freed again: the next one is after the hint, not the lowest.
	d.Release(netip.MustParseAddr("10.0.0.2"), "sb0")
	d.Release(netip.MustParseAddr("10.0.0.5"), "sb3")
	if a, _ := d.Allocate(p, "next", me); a != netip.MustParseAddr("10.0.0.5") {
		t.Errorf("Allocate = %v, want 10.0.0.5 (the first free after the hint)", a)
	}
}

// TestAllocateBadHint: a corrupt or foreign hint means starting at the
// beginning.
func TestAllocateBadHint(t *testing.T) {
	for _, hint := range []string{"", "garbage", "192.168.1.1\n", "10.0.0.7"} {
		t.Run(strconv.Quote(hint), func(t *testing.T) {
			d := openTemp(t)
			p := testPool(netip.MustParsePrefix("10.0.0.0/29"))
			os.WriteFile(filepath.Join(d.Path, leasesDir, p.hintName()), []byte(hint), 0o600)
			a, err := d.Allocate(p, "sb", self(t))
			if err != nil || a != netip.MustParseAddr("10.0.0.2") {
				t.Errorf("Allocate = %v, %v; want 10.0.0.2", a, err)
			}
		})
	}
}

// TestAllocateReclaims: leases of dead owners and unparsable lease files
// are taken over; live and persistent ones are not.
func TestAllocateReclaims(t *testing.T) {
	me := self(t)
	recycled := Owner{PID: me.PID, StartTime: me.StartTime + 1}
	p := testPool(netip.MustParsePrefix("10.0.0.0/29"))
	tests := []struct {
		name    string
		content func(a netip.Addr) []byte
		want    bool // reclaimed
	}{
		{"exited owner", leaseJSON(deadOwner(t), false), true},
		{"recycled pid", leaseJSON(recycled, false), true},
		{"empty file (crashed write)", func(netip.Addr) []byte { return nil }, true},
		{"truncated JSON", func(netip.Addr) []byte { return []byte(`{"addr":"10.0`) }, true},
		{"live owner", leaseJSON(me, false), false},
		{"persistent, dead owner", leaseJSON(recycled, true), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := openTemp(t)
			// Fill the whole pool with such leases.
			for a := p.first(); p.Prefix.Contains(a); a = a.Next() {
				if p.usable(a) {
					os.WriteFile(d.leasePath(a), tt.content(a), 0o600)
				}
			}
			a, err := d.Allocate(p, "newcomer", me)
			if !tt.want {
				if !errors.Is(err, ErrPoolExhausted) {
					t.Fatalf("Allocate = %v, %v; want ErrPoolExhausted", a, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l := readLease(t, d, a); l.ID != "newcomer" || l.Owner != me {
				t.Errorf("reclaimed lease = %+v", l)
			}
		})
	}
}

func leaseJSON(o Owner, persistent bool) func(netip.Addr) []byte {
	return func(a netip.Addr) []byte {
		b, _ := json.Marshal(Lease{Addr: a, ID: "old", Owner: o, Persistent: persistent})
		return b
	}
}

func TestRelease(t *testing.T) {
	d := openTemp(t)
	me := self(t)
	p := testPool(netip.MustParsePrefix("10.0.0.0/29"))
	a, err := d.Allocate(p, "owner1", me)
	if err != nil {
		t.Fatal(err)
	}
	err = d.Release(a, "intruder")
	if !errors.Is(err, ErrNotOwner) {
		t.Fatalf("Release by another id = %v, want ErrNotOwner", err)
	}
	if !strings.Contains(err.Error(), "10.0.0.2") || !strings.Contains(err.Error(), "owner1") {
		t.Errorf("error %q does not name the address and the holder", err)
	}
	if _, err := os.Stat(d.leasePath(a)); err != nil {
		t.Fatalf("lease gone after a refused release: %v", err)
	}
	if err := d.Release(a, "owner1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.leasePath(a)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("lease still there: %v", err)
	}
	if err := d.Release(a, "owner1"); err != nil {
		t.Errorf("releasing an absent lease: %v", err)
	}
	if err := d.Release(netip.Addr{}, "owner1"); err == nil {
		t.Error("releasing an invalid address succeeded")
	}
}

func TestPersistLease(t *testing.T) {
	d := openTemp(t)
	gone := deadOwner(t)
	p := testPool(netip.MustParsePrefix("10.0.0.0/30")) // one usable address: .2
	a, err := d.Allocate(p, "keep", gone)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.PersistLease(a, "other"); !errors.Is(err, ErrNotOwner) {
		t.Errorf("PersistLease by another id = %v, want ErrNotOwner", err)
	}
	if err := d.PersistLease(netip.MustParseAddr("10.0.0.3"), "keep"); !errors.Is(err, ErrNotFound) {
		t.Errorf("PersistLease of a free address = %v, want ErrNotFound", err)
	}
	if err := d.PersistLease(a, "keep"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Allocate(p, "newcomer", self(t)); !errors.Is(err, ErrPoolExhausted) {
		t.Errorf("persistent lease of a dead owner was reclaimed: %v", err)
	}
	if r, err := d.ReapLeases(); err != nil || len(r) != 0 {
		t.Errorf("ReapLeases = %v, %v; want nothing", r, err)
	}
	if err := d.Release(a, "keep"); err != nil {
		t.Fatal(err)
	}
}

func TestLeasesAndReap(t *testing.T) {
	d := openTemp(t)
	me := self(t)
	gone := deadOwner(t)
	p := testPool(netip.MustParsePrefix("10.0.0.0/24"))
	for i, o := range []Owner{me, gone, me, gone} {
		if _, err := d.Allocate(p, fmt.Sprintf("sb%d", i), o); err != nil {
			t.Fatal(err)
		}
	}
	corrupt := netip.MustParseAddr("10.0.0.200")
	os.WriteFile(d.leasePath(corrupt), []byte("{"), 0o600)
	os.WriteFile(filepath.Join(d.Path, leasesDir, "README"), []byte("not ours"), 0o600)
	os.WriteFile(filepath.Join(d.Path, leasesDir, ".10.0.0.9.tmp-1"), []byte("{"), 0o600)

	ls, err := d.Leases()
	if len(ls) != 4 {
		t.Errorf("Leases returned %d leases, want 4", len(ls))
	}
	if err == nil || !strings.Contains(err.Error(), "10.0.0.200") || !strings.Contains(err.Error(), "README") {
		t.Errorf("Leases error = %v, want the corrupt and the foreign file named", err)
	}
	for i := 1; i < len(ls); i++ {
		if ls[i-1].Addr.Compare(ls[i].Addr) >= 0 {
			t.Errorf("leases not sorted: %v before %v", ls[i-1].Addr, ls[i].Addr)
		}
	}

	reaped, err := d.ReapLeases()
	if err == nil || !strings.Contains(err.Error(), "README") {
		t.Errorf("ReapLeases error = %v, want the foreign file reported", err)
	}
	var got []string
	for _, l := range reaped {
		got = append(got, l.Addr.String()+"/"+l.ID)
	}
	slices.Sort(got)
	want := []string{"10.0.0.200/", "10.0.0.3/sb1", "10.0.0.5/sb3"}
	if !slices.Equal(got, want) {
		t.Errorf("reaped %v, want %v", got, want)
	}
	ls, _ = d.Leases()
	if len(ls) != 2 || ls[0].ID != "sb0" || ls[1].ID != "sb2" {
		t.Errorf("after reap: %+v", ls)
	}
	if _, err := os.Stat(filepath.Join(d.Path, leasesDir, "README")); err != nil {
		t.Errorf("reap touched a file that is not ours: %v", err)
	}
}

// TestAllocateConcurrentGoroutines: 50 goroutines, each with its own Dir
// (so its own lock file description), allocate 4 addresses each.
func TestAllocateConcurrentGoroutines(t *testing.T) {
	d := openTemp(t)
	me := self(t)
	p := testPool(netip.MustParsePrefix("10.213.0.0/24"))
	const workers, each = 50, 4
	results := make(chan netip.Addr, workers*each)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dw := &Dir{Path: d.Path}
			for i := 0; i < each; i++ {
				a, err := dw.Allocate(p, fmt.Sprintf("w%d-%d", w, i), me)
				if err != nil {
					t.Error(err)
					return
				}
				results <- a
			}
		}()
	}
	wg.Wait()
	close(results)
	checkDistinct(t, d, results, workers*each)
}

// TestAllocateConcurrentProcesses: several processes (the test binary
// re-executed) allocate at once.
func TestAllocateConcurrentProcesses(t *testing.T) {
	d := openTemp(t)
	ob, _ := json.Marshal(self(t))
	const procs, each = 6, 30
	results := make(chan netip.Addr, procs*each)
	var wg sync.WaitGroup
	for i := 0; i < procs; i++ {
		cmd := helperCmd(t, "allocate", "DIR="+d.Path, "OWNER="+string(ob), "N="+strconv.Itoa(each), "PREFIX=10.213.0.0/16")
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				a, err := netip.ParseAddr(sc.Text())
				if err != nil {
					t.Errorf("helper printed %q", sc.Text())
					continue
				}
				results <- a
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("helper: %v", err)
			}
		}()
	}
	wg.Wait()
	close(results)
	checkDistinct(t, d, results, procs*each)
}

func checkDistinct(t *testing.T, d *Dir, results <-chan netip.Addr, want int) {
	t.Helper()
	seen := map[netip.Addr]bool{}
	for a := range results {
		if seen[a] {
			t.Errorf("address %v allocated twice", a)
		}
		seen[a] = true
	}
	if len(seen) != want {
		t.Errorf("%d distinct addresses, want %d", len(seen), want)
	}
	ls, err := d.Leases()
	if err != nil || len(ls) != want {
		t.Errorf("Leases: %d, %v; want %d", len(ls), err, want)
	}
}

// BenchmarkAllocate measures Allocate+Release with 0 and 200 live leases in
// a /16: the cost must not grow with the number of live leases.
func BenchmarkAllocate(b *testing.B) {
	for _, live := range []int{0, 200} {
		b.Run(fmt.Sprintf("live=%d", live), func(b *testing.B) {
			d := openTemp(b)
			me := self(b)
			p := testPool(netip.MustParsePrefix("10.213.0.0/16"))
			for i := 0; i < live; i++ {
				if _, err := d.Allocate(p, fmt.Sprintf("live%d", i), me); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				a, err := d.Allocate(p, "bench", me)
				if err != nil {
					b.Fatal(err)
				}
				if err := d.Release(a, "bench"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
