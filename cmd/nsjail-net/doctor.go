package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/nsjail-net/nsjail-net/lifecycle"
)

func doctorCommand() *cli.Command {
	return interspersed(&cli.Command{
		Name:  "doctor",
		Usage: "check that this host can run sandboxes, and say how to fix what is wrong",
		Description: `Prints the version, then checks, one line each with OK, WARN or FAIL and a
fix: root and capabilities; the kernel features sandboxes need (network
namespaces, veth, bridge, NAT, conntrack), tried in a throwaway namespace; the
iptables binaries and their backend (nf_tables or legacy), and rules another
tool put in the other backend; IPv4 forwarding; the FORWARD policy (DROP, as
Docker sets it, is fine); host routes overlapping the sandbox subnet; and
leftovers that 'gc' would remove.
It changes nothing.

Exits 0 when nothing FAILs (warnings allowed), 1 otherwise.

Examples:
   sudo nsjail-net doctor
   sudo nsjail-net --subnet 10.99.0.0/16 doctor
   sudo nsjail-net doctor --json`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the checks as JSON"},
		},
		Action: doctorAction,
	})
}

func doctorAction(c *cli.Context) error {
	g, err := parseGlobals(c)
	if err != nil {
		return failSetup(err)
	}
	// The first line says which nsjail-net was checked, as --version would.
	checks := append([]lifecycle.Check{{Name: "version", Status: lifecycle.OK, Detail: "nsjail-net " + buildVersion()}},
		lifecycle.Doctor(lifecycle.DoctorConfig{
			StateDir: g.stateDir, Bridge: g.net.Bridge, Subnet: g.net.Subnet, Log: g.log,
		})...)
	if c.Bool("json") {
		err = lifecycle.WriteJSON(os.Stdout, checks)
	} else {
		err = lifecycle.WriteChecks(os.Stdout, checks)
	}
	if err != nil {
		return failSetup(err)
	}
	if lifecycle.Worst(checks) == lifecycle.Fail {
		return &exitError{code: 1}
	}
	return nil
}
