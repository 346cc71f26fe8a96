// Package stage is the child's side of a sandbox: the hidden init stage
// that sets up the new namespaces, drops privileges and execs the program,
// and the pause program of a persistent sandbox. The protocol it speaks
// with the launcher (package sandbox) is in protocol.go; the sequence is
// drawn in sandbox's package comment.
//
// It imports only the standard library and x/sys/unix, and runs from its
// package init (early.go): a re-executed init stage initialises nothing of
// the launcher's CLI, profiles, firewall or DNS code.
package stage
