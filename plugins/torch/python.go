package main

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/charmbracelet/log"
)

//go:embed export.py
var exportScript []byte

// tailLines is how many of the script's last output lines an error quotes.
const tailLines = 20

// result is what export.py writes to job.ResultPath.
type result struct {
	OK           bool     `json:"ok"`
	Step         string   `json:"step"`
	Message      string   `json:"message"`
	Traceback    string   `json:"traceback"`
	TorchMS      float64  `json:"torch_ms"`
	Outputs      []string `json:"outputs"`
	TorchVersion string   `json:"torch_version"`
}

// runPython writes export.py and the job into dir, runs the script with
// python, logs every line it prints, and returns its result. A failure of the
// script is an error naming its step and quoting the traceback's tail.
func runPython(ctx context.Context, logger *log.Logger, python, dir string, j *job) (*result, error) {
	script := filepath.Join(dir, "export.py")
	if err := os.WriteFile(script, exportScript, 0o644); err != nil {
		return nil, fmt.Errorf("write helper script %s: %w", script, err)
	}
	specPath := filepath.Join(dir, "export.json")
	js, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode export spec: %w", err)
	}
	if err := os.WriteFile(specPath, js, 0o644); err != nil {
		return nil, fmt.Errorf("write export spec %s: %w", specPath, err)
	}

	cmd := exec.CommandContext(ctx, python, script, specPath)
	cmd.Dir = dir
	// No bytecode: __pycache__ inside a python_path folder would change its
	// digest and so the stage's cache key after every run.
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", python, err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", python, err)
	}
	tail := &lineTail{}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", python, err)
	}
	var wg sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		wg.Go(func() { tail.copyLines(logger, r) })
	}
	wg.Wait() // before Wait, which closes the pipes
	waitErr := cmd.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("torch-export: python interrupted: %w", err)
	}

	var res result
	b, readErr := os.ReadFile(j.ResultPath)
	if readErr == nil {
		readErr = json.Unmarshal(b, &res)
	}
	switch {
	case readErr == nil && res.OK && waitErr == nil:
		return &res, nil
	case readErr == nil && !res.OK:
		return nil, stepError(&res, python)
	case waitErr != nil:
		return nil, fmt.Errorf("torch-export: %s %s exited before reporting a result: %w\n%s", python, script, waitErr, tail.String())
	default:
		return nil, fmt.Errorf("torch-export: read the script's result %s: %w\n%s", j.ResultPath, readErr, tail.String())
	}
}

// stepError phrases a failure the script reported.
func stepError(res *result, python string) error {
	what := map[string]string{
		"import":     "building the model failed",
		"checkpoint": "loading the checkpoint failed",
		"run":        "running the model in PyTorch failed",
		"export":     "torch.onnx.export failed",
	}[res.Step]
	if what == "" {
		what = res.Step + " failed"
	}
	msg := fmt.Sprintf("torch-export: %s: %s", what, res.Message)
	if res.Step == "import" && strings.Contains(res.Message, "ModuleNotFoundError") {
		msg += fmt.Sprintf(" (interpreter %s; add the module's folder to python_path, or set python to an interpreter that has it)", python)
	}
	if tb := lastLines(res.Traceback, 12); tb != "" {
		msg += "\nPython traceback (last lines):\n" + tb
	}
	return errors.New(msg)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// lineTail logs lines as they come and keeps the last tailLines of them.
type lineTail struct {
	mu    sync.Mutex
	lines []string
}

func (t *lineTail) copyLines(logger *log.Logger, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "Warning: ") { // Python's warnings module
			logger.Warn(line)
		} else {
			logger.Info(line)
		}
		t.mu.Lock()
		t.lines = append(t.lines, line)
		if len(t.lines) > tailLines {
			t.lines = t.lines[len(t.lines)-tailLines:]
		}
		t.mu.Unlock()
	}
	// A line past the buffer ends the scan; drain the rest so Python never
	// blocks on a full pipe.
	_, _ = io.Copy(io.Discard, r)
}

func (t *lineTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return "(no output)"
	}
	return "last output:\n" + strings.Join(t.lines, "\n")
}
