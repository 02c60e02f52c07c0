package selectstage

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// fleet is a synthetic metrics table: fp32 is the baseline.
//
//	name          p95_ms  size_bytes  accuracy_drop  throughput
//	fp32          10      40          0              100
//	fp16          12      20          0              90     slower than fp32
//	int8-dynamic  8       10          0.02           120    breaks max_accuracy_drop 0.01
//	int8-static   6       10          0.005          160
//	int8-qdq      9       10          0.006          110    dominated by int8-static
func fleet() Table {
	t := Table{}
	for _, r := range []struct {
		name                   string
		p95, size, drop, thrpt float64
	}{
		{"fp32", 10, 40, 0, 100}, {"fp16", 12, 20, 0, 90}, {"int8-dynamic", 8, 10, 0.02, 120},
		{"int8-static", 6, 10, 0.005, 160}, {"int8-qdq", 9, 10, 0.006, 110},
	} {
		t.Set("p95_ms", r.name, r.p95)
		t.Set("size_bytes", r.name, r.size)
		t.Set("accuracy_drop", r.name, r.drop)
		t.Set("throughput", r.name, r.thrpt)
	}
	return t
}

func base(t Table) Problem {
	return Problem{Candidates: []string{"fp16", "fp32", "int8-dynamic", "int8-qdq", "int8-static"}, Table: t,
		Objective: Objective{Metric: "p95_ms"}, Baseline: "fp32", Latency: "p95_ms",
		Constraints: []Constraint{{Name: "max_accuracy_drop", Metric: "accuracy_drop", Upper: true, Limit: 0.01}}}
}

func TestSolve(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(p *Problem)
		selected string
		value    float64
		pareto   []string
		reasons  map[string]string // substrings expected in each candidate's reason
	}{
		{
			name:     "min latency under an accuracy constraint",
			selected: "int8-static", value: 6,
			pareto: []string{"int8-static", "fp32", "fp16"},
			reasons: map[string]string{
				"int8-static":  "selected: lowest p95_ms 6 of the 3 candidates that meet every constraint and are not slower than the baseline",
				"int8-dynamic": "constraint violated: accuracy_drop 0.02 > max_accuracy_drop 0.01",
				"fp16":         "slower than the baseline fp32: p95_ms 12 > 10 (allow_slower: true would accept it)",
				"int8-qdq":     "dominated by int8-static (p95_ms 6 vs 9, size_bytes 10 vs 10, accuracy_drop 0.005 vs 0.006)",
				"fp32":         "higher p95_ms than int8-static: 10 vs 6",
			},
		},
		{
			name:     "min size never picks a slower model",
			edit:     func(p *Problem) { p.Objective = Objective{Metric: "size_bytes"} },
			selected: "int8-static", value: 10,
			pareto: []string{"int8-static", "fp32", "fp16"},
			reasons: map[string]string{
				"int8-static": "selected: lowest size_bytes 10 of the 3 candidates",
				"int8-qdq":    "dominated by int8-static",
				"fp16":        "slower than the baseline fp32",
			},
		},
		{
			name: "min size with allow_slower",
			edit: func(p *Problem) {
				p.Objective = Objective{Metric: "size_bytes"}
				p.AllowSlower = true
				p.Table.Set("size_bytes", "fp16", 5)
			},
			selected: "fp16", value: 5,
			pareto: []string{"int8-static", "fp32", "fp16"},
			reasons: map[string]string{
				"fp16":        "selected: lowest size_bytes 5 of the 4 candidates that meet every constraint",
				"int8-static": "higher size_bytes than fp16: 10 vs 5",
			},
		},
		{
			name:     "max throughput",
			edit:     func(p *Problem) { p.Objective = Objective{Metric: "throughput", Max: true}; p.Constraints = nil },
			selected: "int8-static", value: 160,
			pareto: []string{"int8-static", "fp32", "fp16"},
			reasons: map[string]string{
				"int8-static":  "selected: highest throughput 160 of the 4 candidates that qualify and are not slower than the baseline",
				"int8-dynamic": "dominated by int8-static",
				"fp32":         "lower throughput than int8-static: 100 vs 160",
			},
		},
		{
			name: "a tie goes to the faster candidate",
			edit: func(p *Problem) {
				p.Objective = Objective{Metric: "size_bytes"}
				p.Constraints = nil
				p.Table.Set("accuracy_drop", "int8-dynamic", 0) // on the front, not dominated
			},
			selected: "int8-static", value: 10,
			pareto: []string{"int8-static", "int8-dynamic"},
			reasons: map[string]string{
				"int8-dynamic": "ties with int8-static on size_bytes 10 and loses the tie-break",
			},
		},
		{
			name: "fallback keeps the baseline",
			edit: func(p *Problem) {
				p.Constraints = append(p.Constraints, Constraint{Name: "min_throughput", Metric: "throughput", Limit: 500})
				p.Fallback = true
			},
			selected: "fp32", value: 10,
			pareto: []string{"int8-static", "fp32", "fp16"},
			reasons: map[string]string{
				"fp32":        "selected as the fallback: no candidate qualified, so the baseline is kept (p95_ms 10)",
				"int8-static": "constraint violated: throughput 160 < min_throughput 500",
			},
		},
		{
			name: "a candidate of unknown speed is not selected",
			edit: func(p *Problem) {
				p.Objective = Objective{Metric: "size_bytes"}
				delete(p.Table["p95_ms"], "int8-static")
			},
			selected: "int8-qdq", value: 10,
			pareto: []string{"int8-dynamic", "int8-qdq", "fp32", "fp16"},
			reasons: map[string]string{
				"int8-static": "constraint violated: no p95_ms measured to compare with the baseline fp32",
			},
		},
		{
			name: "a missing constrained metric breaks the constraint",
			edit: func(p *Problem) {
				delete(p.Table["accuracy_drop"], "int8-static")
			},
			selected: "int8-qdq", value: 9,
			pareto: []string{"int8-dynamic", "int8-qdq", "fp32", "fp16"},
			reasons: map[string]string{
				"int8-static": "constraint violated: max_accuracy_drop: no accuracy_drop measured",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base(fleet())
			if tt.edit != nil {
				tt.edit(&p)
			}
			s, err := Solve(p)
			if err != nil {
				t.Fatalf("Solve: %v", err)
			}
			if s.Selected != tt.selected || s.Value != tt.value {
				t.Errorf("selected %s (%v), want %s (%v)", s.Selected, s.Value, tt.selected, tt.value)
			}
			if !reflect.DeepEqual(s.Pareto, tt.pareto) {
				t.Errorf("pareto %v, want %v", s.Pareto, tt.pareto)
			}
			for _, v := range s.Candidates {
				if want, ok := tt.reasons[v.Name]; ok && !strings.Contains(v.Reason, want) {
					t.Errorf("%s: reason %q, want it to contain %q", v.Name, v.Reason, want)
				}
				if v.Selected != (v.Name == tt.selected) {
					t.Errorf("%s: Selected = %v", v.Name, v.Selected)
				}
			}
		})
	}
}

func TestSolveNoCandidate(t *testing.T) {
	p := base(fleet())
	p.Constraints = append(p.Constraints, Constraint{Name: "min_throughput", Metric: "throughput", Limit: 150})
	p.Table.Set("accuracy_drop", "int8-static", 0.03)
	_, err := Solve(p)
	var nc *NoCandidateError
	if !errors.As(err, &nc) {
		t.Fatalf("err = %v, want a *NoCandidateError", err)
	}
	want := `no candidate qualifies:
  fp16: constraint violated: throughput 90 < min_throughput 150; slower than the baseline fp32: p95_ms 12 > 10 (allow_slower: true would accept it)
  fp32: constraint violated: throughput 100 < min_throughput 150
  int8-dynamic: constraint violated: accuracy_drop 0.02 > max_accuracy_drop 0.01; throughput 120 < min_throughput 150
  int8-qdq: constraint violated: throughput 110 < min_throughput 150
  int8-static: constraint violated: accuracy_drop 0.03 > max_accuracy_drop 0.01
(fallback: baseline keeps the baseline instead)`
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}
}

// TestPareto checks the front against a brute-force reading of the definition
// on a two-axis grid with duplicates and ties.
func TestPareto(t *testing.T) {
	pts := map[string][2]float64{
		"a": {1, 9}, "b": {2, 5}, "c": {3, 5}, "d": {2, 5}, "e": {5, 1}, "f": {6, 1}, "g": {4, 4}, "h": {4, 6},
	}
	var vs []*Verdict
	for _, n := range sortedKeys(pts) {
		vs = append(vs, &Verdict{Name: n, Metrics: map[string]float64{"p95_ms": pts[n][0], "accuracy": -pts[n][1]}})
	}
	pareto([]string{"p95_ms", "accuracy"}, vs)
	// accuracy is better higher, so -y: lower y is worse. Front over (x low, -y high) == (x low, y low).
	var got []string
	for _, v := range vs {
		if v.Pareto {
			got = append(got, v.Name)
		}
	}
	// (x, y) minimizing both: a(1,9) b(2,5) d(2,5) g(4,4) e(5,1); c,f,h dominated.
	if want := []string{"a", "b", "d", "e", "g"}; !reflect.DeepEqual(got, want) {
		t.Errorf("front %v, want %v", got, want)
	}
	for _, v := range vs {
		if v.Name == "c" && !reflect.DeepEqual(v.DominatedBy, []string{"b", "d"}) {
			t.Errorf("c dominated by %v, want [b d]", v.DominatedBy)
		}
	}
}

func TestFront(t *testing.T) {
	got := Front(fleet(), []string{"fp16", "fp32", "int8-dynamic", "int8-qdq", "int8-static"}, []string{"p95_ms", "size_bytes", "accuracy_drop"})
	if want := []string{"fp16", "fp32", "int8-static"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Front = %v, want %v", got, want)
	}
}

func BenchmarkSolve(b *testing.B) {
	t := Table{}
	var names []string
	for i := range 200 {
		n := fmt.Sprintf("m%03d", i)
		names = append(names, n)
		t.Set("p95_ms", n, float64((i*37)%101)+1)
		t.Set("size_bytes", n, float64((i*53)%89)+1)
		t.Set("accuracy_drop", n, float64((i*71)%97)/1000)
	}
	p := Problem{Candidates: names, Table: t, Objective: Objective{Metric: "p95_ms"}, Baseline: "m000", Latency: "p95_ms",
		Constraints: []Constraint{{Name: "max_accuracy_drop", Metric: "accuracy_drop", Upper: true, Limit: 0.05}}}
	for b.Loop() {
		if _, err := Solve(p); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSolveConfidence: with the benchmark's bootstrap shares, a candidate that
// only looks faster (p_faster below (1+confidence)/2) loses to the baseline on
// a speed objective, and one that only looks slower is not called slower.
func TestSolveConfidence(t *testing.T) {
	tb := fleet()
	for name, pf := range map[string]float64{"fp32": 0, "fp16": 0.2, "int8-dynamic": 1, "int8-static": 0.9, "int8-qdq": 0.99} {
		tb.Set("p_faster", name, pf)
		tb.Set("p_slower", name, 1-pf)
		tb.Set("speedup", name, 1.1)
		lo := 0.95
		if pf >= 0.975 {
			lo = 1.02
		}
		tb.Set("speedup_low", name, lo)
		tb.Set("speedup_high", name, 1.3)
	}
	p := base(tb)
	p.Confidence = 0.95
	s, err := Solve(p)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, v := range s.Candidates {
		reasons[v.Name] = v.Reason
	}
	if s.Selected != "int8-qdq" {
		t.Errorf("selected %s, want int8-qdq (the only one significantly faster within the constraint); reasons %v", s.Selected, reasons)
	}
	if want := "not significantly faster than the baseline fp32 at confidence 0.95: speedup 1.10x (benchmark's 95% interval 0.95–1.30)"; reasons["int8-static"] != want {
		t.Errorf("int8-static: %q, want %q", reasons["int8-static"], want)
	}
	if strings.Contains(reasons["fp16"], "slower than the baseline fp32: p95") {
		t.Errorf("fp16 is not significantly slower (p_slower 0.8) yet: %q", reasons["fp16"])
	}
	// At confidence 0.8 int8-static's 0.9 share is enough.
	p.Confidence = 0.8
	if s, err := Solve(p); err != nil || s.Selected != "int8-static" {
		t.Errorf("confidence 0.8: selected %v (%v), want int8-static", s.Selected, err)
	}
	// Value outputs carry the 95% interval but no shares: the same verdict.
	for _, m := range []string{"p_faster", "p_slower"} {
		delete(p.Table, m)
	}
	p.Confidence = 0.95
	if s, err := Solve(p); err != nil || s.Selected != "int8-qdq" {
		t.Errorf("intervals only: selected %v (%v), want int8-qdq", s.Selected, err)
	}
	// Without shares (hand-given metrics) the figures decide as before.
	p.Table, p.Confidence = fleet(), 0.95
	if s, err := Solve(p); err != nil || s.Selected != "int8-static" {
		t.Errorf("no shares: selected %v (%v), want int8-static", s.Selected, err)
	}
}
