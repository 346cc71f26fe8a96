package sandbox

import "github.com/nsjail-net/nsjail-net/sandbox/stage"

// The child side of the protocol lives in package stage, which the
// re-executed init stage runs from its package init (see stage/early.go);
// these aliases keep the launcher's side speaking in sandbox's terms.
type (
	// ChildConfig is everything the init stage needs.
	ChildConfig = stage.ChildConfig
	// ChildError is a failure the init stage reported before exec.
	ChildError = stage.ChildError
)

// PauseArg and PausePath run the program of a persistent sandbox.
const (
	PauseArg  = stage.PauseArg
	PausePath = stage.PausePath
)
