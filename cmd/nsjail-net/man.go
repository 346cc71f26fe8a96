//go:build !urfave_cli_no_docs

package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// manSection: nsjail-net is an administration command (it needs root).
const manSection = 8

func manCommand() *cli.Command {
	return &cli.Command{
		Name:   "man",
		Usage:  "print the manual page (roff), generated from the command definitions",
		Hidden: true,
		Description: `Prints nsjail-net(8) in roff, generated from the same definitions as --help.

Examples:
   nsjail-net man > nsjail-net.8 && man ./nsjail-net.8`,
		Action: func(c *cli.Context) error {
			page, err := c.App.ToManWithSection(manSection)
			if err != nil {
				return failSetup(fmt.Errorf("generating the man page: %w", err))
			}
			_, err = fmt.Fprint(c.App.Writer, page)
			return err
		},
	}
}
