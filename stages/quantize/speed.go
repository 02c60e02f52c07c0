package quantize

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/sentinelzer0/szrun/runtime"
)

// Latency times a model at path on inputs: a few warm-up runs, then iters
// timed runs through a zero-allocation Runner; it returns the median in
// milliseconds. The median, not the mean, because the machine is shared and
// a single descheduled run must not decide a warning.
func Latency(ctx context.Context, path string, inputs []*runtime.Tensor, iters, threads int) (float64, error) {
	s, err := runtime.NewSession(path, runtime.SessionOptions{IntraOpThreads: threads, InterOpThreads: 1})
	if err != nil {
		return 0, fmt.Errorf("time %s: %w", path, err)
	}
	defer s.Close()
	r, err := runtime.NewRunner(ctx, s, inputs)
	if err != nil {
		return 0, fmt.Errorf("time %s: %w", path, err)
	}
	defer r.Close()
	for range 3 {
		if err := r.Run(ctx); err != nil {
			return 0, fmt.Errorf("time %s: %w", path, err)
		}
	}
	d := make([]float64, iters)
	for i := range d {
		t0 := time.Now()
		if err := r.Run(ctx); err != nil {
			return 0, fmt.Errorf("time %s: %w", path, err)
		}
		d[i] = float64(time.Since(t0).Nanoseconds()) / 1e6
	}
	sort.Float64s(d)
	return d[len(d)/2], nil
}

// batchOf cuts the first n samples of a data set (fewer if it is smaller,
// then repeated up to n so that batch sizes are what they claim).
func batchOf(ds *dataset, n int64) ([]*runtime.Tensor, error) {
	out := make([]*runtime.Tensor, len(ds.inputs))
	for i, t := range ds.inputs {
		if ds.n >= n {
			s, err := runtime.Slice(t, 0, n)
			if err != nil {
				return nil, err
			}
			out[i] = s
			continue
		}
		shape := append([]int64{n}, t.Shape[1:]...)
		nt, err := runtime.NewTensor(t.Name, t.DType, shape)
		if err != nil {
			return nil, err
		}
		src, dst := t.Bytes(), nt.Bytes()
		for off := 0; off < len(dst); off += len(src) {
			copy(dst[off:], src)
		}
		out[i] = nt
	}
	return out, nil
}
