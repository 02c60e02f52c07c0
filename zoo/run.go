package zoo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/sentinelzer0/szrun/engine"
)

// Options says what Run runs.
type Options struct {
	// Szrun is the szrun binary (required).
	Szrun string
	// Recipe is zoo/zoo.yaml (required).
	Recipe string
	// Dir is the corpus zoo/build.py made (required): models/<name>.onnx
	// and models/<name>.npz. Run writes runs/, cache/ and results/ there.
	Dir string
	// Models are the names to run; nil: every name in Dir/models.txt.
	Models []string
	// Iterations are the timed runs per model in each benchmark (0: the
	// recipe's default).
	Iterations int
	// Log receives szrun's output; nil discards it.
	Log io.Writer
	// Cache is the cache folder the runs use; "" means Dir/cache. szrun's
	// version does not change with every commit, so a test of the code at
	// hand gives a fresh folder: a shared one would serve results that
	// another build computed.
	Cache string
}

// Models reads the names in dir/models.txt, smallest model first.
func Models(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "models.txt"))
	if err != nil {
		return nil, fmt.Errorf("zoo: list models: %w", err)
	}
	return strings.Fields(string(b)), nil
}

// Run runs the zoo recipe once per model and returns each run's record, by
// model. A run whose stages fail is a result, not an error; an error means
// szrun could not run the recipe at all.
func Run(ctx context.Context, o Options) (map[string]*engine.Result, error) {
	models := o.Models
	if models == nil {
		var err error
		if models, err = Models(o.Dir); err != nil {
			return nil, err
		}
	}
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	// The recipe is copied into the corpus so that its run records
	// (.szrun/ beside the recipe) are the corpus's own; one copy per process,
	// so two zoo runs over different models can share the corpus and cache.
	rdir := filepath.Join(o.Dir, "recipe", strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(filepath.Join(o.Dir, "results"), 0o755); err != nil {
		return nil, fmt.Errorf("zoo: %w", err)
	}
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return nil, fmt.Errorf("zoo: %w", err)
	}
	src, err := os.ReadFile(o.Recipe)
	if err != nil {
		return nil, fmt.Errorf("zoo: read recipe: %w", err)
	}
	recipe := filepath.Join(rdir, "zoo.yaml")
	if err := os.WriteFile(recipe, src, 0o644); err != nil {
		return nil, fmt.Errorf("zoo: copy recipe: %w", err)
	}
	cacheDir := o.Cache
	if cacheDir == "" {
		cacheDir = filepath.Join(o.Dir, "cache")
	}
	out := map[string]*engine.Result{}
	for i, m := range models {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		fmt.Fprintf(log, "zoo: [%d/%d] %s\n", i+1, len(models), m)
		args := []string{"run", recipe, "--keep-going", "-j", "1",
			"-p", "dir=" + o.Dir, "-p", "models=[" + m + "]",
			"--cache-dir", cacheDir, "--out", filepath.Join(o.Dir, "out", m)}
		if o.Iterations > 0 {
			args = append(args, "-p", "iterations="+strconv.Itoa(o.Iterations))
		}
		cmd := exec.CommandContext(ctx, o.Szrun, args...)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = log, io.MultiWriter(log, &stderr)
		rec := filepath.Join(rdir, ".szrun", "runs", engine.LatestLink(recipe), "run.json")
		before := ""
		if prev, err := engine.ReadRunRecord(rec); err == nil {
			before = prev.RunID
		}
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && (!errors.As(err, &ee) || ee.ExitCode() == 2) {
			if ctx.Err() != nil || !errors.As(err, &ee) || !(crashed(stderr.String()) || ee.ExitCode() == -1) {
				return out, fmt.Errorf("zoo: szrun on %s: %w\n%s", m, err, stderr.String())
			}
		}
		res, rerr := engine.ReadRunRecord(rec)
		var b []byte
		if rerr == nil && res.RunID != before {
			b, err = os.ReadFile(rec)
		} else {
			// szrun itself died (killed, or a crash outside the ONNX
			// Runtime worker, which turns its own crashes into stage
			// errors): the model's row says so, naming the stage that was
			// running.
			res = crashResult(m, stderr.String())
			b, err = json.MarshalIndent(res, "", "  ")
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(o.Dir, "results", m+".json"), b, 0o644)
		}
		if err != nil {
			return out, fmt.Errorf("zoo: keep the record of %s: %w", m, err)
		}
		out[m] = res
	}
	return out, nil
}

// Load reads the records Run kept in dir/results, by model.
func Load(dir string) (map[string]*engine.Result, error) {
	files, err := filepath.Glob(filepath.Join(dir, "results", "*.json"))
	if err != nil {
		return nil, fmt.Errorf("zoo: %w", err)
	}
	out := map[string]*engine.Result{}
	for _, f := range files {
		r, err := engine.ReadRunRecord(f)
		if err != nil {
			return nil, fmt.Errorf("zoo: %w", err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = r
	}
	return out, nil
}

var (
	signalRe  = regexp.MustCompile(`(?m)^(SIG[A-Z]+): `)
	startedRe = regexp.MustCompile(`stage started stage=(\S+)`)
)

// crashed reports whether szrun's stderr shows it died of a signal.
func crashed(stderr string) bool { return signalRe.MatchString(stderr) }

// crashResult is the record of a run that took szrun down: the instance
// that was running when it died fails with the signal; the rest is missing.
func crashResult(model, stderr string) *engine.Result {
	sig := "a signal"
	if m := signalRe.FindStringSubmatch(stderr); m != nil {
		sig = m[1]
	}
	inst := "?"
	if all := startedRe.FindAllStringSubmatch(stderr, -1); len(all) > 0 {
		inst = all[len(all)-1][1]
	}
	stage, _, _ := strings.Cut(inst, "[")
	return &engine.Result{Name: "zoo", Status: "crashed", Params: map[string]any{"models": []any{model}},
		Stages: []*engine.StageResult{{Instance: inst, Stage: stage, Status: "failed",
			Error: fmt.Sprintf("szrun died (%s) in %s", sig, inst)}}}
}
