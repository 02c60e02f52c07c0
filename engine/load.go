package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/sentinelzer0/szrun/dag"
	"github.com/sentinelzer0/szrun/recipe"
	"github.com/sentinelzer0/szrun/stages"
)

// ErrInvalid marks an invalid recipe or command line (exit status 2).
var ErrInvalid = errors.New("invalid recipe")

// InvalidError carries the positioned problems of an invalid recipe.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() []error {
	return []error{ErrInvalid, e.Err}
}

func invalid(err error) error { return &InvalidError{Err: err} }

// Pipeline is a loaded, validated recipe ready to plan or run.
type Pipeline struct {
	Recipe    *recipe.Recipe
	Instances []*recipe.Instance
	Graph     *dag.Graph // nodes are instance ids
	stages    map[string]stages.Stage
	byID      map[string]*recipe.Instance
	byStage   map[string][]*recipe.Instance
}

// Load reads, overrides and validates a recipe and expands its instances.
// Every problem is reported at once in an error wrapping ErrInvalid.
func Load(ctx context.Context, opts Options) (*Pipeline, error) {
	if opts.Catalog == nil {
		return nil, fmt.Errorf("engine: no stage catalog")
	}
	opts.applyDefaults()
	r, err := recipe.Load(opts.Recipe)
	var structural recipe.ErrorList
	if err != nil && (r == nil || !errors.As(err, &structural)) {
		return nil, invalid(err)
	}
	// A recipe with structural problems is still validated as far as it
	// was read, so one `validate` reports every mistake.
	if err := r.Override(opts.Params); err != nil {
		if structural == nil {
			return nil, invalid(err)
		}
		if err := recipe.Merge(structural, err); err != nil {
			return nil, invalid(err)
		}
	}
	p := &Pipeline{Recipe: r, stages: map[string]stages.Stage{}}
	lookup := &specLookup{ctx: ctx, names: opts.Catalog.Names(), specs: map[string]stages.Spec{}, stages: p.stages}
	var resolveErrs recipe.ErrorList
	failed := map[recipe.Pos]bool{}
	for _, sd := range r.Stages {
		if _, done := p.stages[sd.Uses]; done {
			continue
		}
		st, err := opts.Catalog.Stage(ctx, sd.Uses)
		if err != nil {
			if strings.HasPrefix(sd.Uses, "plugin:") {
				resolveErrs = append(resolveErrs, &recipe.Error{Pos: sd.UsesPos, Msg: err.Error()})
				failed[sd.UsesPos] = true
			}
			continue // an unknown built-in is reported by Validate with "did you mean"
		}
		p.stages[sd.Uses] = st
		lookup.specs[sd.Uses] = st.Spec()
	}
	verr := r.Validate(lookup)
	var list recipe.ErrorList
	if verr != nil {
		if !errors.As(verr, &list) {
			return nil, invalid(verr)
		}
	}
	for _, e := range list {
		if !failed[e.Pos] {
			resolveErrs = append(resolveErrs, e)
		}
	}
	for _, w := range r.Warnings() {
		opts.Logger.Warn(w.Error())
	}
	if err := recipe.Merge(structural, resolveErrs); err != nil {
		return nil, invalid(err)
	}
	insts, err := r.Instances()
	if err != nil {
		return nil, invalid(err)
	}
	if err := p.build(insts); err != nil {
		return nil, invalid(err)
	}
	if len(opts.Only) > 0 {
		if err := p.selectOnly(opts.Only); err != nil {
			return nil, invalid(err)
		}
	}
	return p, nil
}

func (p *Pipeline) build(insts []*recipe.Instance) error {
	p.Instances = insts
	p.Graph = dag.New()
	p.byID = map[string]*recipe.Instance{}
	p.byStage = map[string][]*recipe.Instance{}
	for _, in := range insts {
		if err := p.Graph.AddNode(in.ID); err != nil {
			return fmt.Errorf("build graph: %w", err)
		}
		p.byID[in.ID] = in
		p.byStage[in.Stage.ID] = append(p.byStage[in.Stage.ID], in)
	}
	for _, in := range insts {
		for _, dep := range in.Stage.Deps {
			for _, up := range upstream(in, dep, p.byStage[dep]) {
				if err := p.Graph.AddEdge(up.ID, in.ID); err != nil {
					return fmt.Errorf("build graph: %w", err)
				}
			}
		}
	}
	return nil
}

// upstream returns the instances of stage dep that in depends on: all of
// them, or only the one whose label is in's matrix value when every
// reference to dep reads stages.dep.outputs.X[matrix.K] (a matrix over
// models: one model's failure then skips only that model downstream).
func upstream(in *recipe.Instance, dep string, ups []*recipe.Instance) []*recipe.Instance {
	k := in.Stage.MatrixDeps[dep]
	if k == "" {
		return ups
	}
	label, ok := in.MatrixValue(k)
	if !ok {
		return ups
	}
	for _, up := range ups {
		if up.Label == label {
			return []*recipe.Instance{up}
		}
	}
	return ups
}

// selectOnly keeps the named stages or instances and their ancestors.
func (p *Pipeline) selectOnly(only []string) error {
	var targets []string
	var errs recipe.ErrorList
	for _, name := range only {
		switch {
		case p.byID[name] != nil:
			targets = append(targets, name)
		case len(p.byStage[name]) > 0:
			for _, in := range p.byStage[name] {
				targets = append(targets, in.ID)
			}
		default:
			ids := make([]string, 0, len(p.byStage))
			for id := range p.byStage {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			msg := fmt.Sprintf("--only %s: no such stage; stages: %s", name, strings.Join(ids, ", "))
			if near := stages.Nearest(name, ids); near != "" {
				msg = fmt.Sprintf("--only %s: no such stage (did you mean %q?); stages: %s", name, near, strings.Join(ids, ", "))
			}
			errs = append(errs, &recipe.Error{Pos: recipe.Pos{File: "--only"}, Msg: msg})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	g, err := p.Graph.Select(targets...)
	if err != nil {
		return fmt.Errorf("select --only: %w", err)
	}
	p.Graph = g
	var kept []*recipe.Instance
	for _, in := range p.Instances {
		if g.Has(in.ID) {
			kept = append(kept, in)
		}
	}
	p.Instances = kept
	return nil
}

// Stage returns the resolved stage of an instance.
func (p *Pipeline) Stage(in *recipe.Instance) stages.Stage { return p.stages[in.Stage.Uses] }

// Instance returns the instance with the given id.
func (p *Pipeline) Instance(id string) *recipe.Instance { return p.byID[id] }

type specLookup struct {
	ctx    context.Context // for plugin Validate calls during validation
	names  []string
	specs  map[string]stages.Spec
	stages map[string]stages.Stage
}

// CheckParams runs a stage's own parameter checks (cross-field rules, a
// plugin's Validate) during validation.
func (l *specLookup) CheckParams(uses string, params map[string]any) stages.ParamErrors {
	if c, ok := l.stages[uses].(stages.ParamChecker); ok {
		return c.CheckParams(l.ctx, params, true)
	}
	return nil
}

func (l *specLookup) Spec(uses string) (stages.Spec, bool) {
	s, ok := l.specs[uses]
	return s, ok
}

func (l *specLookup) Names() []string { return l.names }
