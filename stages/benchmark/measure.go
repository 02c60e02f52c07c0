package benchmark

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"time"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/internal/normalize"
	"github.com/sentinelzer0/szrun/stages/internal/stats"
)

// model is one loaded model.
type model struct {
	name, path string
	session    *runtime.Session
	load       time.Duration
	size       int64
	rss        int64 // resident memory gained while loading and warming it up
	// lifted says how the model was made loadable, "" when it was timed
	// as given (an opset ONNX Runtime has no kernels for, lifted to its
	// oldest opset as the model stages do before transforming).
	lifted string
	// perSample: the data holds complete feeds (the stacked form), so a run
	// takes one as it is and batch_sizes cannot reshape it.
	perSample bool
}

// target is one model at one batch size, with its Runner and timings.
type target struct {
	m       *model
	batch   int64
	runner  *runtime.Runner
	times   []time.Duration
	ends    []int // end of each rotation block in times
	elapsed time.Duration
	// Adaptive timing: done once the median is known within precision (or
	// max_duration has passed); checkAt is the block count of the next check.
	done    bool
	checkAt int
	// timedOut: adaptive timing stopped at max_duration, short of precision.
	timedOut bool
}

func (t *target) label() string { return fmt.Sprintf("%s@%d", t.m.name, t.batch) }

// load opens every model's session and checks its inputs against the data and the
// batch sizes: every mistake surfaces before anything is timed.
//
// A model whose opset ONNX Runtime has no kernels for (opset 6 and older) is
// timed as the model stages see it: lifted to the oldest opset ONNX Runtime
// runs, written under workDir; the size reported stays the given file's.
func load(ctx context.Context, c *config, data *evaluate.Data, workDir string) ([]*model, error) {
	var models []*model
	fail := func(err error) ([]*model, error) {
		closeAll(models, nil)
		return nil, err
	}
	for _, name := range c.names {
		m := &model{name: name, path: c.models[name]}
		var err error
		if m.size, err = onnx.FileSize(m.path); err != nil {
			return fail(fmt.Errorf("models.%s: %w", name, err))
		}
		run := m.path
		if lifted, rep, err := normalize.ForORT(m.path, filepath.Join(workDir, "lifted", name)); err != nil {
			return fail(fmt.Errorf("models.%s: %w", name, err))
		} else if lifted != m.path {
			run = lifted
			m.lifted = fmt.Sprintf("models.%s is timed as the model stages see it, lifted from opset %d (ONNX Runtime has no kernels for it): %s",
				name, rep.FromOpset, rep)
		}
		before := workerRSS(models)
		start := time.Now()
		m.session, err = runtime.NewSession(ctx, run, runtime.SessionOptions{IntraOpThreads: c.threads, Providers: c.providers})
		m.load = time.Since(start)
		if err != nil {
			return fail(fmt.Errorf("models.%s: %w", name, err))
		}
		if len(models) > 0 && models[0].session.WorkerPid() != m.session.WorkerPid() {
			before = 0 // a worker of its own (no stage scope): all of it is this model's
		}
		m.rss = procStatus(m.session.WorkerPid(), "VmRSS:") - before
		models = append(models, m)
		info := m.session.Inputs()
		if data != nil {
			if err := data.Match(info); err != nil {
				return fail(fmt.Errorf("inputs %s do not fit models.%s (%s): %w", data.Path, name, m.path, err))
			}
			if m.perSample, err = data.PerSample(info); err != nil {
				return fail(fmt.Errorf("inputs %s: models.%s: %w", data.Path, name, err))
			}
		}
		for i, b := range c.batches {
			if m.perSample {
				break // each run takes one complete feed, at its own shapes
			}
			if _, err := evaluate.BatchSize(info, b); err != nil {
				return fail(fmt.Errorf("batch_sizes[%d]: models.%s: %w", i, name, err))
			}
		}
		if data == nil {
			if _, err := evaluate.RandomData(info, evaluate.RandomOptions{Shapes: c.shapes, Fixed: c.fixed, Samples: 1, Seed: c.seed}); err != nil {
				return fail(fmt.Errorf("models.%s: %w", name, err))
			}
		}
	}
	return models, nil
}

// prepare makes a Runner per model and batch size and warms each up.
func prepare(ctx context.Context, c *config, models []*model, data *evaluate.Data) ([]*target, error) {
	var targets []*target
	for _, b := range c.batches {
		for _, m := range models {
			before := procStatus(m.session.WorkerPid(), "VmRSS:")
			inputs, err := batchInputs(m.session.Inputs(), c, data, b)
			if err != nil {
				closeAll(nil, targets)
				return nil, fmt.Errorf("models.%s at batch %d: %w", m.name, b, err)
			}
			r, err := runtime.NewRunner(ctx, m.session, inputs)
			if err != nil {
				closeAll(nil, targets)
				return nil, fmt.Errorf("models.%s at batch %d: %w", m.name, b, err)
			}
			t := &target{m: m, batch: b, runner: r, times: make([]time.Duration, 0, max(c.iterations, 64))}
			targets = append(targets, t)
			if c.warmup > 0 {
				if _, err := r.Time(ctx, int(c.warmup), nil); err != nil {
					closeAll(nil, targets)
					return nil, fmt.Errorf("warm up models.%s at batch %d: %w", m.name, b, err)
				}
			}
			m.rss += procStatus(m.session.WorkerPid(), "VmRSS:") - before
		}
	}
	return targets, nil
}

// batchInputs builds one batch of inputs in model order: the data's first rows
// (repeated when the data has fewer), or random values.
func batchInputs(info []runtime.IOInfo, c *config, data *evaluate.Data, b int64) ([]*runtime.Tensor, error) {
	if data == nil {
		d, err := evaluate.RandomData(info, evaluate.RandomOptions{Shapes: c.shapes, Fixed: c.fixed, Samples: b, Seed: c.seed})
		if err != nil {
			return nil, err
		}
		return evaluate.FirstBatch(d, info, b)
	}
	per, err := data.PerSample(info)
	if err != nil {
		return nil, err
	}
	if per {
		// Complete feeds (the stacked form): a run takes one as it is.
		return evaluate.FirstBatch(data, info, 1)
	}
	var first evaluate.Batch
	for bt, err := range data.Batches(info, b) {
		if err != nil {
			return nil, err
		}
		first = bt
		break
	}
	out := make([]*runtime.Tensor, len(first.Tensors))
	for i, t := range first.Tensors {
		// Rows of the batched form repeat up to the batch size; values fixed
		// for every feed stay as they are.
		if first.Rows[i] && t.Shape[0] != b {
			if t, err = tile(t, b); err != nil {
				return nil, err
			}
		}
		out[i] = t
	}
	return out, nil
}

// tile returns rows rows of t, repeating t's rows from the start as needed.
func tile(t *runtime.Tensor, rows int64) (*runtime.Tensor, error) {
	out, err := runtime.NewTensor(t.Name, t.DType, append([]int64{rows}, t.Shape[1:]...))
	if err != nil {
		return nil, fmt.Errorf("input %q: %w", t.Name, err)
	}
	src, dst := reflect.ValueOf(t.Data), reflect.ValueOf(out.Data)
	for off := 0; off < dst.Len(); off += src.Len() {
		reflect.Copy(dst.Slice(off, dst.Len()), src)
	}
	return out, nil
}

// measure times every target in rotation: each round gives every target a block
// of runs, starting one target further along each time, so that drift in the
// machine's speed (thermal, other processes) spreads over all models instead of
// favouring the one measured last. A target stops after iterations runs; with
// duration, once it has run that long; with precision (adaptive, the
// default), once it has iterations runs and its median's confidence interval
// is within precision, or it has run for max_duration.
func measure(ctx context.Context, c *config, targets []*target, report func(done, total int64, what string)) error {
	rounds := (c.iterations + c.block - 1) / c.block
	total := rounds * int64(len(targets))
	if c.duration > 0 || c.precision > 0 {
		total = 0
	}
	var done int64
	for round := int64(0); ; round++ {
		active := 0
		for k := range targets {
			t := targets[(int(round)+k)%len(targets)]
			n := c.block
			switch {
			case c.duration > 0:
				if t.elapsed >= c.duration {
					continue
				}
			case c.precision > 0:
				if t.done {
					continue
				}
			default:
				if left := c.iterations - int64(len(t.times)); left < n {
					n = left
				}
			}
			if n <= 0 {
				continue
			}
			active++
			if err := runBlock(ctx, t, n); err != nil {
				return fmt.Errorf("run models.%s at batch %d: %w", t.m.name, t.batch, err)
			}
			if c.precision > 0 && c.duration == 0 {
				t.done = adaptiveDone(c, t)
			}
			done++
			report(done, total, t.label())
		}
		if active == 0 {
			return nil
		}
	}
}

// adaptiveDone reports whether an adaptively timed target may stop. The
// bootstrap is checked at block counts growing by half each time, so checking
// costs a few times one final estimate, not one per block.
func adaptiveDone(c *config, t *target) bool {
	if int64(len(t.times)) < c.iterations {
		return false
	}
	if t.elapsed >= c.maxDuration {
		t.timedOut = true
		return true
	}
	if len(t.ends) < t.checkAt {
		return false
	}
	t.checkAt = len(t.ends) + max(len(t.ends)/2, 1)
	bs := stats.ToBlocks(t.times, t.ends)
	return stats.MedianCI(bs, stats.BootstrapMedians(bs, stats.ResamplesFor(stats.CheckResamples, len(t.times)), stats.NewRNG(c.seed)), stats.Confidence).Precision() <= c.precision
}

// runBlock times n runs one by one. The loop runs inside the ONNX Runtime worker
// and does not allocate, so the only cost around ONNX Runtime's own work is a cgo
// call and two clock reads; the pipe's round trip is once per block, untimed.
func runBlock(ctx context.Context, t *target, n int64) error {
	k := len(t.times)
	var err error
	if t.times, err = t.runner.Time(ctx, int(n), t.times); err != nil {
		return err
	}
	for _, d := range t.times[k:] {
		t.elapsed += d
	}
	t.ends = append(t.ends, len(t.times))
	return nil
}

func closeAll(models []*model, targets []*target) {
	for _, t := range targets {
		t.runner.Close()
	}
	for _, m := range models {
		m.session.Close()
	}
}
