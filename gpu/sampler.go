package gpu

import (
	"context"
	"sync"
	"time"
)

// Stats summarises the readings a Sampler took.
type Stats struct {
	Index   int
	Samples int       // successful readings
	Start   time.Time // first successful reading
	End     time.Time // last successful reading
	// BaseMemory is the memory in use at the first reading, so that a caller
	// can tell its own footprint (PeakMemory-BaseMemory) from other processes'.
	BaseMemory uint64
	PeakMemory uint64 // bytes, the largest reading
	// MeanUtilization is the mean of the readings in percent; readings are
	// evenly spaced, so it approximates the time-weighted mean.
	MeanUtilization float64
	MaxUtilization  uint32
	// Err is the first failed reading, if any; the figures cover the others.
	Err error
}

// Sampler reads one GPU at a fixed interval until stopped.
type Sampler struct {
	index int
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	mu      sync.Mutex
	samples []Sample
	err     error
}

// DefaultSampleInterval is StartSampler's interval when given none. NVML's
// utilization covers the driver's own sample period (1/6 s to 1 s), so much
// shorter intervals only repeat readings.
const DefaultSampleInterval = 100 * time.Millisecond

// StartSampler reads GPU index of m once now, then every interval (<= 0 means
// DefaultSampleInterval), and once more when Stop is called, until Stop or
// until ctx ends.
func StartSampler(ctx context.Context, m Monitor, index int, every time.Duration) *Sampler {
	if every <= 0 {
		every = DefaultSampleInterval
	}
	s := &Sampler{index: index, stop: make(chan struct{}), done: make(chan struct{})}
	s.take(ctx, m)
	go s.loop(ctx, m, every)
	return s
}

func (s *Sampler) loop(ctx context.Context, m Monitor, every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.stop:
			// The closing reading measures the end of a window shorter
			// than one interval.
			s.take(ctx, m)
			return
		case <-t.C:
			s.take(ctx, m)
		}
	}
}

func (s *Sampler) take(ctx context.Context, m Monitor) {
	smp, err := m.Sample(ctx, s.index)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.err == nil && ctx.Err() == nil {
			s.err = err
		}
		return
	}
	s.samples = append(s.samples, smp)
}

// Stop ends sampling and returns the summary. It may be called more than
// once; later calls return the same figures.
func (s *Sampler) Stop() Stats {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return summarize(s.index, s.samples, s.err)
}

// summarize is the arithmetic of Stop, apart so that it is tested on its own.
func summarize(index int, samples []Sample, err error) Stats {
	st := Stats{Index: index, Samples: len(samples), Err: err}
	if len(samples) == 0 {
		return st
	}
	st.Start, st.End = samples[0].Time, samples[len(samples)-1].Time
	st.BaseMemory = samples[0].MemoryUsed
	var sum uint64
	for _, smp := range samples {
		st.PeakMemory = max(st.PeakMemory, smp.MemoryUsed)
		st.MaxUtilization = max(st.MaxUtilization, smp.Utilization)
		sum += uint64(smp.Utilization)
	}
	st.MeanUtilization = float64(sum) / float64(len(samples))
	return st
}
