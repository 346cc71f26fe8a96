// Package sandbox starts a program in its own network, mount and UTS
// namespaces and supervises it.
//
// The launcher re-executes itself (/proc/self/exe) as a hidden init stage.
// Parent and child talk over one unix stream socket, inherited by the child
// as fd 3, carrying length-framed messages (stage/wire.go):
//
//	parent (launcher, host namespaces)        child (init stage, new namespaces)
//	----------------------------------        ----------------------------------
//	clone(NEWNET|NEWNS|NEWUTS) ------------>  runtime starts, reads fd 3
//	msgConfig (ChildConfig)    ------------>  mounts private, resolv.conf + hosts,
//	                                          hostname, sysctls, lo up, firewall
//	                           <------------  msgReady
//	wire eth0 into the child's namespace
//	from outside (netlink handle bound to
//	/proc/<pid>/ns/net)
//	msgContinue                ------------>  drop privileges, close fds, execve
//	                           <------------  EOF: fd 3 is close-on-exec, so EOF
//	                                          without a message means exec worked;
//	                           <------------  or msgError{Step, Errno, Msg}
//
// Files are named by the side that runs them: *_parent.go here, in the
// launcher; the child's side (*_child.go, the protocol, the pause program)
// is package stage, kept free of the launcher's heavier dependencies so that
// the re-executed init stage starts quickly.
package sandbox
