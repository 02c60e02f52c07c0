package quantize

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// Latencies times models on the same inputs: a few warm-up runs each, then
// iters rounds in which every model runs once, in turn, through a
// zero-allocation Runner; it returns each model's median in milliseconds.
// Interleaving the models and taking medians keeps a busy, shared machine
// from favouring whichever model happened to run during a quiet spell.
func Latencies(ctx context.Context, paths []string, inputs []*runtime.Tensor, iters, threads int) ([]float64, error) {
	runners := make([]*runtime.Runner, len(paths))
	for i, path := range paths {
		s, err := runtime.NewSession(ctx, path, runtime.SessionOptions{IntraOpThreads: threads, InterOpThreads: 1})
		if err != nil {
			return nil, fmt.Errorf("time %s: %w", path, err)
		}
		defer s.Close()
		r, err := runtime.NewRunner(ctx, s, inputs)
		if err != nil {
			return nil, fmt.Errorf("time %s: %w", path, err)
		}
		defer r.Close()
		runners[i] = r
		for range 3 {
			if err := r.Run(ctx); err != nil {
				return nil, fmt.Errorf("time %s: %w", path, err)
			}
		}
	}
	d := make([][]float64, len(paths))
	sample := make([]time.Duration, 0, 1)
	for range iters {
		for i, r := range runners {
			// The worker times the run, so the pipe's round trip is not in it.
			t, err := r.Time(ctx, 1, sample[:0])
			if err != nil {
				return nil, fmt.Errorf("time %s: %w", paths[i], err)
			}
			d[i] = append(d[i], float64(t[0].Nanoseconds())/1e6)
		}
	}
	med := make([]float64, len(paths))
	for i := range d {
		sort.Float64s(d[i])
		med[i] = d[i][len(d[i])/2]
	}
	return med, nil
}

// batchOf builds a batch of n samples: the first n of a data set, its first
// rows repeated up to n when it has fewer. Data fed one sample per run
// (stacked feeds) gives its first sample whatever n is.
func batchOf(ds *dataset, n int64) ([]*runtime.Tensor, error) {
	per, err := ds.PerSample(ds.info)
	if err != nil {
		return nil, err
	}
	if per || ds.N >= n {
		return evaluate.FirstBatch(ds.Data, ds.info, n)
	}
	first, err := evaluate.FirstBatch(ds.Data, ds.info, ds.N)
	if err != nil {
		return nil, err
	}
	out := make([]*runtime.Tensor, len(first))
	for i, t := range first {
		if len(t.Shape) == 0 {
			out[i] = t
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
