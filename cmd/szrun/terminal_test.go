package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// inTerminal runs szrun under a pseudo-terminal (util-linux script), which,
// like some CI runners and editor shells, never answers colour queries, and
// returns everything szrun wrote to it.
func inTerminal(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("util-linux script not found: no pseudo-terminal to test with")
	}
	line := szrunBin
	for _, a := range args {
		line += " '" + a + "'"
	}
	cmd := exec.Command(script, "-qec", line, "/dev/null")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"CI=", "NO_COLOR=", "TERM=xterm-256color"}, env...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("szrun %v in a terminal: %v\n%q", args, err, out)
	}
	return string(out)
}

// TestTerminalNeverQueried: in a terminal szrun never sends the colour
// queries (OSC 10/11) that stalled every command 10 s where nothing answers;
// NO_COLOR and TERM=dumb give output without any escape code.
func TestTerminalNeverQueried(t *testing.T) {
	dir := t.TempDir()
	hello, err := filepath.Abs("../../recipes/hello.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if out := inTerminal(t, dir, nil, "validate", hello); strings.Contains(out, "\x1b]1") || !strings.Contains(out, "valid") {
		t.Errorf("validate in a terminal sent a colour query or failed: %q", out)
	}
	for i, env := range [][]string{{"NO_COLOR=1"}, {"TERM=dumb"}} {
		out := inTerminal(t, dir, env, "run", hello, "--cache-dir", filepath.Join(dir, "cache"), "--out", filepath.Join(dir, "out", string(rune('a'+i))))
		if strings.Contains(out, "\x1b") || !strings.Contains(out, "succeeded") {
			t.Errorf("%v: output has escape codes or the run failed: %q", env, out)
		}
	}
}
