package selectstage

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// aliases are metric names the objective and constraints accept besides the
// stages' own output names.
var aliases = map[string]string{"size": "size_bytes", "latency": "p95_ms"}

// referenceFigures are what the baseline scores against itself when it is the
// comparison's reference and so has no row of its own there.
var referenceFigures = map[string]float64{"accuracy_drop": 0, "max_abs_error": 0, "max_rel_error": 0, "cosine": 1, "top1_agreement": 1, "passed": 1}

// problem checks every parameter against the metrics and builds the Problem;
// it returns the flattened models too.
func problem(in *stages.Input) (*Problem, map[string]string, error) {
	var prm Params
	if err := in.Decode(&prm); err != nil {
		return nil, nil, err
	}
	obj := prm.Objective.objective()
	models, err := evaluate.FlattenModels("models", prm.Models)
	if err != nil {
		return nil, nil, err
	}
	table, benchBaseline, refAcc, err := gather(&prm)
	if err != nil {
		return nil, nil, err
	}
	p := &Problem{Candidates: sortedKeys(models), Table: table, AllowSlower: prm.AllowSlower,
		Fallback: prm.Fallback == "baseline", Baseline: prm.Baseline, Confidence: prm.Confidence}
	if p.Baseline == "" {
		p.Baseline = benchBaseline
	}
	if p.Baseline != "" {
		if err := knownName("baseline", p.Baseline, p.Candidates, table); err != nil {
			return nil, nil, err
		}
		fillReference(table, p.Baseline, refAcc)
	}
	where := "objective.min"
	if obj.Max {
		where = "objective.max"
	}
	if obj.Metric, err = metricName(where, obj.Metric, table); err != nil {
		return nil, nil, err
	}
	p.Objective = obj
	for _, name := range p.Candidates {
		if _, ok := table.Get(obj.Metric, name); !ok {
			return nil, nil, fmt.Errorf("%s: candidate %q (models.%s) has no %s; the metrics name %s", where, name, name, obj.Metric, strings.Join(slices.Sorted(mapKeys(table[obj.Metric])), ", "))
		}
	}
	if p.Constraints, err = constraints(prm.Constraints, table); err != nil {
		return nil, nil, err
	}
	if err := latency(prm.Latency, p); err != nil {
		return nil, nil, err
	}
	if p.Fallback && !slices.Contains(p.Candidates, p.Baseline) {
		return nil, nil, fmt.Errorf("fallback: baseline needs the baseline %q among the models (%s)", p.Baseline, strings.Join(p.Candidates, ", "))
	}
	return p, models, nil
}

// knownName checks that a name is a model or has figures.
func knownName(where, name string, models []string, t Table) error {
	names := slices.Clone(models)
	for _, byName := range t {
		for n := range byName {
			if n == name {
				return nil
			}
			names = append(names, n)
		}
	}
	if slices.Contains(models, name) {
		return nil
	}
	slices.Sort(names)
	names = slices.Compact(names)
	msg := fmt.Sprintf("%s: %q is neither a model nor in the metrics", where, name)
	if near := stages.Nearest(name, names); near != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", near)
	}
	return fmt.Errorf("%s; names: %s", msg, strings.Join(names, ", "))
}

// objective gives the Objective the parameter names (Check made sure it
// names exactly one).
func (o ObjectiveParam) objective() Objective {
	if o.Max != "" {
		return Objective{Metric: o.Max, Max: true}
	}
	return Objective{Metric: o.Min}
}

// metricName resolves an alias and checks that the metric has figures.
func metricName(where, name string, t Table) (string, error) {
	if a, ok := aliases[name]; ok && len(t[name]) == 0 {
		name = a
	}
	if len(t[name]) > 0 {
		return name, nil
	}
	known := t.Metrics()
	msg := fmt.Sprintf("%s: no metric %q", where, name)
	if near := stages.Nearest(name, append(known, sortedKeys(aliases)...)); near != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", near)
	}
	if len(known) == 0 {
		return "", fmt.Errorf("%s; no metrics are given: set benchmark, comparison or metrics", msg)
	}
	return "", fmt.Errorf("%s; the metrics given are %s", msg, strings.Join(known, ", "))
}

// constraints parses `max_METRIC: limit` and `min_METRIC: limit`; a metric
// whose own name starts with max_ (max_rel_error) is an upper bound as is.
func constraints(m map[string]float64, t Table) ([]Constraint, error) {
	var out []Constraint
	for _, key := range sortedKeys(m) {
		c := Constraint{Name: key, Limit: m[key]}
		switch {
		case strings.HasPrefix(key, "max_") && len(t[key]) > 0:
			c.Metric, c.Upper = key, true
		case strings.HasPrefix(key, "max_"):
			c.Metric, c.Upper = key[len("max_"):], true
		case strings.HasPrefix(key, "min_"):
			c.Metric = key[len("min_"):]
		}
		name, err := metricName("constraints."+key, c.Metric, t)
		if err != nil {
			return nil, err
		}
		c.Metric = name
		out = append(out, c)
	}
	return out, nil
}

// latency picks the latency metric and checks the baseline can be judged.
func latency(given string, p *Problem) error {
	switch {
	case given != "":
		name, err := metricName("latency", given, p.Table)
		if err != nil {
			return err
		}
		p.Latency = name
	case IsLatency(p.Objective.Metric):
		p.Latency = p.Objective.Metric
	default:
		for _, m := range []string{"p95_ms", "mean_ms", "p50_ms"} {
			if len(p.Table[m]) > 0 {
				p.Latency = m
				break
			}
		}
	}
	if p.AllowSlower {
		return nil
	}
	switch {
	case p.Latency == "":
		return fmt.Errorf("allow_slower: false needs a latency metric to compare with the baseline (p95_ms, mean_ms or p50_ms): set benchmark or metrics.p95_ms, or allow_slower: true")
	case p.Baseline == "":
		return fmt.Errorf("baseline: name the candidate nobody may be slower than (baseline: ${{ stages.bench.outputs.baseline }}), or set allow_slower: true")
	}
	if _, ok := p.Table.Get(p.Latency, p.Baseline); !ok {
		return fmt.Errorf("baseline: %q has no %s to compare the candidates' speed with", p.Baseline, p.Latency)
	}
	return nil
}

// fillReference gives the baseline the figures of a perfect comparison where
// it has none: it is the comparison's reference.
func fillReference(t Table, baseline string, refAcc *float64) {
	for m, v := range referenceFigures {
		if len(t[m]) > 0 {
			if _, ok := t.Get(m, baseline); !ok {
				t.Set(m, baseline, v)
			}
		}
	}
	if refAcc != nil && len(t["accuracy"]) > 0 {
		if _, ok := t.Get("accuracy", baseline); !ok {
			t.Set("accuracy", baseline, *refAcc)
		}
	}
}

// gather reads the benchmark and comparison files and merges the metrics
// maps over them. It returns the benchmark's baseline and the reference's
// accuracy when known.
func gather(p *Params) (Table, string, *float64, error) {
	t := Table{}
	var baseline string
	var refAcc *float64
	if p.Benchmark != "" {
		b, err := ReadBenchmark(p.Benchmark)
		if err != nil {
			return nil, "", nil, fmt.Errorf("benchmark: %w", err)
		}
		bt, err := b.Table(p.Batch)
		if err != nil {
			return nil, "", nil, fmt.Errorf("batch: %w", err)
		}
		t.Merge(bt)
		baseline = b.Baseline
	}
	if p.Comparison != "" {
		c, err := ReadComparison(p.Comparison)
		if err != nil {
			return nil, "", nil, fmt.Errorf("comparison: %w", err)
		}
		t.Merge(c.Table())
		refAcc = c.ReferenceAccuracy
	}
	given := p.Metrics
	for _, metric := range sortedKeys(given) {
		m, ok := given[metric].(map[string]any)
		if !ok {
			return nil, "", nil, fmt.Errorf("metrics.%s: expected a map candidate -> number (an output such as ${{ stages.bench.outputs.p95_ms }}), got %s", metric, describe(given[metric]))
		}
		if a, ok := aliases[metric]; ok {
			metric = a
		}
		delete(t, metric) // the map replaces the file's figures for this metric
		for _, name := range sortedKeys(m) {
			x, ok := number(m[name])
			if !ok {
				return nil, "", nil, fmt.Errorf("metrics.%s.%s: expected a number, got %s", metric, name, describe(m[name]))
			}
			t.Set(metric, name, x)
		}
	}
	return t, baseline, refAcc, nil
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", x)
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	}
	return fmt.Sprintf("%v", v)
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
