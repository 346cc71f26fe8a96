package main

import (
	"fmt"

	"github.com/nsjail-net/nsjail-net/lifecycle"
	"github.com/nsjail-net/nsjail-net/state"
)

// findSandbox opens the state dir and finds the live sandbox ref (a name or
// an id), for the commands that act on one.
func findSandbox(g *globals, ref string) (*state.Dir, *state.Sandbox, error) {
	dir, ok, err := lifecycle.OpenState(g.stateDir)
	if err != nil {
		return nil, nil, withRootHint(err)
	}
	if !ok {
		return nil, nil, fmt.Errorf("no sandbox %q (see `nsjail-net list`)", ref)
	}
	rec, err := lifecycle.Find(dir, ref)
	if err != nil {
		return nil, nil, err
	}
	return dir, rec, nil
}
