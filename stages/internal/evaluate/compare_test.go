package evaluate

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/runtime"
)

func outputs(ts ...*runtime.Tensor) *Outputs {
	o := &Outputs{Tensors: map[string]*runtime.Tensor{}}
	for _, t := range ts {
		o.Names = append(o.Names, t.Name)
		o.Tensors[t.Name] = t
		o.N = t.Shape[0]
	}
	return o
}

func f32(name string, shape []int64, v ...float32) *runtime.Tensor {
	return &runtime.Tensor{Name: name, DType: "float32", Shape: shape, Data: v}
}

func TestCompareMetrics(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	ref := outputs(
		f32("logits", []int64{2, 3}, 1, 2, 3, 3, 2, 1),
		f32("aux", []int64{2}, 0, 1),
		f32("only_ref", []int64{2}, 0, 0),
	)
	cand := outputs(
		f32("logits", []int64{2, 3}, 1, 2, 2.5, 3, 2, 4), // row 2's argmax moves to 2
		f32("aux", []int64{2}, nan, inf),
	)
	c := Compare(ref, cand, []int64{2, 0})
	if c.Outputs[0].Name != "aux" || c.Outputs[1].Name != "logits" || c.Outputs[2].Name != "only_ref" {
		t.Fatalf("outputs not sorted: %+v", c.Outputs)
	}
	l := c.Output("logits")
	checks := []struct {
		name      string
		got, want float64
	}{
		{"max abs", l.MaxAbsError, 3},
		{"mean abs", l.MeanAbsError, 3.5 / 6},
		{"max rel", l.MaxRelError, 3.0 / 3}, // max |diff| / max |ref|
		{"mean rel", l.MeanRelError, 3.5 / 6 / 3},
		{"cosine", l.Cosine, (1 + 4 + 7.5 + 9 + 4 + 4) / (math.Sqrt(28) * math.Sqrt(1+4+6.25+9+4+16))},
		{"top1", *l.Top1Agreement, 0.5},
		{"ref acc", *l.RefAccuracy, 1},
		{"cand acc", *l.CandAccuracy, 0.5},
		{"drop", *l.AccuracyDrop, 0.5},
	}
	for _, ck := range checks {
		if math.Abs(ck.got-ck.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	a := c.Output("aux")
	if a.CandNaN != 1 || a.CandInf != 1 || a.RefNaN != 0 || a.MaxAbsError != 0 || a.Top1Agreement != nil {
		t.Errorf("aux: %+v", a)
	}
	if c.Output("only_ref").Problem != "missing from the candidate" {
		t.Errorf("only_ref: %+v", c.Output("only_ref"))
	}
	if _, err := json.Marshal(c); err != nil {
		t.Errorf("not JSON-friendly: %v", err)
	}
	// Near the reference's zeros the relative error stays relative to the
	// output's scale, not to the element.
	z := Compare(outputs(f32("y", []int64{2}, 0, 10)), outputs(f32("y", []int64{2}, 0.1, 10)), nil)
	if got := z.Output("y").MaxRelError; math.Abs(got-0.01) > 1e-6 {
		t.Errorf("max rel error with a zero reference element = %v, want 0.01", got)
	}
	if got := RelError(0.5, 0); got != 0.5/RelEpsilon {
		t.Errorf("RelError on an all-zero reference = %v", got)
	}
	// Element 5 (ref 1, off by 3) is below the output's RMS, sqrt(28/6):
	// its tolerance is 0.1 + 0.1*RMS, not 0.1 + 0.1*1.
	cl := AllClose(ref.Tensors["logits"], cand.Tensors["logits"], 0.1, 0.1)
	if rms := math.Sqrt(28.0 / 6); cl.Exceeding != 2 || cl.WorstIndex != 5 || math.Abs(cl.Worst-3/(0.1+0.1*rms)) > 1e-9 || math.Abs(cl.RMS-rms) > 1e-9 {
		t.Errorf("AllClose = %+v", cl)
	}
	if cl := AllClose(ref.Tensors["aux"], cand.Tensors["aux"], 1, 1); cl.Exceeding != 2 {
		t.Errorf("AllClose with NaN/Inf = %+v", cl)
	}
}

// TestCompareDigitsSelf compares the real digits CNN with itself: zero error, full
// agreement, no accuracy drop.
func TestCompareDigitsSelf(t *testing.T) {
	testenv.RequireORT(t)
	d, err := LoadData(testenv.Example(t, "data/digits_test.npz"))
	if err != nil {
		t.Fatal(err)
	}
	model := testenv.Example(t, "models/digits_cnn.onnx")
	a, err := Run(context.Background(), model, d, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(context.Background(), model, d, Options{Threads: 1, Batch: 50})
	if err != nil {
		t.Fatal(err)
	}
	l := Compare(a, b, d.Labels).Output("logits")
	if l.MaxAbsError > 1e-5 || l.Cosine < 1-1e-9 || *l.Top1Agreement != 1 || *l.AccuracyDrop != 0 {
		t.Errorf("self comparison: %+v", l)
	}
}

// TestCompareNoFiniteElementFails is issue 11's verification that passed on NaN
// everywhere (cand_nan 2000, cosine 1, agreement 1): an output with no element
// finite in both models is a Problem, which every verification fails on.
func TestCompareNoFiniteElementFails(t *testing.T) {
	nan := float32(math.NaN())
	all := make([]float32, 2000)
	for i := range all {
		all[i] = nan
	}
	ref := outputs(f32("y", []int64{200, 10}, all...), f32("ok", []int64{1}, 1))
	cand := outputs(f32("y", []int64{200, 10}, all...), f32("ok", []int64{1}, 1))
	c := Compare(ref, cand, nil)
	y := c.Output("y")
	if y.Problem == "" || y.Cosine != 0 || y.Top1Agreement != nil || y.CandNaN != 2000 || y.RefNaN != 2000 {
		t.Fatalf("all-NaN output: %+v", y)
	}
	want := "no element is finite in both models (reference 2000 NaN and 0 Inf, candidate 2000 NaN and 0 Inf, of 2000)"
	if !strings.HasPrefix(y.Problem, want) {
		t.Errorf("problem = %q, want prefix %q", y.Problem, want)
	}
	if c.Output("ok").Problem != "" {
		t.Errorf("finite output: %+v", c.Output("ok"))
	}
}

// TestRelErrorOnTinyOutputs: a reference whose outputs are all tiny (the
// logits of a random-weight network, ~1e-14) gives a candidate that is off
// by as much as the outputs themselves a relative error near 1, not near 0;
// an all-zero reference gives any error a huge (finite) one.
func TestRelErrorOnTinyOutputs(t *testing.T) {
	ref := outputs(f32("y", []int64{1, 3}, 1e-14, -2e-14, 3e-14), f32("z", []int64{1, 2}, 0, 0))
	cand := outputs(f32("y", []int64{1, 3}, 4e-14, -2e-14, 0), f32("z", []int64{1, 2}, 1e-7, 0))
	c := Compare(ref, cand, nil)
	if got := c.Output("y").MaxRelError; math.Abs(got-1) > 1e-6 {
		t.Errorf("tiny outputs off by their own size: max_rel_error %v, want 1", got)
	}
	if got := c.Output("z").MaxRelError; got < 1e30 || math.IsInf(got, 0) {
		t.Errorf("all-zero reference, error 1e-7: max_rel_error %v, want huge and finite", got)
	}
	if _, err := json.Marshal(c); err != nil {
		t.Errorf("comparison is not valid JSON: %v", err)
	}
}
