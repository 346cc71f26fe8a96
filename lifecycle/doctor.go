package lifecycle

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"text/tabwriter"
)

// Status is a check's outcome. The zero value is OK.
type Status int

// Statuses, in increasing severity.
const (
	OK Status = iota
	Warn
	Fail
)

func (s Status) String() string {
	switch s {
	case OK:
		return "OK"
	case Warn:
		return "WARN"
	default:
		return "FAIL"
	}
}

// MarshalText makes statuses read as words in JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Check is one line of the doctor's report.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"` // what to do when not OK
}

// DoctorConfig is what the doctor checks against: the global flags.
type DoctorConfig struct {
	StateDir string
	Bridge   string
	Subnet   netip.Prefix
	Log      *slog.Logger
}

// Doctor runs every check, in order, and returns one Check each. It
// changes nothing on the host: kernel features are tried in a throwaway
// network namespace that dies with its thread.
func Doctor(cfg DoctorConfig) []Check {
	root := isPrivileged()
	checks := []Check{checkPrivileges()}
	checks = append(checks, checkKernel(root)...)
	checks = append(checks, checkIptables()...)
	checks = append(checks,
		checkForwarding(),
		checkForwardPolicy(root),
		checkSubnet(cfg),
		checkLeftovers(cfg, root),
	)
	return checks
}

// Worst is the most severe status among checks.
func Worst(checks []Check) Status {
	w := OK
	for _, c := range checks {
		w = max(w, c.Status)
	}
	return w
}

// WriteChecks writes one line per check, and its fix, indented, when not
// OK.
func WriteChecks(w io.Writer, checks []Check) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Status, c.Name, c.Detail)
		if c.Status != OK && c.Fix != "" {
			fmt.Fprintf(tw, "\t\t  fix: %s\n", c.Fix)
		}
	}
	return tw.Flush()
}
