//go:build !mangen

package main

import "os"

// main is the launcher's; built with the tag mangen, this package is the
// man page generator instead (mangen.go).
func main() {
	// The hidden stages (init, pause) never get here: package stage runs
	// them from its package init, before the CLI's packages initialise.
	os.Exit(runCLI(os.Args))
}
