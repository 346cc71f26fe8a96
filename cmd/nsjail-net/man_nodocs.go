//go:build urfave_cli_no_docs

package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// The release binary is built without urfave/cli's documentation
// generators (tag urfave_cli_no_docs): their markdown library costs every
// launch, and the init stage, milliseconds of package initialisation.
// `make man` builds the page with a binary that has them.
func manCommand() *cli.Command {
	return &cli.Command{
		Name:   "man",
		Usage:  "print the manual page (not in this build: use `make man`)",
		Hidden: true,
		Action: func(*cli.Context) error {
			return failSetup(errors.New("this binary was built without the man page generator: run `make man`"))
		},
	}
}
