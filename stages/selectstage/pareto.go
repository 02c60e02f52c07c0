package selectstage

import (
	"slices"
	"strings"
)

// higherIsBetter lists the metrics where more is better; every other metric
// (latencies, sizes, errors, accuracy drop) is better lower.
var higherIsBetter = []string{"throughput", "speedup", "accuracy", "cosine", "top1_agreement", "passed", "reference_accuracy"}

// HigherIsBetter reports whether a larger value of metric is better.
func HigherIsBetter(metric string) bool { return slices.Contains(higherIsBetter, metric) }

// cmpDir compares two values of metric by quality: -1 when a is better.
func cmpDir(metric string, a, b float64) int {
	c := cmpFloat(a, b)
	if HigherIsBetter(metric) {
		return -c
	}
	return c
}

// paretoAxes picks the front's metrics: the latency metric, the size and the
// accuracy (the drop when measured, else the accuracy itself), each where the
// table has it.
func paretoAxes(p Problem) []string {
	var axes []string
	add := func(options ...string) {
		for _, m := range options {
			if len(p.Table[m]) > 0 {
				axes = append(axes, m)
				return
			}
		}
	}
	if p.Latency != "" {
		add(p.Latency)
	}
	add("size_bytes", "size_ratio")
	add("accuracy_drop", "accuracy")
	return axes
}

// pareto marks the candidates no other candidate dominates, and records who
// dominates the rest. Candidates missing an axis are left off the front.
func pareto(axes []string, vs []*Verdict) {
	if len(axes) == 0 {
		return
	}
	complete := func(v *Verdict) bool {
		for _, ax := range axes {
			if _, ok := v.Metrics[ax]; !ok {
				return false
			}
		}
		return true
	}
	for _, v := range vs {
		if !complete(v) {
			continue
		}
		for _, o := range vs {
			if o != v && complete(o) && dominates(axes, o, v) {
				v.DominatedBy = append(v.DominatedBy, o.Name)
			}
		}
		v.Pareto = len(v.DominatedBy) == 0
	}
}

// dominates reports whether a is at least as good as b on every axis and
// better on one.
func dominates(axes []string, a, b *Verdict) bool {
	strict := false
	for _, ax := range axes {
		switch cmpDir(ax, a.Metrics[ax], b.Metrics[ax]) {
		case 1:
			return false
		case -1:
			strict = true
		}
	}
	return strict
}

// IsLatency reports whether metric is a latency figure (p95_ms, mean_ms, ...).
func IsLatency(metric string) bool {
	return strings.HasSuffix(metric, "_ms") && metric != "load_ms"
}

// Front returns the names in names that are Pareto-optimal over axes in t,
// leaving out names missing an axis; the report stage draws it when there is
// no selection.
func Front(t Table, names, axes []string) []string {
	vs := make([]*Verdict, 0, len(names))
	for _, n := range names {
		v := &Verdict{Name: n, Metrics: map[string]float64{}}
		for _, ax := range axes {
			if x, ok := t.Get(ax, n); ok {
				v.Metrics[ax] = x
			}
		}
		vs = append(vs, v)
	}
	pareto(axes, vs)
	var out []string
	for _, v := range vs {
		if v.Pareto {
			out = append(out, v.Name)
		}
	}
	return out
}
