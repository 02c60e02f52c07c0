package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sentinelzer0/szrun/cache"
	"github.com/sentinelzer0/szrun/dag"
	"github.com/sentinelzer0/szrun/recipe"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/zclconf/go-cty/cty"
)

// executor holds the state of one run.
type executor struct {
	opts     Options
	p        *Pipeline
	store    *cache.Store
	remote   *remote // nil without a remote cache
	runID    string
	stateDir string
	res      *Result

	machineOnce sync.Once
	machineFP   map[string]any

	mu      sync.Mutex
	outputs map[string]map[string]map[string]cty.Value // stage id -> label -> output -> value
	views   map[string]bool                            // paths of file outputs
	results map[string]*StageResult
	keys    []string

	lastKeys map[string]string // instance -> key of the result it stored

	// ready holds what exclusive prepared for an instance, for its task to
	// use: parameters are evaluated and the key computed once.
	ready map[string]*prepared
}

// Run loads, validates and runs a recipe. A recipe problem returns an error
// wrapping ErrInvalid and runs nothing; a stage failure is reported in the
// Result (Status "failed") with a nil error; an interrupted run returns the
// Result and ctx's cause.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.applyDefaults()
	p, err := Load(ctx, opts)
	if err != nil {
		return nil, err
	}
	return RunPipeline(ctx, p, opts)
}

// RunPipeline runs an already loaded pipeline.
func RunPipeline(ctx context.Context, p *Pipeline, opts Options) (*Result, error) {
	opts.applyDefaults()
	cacheDir, stateDir, outDir := opts.dirs(p.Recipe)
	if len(p.Recipe.Outputs) > 0 {
		if err := checkOutDir(outDir); err != nil {
			return nil, invalid(err)
		}
	}
	store, err := cache.Open(cacheDir, cache.Options{})
	if err != nil {
		return nil, fmt.Errorf("open cache %s: %w", cacheDir, err)
	}
	defer store.Close()
	rm, err := openRemote(ctx, &opts)
	if err != nil {
		return nil, err
	}
	if rm != nil {
		defer rm.closer()
	}
	if opts.Shard.active() && (rm == nil || !rm.read || !rm.write) {
		return nil, fmt.Errorf("%w: --shard %s needs a remote cache in readwrite mode: shards exchange results through it", ErrInvalid, opts.Shard)
	}
	x := &executor{
		remote:   rm,
		opts:     opts,
		p:        p,
		store:    store,
		runID:    newRunID(),
		stateDir: stateDir,
		outputs:  map[string]map[string]map[string]cty.Value{},
		views:    map[string]bool{},
		results:  map[string]*StageResult{},
		ready:    map[string]*prepared{},
	}
	x.res = &Result{
		RunID:    x.runID,
		Recipe:   p.Recipe.File,
		Name:     p.Recipe.Name,
		Started:  time.Now().UTC(),
		Params:   paramsGo(p.Recipe),
		CacheDir: cacheDir,
		RunDir:   filepath.Join(stateDir, "runs", x.runID),
	}
	for _, in := range p.Instances {
		sr := &StageResult{Instance: in.ID, Stage: in.Stage.ID, Uses: in.Stage.Uses, Label: in.Label}
		x.results[in.ID] = sr
		x.res.Stages = append(x.res.Stages, sr)
	}
	removeStaleWork(stateDir)
	if err := claimWorkRoot(stateDir, x.runID); err != nil {
		return nil, fmt.Errorf("create work dir: %w", err)
	}
	opts.Reporter.Report(Event{Event: EventRunStarted, Time: time.Now(), RunID: x.runID, Recipe: p.Recipe.File, Stages: len(p.Instances)})

	_, runErr := dag.Run(ctx, p.Graph, dag.Options{
		Parallelism: opts.Parallelism,
		KeepGoing:   opts.KeepGoing,
		OnStart:     x.onStart,
		OnFinish:    x.onFinish,
		Exclusive:   x.exclusive,
	}, x.task)
	os.RemoveAll(filepath.Join(stateDir, "work", x.runID))
	x.saveLastKeys()

	x.res.Finished = time.Now().UTC()
	x.res.DurationMS = x.res.Finished.Sub(x.res.Started).Milliseconds()
	switch {
	case ctx.Err() != nil:
		x.res.Status = StatusInterrupted
	case x.res.Counts()[StatusFailed] > 0:
		x.res.Status = StatusFailed
	default:
		x.res.Status = StatusSucceeded
	}
	if x.res.Status == StatusSucceeded && !opts.Shard.active() {
		x.materialize(outDir)
	}
	if rm != nil {
		x.res.Remote = rm.result()
	}
	if opts.Shard.active() {
		x.res.Shard = opts.Shard.String()
	}
	if err := store.RecordRun(x.runID, p.Recipe.File, x.res.Started, x.keys); err != nil {
		opts.Logger.Warn("record run in cache", "err", err)
	}
	if err := writeRunRecord(stateDir, x.res); err != nil {
		opts.Logger.Warn("write run record", "err", err)
	}
	opts.Reporter.Report(Event{Event: EventRunFinished, Time: time.Now(), RunID: x.runID, Status: x.res.Status,
		DurationMS: &x.res.DurationMS, Counts: x.res.Counts()})
	if x.res.Status == StatusInterrupted {
		if runErr == nil {
			runErr = context.Cause(ctx)
		}
		return x.res, runErr
	}
	return x.res, nil
}

func newRunID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

func paramsGo(r *recipe.Recipe) map[string]any {
	out := map[string]any{}
	for name, v := range r.ParamValues() {
		if g, ok := recipe.ToGo(v); ok {
			out[name] = g
		}
	}
	return out
}

func (x *executor) onStart(id string) {
	in := x.p.Instance(id)
	x.mu.Lock()
	x.results[id].Start = time.Now().UTC()
	x.mu.Unlock()
	x.opts.Reporter.Report(Event{Event: EventStageStarted, Time: time.Now(), Stage: id, Uses: in.Stage.Uses})
}

func (x *executor) onFinish(nr dag.NodeResult) {
	x.mu.Lock()
	sr := x.results[nr.ID]
	switch nr.Status {
	case dag.Succeeded:
		if sr.Cached {
			sr.Status = StatusCached
		} else {
			sr.Status = StatusSucceeded
		}
	case dag.Failed:
		sr.Status = StatusFailed
		if nr.Err != nil {
			sr.Error = nr.Err.Error()
		}
	case dag.Skipped:
		sr.Status = StatusSkipped
		sr.Reason = nr.Reason
	case dag.Cancelled:
		sr.Status = StatusSkipped
		sr.Reason = nr.Reason
	}
	if !nr.Start.IsZero() {
		sr.DurationMS = nr.End.Sub(nr.Start).Milliseconds()
	}
	ev := Event{Event: EventStageFinished, Time: time.Now(), Stage: nr.ID, Uses: sr.Uses, Status: sr.Status,
		DurationMS: &sr.DurationMS, Key: sr.Key, CacheHit: sr.CacheHit, Outputs: sr.Outputs, Reason: sr.Reason, Error: sr.Error, Attempt: sr.Attempts}
	x.mu.Unlock()
	x.opts.Reporter.Report(ev)
}

// setOutputs records an instance's outputs for downstream expressions.
func (x *executor) setOutputs(in *recipe.Instance, files map[string]string, values map[string]any) map[string]any {
	vals := map[string]cty.Value{}
	shown := map[string]any{}
	x.mu.Lock()
	defer x.mu.Unlock()
	for name, path := range files {
		vals[name] = cty.StringVal(path)
		x.views[path] = true
		shown[name] = path
	}
	for name, v := range values {
		vals[name] = recipe.FromGo(v)
		shown[name] = v
	}
	byLabel := x.outputs[in.Stage.ID]
	if byLabel == nil {
		byLabel = map[string]map[string]cty.Value{}
		x.outputs[in.Stage.ID] = byLabel
	}
	byLabel[in.Label] = vals
	return shown
}

// exclusive says whether instance id needs the machine to itself: its stage
// is Exclusive and, when the stage decides per instance (ExclusiveFor), these
// parameters time something. dag asks when the instance is ready, so its
// upstream outputs are known; parameters that cannot be read yet count as
// exclusive, the safe answer for a timing stage.
func (x *executor) exclusive(id string) bool {
	in := x.p.Instance(id)
	if in == nil || x.p.Stage(in) == nil {
		return false
	}
	st := x.p.Stage(in)
	spec := st.Spec()
	if !spec.Exclusive {
		return false
	}
	if x.cachedResult(in) {
		return false // restoring a stored result times nothing
	}
	ef, ok := st.(stages.ExclusiveFor)
	if !ok {
		return true
	}
	wv, err := in.Stage.With.Eval(x.scope(in, false))
	if err != nil {
		return true
	}
	g, ok := recipe.ToGo(wv)
	if !ok {
		return true
	}
	with, _ := g.(map[string]any)
	params, err := spec.Coerce(with, stages.CoerceOptions{BaseDir: x.p.Recipe.Dir})
	if err != nil {
		return true
	}
	return ef.ExclusiveFor(params)
}

// cachedResult says whether the local cache holds the instance's result, so
// that its task will restore it rather than run it. It prepares the instance
// (parameters, key) and keeps that for the task. A result that then fails to
// restore (a blob gone bad) runs the stage without the machine to itself; a
// timing stage's metrics say when the machine was busy.
func (x *executor) cachedResult(in *recipe.Instance) (hit bool) {
	defer func() {
		if recover() != nil { // the task prepares again and reports it
			hit = false
		}
	}()
	if x.opts.NoCache || !in.Stage.Cache || x.opts.Shard.active() {
		return false
	}
	pr, err := x.prepare(context.Background(), in, false)
	if err != nil || pr.spec.NoCache {
		return false
	}
	x.mu.Lock()
	x.ready[in.ID] = pr
	x.mu.Unlock()
	_, ok, err := x.store.GetAction(pr.key)
	return err == nil && ok
}

// scope builds what an instance's expressions can see.
func (x *executor) scope(in *recipe.Instance, partial bool) *recipe.Scope {
	s := &recipe.Scope{
		Params:  x.p.Recipe.ParamValues(),
		Stages:  map[string]map[string]cty.Value{},
		Matrix:  in.Matrix,
		Env:     map[string]string{},
		GPU:     x.opts.GPU,
		Partial: partial,
	}
	for _, n := range x.p.Recipe.Env {
		if v, ok := x.opts.LookupEnv(n); ok {
			s.Env[n] = v
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if in.Stage == nil { // recipe outputs see every stage
		for id := range x.outputs {
			s.Stages[id] = x.stageValue(id)
		}
		return s
	}
	for _, id := range in.Stage.Deps {
		if _, ok := x.outputs[id]; ok {
			s.Stages[id] = x.stageValue(id)
		}
	}
	return s
}

// stageValue returns a stage's outputs as expressions see them: a matrix
// stage's outputs are objects from label to value.
func (x *executor) stageValue(id string) map[string]cty.Value {
	byLabel := x.outputs[id]
	if plain, ok := byLabel[""]; ok && len(byLabel) == 1 {
		return plain
	}
	perOutput := map[string]map[string]cty.Value{}
	for label, outs := range byLabel {
		for name, v := range outs {
			if perOutput[name] == nil {
				perOutput[name] = map[string]cty.Value{}
			}
			perOutput[name][label] = v
		}
	}
	out := map[string]cty.Value{}
	for name, m := range perOutput {
		out[name] = cty.ObjectVal(m)
	}
	return out
}

// machine returns the machine fingerprint, computed once per run.
func (x *executor) machine() map[string]any {
	x.machineOnce.Do(func() {
		var extra map[string]string
		if x.opts.Fingerprint != nil {
			extra = x.opts.Fingerprint()
		}
		x.machineFP = machineFingerprint(x.opts.GPU.Names, extra)
	})
	return x.machineFP
}
