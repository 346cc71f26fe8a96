package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// fakeSources offers two live sandboxes and the real profile search.
var fakeSources = completionSources{
	sandboxes: func(string) []string { return []string{"lab1", "lab2"} },
	profiles:  liveSources.profiles,
}

func values(cs []candidate) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.value)
	}
	return out
}

// walkCommands calls fn for every command, with its path of names.
func walkCommands(cmds []*cli.Command, path []string, fn func([]string, *cli.Command)) {
	for _, c := range cmds {
		p := append(slices.Clone(path), c.Name)
		fn(p, c)
		walkCommands(c.Subcommands, p, fn)
	}
}

func TestCompletionFlags(t *testing.T) {
	app := newApp()
	check := func(t *testing.T, path []string, flags []cli.Flag) {
		got := values(complete(app, append(slices.Clone(path), "-"), fakeSources))
		for _, f := range flags {
			hidden := !f.(cli.VisibleFlag).IsVisible()
			for _, n := range f.Names() {
				dashes := "--"
				if len(n) == 1 {
					dashes = "-"
				}
				if offered := slices.Contains(got, dashes+n); offered == hidden {
					t.Errorf("%q: flag %s%s hidden=%v but offered=%v (offered: %q)", path, dashes, n, hidden, offered, got)
				}
			}
		}
	}
	check(t, nil, app.Flags)
	walkCommands(app.Commands, nil, func(path []string, c *cli.Command) {
		if !c.Hidden {
			t.Run(strings.Join(path, "_"), func(t *testing.T) { check(t, path, c.Flags) })
		}
	})
	got := values(complete(app, []string{"run", "--"}, fakeSources))
	for _, bad := range []string{"--ready-fd", "--persistent"} {
		if slices.Contains(got, bad) {
			t.Errorf("run: hidden flag %s offered: %q", bad, got)
		}
	}
}

func TestCompletionCommands(t *testing.T) {
	app := newApp()
	got := values(complete(app, []string{""}, fakeSources))
	for _, c := range app.Commands {
		if offered := slices.Contains(got, c.Name); offered == c.Hidden {
			t.Errorf("command %s: hidden=%v, offered=%v", c.Name, c.Hidden, offered)
		}
	}
	if got := values(complete(app, []string{"profile", ""}, fakeSources)); !slices.Equal(got, []string{"list", "show", "check"}) {
		t.Errorf("profile: got %q, want list show check", got)
	}
}

// Every command that takes the name of a live sandbox (ArgsUsage "NAME ...")
// is offered the live sandboxes, and nothing else; create takes a new name.
func TestCompletionSandboxNames(t *testing.T) {
	app := newApp()
	n := 0
	walkCommands(app.Commands, nil, func(path []string, c *cli.Command) {
		if !strings.HasPrefix(c.ArgsUsage, "NAME") || strings.HasPrefix(c.ArgsUsage, "NAME|") || c.Name == "create" {
			return
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			for _, words := range [][]string{
				append(slices.Clone(path), ""),
				append(slices.Clone(path), "l"),
				append([]string{"--state-dir", "/tmp/x"}, append(slices.Clone(path), "")...),
			} {
				if got := values(complete(app, words, fakeSources)); !slices.Equal(got, []string{"lab1", "lab2"}) {
					t.Errorf("%q: got %q, want lab1 lab2", words, got)
				}
			}
			if got := complete(app, append(slices.Clone(path), "lab1", ""), fakeSources); len(got) != 0 {
				t.Errorf("%q after the name: got %q, want nothing", path, values(got))
			}
		})
	})
	if n < 4 {
		t.Errorf("found %d commands taking a sandbox name, want exec, stop, delete, inspect at least", n)
	}
	// Flags before the name, with values, are skipped.
	if got := values(complete(app, []string{"stop", "--signal", "INT", "-t", "5s", ""}, fakeSources)); !slices.Equal(got, []string{"lab1", "lab2"}) {
		t.Errorf("stop after flags: got %q", got)
	}
	var dir string
	src := fakeSources
	src.sandboxes = func(d string) []string { dir = d; return nil }
	complete(app, []string{"--state-dir", "/tmp/other", "inspect", ""}, src)
	if dir != "/tmp/other" {
		t.Errorf("--state-dir /tmp/other: sandboxes looked up in %q", dir)
	}
}

func TestCompletionProfileNames(t *testing.T) {
	app := newApp()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mine.toml"), []byte("description = \"mine\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	all := []string{"dev", "mine", "offline", "open", "web"}
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"--profiles-dir", dir, "run", "--profile", ""}, all},
		{[]string{"--profiles-dir=" + dir, "run", "-p", "m"}, []string{"mine"}},
		{[]string{"--profiles-dir", dir, "create", "lab", "--profile", ""}, all},
		{[]string{"--profiles-dir", dir, "run", "--profile", "=", ""}, all}, // bash: --profile=
		{[]string{"--profiles-dir", dir, "run", "--profile=w"}, []string{"--profile=web"}},
		{[]string{"--profiles-dir", dir, "profile", "show", ""}, all},
		{[]string{"--profiles-dir", dir, "profile", "check", "web", "o"}, []string{"offline", "open"}},
		{[]string{"run", "--profile", ""}, []string{"dev", "offline", "open", "web"}},
		{[]string{"run", "--name", ""}, []string{}},
		{[]string{"run", "--", ""}, []string{}},
		{[]string{"completion", ""}, []string{"bash", "fish", "zsh"}},
	} {
		got := values(complete(app, tc.words, fakeSources))
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.words, got, tc.want)
		}
	}
}

// The bash script, run by bash with the built-in engine behind it.
func TestCompletionScripts(t *testing.T) {
	for shell, script := range completionScripts {
		if !strings.Contains(script, "__complete") {
			t.Errorf("%s script does not call __complete", shell)
		}
		if path, err := exec.LookPath(shell); err == nil {
			flag := "-n"
			if shell == "fish" {
				flag = "--no-execute"
			}
			if out, err := exec.Command(path, flag, "-c", script).CombinedOutput(); err != nil {
				t.Errorf("%s: script does not parse: %v\n%s", shell, err, out)
			}
		}
	}
}
