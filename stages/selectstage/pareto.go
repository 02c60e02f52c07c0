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
// Values are copied into slices, oriented so that lower is better, once:
// the pairwise loop is O(n²) and map lookups inside it dominated the cost.
func pareto(axes []string, vs []*Verdict) {
	if len(axes) == 0 {
		return
	}
	vals := make([][]float64, len(vs))
	for i, v := range vs {
		row := make([]float64, len(axes))
		for k, ax := range axes {
			x, ok := v.Metrics[ax]
			if !ok {
				row = nil
				break
			}
			if HigherIsBetter(ax) {
				x = -x
			}
			row[k] = x
		}
		vals[i] = row
	}
	for i, v := range vs {
		if vals[i] == nil {
			continue
		}
		for j, o := range vs {
			if j != i && vals[j] != nil && dominates(vals[j], vals[i]) {
				v.DominatedBy = append(v.DominatedBy, o.Name)
			}
		}
		v.Pareto = len(v.DominatedBy) == 0
	}
}

// dominates reports whether a is at least as good as b on every axis and
// better on one (lower is better).
func dominates(a, b []float64) bool {
	strict := false
	for k := range a {
		switch {
		case a[k] > b[k]:
			return false
		case a[k] < b[k]:
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
