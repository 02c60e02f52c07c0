package runtime

import (
	"fmt"
	"slices"
	"strings"
)

// Match orders tensors as the model's inputs and checks each one's dtype, rank and
// static dimensions. Every problem is reported, sorted by input name, in one error
// wrapping ErrMismatch, e.g. `input "x": expected float32 [N,1,8,8], got int64 [10,64]`.
func Match(info []IOInfo, tensors []*Tensor) ([]*Tensor, error) {
	byName := make(map[string]*Tensor, len(tensors))
	var errs []string
	for _, t := range tensors {
		if _, dup := byName[t.Name]; dup {
			errs = append(errs, fmt.Sprintf("input %q: given twice", t.Name))
		}
		byName[t.Name] = t
	}
	ordered := make([]*Tensor, len(info))
	known := make(map[string]bool, len(info))
	for i, in := range info {
		known[in.Name] = true
		t, ok := byName[in.Name]
		if !ok {
			errs = append(errs, fmt.Sprintf("input %q: missing (expected %s %s)", in.Name, in.DType, expectedShape(in.Shape)))
			continue
		}
		ordered[i] = t
		if msg := mismatch(in, t); msg != "" {
			errs = append(errs, msg)
		}
	}
	var names []string
	for _, in := range info {
		names = append(names, in.Name)
	}
	for _, t := range tensors {
		if !known[t.Name] {
			errs = append(errs, fmt.Sprintf("input %q: the model has no such input (it has %s)", t.Name, strings.Join(names, ", ")))
		}
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return nil, fmt.Errorf("%w: %s", ErrMismatch, strings.Join(errs, "; "))
	}
	return ordered, nil
}

func mismatch(in IOInfo, t *Tensor) string {
	bad := t.DType != in.DType || len(t.Shape) != len(in.Shape)
	for i := 0; !bad && i < len(in.Shape); i++ {
		bad = in.Shape[i] >= 0 && in.Shape[i] != t.Shape[i]
	}
	if bad {
		return fmt.Sprintf("input %q: expected %s %s, got %s %s", in.Name, in.DType, expectedShape(in.Shape), t.DType, FormatShape(t.Shape))
	}
	if err := t.Check(); err != nil {
		return err.Error()
	}
	return ""
}

// expectedShape prints a model shape with a dynamic axis 0 as N (the batch) and other
// dynamic axes as ?.
func expectedShape(shape []int64) string {
	s := FormatShape(shape)
	if len(shape) > 0 && shape[0] < 0 {
		s = "[N" + s[2:]
	}
	return s
}

func (s *localSession) match(inputs []*Tensor) ([]*Tensor, error) {
	return Match(s.inputs, inputs)
}
