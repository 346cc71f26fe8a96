package state

import "errors"

// Sentinel errors. They are wrapped with context that names the object, and
// their text is written to read well in the middle of that context, e.g.
// "address pool 10.213.0.0/16 exhausted (65533 leases live)".
var (
	// ErrNotFound: no such sandbox record or name.
	ErrNotFound = errors.New("not found")
	// ErrNameTaken: the name is held by a live (or persistent) sandbox.
	ErrNameTaken = errors.New("already in use")
	// ErrPoolExhausted: every usable address of the pool is leased to a live owner.
	ErrPoolExhausted = errors.New("exhausted")
	// ErrNotOwner: a lease or name belongs to another sandbox.
	ErrNotOwner = errors.New("held by another sandbox")
)
