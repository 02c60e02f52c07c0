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

//go:embed prune.py
var pruneScript []byte

// tailLines is how many of the script's last output lines an error quotes.
const tailLines = 20

// status is how a helper script reports its outcome in its result file.
type status struct {
	OK        bool   `json:"ok"`
	Step      string `json:"step"`
	Message   string `json:"message"`
	Traceback string `json:"traceback"`
}

func (s *status) get() *status { return s }

// result is what export.py writes to job.ResultPath.
type result struct {
	status
	TorchMS      float64  `json:"torch_ms"`
	Outputs      []string `json:"outputs"`
	TorchVersion string   `json:"torch_version"`
}

// runPython runs export.py on the job and returns its result.
func runPython(ctx context.Context, logger *log.Logger, python, dir string, j *job) (*result, error) {
	var res result
	if err := runScript(ctx, logger, python, dir, "export.py", "torch-export", j, j.ResultPath, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// runScript writes the helper scripts and the job into dir, runs script
// with python, logs every line it prints, and decodes the result file into
// res. A failure of the script is an error naming its step and quoting the
// traceback's tail, prefixed with the stage's name.
func runScript(ctx context.Context, logger *log.Logger, python, dir, script, stage string, j any, resultPath string, res interface{ get() *status }) error {
	// prune.py imports export.py's helpers: both are always written.
	for name, b := range map[string][]byte{"export.py": exportScript, "prune.py": pruneScript} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("write helper script %s: %w", name, err)
		}
	}
	scriptPath := filepath.Join(dir, script)
	specPath := filepath.Join(dir, "job.json")
	js, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the job: %w", err)
	}
	if err := os.WriteFile(specPath, js, 0o644); err != nil {
		return fmt.Errorf("write the job %s: %w", specPath, err)
	}

	cmd := exec.CommandContext(ctx, python, scriptPath, specPath)
	cmd.Dir = dir
	// No bytecode: __pycache__ inside a python_path folder would change its
	// digest and so the stage's cache key after every run.
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("run %s: %w", python, err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("run %s: %w", python, err)
	}
	tail := &lineTail{}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", python, err)
	}
	var wg sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		wg.Go(func() { tail.copyLines(logger, r) })
	}
	wg.Wait() // before Wait, which closes the pipes
	waitErr := cmd.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: python interrupted: %w", stage, err)
	}

	b, readErr := os.ReadFile(resultPath)
	if readErr == nil {
		readErr = json.Unmarshal(b, res)
	}
	st := res.get()
	switch {
	case readErr == nil && st.OK && waitErr == nil:
		return nil
	case readErr == nil && !st.OK:
		return stepError(stage, st, python)
	case waitErr != nil:
		return fmt.Errorf("%s: %s %s exited before reporting a result: %w\n%s", stage, python, scriptPath, waitErr, tail.String())
	default:
		return fmt.Errorf("%s: read the script's result %s: %w\n%s", stage, resultPath, readErr, tail.String())
	}
}

// stepError phrases a failure the script reported.
func stepError(stage string, res *status, python string) error {
	what := map[string]string{
		"import":     "building the model failed",
		"checkpoint": "loading the checkpoint failed",
		"run":        "running the model in PyTorch failed",
		"export":     "torch.onnx.export failed",
		"data":       "reading the data failed",
		"train":      "training failed",
		"evaluate":   "evaluating the model failed",
		"prune":      "pruning failed",
	}[res.Step]
	if what == "" {
		what = res.Step + " failed"
	}
	msg := fmt.Sprintf("%s: %s: %s", stage, what, res.Message)
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
