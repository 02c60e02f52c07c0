package runtime

import (
	"context"
	"slices"
	"testing"
	"time"
)

// BenchmarkSessionOverhead measures what the worker process costs per session:
// each iteration loads convbn.onnx, runs one batch and closes the session, once
// in this process (as the worker itself does) and once through a warm worker (as
// stages do), side by side so that a busy machine slows both alike. It reports
// the medians and their difference, the overhead per session (goal: under 20 ms).
func BenchmarkSessionOverhead(b *testing.B) {
	requireORT(b)
	ctx, release := WithWorker(context.Background(), WorkerOptions{})
	defer release()
	const model = "testdata/convbn.onnx"
	warm, err := NewSession(ctx, model, SessionOptions{IntraOpThreads: 1})
	if err != nil {
		b.Fatal(err)
	}
	ins, err := RandomInputs(warm.Inputs(), nil, 4, 1)
	if err != nil {
		b.Fatal(err)
	}
	warm.Close()
	var local, remote []float64
	for b.Loop() {
		start := time.Now()
		s, err := newLocalSession(model, SessionOptions{IntraOpThreads: 1})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Run(ctx, ins); err != nil {
			b.Fatal(err)
		}
		s.Close()
		local = append(local, ms(time.Since(start)))

		start = time.Now()
		w, err := NewSession(ctx, model, SessionOptions{IntraOpThreads: 1})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Run(ctx, ins); err != nil {
			b.Fatal(err)
		}
		w.Close()
		remote = append(remote, ms(time.Since(start)))
	}
	l, r := median(local), median(remote)
	b.ReportMetric(l, "in-process-ms/session")
	b.ReportMetric(r, "worker-ms/session")
	b.ReportMetric(r-l, "overhead-ms/session")
}

// BenchmarkWorkerStart is the cost of a stage instance's first session on top of
// the others: starting the worker (exec, loading ONNX Runtime) and ending it.
func BenchmarkWorkerStart(b *testing.B) {
	requireORT(b)
	var d []float64
	for b.Loop() {
		start := time.Now()
		w, err := StartWorker(context.Background(), WorkerOptions{})
		if err != nil {
			b.Fatal(err)
		}
		w.Close()
		d = append(d, ms(time.Since(start)))
	}
	b.ReportMetric(median(d), "ms/start")
}

// BenchmarkTensorRoundTrip runs a Relu on a float32 input of 1x3x224x224
// elements (602 KB in, 602 KB out) in this process and through a warm worker,
// side by side, and reports both medians: on a model this cheap the difference
// is the cost of moving the tensors through the pipe.
func BenchmarkTensorRoundTrip(b *testing.B) {
	requireORT(b)
	ctx, release := WithWorker(context.Background(), WorkerOptions{})
	defer release()
	const model = "testdata/dyn.onnx"
	s, err := NewSession(ctx, model, SessionOptions{IntraOpThreads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	l, err := newLocalSession(model, SessionOptions{IntraOpThreads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ins, err := RandomInputs(s.Inputs(), map[string][]int64{"x": {1, 3 * 224 * 224 / 4, 4}}, 0, 1)
	if err != nil {
		b.Fatal(err)
	}
	var local, remote []float64
	for b.Loop() {
		start := time.Now()
		if _, err := l.Run(ctx, ins); err != nil {
			b.Fatal(err)
		}
		local = append(local, ms(time.Since(start)))
		start = time.Now()
		if _, err := s.Run(ctx, ins); err != nil {
			b.Fatal(err)
		}
		remote = append(remote, ms(time.Since(start)))
	}
	b.ReportMetric(median(local), "in-process-ms/run")
	b.ReportMetric(median(remote), "worker-ms/run")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	return s[len(s)/2]
}
