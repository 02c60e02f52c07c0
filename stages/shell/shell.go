package shell

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/stages"
)

// scriptName is the file the script is written to. Running a file rather
// than `sh -c` makes $0 and the shell's "script.sh: 3: ..." messages useful.
const scriptName = "script.sh"

// posixShells get -e so that the first failing command stops the script, as
// in GitHub Actions' `run:`. Other interpreters run exactly as given.
var posixShells = map[string]bool{"sh": true, "bash": true, "dash": true, "ksh": true, "zsh": true, "ash": true}

// Run writes the script into the work dir, runs it there, and collects the
// declared files and the values file as outputs.
func (s *Stage) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	logger := in.Log
	if logger == nil {
		logger = log.New(io.Discard)
	}
	workDir, err := filepath.Abs(in.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("shell: make work dir %s absolute: %w", in.WorkDir, err)
	}
	// Every output path was checked before running anything (Params.Check):
	// a typo should not cost a long script run.
	var p Params
	if err := in.Decode(&p); err != nil {
		return nil, fmt.Errorf("shell: %w", err)
	}
	files := p.Files
	argv := command(p.Shell)
	env, err := environ(in.Env, workDir, in.Instance, p.Inputs, p.Env)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("shell: not started: %w", context.Cause(ctx))
	}
	if err := os.WriteFile(filepath.Join(workDir, scriptName), []byte(p.Run), 0o644); err != nil {
		return nil, fmt.Errorf("shell: write script: %w", err)
	}

	if err := s.execute(ctx, logger, append(argv, scriptName), env, workDir); err != nil {
		return nil, err
	}

	out := &stages.Output{Files: map[string]string{}, Values: map[string]any{}}
	for _, name := range sortedKeys(files) {
		p, err := checkOutputFile(workDir, name, files[name])
		if err != nil {
			return nil, err
		}
		out.Files[name] = p
	}
	if p.Values != nil {
		valuesPath := *p.Values
		values, err := readValues(workDir, valuesPath)
		if err != nil {
			return nil, err
		}
		for _, name := range sortedKeys(values) {
			if _, dup := out.Files[name]; dup {
				return nil, fmt.Errorf("shell: output %q is both in files and in the values file %s", name, valuesPath)
			}
			out.Values[name] = values[name]
		}
	}
	return out, nil
}

// command splits the `shell` parameter into argv ("bash -eo pipefail" works);
// os/exec looks a bare interpreter name up on PATH.
func command(shell string) []string {
	argv := strings.Fields(shell)
	if len(argv) == 0 {
		argv = []string{"/bin/sh"}
	}
	if len(argv) == 1 && posixShells[filepath.Base(argv[0])] {
		argv = append(argv, "-e")
	}
	return argv
}
