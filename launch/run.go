package launch

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nsjail-net/nsjail-net/dns"
	"github.com/nsjail-net/nsjail-net/nat"
	"github.com/nsjail-net/nsjail-net/policy"
	"github.com/nsjail-net/nsjail-net/sandbox"
	"github.com/nsjail-net/nsjail-net/state"
)

// Spec is one sandboxed run, fully resolved and validated by the caller.
type Spec struct {
	StateDir string
	Net      Network
	Profile  *policy.Profile
	Name     string // optional; unique among live sandboxes
	// Persistent: a sandbox made by `create`, whose program is the pause
	// (Path set to sandbox.PausePath) and whose launcher runs detached.
	Persistent bool
	// Ready, when set, receives "ok\n" once the program runs (create waits
	// on it) and is closed.
	Ready   *os.File
	Path    string // executed instead of looking up Argv[0]
	Argv    []string
	Env     []string
	User    *sandbox.User
	Workdir string
	// WorkdirExplicit: --workdir was given, so failing to enter it is an
	// error rather than a fall back to the user's home, then /.
	WorkdirExplicit bool
	Hostname        string
	// ExtraHosts are added to the sandbox's /etc/hosts (--add-host).
	ExtraHosts []dns.HostEntry
	// ReadOnly are directories the program sees read-only (see
	// sandbox.ChildConfig.ReadOnly).
	ReadOnly []string
	Stdio    sandbox.Stdio
	Log      *slog.Logger
}

// Run starts the sandbox, supervises the program and tears everything down.
// It returns the program's exit status, or an error and the launcher's exit
// code (125 setup, 126 not executable, 127 not found).
func Run(spec Spec) (code int, retErr error) {
	// The parent-death signal of the init stage is tied to the thread that
	// forks it: keep this goroutine on one thread until the program is
	// reaped (moby reexec, gVisor StartInNS).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sigs := sandbox.CatchSignals()
	if err := sandbox.BecomeSubreaper(); err != nil {
		return sandbox.ExitSetup, fmt.Errorf("becoming a subreaper: %w", err)
	}

	// Before anything is created: the hostname reaches sethostname and the
	// sandbox's /etc/hosts.
	if spec.Hostname != "" {
		if err := dns.ValidHostname(spec.Hostname); err != nil {
			return sandbox.ExitSetup, fmt.Errorf("hostname %q: %w", spec.Hostname, err)
		}
	}

	log := spec.Log
	st := newSteps(log)
	undo := &undoStack{log: log}
	defer func() {
		if err := undo.run(); err != nil {
			log.Warn("clean-up incomplete; `nsjail-net gc` retries", "err", err)
			if retErr != nil {
				retErr = errors.Join(retErr, err)
			}
		}
		st.done("teardown")
	}()
	p := spec.Profile
	bridged := p.Network.Mode == policy.ModeBridge

	// 1. State directory, identity.
	dir, err := state.Open(spec.StateDir)
	if err != nil {
		return sandbox.ExitSetup, err
	}
	if _, _, err := GCIfDue(dir, spec.Net.Bridge, log); err != nil {
		log.Warn("clean-up of dead sandboxes", "err", err)
	}
	owner, err := state.Self()
	if err != nil {
		return sandbox.ExitSetup, err
	}
	id := state.NewID()
	name := spec.Name
	if name == "" {
		name = DefaultName(id)
	}
	hostname := spec.Hostname
	if hostname == "" {
		hostname = defaultHostname(name)
	}
	st.done("state")

	// 2. The init stage, in its new namespaces: its runtime starts now and
	//    waits for its configuration while we prepare everything else.
	child, err := sandbox.Start(spec.Stdio)
	if err != nil {
		return sandbox.ExitSetup, err
	}
	childRunning := true
	undo.push("stop init stage and what the program left", func() error {
		if childRunning {
			child.Kill()
		}
		// Runs after the resolver stopped (pushed later, undone earlier), so
		// our only children left are the program's daemonised descendants.
		err := sandbox.KillOrphans()
		// Nothing of the sandbox can touch the terminal any more.
		child.ReleaseTerminal()
		return err
	})
	var pidStart, netnsIno uint64
	if o, err := state.OwnerOf(child.Pid); err == nil {
		pidStart = o.StartTime
	}
	var nsStat unix.Stat_t
	if unix.Stat(fmt.Sprintf("/proc/%d/ns/net", child.Pid), &nsStat) == nil {
		netnsIno = nsStat.Ino
	}
	st.done("start init stage")

	// 2b. The name, unique among live sandboxes.
	if spec.Name != "" {
		if err := dir.ClaimName(spec.Name, id, owner); err != nil {
			return sandbox.ExitSetup, err
		}
		undo.push("release name", func() error { return dir.ReleaseName(spec.Name, id) })
	}

	// 3. Address lease and the shared base (bridge, forwarding, chains).
	var (
		addrs    nat.SandboxAddrs
		hostH    *netlink.Handle
		bridge   netlink.Link
		dnsConf  dns.Config
		compiled *policy.Ruleset
	)
	if bridged {
		ip, err := dir.Allocate(spec.Net.Pool(), id, owner)
		if err != nil {
			return sandbox.ExitSetup, err
		}
		undo.push("release lease", func() error { return dir.Release(ip, id) })
		addrs = nat.SandboxAddrs{Addr: netip.PrefixFrom(ip, spec.Net.Subnet.Bits()), Gateway: spec.Net.Gateway()}
		if p.Network.IPv6 {
			addrs.Addr6 = netip.PrefixFrom(spec.Net.Addr6For(ip), spec.Net.Subnet6.Bits())
			addrs.Gateway6 = spec.Net.Gateway6()
		}
		st.done("lease")
		if hostH, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
			return sandbox.ExitSetup, fmt.Errorf("netlink: %w", err)
		}
		undo.push("close netlink handle", func() error { hostH.Close(); return nil })
		if bridge, err = ensureBase(dir, hostH, spec.Net, p.Network.IPv6); err != nil {
			return sandbox.ExitSetup, fmt.Errorf("shared network base: %w", err)
		}
		st.done("shared base")
	}

	// 4. The record gc and list rely on, written before anything that
	//    outlives this process (files, veth, host rules, mounts).
	var hostRules []nat.Rule
	if bridged {
		for _, r := range policy.HostRules(p, policy.SandboxAddrs{ID: id, IP: addrs.Addr.Addr(), IP6: addrs.Addr6.Addr(), Bridge: spec.Net.Bridge}) {
			hostRules = append(hostRules, nat.Rule{Table: r.Table, Chain: r.Chain, Args: r.Args, IPv6: r.IPv6})
		}
	}
	rec := &state.Sandbox{
		ID: id, Name: name, Owner: owner, Pid: child.Pid, PidStart: pidStart, NetnsIno: netnsIno,
		Profile: p.Name, ProfileOrigin: p.Origin,
		Created: time.Now().UTC(), Command: spec.Argv, Stage: "starting",
		Persistent: spec.Persistent, NoSeccomp: !p.Security.Seccomp,
		Hide: p.Security.Hide, Keep: p.Security.Keep,
	}
	if bridged {
		rec.IP, rec.HostVeth, rec.Bridge = addrs.Addr.Addr().String(), nat.VethName(id), spec.Net.Bridge
		if addrs.Addr6.IsValid() {
			rec.IP6 = addrs.Addr6.Addr().String()
		}
		rec.HostRules = encodeRules(hostRules)
	}
	if err := dir.WriteSandbox(rec); err != nil {
		return sandbox.ExitSetup, err
	}
	undo.push("remove state record", func() error { return dir.RemoveSandbox(id) })
	st.done("state record")

	// 4b. Name resolution and the firewall, compiled for this sandbox.
	dnsConf, upstreams := resolvConfFor(p, bridged, log)
	if bridged {
		env := policy.Env{SandboxID: id, Subnet: spec.Net.Subnet, Gateway: spec.Net.Gateway(), DNSGuard: true}
		if p.Network.IPv6 {
			env.Subnet6, env.Gateway6 = spec.Net.Subnet6, spec.Net.Gateway6()
		}
		if compiled, err = policy.Compile(p, env); err != nil {
			return sandbox.ExitSetup, err
		}
	}

	// 4c. Published host ports, claimed before anything is built: a port
	//     another live sandbox publishes fails the run at once. Publishing
	//     on loopback (or on every address, loopback included) needs
	//     route_localnet on the bridge for the host's own connections.
	if bridged {
		localnet := false
		for _, pub := range p.Publish {
			proto := string(pub.Proto)
			if err := dir.ClaimPort(proto, pub.HostIP, pub.HostPort, id, owner); err != nil {
				return sandbox.ExitSetup, err
			}
			if err := nat.CheckHostPortFree(proto, pub.HostIP, pub.HostPort); err != nil {
				dir.ReleasePort(proto, pub.HostIP, pub.HostPort, id)
				return sandbox.ExitSetup, err
			}
			undo.push("release host port", func() error { return dir.ReleasePort(proto, pub.HostIP, pub.HostPort, id) })
			localnet = localnet || pub.HostIP.IsLoopback() || pub.HostIP.IsUnspecified()
		}
		if localnet {
			if err := nat.EnsureRouteLocalnet(spec.Net.Bridge); err != nil {
				return sandbox.ExitSetup, err
			}
		}
	}
	sbDir := dir.SandboxDir(id)
	if err := os.MkdirAll(sbDir, 0o755); err != nil {
		return sandbox.ExitSetup, fmt.Errorf("sandbox dir: %w", err)
	}
	undo.push("remove sandbox files", func() error { return os.RemoveAll(sbDir) })
	// The files bind-mounted over the sandbox's /etc, by their name there
	// (also what a named sandbox gets in NetnsEtcDir/NAME).
	hosts, err := dns.Hosts(hostname, addrs.Addr.Addr(), spec.ExtraHosts)
	if err != nil {
		return sandbox.ExitSetup, err
	}
	etcFiles := map[string][]byte{"resolv.conf": dns.Render(dnsConf), "hosts": hosts}
	if bridged {
		if ns := dns.Nsswitch(); ns != nil {
			etcFiles["nsswitch.conf"] = ns
		}
	}
	etcPaths := map[string]string{}
	for f, b := range etcFiles {
		etcPaths[f] = filepath.Join(sbDir, f)
		if err := os.WriteFile(etcPaths[f], b, 0o644); err != nil {
			return sandbox.ExitSetup, fmt.Errorf("writing %s: %w", etcPaths[f], err)
		}
	}
	st.done("compile")

	// 5. The init stage's configuration.
	cfg := &sandbox.ChildConfig{
		Path: spec.Path, Argv: spec.Argv, Env: spec.Env, Seccomp: p.Security.Seccomp,
		Workdir: spec.Workdir, WorkdirExplicit: spec.WorkdirExplicit,
		FallbackWorkdirs: []string{spec.User.Home, "/"},
		UID:              spec.User.UID, GID: spec.User.GID, Groups: spec.User.WithoutGroups(policy.DroppedGroups(p.Security.Keep)),
		Hostname: hostname, ResolvConf: etcPaths["resolv.conf"], Hosts: etcPaths["hosts"], Nsswitch: etcPaths["nsswitch.conf"],
		IPv6: p.Network.IPv6 && bridged, ReadOnly: spec.ReadOnly,
	}
	if bridged {
		cfg.Hide = dns.HiddenDirs
	}
	cfg.Hide = append(cfg.Hide, p.HiddenPaths(spec.User.UID)...)
	if compiled != nil {
		// Fail before anything starts when iptables is missing.
		if _, err := nat.RestoreBinary(false); err != nil {
			return sandbox.ExitSetup, err
		}
		if compiled.IPv6 != "" {
			if _, err := nat.RestoreBinary(true); err != nil {
				return sandbox.ExitSetup, err
			}
		}
	}
	if err := child.Configure(cfg); err != nil {
		return sandbox.ExitSetup, err
	}
	st.done("configure init stage")

	// 7. Wire the network into the child's namespace from outside, while
	//    the init stage's runtime starts: the firewall, the veth, the
	//    resolver, then (once the child has set up its side) addresses and
	//    routes.
	if bridged {
		nsH, err := netns.GetFromPid(child.Pid)
		if err != nil {
			return sandbox.ExitSetup, fmt.Errorf("opening the sandbox's network namespace: %w", err)
		}
		undo.push("close netns handle", nsH.Close)
		// 7a. The firewall goes into the sandbox's own namespace, where it
		//     dies with it and the program (no capability) cannot touch it.
		//     iptables-restore runs now, in parallel; exec waits for it.
		fwDone := make(chan error, 1)
		go func() { fwDone <- installFirewall(nsH, compiled) }()
		hostVeth, err := nat.AddVeth(hostH, bridge, id, nsH, !p.Firewall.AllowSandboxes)
		if err != nil {
			return sandbox.ExitSetup, err
		}
		// Deleted here, not left to the namespace's death: the kernel's
		// background clean-up of dead namespaces costs the same and then
		// competes with whatever runs next (measured: 100 launches at once
		// 1.7x -> 2.3x their ideal, throughput 91% -> 74%).
		// The host rules' deletion (started by its own undo step, below)
		// runs while the veth is deleted, and is waited for here: before
		// the record that lists them for gc is removed.
		var hostDel *async
		undo.push("delete veth (and wait for the host rules' deletion)", func() error {
			err := nat.DeleteVeth(hostH, id)
			if hostDel != nil {
				err = errors.Join(err, hostDel.wait())
			}
			return err
		})
		st.done("veth")
		// 7a'. The per-sandbox host rules (iptables-restore processes, the
		//      slowest step) run in parallel too: they name the sandbox's
		//      address and the bridge, not the veth. The record lists them
		//      already, for gc. Undo waits for the add before deleting.
		hostAdd := goAsync(func() error { return nat.AddRules(hostRules) })
		undo.push("delete host rules (in parallel with the veth's deletion)", func() error {
			if hostAdd.wait() != nil {
				return nil // AddRules took back what it had added
			}
			hostDel = goAsync(func() error { return nat.DeleteRules(hostRules) })
			return nil
		})
		sbH, err := netlink.NewHandleAt(nsH, unix.NETLINK_ROUTE)
		if err != nil {
			return sandbox.ExitSetup, fmt.Errorf("netlink in the sandbox's namespace: %w", err)
		}
		undo.push("close sandbox netlink handle", func() error { sbH.Close(); return nil })
		// 7b. The resolver listens on the sandbox's lo (up from here on).
		if err := nat.LoopbackUp(sbH); err != nil {
			return sandbox.ExitSetup, err
		}
		res, err := startResolver(nsH, p, name, upstreams, queryLogPath(sbDir), log)
		if err != nil {
			return sandbox.ExitSetup, err
		}
		undo.push("stop resolver", res.close)
		st.done("resolver")
		if err := child.WaitReady(); err != nil {
			return sandbox.ExitSetup, fmt.Errorf("setting up the sandbox: %w", err)
		}
		st.done("init stage ready")
		// 7c. Addresses, routes, limits: eth0 goes up only now, after the
		//     child turned IPv6 off for it where the profile wants it off.
		err = nat.ConfigureSandboxLink(sbH, addrs)
		if lim := p.Limits; err == nil && (lim.EgressRate > 0 || lim.IngressRate > 0) {
			// Token buckets on both ends of the veth, gone with it.
			err = nat.ApplyLimits(hostH, hostVeth, sbH, lim.EgressRate, lim.IngressRate)
		}
		if err != nil {
			return sandbox.ExitSetup, err
		}
		if err := <-fwDone; err != nil {
			return sandbox.ExitSetup, fmt.Errorf("installing the sandbox's firewall: %w", err)
		}
		if err := hostAdd.wait(); err != nil {
			return sandbox.ExitSetup, err
		}
		st.done("addresses and routes")
	} else {
		if err := child.WaitReady(); err != nil {
			return sandbox.ExitSetup, fmt.Errorf("setting up the sandbox: %w", err)
		}
		st.done("init stage ready")
	}

	// 8. A named sandbox is visible to ip netns as /run/netns/NAME, once
	//    its network is complete, with its /etc files in NetnsEtcDir/NAME.
	if spec.Name != "" {
		if err := BindNetns(spec.Name, child.Pid); err != nil {
			return sandbox.ExitSetup, err
		}
		undo.push("unbind /run/netns entry", func() error { return UnbindNetns(spec.Name) })
		// 8b. Its files for `ip netns exec NAME` (the record names the
		//     sandbox, so Reap finds them), after the namespace's entry:
		//     gc takes an entry without one for a leftover.
		ours, err := WriteEtcNetns(spec.Name, etcFiles)
		if err != nil {
			return sandbox.ExitSetup, err
		}
		if ours {
			undo.push("remove /etc/netns entry", func() error { return RemoveEtcNetns(spec.Name) })
		} else {
			log.Warn("left alone, not written by nsjail-net: `ip netns exec` will use its files", "path", etcNetnsPath(spec.Name))
		}
		st.done("netns name")
	}

	// 9. Privilege drop and exec.
	if err := child.Continue(); err != nil {
		childRunning = false
		child.Kill()
		return sandbox.ExitCodeFor(err), err
	}
	rec.Stage = "running"
	if err := dir.WriteSandbox(rec); err != nil {
		log.Warn("updating the state record", "err", err)
	}
	st.done("exec")
	if spec.Ready != nil {
		_, _ = spec.Ready.WriteString("ok\n")
		spec.Ready.Close()
	}

	// 10. Supervise until the program exits.
	code = child.Wait(sigs)
	childRunning = false
	log.Debug("program exited", "status", code, "ran", time.Since(st.last).Round(time.Microsecond))
	st.last = time.Now()
	return code, child.Err()
}

// DefaultName is the name recorded for a sandbox started without one: its
// hostname's base, and never a name the user gave (see Row.Ref).
func DefaultName(id string) string { return "nsj-" + id }

// resolvConfFor gives the sandbox's resolv.conf and its resolver's
// upstreams. A bridged sandbox asks its own resolver on 127.0.0.53, which
// forwards to the profile's servers or else the host's (loopback stubs
// included: the upstream sockets live in the host's namespace). Offline
// sandboxes get no nameserver, so lookups fail at once instead of timing
// out.
func resolvConfFor(p *policy.Profile, bridged bool, log *slog.Logger) (dns.Config, []netip.AddrPort) {
	c := dns.Config{Search: p.DNS.Search, Options: p.DNS.Options}
	if !bridged {
		return c, nil
	}
	host, err := dns.HostUpstreams()
	if err != nil {
		log.Warn("reading the host's resolvers", "err", err)
	}
	servers := p.DNS.Servers
	if len(servers) == 0 {
		servers = host.Servers
		if len(servers) == 0 {
			log.Warn("no upstream resolver: the host has none and the profile names none; set [dns] servers")
		}
	}
	if len(c.Search) == 0 {
		c.Search = host.Search
	}
	if len(c.Options) == 0 {
		c.Options = host.Options
	}
	c.Servers = []netip.Addr{dns.ResolverAddr.Addr()}
	return c, dns.AddrPorts(servers)
}

// installFirewall applies the compiled rules inside the sandbox's network
// namespace (a fresh one: the tables are empty).
func installFirewall(ns netns.NsHandle, rs *policy.Ruleset) error {
	if err := nat.RestoreInNetns(ns, false, rs.IPv4); err != nil {
		return err
	}
	if rs.IPv6 != "" {
		return nat.RestoreInNetns(ns, true, rs.IPv6)
	}
	return nil
}

// async is a step running in its own goroutine; wait returns its error
// (every call, the same).
type async struct {
	done chan struct{}
	err  error
}

func goAsync(f func() error) *async {
	a := &async{done: make(chan struct{})}
	go func() {
		a.err = f()
		close(a.done)
	}()
	return a
}

func (a *async) wait() error {
	<-a.done
	return a.err
}
