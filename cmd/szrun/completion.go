package main

import (
	"context"
	"fmt"
	"strings"
)

// completionCmd prints a completion script for bash, zsh or fish, listing the
// commands of the command table and completing files after them.
func (c *cliEnv) completionCmd(_ context.Context, args []string) error {
	fs := newFlagSet("completion", "szrun completion bash|zsh|fish   (e.g. source <(szrun completion bash))", c.stdout)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("completion: want one shell: bash, zsh or fish")
	}
	var names []string
	for _, cmd := range commands() {
		names = append(names, cmd.name)
	}
	names = append(names, "help", "version")
	words := strings.Join(names, " ")
	switch pos[0] {
	case "bash":
		fmt.Fprintf(c.stdout, `# szrun bash completion: source <(szrun completion bash)
_szrun() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W %q -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _szrun szrun
`, words)
	case "zsh":
		fmt.Fprintf(c.stdout, `#compdef szrun
# szrun zsh completion: szrun completion zsh > "${fpath[1]}/_szrun"
_szrun() {
  if (( CURRENT == 2 )); then
    compadd -- %s
  else
    _files
  fi
}
compdef _szrun szrun
`, words)
	case "fish":
		fmt.Fprintf(c.stdout, "# szrun fish completion: szrun completion fish > ~/.config/fish/completions/szrun.fish\n")
		for _, cmd := range commands() {
			fmt.Fprintf(c.stdout, "complete -c szrun -n __fish_use_subcommand -a %s -d %q\n", cmd.name, cmd.summary)
		}
		fmt.Fprintf(c.stdout, "complete -c szrun -n __fish_use_subcommand -a help -d 'help on a command'\ncomplete -c szrun -n __fish_use_subcommand -a version -d \"print szrun's version\"\n")
	default:
		return usageError("completion: %q is not a shell szrun completes; want bash, zsh or fish", pos[0])
	}
	return nil
}
