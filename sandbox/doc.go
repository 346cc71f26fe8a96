// Package sandbox starts a program in its own network, mount, UTS and pid
// namespaces and supervises it.
//
// The launcher re-executes itself (/proc/self/exe) as a hidden init stage.
// Parent and child talk over one unix stream socket, inherited by the child
// as fd 3, carrying length-framed messages (stage/wire.go). For run:
//
//	parent (launcher, host namespaces)        child (init stage, pid 1 of the new namespaces)
//	----------------------------------        -----------------------------------------------
//	clone(NEWNET|NEWNS|NEWUTS|NEWPID) ---->  runtime starts, reads fd 3
//	msgConfig (ChildConfig)    ------------>  mounts private, resolv.conf, hosts, hidden
//	                                          paths, hostname, sysctls, lo up, /proc and
//	bridged, from outside, while the child    /sys of its own, /proc/sys read-only
//	sets up (netlink handles bound to
//	/proc/<pid>/ns/net): the firewall
//	(iptables-restore in its namespace, in
//	parallel), the veth, lo up, resolver
//	                           <------------  msgReady
//	addresses, routes, limits of eth0 (after
//	the child turned IPv6 off for it)
//	msgContinue                ------------>  drop privileges (its own thread), seccomp,
//	                                          fork+exec the program
//	                           <------------  msgStarted, or msgError{Step, Errno, Msg}
//	pidfd of the program (the child's only
//	child); signals go there
//	                                          reap every child until the program exits
//	                           <------------  msgExited{Status}; exit, and the kernel
//	                                          ends what is left in the pid namespace
//	wait4 the init stage; tear down
//
// For exec into a live sandbox the launcher's locked thread enters the
// sandbox's pid namespace for the fork, and the init stage is born as pid 1
// of a new pid namespace inside it: it joins the network and UTS
// namespaces (fds 4, 5), mounts /proc and /sys, and then runs the program
// as for run, so that whatever the program leaves behind ends when it ends.
// Into a namespace of `ip netns add` (no pid namespace of ours) the init
// stage execs the program itself: EOF on fd 3 (close-on-exec) without a
// message means exec worked.
//
// Files are named by the side that runs them: *_parent.go here, in the
// launcher; the child's side (*_child.go, the protocol, the pause program)
// is package stage, kept free of the launcher's heavier dependencies so that
// the re-executed init stage starts quickly.
package sandbox
