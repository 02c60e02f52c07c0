package main

import (
	"context"
	"fmt"

	"github.com/sentinelzer0/szrun/runtime"
)

// predict runs the model over all samples in batches and returns the score
// output's rows, [N][classes]. A model with a static batch dimension gets
// batches of exactly that size, the last one padded with zeros.
func predict(ctx context.Context, sess *runtime.Session, inputs []*runtime.Tensor, out scoreOutput, batch int64, report func(done, total int64, what string)) ([][]float64, error) {
	n := inputs[0].Shape[0]
	static := int64(0)
	for _, info := range sess.Inputs() {
		if info.Shape[0] > 0 {
			static = info.Shape[0]
		}
	}
	if static > 0 {
		batch = static
	}
	rows := make([][]float64, 0, n)
	for start := int64(0); start < n; start += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		feed := make([]*runtime.Tensor, len(inputs))
		for i, t := range inputs {
			part, err := runtime.Slice(t, start, batch)
			if err != nil {
				return nil, fmt.Errorf("score: cut batch at sample %d: %w", start, err)
			}
			if static > 0 && part.Shape[0] < static {
				if part, err = pad(part, static); err != nil {
					return nil, err
				}
			}
			feed[i] = part
		}
		res, err := sess.Run(ctx, feed)
		if err != nil {
			return nil, fmt.Errorf("score: run samples %d-%d: %w", start, min(start+batch, n)-1, err)
		}
		t := res[out.index]
		for r := int64(0); r < min(batch, n-start); r++ {
			row := make([]float64, out.classes)
			for c := range row {
				switch d := t.Data.(type) {
				case []float32:
					row[c] = float64(d[r*int64(out.classes)+int64(c)])
				case []float64:
					row[c] = d[r*int64(out.classes)+int64(c)]
				}
			}
			rows = append(rows, row)
		}
		report(int64(len(rows)), n, "samples")
	}
	return rows, nil
}

// pad returns t grown to rows along axis 0, the new rows zero.
func pad(t *runtime.Tensor, rows int64) (*runtime.Tensor, error) {
	shape := append([]int64{rows}, t.Shape[1:]...)
	p, err := runtime.NewTensor(t.Name, t.DType, shape)
	if err != nil {
		return nil, fmt.Errorf("score: pad the last batch of %q: %w", t.Name, err)
	}
	copy(p.Bytes(), t.Bytes())
	return p, nil
}
