package compare

import (
	"fmt"

	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// judge compares one candidate with the reference and lists every broken limit.
func judge(name string, j *job, ref, cand *evaluate.Outputs) Candidate {
	cmp := evaluate.Compare(ref, cand, j.data.Labels)
	c := Candidate{Name: name, Model: j.candidates[name], Outputs: cmp.Outputs}
	fail := func(output, metric string, value any, limit string) {
		c.Failures = append(c.Failures, fmt.Sprintf("candidate %q output %q: %s %v %s", name, output, metric, value, limit))
	}
	l := j.limits
	for _, oc := range cmp.Outputs {
		if oc.Problem != "" {
			fail(oc.Name, "cannot be compared:", oc.Problem, "")
			continue
		}
		if oc.CandNaN > oc.RefNaN {
			fail(oc.Name, "NaN count", oc.CandNaN, fmt.Sprintf("exceeds the reference's %d", oc.RefNaN))
		}
		if oc.CandInf > oc.RefInf {
			fail(oc.Name, "Inf count", oc.CandInf, fmt.Sprintf("exceeds the reference's %d", oc.RefInf))
		}
		if l.allClose {
			cl := evaluate.AllClose(ref.Tensors[oc.Name], cand.Tensors[oc.Name], l.atol, l.rtol)
			if c.Close == nil {
				c.Close = map[string]evaluate.Closeness{}
			}
			c.Close[oc.Name] = cl
			if cl.Exceeding > 0 {
				fail(oc.Name, "elements outside atol + rtol*|ref|:", fmt.Sprintf("%d of %d (max_abs_error %.6g)", cl.Exceeding, oc.Elements, oc.MaxAbsError),
					fmt.Sprintf("> 0 (atol %g, rtol %g)", l.atol, l.rtol))
			}
		}
		if l.minCos != nil && oc.Cosine < *l.minCos {
			fail(oc.Name, "cosine", fmt.Sprintf("%.6f", oc.Cosine), fmt.Sprintf("< min_cosine %g", *l.minCos))
		}
		if l.minT1 != nil && oc.Top1Agreement != nil && (j.output == "" || oc.Name == j.output) && *oc.Top1Agreement < *l.minT1 {
			fail(oc.Name, "top1_agreement", fmt.Sprintf("%.6f", *oc.Top1Agreement), fmt.Sprintf("< min_top1_agreement %g", *l.minT1))
		}
		if l.maxDrop != nil && oc.Name == j.output && oc.AccuracyDrop != nil && *oc.AccuracyDrop > *l.maxDrop+1e-12 {
			fail(oc.Name, "accuracy_drop", fmt.Sprintf("%.6f (%.4f -> %.4f)", *oc.AccuracyDrop, *oc.RefAccuracy, *oc.CandAccuracy),
				fmt.Sprintf("> max_accuracy_drop %g", *l.maxDrop))
		}
	}
	c.Passed = len(c.Failures) == 0
	return c
}

// values turns the report into the stage's value outputs (maps keyed by candidate).
func values(rep *Report) map[string]any {
	acc, drop := map[string]any{}, map[string]any{}
	maxAbs, maxRel, cos, top1, passed := map[string]any{}, map[string]any{}, map[string]any{}, map[string]any{}, map[string]any{}
	for _, c := range rep.Candidates {
		passed[c.Name] = c.Passed
		var a, r float64
		cosMin, t1 := 1.0, evaluate.Top1Agreement(c.Outputs, rep.ClassifierOutput)
		for _, oc := range c.Outputs {
			a, r = max(a, oc.MaxAbsError), max(r, oc.MaxRelError)
			if oc.Problem == "" {
				cosMin = min(cosMin, oc.Cosine)
			}
			if oc.Name == rep.ClassifierOutput && oc.CandAccuracy != nil {
				acc[c.Name], drop[c.Name] = *oc.CandAccuracy, *oc.AccuracyDrop
			}
		}
		maxAbs[c.Name], maxRel[c.Name], cos[c.Name] = a, r, cosMin
		if t1 >= 0 {
			top1[c.Name] = t1
		}
	}
	refAcc := -1.0
	if rep.ReferenceAccuracy != nil {
		refAcc = *rep.ReferenceAccuracy
	}
	return map[string]any{
		"accuracy": acc, "reference_accuracy": refAcc, "accuracy_drop": drop,
		"max_abs_error": maxAbs, "max_rel_error": maxRel, "cosine": cos,
		"top1_agreement": top1, "passed": passed,
	}
}
