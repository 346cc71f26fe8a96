package main

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nsjail-net/nsjail-net/sandbox"
)

func TestInterspersedFlags(t *testing.T) {
	type got struct {
		args    []string
		json    bool
		signal  string
		timeout time.Duration
	}
	run := func(args ...string) (got, error) {
		var g got
		app := &cli.App{
			Name: "nsjail-net", Writer: io.Discard, ErrWriter: io.Discard,
			Commands: []*cli.Command{interspersed(&cli.Command{
				Name: "x",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "json"},
					&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Value: "TERM"},
					&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second},
				},
				Action: func(c *cli.Context) error {
					g = got{positionals(c), c.Bool("json"), c.String("signal"), c.Duration("timeout")}
					return nil
				},
			})},
		}
		cliArgs = append([]string{"nsjail-net", "x"}, args...) // as runCLI does
		err := app.Run(cliArgs)
		return g, err
	}
	tests := []struct {
		name string
		args []string
		want got
	}{
		{"before", []string{"--json", "lab1"}, got{[]string{"lab1"}, true, "TERM", 10 * time.Second}},
		{"after", []string{"lab1", "--json"}, got{[]string{"lab1"}, true, "TERM", 10 * time.Second}},
		{"mixed", []string{"-s", "INT", "lab1", "--timeout", "1s"}, got{[]string{"lab1"}, false, "INT", time.Second}},
		{"alias after", []string{"lab1", "-s", "KILL"}, got{[]string{"lab1"}, false, "KILL", 10 * time.Second}},
		{"none", nil, got{[]string{}, false, "TERM", 10 * time.Second}},
		{"dash-dash", []string{"--", "-x"}, got{[]string{"-x"}, false, "TERM", 10 * time.Second}},
		{"flag, dash-dash", []string{"--json", "--", "-x", "--json"}, got{[]string{"-x", "--json"}, true, "TERM", 10 * time.Second}},
		{"name, dash-dash", []string{"lab1", "--", "-x"}, got{[]string{"lab1", "-x"}, false, "TERM", 10 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := run(tt.args...)
			if err != nil {
				t.Fatalf("run %q: %v", tt.args, err)
			}
			if g.args == nil {
				g.args = []string{}
			}
			if !reflect.DeepEqual(g, tt.want) {
				t.Errorf("run %q = %+v, want %+v", tt.args, g, tt.want)
			}
		})
	}
	if _, err := run("lab1", "--bogus"); err == nil {
		t.Error("unknown flag after the name: want an error")
	}
	if _, err := run("lab1", "--timeout", "soon"); err == nil {
		t.Error("bad value after the name: want an error")
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]int{"TERM": 15, "sigint": 2, "KILL": 9, "15": 15, "SIGHUP": 1} {
		if got, err := parseSignal(in); err != nil || int(got) != want {
			t.Errorf("parseSignal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "NOPE", "0", "99"} {
		if _, err := parseSignal(in); err == nil {
			t.Errorf("parseSignal(%q): want an error", in)
		}
	}
}

// A bad flag is one line on stderr naming the command (a subcommand by its
// full name) and exit status 125; nothing reaches stdout, where a script
// wrapping a command expects the program's output.
func TestUsageErrorsOneLine(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "-x"}, "run: unknown flag -x (see 'nsjail-net run --help')"},
		{[]string{"list", "--bogus"}, "list: unknown flag --bogus"},
		{[]string{"profile", "show", "-x"}, "profile show: unknown flag -x (see 'nsjail-net profile show --help')"},
		{[]string{"run", "--profile"}, "run: --profile needs a value"},
		{[]string{"-x"}, "unknown flag -x (see 'nsjail-net --help')"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr strings.Builder
			app := newApp()
			app.Writer, app.ErrWriter = &stdout, &stderr
			cliArgs = append([]string{"nsjail-net"}, tt.args...)
			err := app.Run(cliArgs)
			var ex *exitError
			if !errors.As(err, &ex) || ex.code != sandbox.ExitSetup || ex.err == nil {
				t.Fatalf("got %v, want exit 125 with a message", err)
			}
			if !strings.Contains(ex.err.Error(), tt.want) {
				t.Errorf("message %q, want it to contain %q", ex.err, tt.want)
			}
			if stdout.Len() != 0 || stderr.Len() != 0 {
				t.Errorf("printed %q to stdout and %q to stderr, want nothing (runCLI prints the one line)", stdout.String(), stderr.String())
			}
		})
	}
}
