package selectstage

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Objective is what the selection optimizes.
type Objective struct {
	Metric string `json:"metric"`
	// Max is true for `max:`, false for `min:`.
	Max bool `json:"max"`
}

func (o Objective) String() string {
	if o.Max {
		return "max " + o.Metric
	}
	return "min " + o.Metric
}

// Constraint bounds one metric.
type Constraint struct {
	// Name is the constraint as written: max_accuracy_drop.
	Name   string `json:"name"`
	Metric string `json:"metric"`
	// Upper is true for an upper bound (value <= Limit).
	Upper bool    `json:"upper"`
	Limit float64 `json:"limit"`
}

// Problem is one selection to make.
type Problem struct {
	Candidates  []string // sorted
	Table       Table
	Objective   Objective
	Constraints []Constraint
	// Baseline is the candidate nobody may be slower than; "" for none.
	Baseline string
	// Latency is the latency metric; "" leaves out the speed rule and the
	// latency axis of the Pareto front.
	Latency     string
	AllowSlower bool
	// Fallback selects the baseline when no candidate qualifies.
	Fallback bool
	// Confidence > 0 judges speed against the baseline by the benchmark's
	// bootstrap (the table's p_faster and p_slower, where present): faster or
	// slower only when the speedup's interval at this level excludes 1.
	Confidence float64
}

// Verdict is what the selection found about one candidate.
type Verdict struct {
	Name       string             `json:"name"`
	Model      string             `json:"model,omitempty"`
	Metrics    map[string]float64 `json:"metrics"`
	Violations []string           `json:"violations,omitempty"`
	// Slower is set when the candidate is slower than the baseline.
	Slower bool `json:"slower_than_baseline"`
	// NotFaster is set on a speed objective when the candidate is not
	// significantly faster than the baseline, which then wins over it.
	NotFaster   bool     `json:"not_significantly_faster,omitempty"`
	Qualifies   bool     `json:"qualifies"`
	Pareto      bool     `json:"pareto"`
	DominatedBy []string `json:"dominated_by,omitempty"`
	Selected    bool     `json:"selected"`
	Reason      string   `json:"reason"`
}

// Selection is the outcome, also written as selection.json.
type Selection struct {
	Objective   Objective    `json:"objective"`
	Constraints []Constraint `json:"constraints"`
	Baseline    string       `json:"baseline,omitempty"`
	Latency     string       `json:"latency_metric,omitempty"`
	AllowSlower bool         `json:"allow_slower"`
	Confidence  float64      `json:"confidence,omitempty"`
	Selected    string       `json:"selected"`
	Value       float64      `json:"value"`
	// Fallback is true when no candidate qualified and the baseline was kept.
	Fallback bool `json:"fallback"`
	// ParetoAxes are the metrics the front is computed over; Pareto lists its
	// members, fastest first.
	ParetoAxes []string   `json:"pareto_axes"`
	Pareto     []string   `json:"pareto"`
	Candidates []*Verdict `json:"candidates"`
}

// NoCandidateError says that no candidate qualifies; it lists each one and what it broke.
type NoCandidateError struct {
	Verdicts []*Verdict
}

func (e *NoCandidateError) Error() string {
	var b strings.Builder
	b.WriteString("no candidate qualifies:")
	for _, v := range e.Verdicts {
		fmt.Fprintf(&b, "\n  %s: %s", v.Name, v.Reason)
	}
	b.WriteString("\n(fallback: baseline keeps the baseline instead)")
	return b.String()
}

// ErrNoCandidates is returned by Solve for a Problem without candidates.
var ErrNoCandidates = errors.New("no candidates")

// Solve makes the selection. Every candidate must have the objective metric;
// a missing constrained metric breaks the constraint.
func Solve(p Problem) (*Selection, error) {
	if len(p.Candidates) == 0 {
		return nil, ErrNoCandidates
	}
	s := &Selection{Objective: p.Objective, Constraints: p.Constraints, Baseline: p.Baseline, Latency: p.Latency,
		AllowSlower: p.AllowSlower, Confidence: p.Confidence, ParetoAxes: paretoAxes(p), Pareto: []string{}}
	if s.Constraints == nil {
		s.Constraints = []Constraint{}
	}
	byName := map[string]*Verdict{}
	metrics := p.Table.Metrics()
	for _, name := range p.Candidates {
		v := &Verdict{Name: name, Metrics: map[string]float64{}}
		for _, m := range metrics {
			if x, ok := p.Table.Get(m, name); ok {
				v.Metrics[m] = x
			}
		}
		judge(p, v)
		s.Candidates = append(s.Candidates, v)
		byName[name] = v
	}
	demoteNotFaster(p, byName)
	pareto(s.ParetoAxes, s.Candidates)
	for _, v := range s.Candidates {
		if v.Pareto {
			s.Pareto = append(s.Pareto, v.Name)
		}
	}
	if len(s.ParetoAxes) > 0 {
		first := s.ParetoAxes[0]
		slices.SortStableFunc(s.Pareto, func(a, b string) int {
			return cmpFloat(byName[a].Metrics[first], byName[b].Metrics[first])
		})
	}
	var best *Verdict
	for _, v := range s.Candidates {
		if v.Qualifies && (best == nil || better(p, s.ParetoAxes, v, best)) {
			best = v
		}
	}
	if best == nil {
		if !p.Fallback || byName[p.Baseline] == nil {
			for _, v := range s.Candidates {
				v.Reason = lossReason(p, v, nil, byName)
			}
			return s, &NoCandidateError{Verdicts: s.Candidates}
		}
		best, s.Fallback = byName[p.Baseline], true
	}
	best.Selected = true
	s.Selected, s.Value = best.Name, best.Metrics[p.Objective.Metric]
	for _, v := range s.Candidates {
		if v == best {
			v.Reason = winReason(p, s, v)
		} else {
			v.Reason = lossReason(p, v, best, byName)
		}
	}
	return s, nil
}

// judge applies the constraints and the speed rule.
func judge(p Problem, v *Verdict) {
	for _, c := range p.Constraints {
		x, ok := v.Metrics[c.Metric]
		switch {
		case !ok:
			v.Violations = append(v.Violations, fmt.Sprintf("%s: no %s measured", c.Name, c.Metric))
		case c.Upper && !(x <= c.Limit):
			v.Violations = append(v.Violations, fmt.Sprintf("%s %s > %s %s", c.Metric, Num(x), c.Name, Num(c.Limit)))
		case !c.Upper && !(x >= c.Limit):
			v.Violations = append(v.Violations, fmt.Sprintf("%s %s < %s %s", c.Metric, Num(x), c.Name, Num(c.Limit)))
		}
	}
	if p.Latency != "" && p.Baseline != "" && v.Name != p.Baseline {
		base, okB := p.Table.Get(p.Latency, p.Baseline)
		x, ok := v.Metrics[p.Latency]
		v.Slower = okB && ok && x > base
		if _, slower, known := significance(p, v.Name); known {
			v.Slower = okB && ok && slower
		}
		if okB && !ok && !p.AllowSlower {
			// Unknown speed cannot be shown not to be slower.
			v.Violations = append(v.Violations, fmt.Sprintf("no %s measured to compare with the baseline %s", p.Latency, p.Baseline))
		}
	}
	v.Qualifies = len(v.Violations) == 0 && (!v.Slower || p.AllowSlower)
}

// significance reports whether a candidate is significantly faster or
// slower than the baseline at p.Confidence; known is false without the
// benchmark's figures for it (or with Confidence 0). The benchmark's speedup
// interval is at 95%: at that level faster means the interval lies above 1
// (speedup_low > 1), which the value outputs carry too; at another level it
// means at least (1+confidence)/2 of the bootstrap resamples put the candidate
// ahead (p_faster, from the metrics file).
func significance(p Problem, name string) (faster, slower, known bool) {
	if p.Confidence <= 0 || p.Baseline == "" {
		return false, false, false
	}
	lo, okL := p.Table.Get("speedup_low", name)
	hi, okH := p.Table.Get("speedup_high", name)
	pf, okF := p.Table.Get("p_faster", name)
	ps, okS := p.Table.Get("p_slower", name)
	switch {
	case okL && okH && (math.Abs(p.Confidence-benchConfidence) < 1e-9 || !okF || !okS):
		return lo > 1, hi < 1, true
	case okF && okS:
		need := (1 + p.Confidence) / 2
		return pf >= need, ps >= need, true
	}
	return false, false, false
}

// benchConfidence is the level of the benchmark stage's speedup intervals.
const benchConfidence = 0.95

// speedObjective reports whether the objective measures speed, where noise
// can fake an advantage.
func speedObjective(metric string) bool {
	return IsLatency(metric) || metric == "throughput" || metric == "speedup"
}

// demoteNotFaster: on a speed objective, a candidate whose advantage over a
// qualifying baseline does not hold at the confidence level does not
// qualify, so the baseline is preferred to it.
func demoteNotFaster(p Problem, byName map[string]*Verdict) {
	base := byName[p.Baseline]
	if !speedObjective(p.Objective.Metric) || base == nil || !base.Qualifies {
		return
	}
	for name, v := range byName {
		if faster, _, known := significance(p, name); known && v != base && v.Qualifies && !faster {
			v.NotFaster, v.Qualifies = true, false
		}
	}
}

// better reports whether a beats b: the objective, then the Pareto axes in
// order (latency, size, accuracy), then the name, so ties are deterministic.
func better(p Problem, axes []string, a, b *Verdict) bool {
	if c := cmpFloat(a.Metrics[p.Objective.Metric], b.Metrics[p.Objective.Metric]); c != 0 {
		return (c > 0) == p.Objective.Max
	}
	for _, ax := range axes {
		if c := cmpDir(ax, a.Metrics[ax], b.Metrics[ax]); c != 0 {
			return c < 0
		}
	}
	return a.Name < b.Name
}

func winReason(p Problem, s *Selection, v *Verdict) string {
	obj := fmt.Sprintf("%s %s", p.Objective.Metric, Num(v.Metrics[p.Objective.Metric]))
	if s.Fallback {
		return fmt.Sprintf("selected as the fallback: no candidate qualified, so the baseline is kept (%s)", obj)
	}
	n := 0
	for _, c := range s.Candidates {
		if c.Qualifies {
			n++
		}
	}
	// rule(plural) says what qualifying means, with the verbs agreeing.
	rule := func(plural bool) string {
		meet, qualify, be := "meets", "qualifies", "is"
		if plural {
			meet, qualify, be = "meet", "qualify", "are"
		}
		r := meet + " every constraint"
		if len(p.Constraints) == 0 {
			r = qualify
		}
		if p.Latency != "" && p.Baseline != "" && !p.AllowSlower {
			r += " and " + be + " not slower than the baseline"
		}
		return r
	}
	word := "lowest"
	if p.Objective.Max {
		word = "highest"
	}
	if n == 1 {
		return fmt.Sprintf("selected: the only candidate that %s (%s)", rule(false), obj)
	}
	return fmt.Sprintf("selected: %s %s of the %d candidates that %s", word, obj, n, rule(true))
}

// lossReason says why v was not selected; best is nil when nobody was.
func lossReason(p Problem, v, best *Verdict, byName map[string]*Verdict) string {
	var why []string
	if len(v.Violations) > 0 {
		why = append(why, "constraint violated: "+strings.Join(v.Violations, "; "))
	}
	if v.Slower {
		lat := p.Latency
		s := fmt.Sprintf("slower than the baseline %s: %s %s > %s", p.Baseline, lat, Num(v.Metrics[lat]), Num(byName[p.Baseline].metric(p, lat)))
		if p.AllowSlower {
			s += " (allowed)"
		} else {
			s += " (allow_slower: true would accept it)"
		}
		if !p.AllowSlower || len(why) == 0 {
			why = append(why, s)
		}
	}
	if v.NotFaster {
		why = append(why, notFasterReason(p, v))
	}
	if len(why) > 0 && !v.Qualifies {
		return strings.Join(why, "; ")
	}
	if best == nil {
		return "qualifies" // not reached: Solve selects a qualifying candidate
	}
	for _, d := range v.DominatedBy {
		if byName[d].Qualifies {
			return fmt.Sprintf("dominated by %s (%s)", d, versus(byName[d], v, paretoAxes(p)))
		}
	}
	word := "higher"
	if p.Objective.Max {
		word = "lower"
	}
	m := p.Objective.Metric
	if v.Metrics[m] == best.Metrics[m] {
		return fmt.Sprintf("ties with %s on %s %s and loses the tie-break (latency, size, accuracy, then name)", best.Name, m, Num(v.Metrics[m]))
	}
	return fmt.Sprintf("%s %s than %s: %s vs %s", word, m, best.Name, Num(v.Metrics[m]), Num(best.Metrics[m]))
}

// notFasterReason: "not significantly faster than the baseline fp32: speedup
// 1.02x, 95% interval 0.97–1.06".
func notFasterReason(p Problem, v *Verdict) string {
	s := fmt.Sprintf("not significantly faster than the baseline %s at confidence %g", p.Baseline, p.Confidence)
	sp, ok1 := v.Metrics["speedup"]
	lo, ok2 := v.Metrics["speedup_low"]
	hi, ok3 := v.Metrics["speedup_high"]
	if ok1 && ok2 && ok3 {
		s += fmt.Sprintf(": speedup %.2fx (benchmark's 95%% interval %.2f–%.2f)", sp, lo, hi)
	}
	return s
}

// metric returns a verdict's figure, or the table's (for a baseline that is
// not a candidate).
func (v *Verdict) metric(p Problem, m string) float64 {
	if v == nil {
		x, _ := p.Table.Get(m, p.Baseline)
		return x
	}
	return v.Metrics[m]
}

// versus renders "p95_ms 1.2 vs 1.5, size_bytes 10 vs 40".
func versus(a, b *Verdict, metrics []string) string {
	parts := make([]string, 0, len(metrics))
	for _, m := range metrics {
		parts = append(parts, fmt.Sprintf("%s %s vs %s", m, Num(a.Metrics[m]), Num(b.Metrics[m])))
	}
	return strings.Join(parts, ", ")
}

// Num renders a figure compactly: whole numbers in full (sizes in bytes),
// others with 4 significant digits.
func Num(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
