package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/cache"
	"github.com/sentinelzer0/szrun/dag"
	"github.com/sentinelzer0/szrun/recipe"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
)

// ErrTimeout is the cause of a stage stopped by its `timeout:`.
var ErrTimeout = errors.New("timed out")

// prepared is an instance ready to run: coerced parameters and cache key.
type prepared struct {
	in     *recipe.Instance
	stage  stages.Stage
	spec   stages.Spec
	params map[string]any
	inputs keyInputs
	key    string
}

func (x *executor) task(ctx context.Context, id string) error {
	in := x.p.Instance(id)
	x.mu.Lock()
	pr := x.ready[id]
	delete(x.ready, id)
	x.mu.Unlock()
	if pr == nil {
		var err error
		if pr, err = x.prepare(ctx, in, false); err != nil {
			return err
		}
	}
	sr := x.result(id)
	x.mu.Lock()
	sr.Key = pr.key
	x.mu.Unlock()

	useCache := !x.opts.NoCache && in.Stage.Cache && !pr.spec.NoCache
	if useCache && x.opts.Shard.active() {
		if done, err := x.shardTask(ctx, pr); err != nil || done {
			return err
		}
	}
	if useCache {
		if hit, err := x.restore(ctx, pr, HitLocal); err != nil || hit {
			if hit {
				// A result computed before the remote was shared, or by a
				// run that could not reach it: share it now.
				x.pushRemote(ctx, pr)
			}
			return err
		}
		unlock, err := x.store.Lock(ctx, pr.key)
		if err != nil {
			return fmt.Errorf("lock cache entry: %w", err)
		}
		defer unlock()
		// Another szrun process may have produced it while we waited.
		if hit, err := x.restore(ctx, pr, HitLocal); err != nil || hit {
			return err
		}
		if x.fetchRemote(ctx, pr) {
			if hit, err := x.restore(ctx, pr, HitRemote); err != nil || hit {
				return err
			}
		}
	}
	if err := x.execute(ctx, pr); err != nil {
		return err
	}
	if useCache {
		x.pushRemote(ctx, pr)
	}
	return nil
}

func (x *executor) result(id string) *StageResult {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.results[id]
}

// prepare evaluates an instance's `if` and `with`, coerces the parameters
// and computes the cache key. With partial set (plan), unknown upstream
// outputs make it return errUnknown.
func (x *executor) prepare(ctx context.Context, in *recipe.Instance, partial bool) (*prepared, error) {
	sd := in.Stage
	st := x.p.Stage(in)
	spec := st.Spec()
	scope := x.scope(in, partial)
	run, known, err := sd.EvalIf(scope)
	switch {
	case err != nil:
		return nil, err
	case !known:
		return nil, errUnknown
	case !run:
		return nil, dag.Skip("if is false: " + sd.If.Source())
	}
	wv, err := sd.With.Eval(scope)
	if err != nil {
		return nil, err
	}
	g, ok := recipe.ToGo(wv)
	if !ok {
		return nil, errUnknown
	}
	with, _ := g.(map[string]any)
	params, err := spec.Coerce(with, stages.CoerceOptions{BaseDir: x.p.Recipe.Dir, CheckPaths: true})
	if err != nil {
		return nil, x.positionParamErrors(sd, err)
	}
	// Validation judged values from upstream outputs as unknown; judge them
	// now, before the stage starts, still naming the recipe position.
	if c, ok := st.(stages.ParamChecker); ok && !partial {
		if perrs := c.CheckParams(ctx, params, false); len(perrs) > 0 {
			return nil, x.positionParamErrors(sd, perrs)
		}
	}
	digested, err := digestParams(ctx, x.store, spec, params)
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", in.ID, err)
	}
	ki := keyInputs{
		Stage:        sd.Uses,
		StageVersion: spec.Version,
		Params:       digested,
		Env:          envValues(x.p.Recipe.Env, x.opts.LookupEnv),
	}
	if ef, ok := st.(stages.EnvironmentalFor); spec.Environmental || ok && ef.EnvironmentalFor(params) {
		ki.Machine = x.machine()
	}
	return &prepared{in: in, stage: st, spec: spec, params: params, inputs: ki, key: ki.key()}, nil
}

var errUnknown = errors.New("depends on outputs not known yet")

// positionParamErrors turns coercion errors into positioned recipe errors.
func (x *executor) positionParamErrors(sd *recipe.StageDecl, err error) error {
	var perrs stages.ParamErrors
	if !errors.As(err, &perrs) {
		return fmt.Errorf("%s: stage %s: %w", posString(sd.Pos), sd.ID, err)
	}
	var list recipe.ErrorList
	for _, pe := range perrs {
		pos := sd.With.Pos()
		if v := sd.With.At(pe.Path); v != nil {
			pos = v.Pos()
		}
		msg := fmt.Sprintf("stage %s: with.%s", sd.ID, pe.Error())
		if pe.Path == "" {
			msg = fmt.Sprintf("stage %s: %s", sd.ID, pe.Msg)
		}
		list = append(list, &recipe.Error{Pos: pos, Msg: msg})
	}
	return list
}

func posString(p recipe.Pos) string {
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// restore looks the key up in the action cache and, on a hit, makes the
// outputs available downstream.
func (x *executor) restore(ctx context.Context, pr *prepared, from string) (bool, error) {
	a, ok, err := x.store.GetAction(pr.key)
	if err != nil {
		x.opts.Logger.Warn("read cache entry; running the stage instead", "stage", pr.in.ID, "err", err)
		return false, nil
	}
	if !ok {
		return false, nil
	}
	files, err := x.viewPaths(ctx, a)
	if err != nil {
		x.opts.Logger.Warn("restore cached outputs; running the stage instead", "stage", pr.in.ID, "err", err)
		return false, nil
	}
	var warnings []string
	if a.Log != "" {
		if text, err := x.store.ReadBlob(a.Log); err == nil {
			warnings = warningsOf(text)
		}
	}
	shown := x.setOutputs(pr.in, files, a.Values)
	x.mu.Lock()
	sr := x.results[pr.in.ID]
	sr.Warnings = warnings
	sr.Cached = true
	sr.CacheHit = from
	sr.Outputs = shown
	x.keys = append(x.keys, pr.key)
	x.mu.Unlock()
	return true, nil
}

func (x *executor) viewPaths(ctx context.Context, a *cache.Action) (map[string]string, error) {
	files := map[string]string{}
	for name, ref := range a.Files {
		p, err := x.viewOf(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", name, err)
		}
		files[name] = p
	}
	return files, nil
}

// execute runs the stage, with retries, stores its result and publishes its
// outputs.
func (x *executor) execute(ctx context.Context, pr *prepared) error {
	sd := pr.in.Stage
	var lastErr error
	for attempt := 1; attempt <= 1+sd.Retries; attempt++ {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		x.mu.Lock()
		x.results[pr.in.ID].Attempts = attempt
		x.mu.Unlock()
		if attempt > 1 {
			x.opts.Reporter.Report(Event{Event: EventStageLog, Time: time.Now(), Stage: pr.in.ID, Level: "warn",
				Message: fmt.Sprintf("retrying (attempt %d of %d) after: %v", attempt, 1+sd.Retries, lastErr)})
		}
		lastErr = x.attempt(ctx, pr)
		if lastErr == nil || ctx.Err() != nil {
			return lastErr
		}
	}
	return lastErr
}

func (x *executor) attempt(ctx context.Context, pr *prepared) error {
	sd := pr.in.Stage
	// The digest suffix keeps two ids that sanitize alike ("a[x]", "a_x_")
	// from sharing a work dir.
	workDir := filepath.Join(x.stateDir, "work", x.runID, recipe.SafeName(pr.in.ID)+"-"+string(cache.DigestBytes([]byte(pr.in.ID))[:8]))
	if err := os.RemoveAll(workDir); err != nil {
		return fmt.Errorf("clean work dir: %w", err)
	}
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return fmt.Errorf("create work dir: %w", err)
	}
	defer os.RemoveAll(workDir)

	logs := newStageLog(pr.in.ID, x.opts.Reporter)
	runCtx := ctx
	if sd.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeoutCause(ctx, sd.Timeout, fmt.Errorf("stage %s %w after %s", pr.in.ID, ErrTimeout, sd.Timeout))
		defer cancel()
	}
	start := time.Now()
	input := &stages.Input{
		Instance: pr.in.ID,
		Params:   pr.params,
		WorkDir:  workDir,
		Log:      logs.logger(),
		Progress: &progress{stage: pr.in.ID, r: x.opts.Reporter},
		Env:      stages.MinimalEnv(x.opts.LookupEnv, x.p.Recipe.Env),
	}
	if ex := sd.With.Explain(x.scope(pr.in, false)); len(ex) > 0 {
		input.Explain = ex
	}
	out, err := safeRun(runCtx, pr.stage, input)
	logs.flush()
	warnings := warningsOf(logs.bytes())
	x.mu.Lock()
	x.results[pr.in.ID].Warnings = warnings
	x.mu.Unlock()
	if err == nil && runCtx.Err() != nil {
		err = context.Cause(runCtx)
	}
	if err != nil {
		if runCtx.Err() != nil && ctx.Err() == nil {
			// The timeout is the reason; keep an error that already says so and
			// what it stopped (an ONNX Runtime worker killed while loading a model).
			if cause := context.Cause(runCtx); !errors.Is(err, cause) {
				err = cause
			}
		}
		x.mu.Lock()
		x.results[pr.in.ID].LogTail = logs.tail(20)
		// A stage that fails with partial values (assert's checks) still shows
		// them in run.json and JUnit; they are not cached nor seen downstream.
		var pv interface{ PartialValues() map[string]any }
		if errors.As(err, &pv) {
			if m, ok := normalizeJSON(pv.PartialValues()).(map[string]any); ok {
				x.results[pr.in.ID].Outputs = m
			}
			// Its results say what went wrong (each failed check with its
			// values); the log would only repeat them.
			x.mu.Unlock()
			return err
		}
		x.mu.Unlock()
		return withTail(err, logs.tail(10))
	}
	files, values, action, err := x.store1(ctx, pr, workDir, out, logs.bytes(), time.Since(start))
	if err != nil {
		return err
	}
	if err := x.store.PutAction(action); err != nil {
		return fmt.Errorf("stage %s: store result: %w", pr.in.ID, err)
	}
	x.rememberLast(pr)
	shown := x.setOutputs(pr.in, files, values)
	x.mu.Lock()
	x.results[pr.in.ID].Outputs = shown
	x.keys = append(x.keys, pr.key)
	x.mu.Unlock()
	return nil
}

// store1 moves a finished stage's outputs into the content store and builds
// its action record; nothing is visible in the cache until PutAction.
func (x *executor) store1(ctx context.Context, pr *prepared, workDir string, out *stages.Output, logText []byte, took time.Duration) (map[string]string, map[string]any, *cache.Action, error) {
	if out == nil {
		out = &stages.Output{}
	}
	a := &cache.Action{
		Key: pr.key, Stage: pr.in.Stage.Uses, Instance: pr.in.ID,
		Files: map[string]cache.OutputRef{}, Values: map[string]any{},
		Inputs:  normalizeJSON(pr.inputs.asMap()).(map[string]any),
		Created: time.Now().UTC(), DurationMS: took.Milliseconds(), Version: Version,
	}
	for name := range out.Files {
		if err := x.checkDeclared(pr, name, stages.FileOutput); err != nil {
			return nil, nil, nil, err
		}
	}
	for name := range out.Values {
		if err := x.checkDeclared(pr, name, stages.ValueOutput); err != nil {
			return nil, nil, nil, err
		}
	}
	files := map[string]string{}
	for _, name := range sortedNames(out.Files) {
		path, err := insideWorkDir(workDir, out.Files[name])
		if err != nil {
			return nil, nil, nil, fmt.Errorf("stage %s: output %s: %w", pr.in.ID, name, err)
		}
		ref, err := x.storeOutput(ctx, workDir, path)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("stage %s: store output %s: %w", pr.in.ID, name, err)
		}
		a.Files[name] = ref
		view, err := x.viewOf(ctx, ref)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("stage %s: output %s: %w", pr.in.ID, name, err)
		}
		files[name] = view
	}
	for name, v := range out.Values {
		a.Values[name] = normalizeJSON(v)
	}
	if len(logText) > 0 {
		d, err := x.store.PutBytes(logText)
		if err == nil {
			a.Log = d
		}
	}
	return files, a.Values, a, nil
}

func (x *executor) checkDeclared(pr *prepared, name string, kind stages.OutputKind) error {
	o, ok := pr.spec.Output(name)
	if !ok {
		if pr.spec.OpenOutputs {
			return nil
		}
		return fmt.Errorf("stage %s (%s) returned undeclared output %q", pr.in.ID, pr.spec.Name, name)
	}
	if o.Kind != kind {
		return fmt.Errorf("stage %s (%s) returned output %q as a %s, declared as a %s", pr.in.ID, pr.spec.Name, name, kind, o.Kind)
	}
	return nil
}

// rememberLast notes the key of an instance's latest result so `plan` can
// explain what changed since; saveLastKeys writes them once per run.
func (x *executor) rememberLast(pr *prepared) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.lastKeys == nil {
		x.lastKeys = map[string]string{}
	}
	x.lastKeys[pr.in.ID] = pr.key
}

// saveLastKeys merges this run's last keys into the recipe's record: one
// small advisory file per recipe, written once per run, not per stage.
func (x *executor) saveLastKeys() {
	if len(x.lastKeys) == 0 {
		return
	}
	all := readLastKeys(x.store, x.p.Recipe)
	for id, k := range x.lastKeys {
		all[id] = k
	}
	b, err := json.Marshal(all)
	if err == nil {
		err = x.store.WriteMeta(lastKeysName(x.p.Recipe), b)
	}
	if err != nil {
		x.opts.Logger.Warn("remember last cache keys", "err", err)
	}
}

// readLastKeys returns instance id -> key of its latest stored result.
func readLastKeys(st *cache.Store, r *recipe.Recipe) map[string]string {
	all := map[string]string{}
	if b, ok, err := st.ReadMeta(lastKeysName(r)); err == nil && ok {
		_ = json.Unmarshal(b, &all) // a damaged hint only costs plan's explanation
	}
	return all
}

func lastKeysName(r *recipe.Recipe) string {
	return "last/" + cache.NewKey("recipe").Add("file", r.File).Sum() + ".json"
}

// insideWorkDir resolves p (relative to workDir) and requires it to stay
// inside workDir, symbolic links included: a stage or plugin cannot hand
// the store a file outside its own work dir through a link.
func insideWorkDir(workDir, p string) (string, error) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(workDir, p)
	}
	p = filepath.Clean(p)
	if !within(workDir, p) {
		return "", fmt.Errorf("%s is outside the stage's work dir", p)
	}
	realRoot, err := filepath.EvalSymlinks(workDir)
	if err != nil {
		return "", fmt.Errorf("resolve work dir %s: %w", workDir, err)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", p, err)
	}
	if !within(realRoot, real) {
		return "", fmt.Errorf("%s resolves to %s, outside the stage's work dir", p, real)
	}
	return p, nil
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func safeRun(ctx context.Context, st stages.Stage, in *stages.Input) (out *stages.Output, err error) {
	// The instance's ONNX Runtime sessions share one worker process, started on
	// first use: a native crash, hang or OOM there fails this stage, not szrun.
	// What the worker prints (ONNX Runtime's warnings) goes to the stage's log.
	var opts runtime.WorkerOptions
	if lg := in.Log; lg != nil {
		opts.Log = func(level slog.Level, line string) { lg.Log(log.Level(level), "ONNX Runtime: "+line) }
	}
	ctx, release := runtime.WithWorker(ctx, opts)
	defer release()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("stage %s panicked: %v\n%s", in.Instance, r, debug.Stack())
		}
	}()
	return st.Run(ctx, in)
}

type tailError struct {
	err  error
	tail []string
}

func (e *tailError) Error() string {
	if len(e.tail) == 0 {
		return e.err.Error()
	}
	return e.err.Error() + "\nlast log lines:\n  " + strings.Join(e.tail, "\n  ")
}

func (e *tailError) Unwrap() error { return e.err }

func withTail(err error, tail []string) error {
	if len(tail) == 0 || strings.Contains(err.Error(), tail[len(tail)-1]) {
		return err
	}
	return &tailError{err: err, tail: tail}
}

// normalizeJSON gives values the form they have after a JSON round trip, so
// fresh and cached results look the same downstream.
func normalizeJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&out); err != nil {
		return fmt.Sprint(v)
	}
	return out
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sortStrings(names)
	return names
}
