// Package state keeps the launcher's on-disk state: address leases, sandbox
// records and the name index, all under one state directory (default
// /run/nsjail-net, a tmpfs, so everything here is forgotten at reboot).
//
// Layout:
//
//	<dir>/                      0700, owned by the caller
//	<dir>/<name>.lock           flock(2) files (see Dir.Lock)
//	<dir>/gc.stamp              mtime of the last sweep (see Dir.GCDue)
//	<dir>/leases/<addr>         one JSON Lease per leased address, created O_EXCL
//	<dir>/leases/.next-<pool>   allocation hint: the next address to try in <pool>
//	<dir>/names/<name>          name index: JSON {id, owner, ...}, created O_EXCL
//	<dir>/sandboxes/<id>.json   one Sandbox record, replaced atomically (temp + rename)
//	<dir>/sandboxes/<id>/       per-sandbox files (resolv.conf, hosts)
//
// Ownership. Every lease, name and sandbox record carries an Owner: the pid of
// the supervising launcher plus that process's start time, so a pid recycled
// by an unrelated process is not mistaken for the owner. A record whose owner
// is dead may be reclaimed (leases and names) or garbage-collected (the rest).
// Persistent sandboxes (created by `create`, no live launcher) mark their
// lease and name persistent (PersistLease, PersistName); those are never
// reclaimed by liveness and must be released explicitly.
//
// Concurrency. Leases and names are changed only under a per-kind flock
// (Lock("leases"), Lock("names")), which serialises launchers in different
// processes; O_EXCL creation keeps them unique even for a reader that does
// not take the lock. Because every writer holds the lock, a lease or name
// file that does not parse can only be the remains of a writer that crashed
// mid-write, and is reclaimed like a dead owner's.
//
// Cost. Allocate starts at a persisted per-pool hint and probes forward, so a
// launch touches a constant number of files however many sandboxes are live;
// only an almost full pool makes it probe far. Leases, Sandboxes and the Reap
// functions scan and are meant for gc, list and doctor, not for every launch.
//
// Durability. Files are not fsynced: the state dir is a tmpfs whose contents
// do not survive a reboot anyway, and rename is atomic with respect to other
// processes, which is all the readers need.
package state
