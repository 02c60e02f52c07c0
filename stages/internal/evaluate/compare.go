package evaluate

import (
	"fmt"
	"math"
	"slices"

	"github.com/sentinelzer0/szrun/runtime"
)

// RelEpsilon floors the reference's scale in RelError, so an all-zero
// reference output gives a finite (huge) relative error. It is the smallest
// positive float32, not a "small" number such as 1e-6: a model whose outputs
// are all tiny (random-weight networks give logits near 1e-14) would
// otherwise read as a relative error near 0 whatever the candidate does.
const RelEpsilon = math.SmallestNonzeroFloat32

// RelErrorDoc is szrun's one definition of relative error, shown in
// docs/stages.md; compare, quantize and select all use RelError.
const RelErrorDoc = "**Relative error** (`max_rel_error`, `mean_rel_error`, quantize's `accuracy.max_rel_error`), " +
	"for one output: the largest (mean) |candidate − reference| over its finite elements divided by the " +
	"reference output's scale, max |reference| (an all-zero reference counts as the smallest positive float32, so any error on it is huge); over several outputs, the largest. " +
	"0.01 means the worst element is off by 1% of the output's range. It is not the element-wise " +
	"|c−r|/|r|, which explodes near the reference's zeros and says nothing about the model."

// RelError returns an absolute error as a share of the reference output's
// scale (max |ref|): see RelErrorDoc.
func RelError(absErr, refScale float64) float64 {
	return absErr / max(refScale, RelEpsilon)
}

// Comparison compares a candidate model's outputs with a reference's.
type Comparison struct {
	// Samples is the number of samples compared.
	Samples int64 `json:"samples"`
	// Outputs holds one entry per output name of either model, sorted by name.
	Outputs []OutputComparison `json:"outputs"`
}

// OutputComparison holds the metrics of one output. Errors are computed over the
// element pairs where both values are finite; NaN and Inf are counted instead,
// so every field stays valid JSON.
type OutputComparison struct {
	Name  string  `json:"name"`
	DType string  `json:"dtype,omitempty"`
	Shape []int64 `json:"shape,omitempty"`
	// Problem says why the output could not be compared (missing from one model,
	// shapes differ, no element finite in both); the metrics are then zero, the
	// NaN and Inf counts aside. Every verification fails on it.
	Problem string `json:"problem,omitempty"`

	Elements     int64   `json:"elements"`
	MaxAbsError  float64 `json:"max_abs_error"`
	MeanAbsError float64 `json:"mean_abs_error"`
	// MaxRelError and MeanRelError are MaxAbsError and MeanAbsError
	// relative to the reference's scale (RelError).
	MaxRelError  float64 `json:"max_rel_error"`
	MeanRelError float64 `json:"mean_rel_error"`
	// Cosine is the cosine similarity of the flattened outputs (1 when both are 0).
	Cosine  float64 `json:"cosine"`
	RefNaN  int64   `json:"ref_nan"`
	RefInf  int64   `json:"ref_inf"`
	CandNaN int64   `json:"cand_nan"`
	CandInf int64   `json:"cand_inf"`
	// Top1Agreement is the share of rows whose argmax along the last axis agrees;
	// set for float outputs of rank 2 or more.
	Top1Agreement *float64 `json:"top1_agreement,omitempty"`
	// RefAccuracy and CandAccuracy are the shares of samples whose argmax equals the
	// label, and AccuracyDrop is RefAccuracy - CandAccuracy (0.01 = one percentage
	// point); set with labels for float [N, C] outputs.
	RefAccuracy  *float64 `json:"ref_accuracy,omitempty"`
	CandAccuracy *float64 `json:"cand_accuracy,omitempty"`
	AccuracyDrop *float64 `json:"accuracy_drop,omitempty"`
}

// Output returns the comparison of the named output, or nil.
func (c *Comparison) Output(name string) *OutputComparison {
	for i := range c.Outputs {
		if c.Outputs[i].Name == name {
			return &c.Outputs[i]
		}
	}
	return nil
}

// Compare computes per-output metrics of cand against ref. labels may be nil.
func Compare(ref, cand *Outputs, labels []int64) *Comparison {
	names := append(slices.Clone(ref.Names), cand.Names...)
	slices.Sort(names)
	names = slices.Compact(names)
	c := &Comparison{Samples: ref.N, Outputs: make([]OutputComparison, 0, len(names))}
	for _, name := range names {
		c.Outputs = append(c.Outputs, compareOutput(name, ref.Tensors[name], cand.Tensors[name], labels))
	}
	return c
}

func compareOutput(name string, r, k *runtime.Tensor, labels []int64) OutputComparison {
	oc := OutputComparison{Name: name}
	switch {
	case r == nil:
		oc.Problem = "missing from the reference"
		return oc
	case k == nil:
		oc.Problem = "missing from the candidate"
		return oc
	}
	oc.DType, oc.Shape = r.DType, slices.Clone(r.Shape)
	if !slices.Equal(r.Shape, k.Shape) {
		oc.Problem = fmt.Sprintf("shapes differ: reference %s %s, candidate %s %s",
			r.DType, runtime.FormatShape(r.Shape), k.DType, runtime.FormatShape(k.Shape))
		return oc
	}
	a, b := Float64s(r), Float64s(k)
	if a == nil || b == nil {
		oc.Problem = fmt.Sprintf("cannot compare %s with %s", r.DType, k.DType)
		return oc
	}
	oc.Elements = int64(len(a))
	var sumAbs, refScale, dot, na, nb float64
	var finite int64
	for i := range a {
		x, y := a[i], b[i]
		countNonFinite(x, &oc.RefNaN, &oc.RefInf)
		countNonFinite(y, &oc.CandNaN, &oc.CandInf)
		if !isFinite(x) || !isFinite(y) {
			continue
		}
		finite++
		d := math.Abs(x - y)
		sumAbs += d
		refScale = max(refScale, math.Abs(x))
		oc.MaxAbsError = max(oc.MaxAbsError, d)
		dot += x * y
		na += x * x
		nb += y * y
	}
	if finite == 0 && oc.Elements > 0 {
		// NaN == NaN everywhere would otherwise read as cosine 1 and full
		// agreement: a verification that checked nothing.
		oc.Problem = fmt.Sprintf("no element is finite in both models (reference %d NaN and %d Inf, candidate %d NaN and %d Inf, of %d): nothing was verified; give inputs on which the reference's outputs are finite",
			oc.RefNaN, oc.RefInf, oc.CandNaN, oc.CandInf, oc.Elements)
		return oc
	}
	if finite > 0 {
		oc.MeanAbsError = sumAbs / float64(finite)
		oc.MaxRelError = RelError(oc.MaxAbsError, refScale)
		oc.MeanRelError = RelError(oc.MeanAbsError, refScale)
	}
	switch {
	case na == 0 && nb == 0:
		oc.Cosine = 1
	case na > 0 && nb > 0:
		oc.Cosine = dot / (math.Sqrt(na) * math.Sqrt(nb))
	}
	if isFloat(r.DType) && isFloat(k.DType) && len(r.Shape) >= 2 {
		ra, ka := argmaxRows(a, r.Shape), argmaxRows(b, k.Shape)
		same := 0
		for i := range ra {
			if ra[i] == ka[i] {
				same++
			}
		}
		oc.Top1Agreement = ptr(float64(same) / float64(max(len(ra), 1)))
		if len(r.Shape) == 2 && labels != nil && int64(len(labels)) == r.Shape[0] {
			ref, cand := hits(ra, labels), hits(ka, labels)
			oc.RefAccuracy, oc.CandAccuracy, oc.AccuracyDrop = ptr(ref), ptr(cand), ptr(ref-cand)
		}
	}
	return oc
}

// Top1Agreement is the top-1 agreement of the named output, or, with
// output "", the smallest over the outputs that have one (float outputs of
// rank 2 or more); -1 when none has one.
func Top1Agreement(outs []OutputComparison, output string) float64 {
	t1 := -1.0
	for _, oc := range outs {
		if oc.Top1Agreement != nil && (output == "" || oc.Name == output) && (t1 < 0 || *oc.Top1Agreement < t1) {
			t1 = *oc.Top1Agreement
		}
	}
	return t1
}

// Accuracy is the share of samples whose argmax along the last axis of output equals
// the label. It is NaN when the output is missing, not a float [N, C] tensor, or N
// differs from len(labels).
func Accuracy(out *Outputs, output string, labels []int64) float64 {
	t := out.Tensors[output]
	if t == nil || !isFloat(t.DType) || len(t.Shape) != 2 || t.Shape[0] != int64(len(labels)) || len(labels) == 0 {
		return math.NaN()
	}
	return hits(argmaxRows(Float64s(t), t.Shape), labels)
}

// ClassifierOutput returns the first output, in model order, that Accuracy can score
// against n labels (a float [n, C] tensor), or "" when there is none.
func ClassifierOutput(out *Outputs, n int64) string {
	for _, name := range out.Names {
		t := out.Tensors[name]
		if t != nil && isFloat(t.DType) && len(t.Shape) == 2 && t.Shape[0] == n && t.Shape[1] > 1 {
			return name
		}
	}
	return ""
}

// AllCloseDoc is szrun's one definition of the atol/rtol tolerance (optimize's
// verification, compare's limits), shown in docs/stages.md; AllClose applies it.
const AllCloseDoc = "**Tolerance** (`atol`, `rtol`): an element of an output passes when " +
	"|candidate − reference| <= atol + rtol × max(|reference|, rms), where rms is the root mean square " +
	"of the reference output's finite elements (over every sample), and NaN and Inf are where the reference has them. " +
	"It is numpy.allclose's rule for elements at least as large as the output's typical magnitude; an element " +
	"near zero is held to rtol of that typical magnitude instead of its own, because float32 rounding " +
	"in the sums that produce it (a reordered reduction, another kernel) is a share of the values summed, not " +
	"of their small result: random-weight Inception-v3's logits reach 2.6e12, ONNX Runtime's `all` level " +
	"changes them by 4e-7 of that, and a logit near zero then differs by a million. A wrong rewrite is off by " +
	"a large share of the scale and still fails; so does any element of typical size off by more than rtol."

// Closeness reports how well cand fits ref under the tolerance rule of
// AllCloseDoc: |cand-ref| <= atol + rtol*max(|ref|, RMS).
type Closeness struct {
	// Exceeding counts elements that break the rule; a NaN or Inf that the
	// reference does not have in the same place counts too.
	Exceeding int64 `json:"exceeding"`
	// Worst is the largest |cand-ref| / (atol + rtol*max(|ref|, RMS)):
	// above 1 means failure.
	Worst float64 `json:"worst_ratio"`
	// WorstIndex is the flat index of that element.
	WorstIndex int64 `json:"worst_index"`
	// RMS is the reference's root mean square over its finite elements:
	// the magnitude below which an element's tolerance stops shrinking.
	RMS float64 `json:"rms"`
}

// AllClose compares two tensors of the same shape element by element under
// the rule of AllCloseDoc.
func AllClose(ref, cand *runtime.Tensor, atol, rtol float64) Closeness {
	a, b := Float64s(ref), Float64s(cand)
	var c Closeness
	c.RMS = rms(a)
	for i := range min(len(a), len(b)) {
		x, y := a[i], b[i]
		if !isFinite(x) || !isFinite(y) {
			if !(math.IsNaN(x) && math.IsNaN(y)) && x != y {
				c.Exceeding++
			}
			continue
		}
		limit := atol + rtol*max(math.Abs(x), c.RMS)
		d := math.Abs(x - y)
		ratio := math.Inf(1)
		if limit > 0 {
			ratio = d / limit
		} else if d == 0 {
			ratio = 0
		}
		if d > limit {
			c.Exceeding++
		}
		if ratio > c.Worst {
			c.Worst, c.WorstIndex = ratio, int64(i)
		}
	}
	if math.IsInf(c.Worst, 1) {
		c.Worst = math.MaxFloat64 // keep JSON valid: atol = rtol = 0 and a difference
	}
	return c
}

// rms is the root mean square of v's finite elements (0 when none), scaled
// so that values near float64's limits do not overflow.
func rms(v []float64) float64 {
	big := 0.0
	for _, x := range v {
		if isFinite(x) {
			big = max(big, math.Abs(x))
		}
	}
	if big == 0 {
		return 0
	}
	sum, n := 0.0, 0
	for _, x := range v {
		if isFinite(x) {
			sum += (x / big) * (x / big)
			n++
		}
	}
	return big * math.Sqrt(sum/float64(n))
}

// argmaxRows returns the argmax along the last axis of every row; NaN never wins.
func argmaxRows(v []float64, shape []int64) []int64 {
	c := int(shape[len(shape)-1])
	if c == 0 {
		return nil
	}
	out := make([]int64, len(v)/c)
	for r := range out {
		row := v[r*c : (r+1)*c]
		best := 0
		for j := 1; j < c; j++ {
			if row[j] > row[best] || math.IsNaN(row[best]) {
				best = j
			}
		}
		out[r] = int64(best)
	}
	return out
}

func hits(pred, labels []int64) float64 {
	n := 0
	for i, p := range pred {
		if p == labels[i] {
			n++
		}
	}
	return float64(n) / float64(len(labels))
}

func isFloat(dtype string) bool {
	return dtype == "float32" || dtype == "float64" || dtype == "float16" || dtype == "bfloat16"
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func countNonFinite(x float64, nan, inf *int64) {
	if math.IsNaN(x) {
		*nan++
	} else if math.IsInf(x, 0) {
		*inf++
	}
}

func ptr(v float64) *float64 { return &v }
