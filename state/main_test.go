package state

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// The test binary re-executes itself as a helper process; the environment
// variable says which helper to run.
const helperEnv = "NSJNET_STATE_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "allocate":
		helperAllocate()
	case "open-ro":
		helperOpenReadOnly()
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(helperEnv))
		os.Exit(2)
	}
	os.Exit(0)
}

// helperCmd returns a command that re-executes the test binary as helper
// name with the given extra environment.
func helperCmd(t testing.TB, name string, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{helperEnv + "=" + name}, env...)...)
	return cmd
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

// helperAllocate allocates $N addresses from $PREFIX (gateway .1 reserved)
// in state dir $DIR for owner $OWNER (JSON; the parent test process, so the
// leases stay live after this helper exits) and prints one per line.
func helperAllocate() {
	d, err := Open(os.Getenv("DIR"))
	if err != nil {
		fatalf("%v", err)
	}
	var owner Owner
	if err := json.Unmarshal([]byte(os.Getenv("OWNER")), &owner); err != nil {
		fatalf("owner: %v", err)
	}
	n, _ := strconv.Atoi(os.Getenv("N"))
	p := testPool(netip.MustParsePrefix(os.Getenv("PREFIX")))
	for i := 0; i < n; i++ {
		a, err := d.Allocate(p, fmt.Sprintf("p%d-%d", os.Getpid(), i), owner)
		if err != nil {
			fatalf("%v", err)
		}
		fmt.Println(a)
	}
}

// testPool is prefix with its first host address (the gateway) reserved.
func testPool(prefix netip.Prefix) Pool {
	return Pool{Prefix: prefix, Reserved: []netip.Addr{prefix.Masked().Addr().Next()}}
}

// openTemp opens a state dir in a fresh temp directory.
func openTemp(t testing.TB) *Dir {
	t.Helper()
	d, err := Open(t.TempDir() + "/state")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// self returns the test process's Owner.
func self(t testing.TB) Owner {
	t.Helper()
	o, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// deadOwner returns the Owner of a process that has exited and been
// reaped.
func deadOwner(t testing.TB) Owner {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "read x")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	o, err := OwnerOf(cmd.Process.Pid)
	stdin.Close()
	cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return o
}
