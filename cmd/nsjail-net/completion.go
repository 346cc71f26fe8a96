package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nsjail-net/nsjail-net/lifecycle"
	"github.com/nsjail-net/nsjail-net/policy"
)

// Completion. The scripts below know nothing about nsjail-net: they hand
// the words typed so far to the hidden command
//
//	nsjail-net __complete WORD... CURRENT
//
// which answers with one candidate a line, "CANDIDATE<TAB>DESCRIPTION" (the
// description may be empty), read from the command definitions (so the
// completion follows the installed version) and, for sandbox and profile
// names, from the state dir and the profile search path that the typed
// global flags name. No answer means "complete file names".

const bashCompletion = `# bash completion for nsjail-net
# Install: nsjail-net completion bash | sudo tee /usr/share/bash-completion/completions/nsjail-net
_nsjail_net() {
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local -a words=("${COMP_WORDS[@]:1:$COMP_CWORD-1}")
  [[ "$cur" == "=" ]] && { words+=("="); cur=""; }
  local IFS=$'\n' line
  local -a out=()
  for line in $(command "${COMP_WORDS[0]}" __complete "${words[@]}" "$cur" 2>/dev/null); do
    out+=("${line%%$'\t'*}")
  done
  COMPREPLY=($(compgen -W "${out[*]}" -- "$cur"))
}
complete -o bashdefault -o default -F _nsjail_net nsjail-net
`

const zshCompletion = `#compdef nsjail-net
# zsh completion for nsjail-net
# Install: nsjail-net completion zsh > /usr/local/share/zsh/site-functions/_nsjail-net
_nsjail_net() {
  local -a lines opts
  local line
  lines=("${(@f)$(command ${words[1]} __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
  for line in "${lines[@]}"; do
    [[ -z "$line" ]] && continue
    opts+=("${${line%%$'\t'*}//:/\\:}:${line#*$'\t'}")
  done
  if (( ${#opts} )); then
    _describe 'nsjail-net' opts
  else
    _files
  fi
}
if [[ "$zsh_eval_context[-1]" == loadautofunc ]]; then
  _nsjail_net "$@"
else
  compdef _nsjail_net nsjail-net
fi
`

const fishCompletion = `# fish completion for nsjail-net
# Install: nsjail-net completion fish > ~/.config/fish/completions/nsjail-net.fish
function __nsjail_net_complete
    set -l words (commandline -opc)
    set -e words[1]
    command nsjail-net __complete $words (commandline -ct) 2>/dev/null
end
complete -c nsjail-net -f -n 'test (count (__nsjail_net_complete)) -gt 0' -a '(__nsjail_net_complete)'
complete -c nsjail-net -F -n 'test (count (__nsjail_net_complete)) -eq 0'
`

var completionScripts = map[string]string{"bash": bashCompletion, "zsh": zshCompletion, "fish": fishCompletion}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script",
		ArgsUsage: "bash|zsh|fish",
		Description: `Prints a completion script for bash, zsh or fish on stdout. It completes
commands, flags, the names of live sandboxes wherever a command takes one, and
profile names after --profile (those of the --profiles-dir typed before).
"make install" installs all three.

Examples:
   source <(nsjail-net completion bash)
   nsjail-net completion bash | sudo tee /usr/share/bash-completion/completions/nsjail-net
   nsjail-net completion zsh > "${fpath[1]}/_nsjail-net"
   nsjail-net completion fish > ~/.config/fish/completions/nsjail-net.fish`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError(c, fmt.Errorf("want one shell: bash, zsh or fish"))
			}
			script, ok := completionScripts[c.Args().First()]
			if !ok {
				return usageError(c, fmt.Errorf("unknown shell %q: want bash, zsh or fish", c.Args().First()))
			}
			_, err := fmt.Fprint(c.App.Writer, script)
			return err
		},
	}
}

// completeCommand is the hidden command the completion scripts call.
func completeCommand() *cli.Command {
	return &cli.Command{
		Name:            "__complete",
		Hidden:          true,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			for _, s := range complete(c.App, c.Args().Slice(), liveSources) {
				fmt.Fprintf(c.App.Writer, "%s\t%s\n", s.value, s.desc)
			}
			return nil
		},
	}
}

// argKind is what a command's positional argument is.
type argKind int

const (
	argNone    argKind = iota // nothing to offer (or file names)
	argSandbox                // the name of a live sandbox
	argProfile                // a profile name (or a path)
	argShell                  // bash, zsh or fish
)

// commandArgs says, by command path, what each positional argument is; the
// last kind repeats when repeat is set. Commands not listed take nothing we
// can offer (run's PROGRAM, create's new NAME).
var commandArgs = map[string]struct {
	kinds  []argKind
	repeat bool
}{
	"exec":          {kinds: []argKind{argSandbox}},
	"stop":          {kinds: []argKind{argSandbox}},
	"delete":        {kinds: []argKind{argSandbox}},
	"inspect":       {kinds: []argKind{argSandbox}},
	"trust":         {kinds: []argKind{argProfile}},
	"profile show":  {kinds: []argKind{argProfile}},
	"profile check": {kinds: []argKind{argProfile}, repeat: true},
	"completion":    {kinds: []argKind{argShell}},
}

// flagValues says what a flag's value is, by the flag's first name.
var flagValues = map[string]argKind{"profile": argProfile}

// flagChoices are the values of flags that take one of a few words.
var flagChoices = map[string][]string{"log-level": {"debug", "info", "warn", "error"}}

// completionSources look up the names that are not in the command
// definitions; failures give no names (completion stays silent).
type completionSources struct {
	sandboxes func(stateDir string) []string
	profiles  func(dirs []string) []string
}

var liveSources = completionSources{
	sandboxes: func(stateDir string) []string {
		dir, ok, err := lifecycle.OpenState(stateDir)
		if err != nil || !ok {
			return nil
		}
		rows, _, _ := lifecycle.Rows(dir, time.Now())
		var names []string
		for _, r := range rows {
			if r.Name != "" {
				names = append(names, r.Name)
			}
		}
		return names
	},
	profiles: func(dirs []string) []string {
		ents, _ := policy.NewFinder(dirs).List()
		var names []string
		for _, e := range ents {
			if !e.Ignored && !slices.Contains(names, e.Name) {
				names = append(names, e.Name)
			}
		}
		return names
	},
}

type candidate struct{ value, desc string }

// complete returns the candidates for the last of words, the words after
// "nsjail-net" with the one being typed last ("" for a new word). A word
// "=" joins a flag to its value, as bash splits "--profile=we".
func complete(app *cli.App, words []string, src completionSources) []candidate {
	if len(words) == 0 {
		words = []string{""}
	}
	cur, typed := words[len(words)-1], words[:len(words)-1]
	var (
		path      []string
		cmds      = app.Commands
		flags     = app.Flags
		globals   = map[string][]string{} // values of global flags typed
		args      int                     // positional arguments seen
		dashDash  bool
		valueOf   cli.Flag // the flag whose value comes next
		inCommand bool
	)
	for i := 0; i < len(typed); i++ {
		w := typed[i]
		if valueOf != nil {
			if w == "=" {
				continue
			}
			if !inCommand {
				globals[valueOf.Names()[0]] = append(globals[valueOf.Names()[0]], w)
			}
			valueOf = nil
			continue
		}
		switch {
		case dashDash:
			args++
		case w == "--":
			dashDash = true
		case len(w) > 1 && w[0] == '-':
			name, value, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
			f := findFlag(flags, name)
			if f == nil || !takesValue(f) {
				continue
			}
			if !hasValue {
				valueOf = f
			} else if !inCommand {
				globals[f.Names()[0]] = append(globals[f.Names()[0]], value)
			}
		case args == 0 && findCommand(cmds, w) != nil:
			c := findCommand(cmds, w)
			path = append(path, c.Name)
			cmds, flags, inCommand = c.Subcommands, c.Flags, true
		default:
			args++
		}
	}
	stateDir := "/run/nsjail-net"
	if v := globals["state-dir"]; len(v) > 0 {
		stateDir = v[len(v)-1]
	}
	names := func(kind argKind) []candidate {
		var out []string
		switch kind {
		case argSandbox:
			out = src.sandboxes(stateDir)
		case argProfile:
			out = src.profiles(globals["profiles-dir"])
		case argShell:
			out = []string{"bash", "fish", "zsh"}
		}
		cs := make([]candidate, 0, len(out))
		for _, s := range out {
			cs = append(cs, candidate{value: s})
		}
		return cs
	}

	// The value of a flag: "--profile we", "--profile=we".
	if valueOf != nil {
		if cur == "=" {
			cur = ""
		}
		return filter(flagValue(valueOf, names), cur)
	}
	if name, value, ok := strings.Cut(cur, "="); ok && strings.HasPrefix(name, "-") {
		f := findFlag(flags, strings.TrimLeft(name, "-"))
		if f == nil {
			return nil
		}
		var out []candidate
		for _, c := range filter(flagValue(f, names), value) {
			out = append(out, candidate{value: name + "=" + c.value, desc: c.desc})
		}
		return out
	}
	if strings.HasPrefix(cur, "-") && !dashDash {
		var out []candidate
		for _, f := range flags {
			if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
				continue
			}
			for _, n := range f.Names() {
				dashes := "--"
				if len(n) == 1 {
					dashes = "-"
				}
				out = append(out, candidate{value: dashes + n, desc: flagUsage(f)})
			}
		}
		return filter(out, cur)
	}
	if args == 0 && len(cmds) > 0 {
		var out []candidate
		for _, c := range cmds {
			if c.Hidden {
				continue
			}
			out = append(out, candidate{value: c.Name, desc: c.Usage})
		}
		return filter(out, cur)
	}
	spec, ok := commandArgs[strings.Join(path, " ")]
	if !ok || dashDash {
		return nil
	}
	kind := argNone
	switch {
	case args < len(spec.kinds):
		kind = spec.kinds[args]
	case spec.repeat:
		kind = spec.kinds[len(spec.kinds)-1]
	}
	return filter(names(kind), cur)
}

func flagValue(f cli.Flag, names func(argKind) []candidate) []candidate {
	name := f.Names()[0]
	if kind, ok := flagValues[name]; ok {
		return names(kind)
	}
	var out []candidate
	for _, s := range flagChoices[name] {
		out = append(out, candidate{value: s})
	}
	return out
}

func filter(cs []candidate, prefix string) []candidate {
	var out []candidate
	for _, c := range cs {
		if strings.HasPrefix(c.value, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func findFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if !c.Hidden && c.HasName(name) {
			return c
		}
	}
	return nil
}

func takesValue(f cli.Flag) bool {
	d, ok := f.(cli.DocGenerationFlag)
	return ok && d.TakesValue()
}

func flagUsage(f cli.Flag) string {
	if d, ok := f.(cli.DocGenerationFlag); ok {
		return d.GetUsage()
	}
	return ""
}
