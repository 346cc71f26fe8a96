package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// Completion scripts. Both ask nsjail-net itself what may come next
// (urfave/cli's --generate-bash-completion), so they follow the commands
// and flags of the installed version; sandbox names are offered to
// inspect and stop when the state dir is readable.
const bashCompletion = `# bash completion for nsjail-net
# Install: nsjail-net completion bash | sudo tee /etc/bash_completion.d/nsjail-net
_nsjail_net() {
  local cur words
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=("${COMP_WORDS[@]:0:$COMP_CWORD}")
  [[ "${words[0]}" == sudo ]] && words=("${words[@]:1}")
  [[ ${#words[@]} -eq 0 ]] && return 0
  local opts
  if [[ "$cur" == -* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o bashdefault -o default -F _nsjail_net nsjail-net
`

const zshCompletion = `#compdef nsjail-net
# zsh completion for nsjail-net
# Install: nsjail-net completion zsh > "${fpath[1]}/_nsjail-net"
_nsjail_net() {
  local -a opts
  local cur=${words[CURRENT]}
  local -a prev=("${(@)words[1,CURRENT-1]}")
  if [[ "$cur" == -* ]]; then
    opts=("${(@f)$("${prev[@]}" "$cur" --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$("${prev[@]}" --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ -n "${opts[1]}" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _nsjail_net nsjail-net
`

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script",
		ArgsUsage: "bash|zsh",
		Description: `Prints a completion script for bash or zsh on stdout. It completes commands,
flags, and the names of live sandboxes.

Examples:
   nsjail-net completion bash | sudo tee /etc/bash_completion.d/nsjail-net
   source <(nsjail-net completion bash)
   nsjail-net completion zsh > "${fpath[1]}/_nsjail-net"`,
		BashComplete: func(c *cli.Context) {
			if c.NArg() == 0 {
				fmt.Fprintln(c.App.Writer, "bash\nzsh")
			}
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError(c, fmt.Errorf("want one shell: bash or zsh"))
			}
			switch c.Args().First() {
			case "bash":
				fmt.Fprint(c.App.Writer, bashCompletion)
			case "zsh":
				fmt.Fprint(c.App.Writer, zshCompletion)
			default:
				return usageError(c, fmt.Errorf("unknown shell %q: want bash or zsh", c.Args().First()))
			}
			return nil
		},
	}
}
