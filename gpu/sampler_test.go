package gpu

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 100 * time.Millisecond) }
	boom := errors.New("boom")
	tests := []struct {
		name    string
		samples []Sample
		err     error
		want    Stats
	}{
		{name: "none", want: Stats{Index: 1}},
		{name: "none with error", err: boom, want: Stats{Index: 1, Err: boom}},
		{
			name:    "one",
			samples: []Sample{{Time: at(0), MemoryUsed: 500, Utilization: 40}},
			want:    Stats{Index: 1, Samples: 1, Start: at(0), End: at(0), BaseMemory: 500, PeakMemory: 500, MeanUtilization: 40, MaxUtilization: 40},
		},
		{
			name: "peak in the middle",
			samples: []Sample{
				{Time: at(0), MemoryUsed: 1 << 30, Utilization: 0},
				{Time: at(1), MemoryUsed: 3 << 30, Utilization: 100},
				{Time: at(2), MemoryUsed: 2 << 30, Utilization: 99},
				{Time: at(3), MemoryUsed: 1 << 30, Utilization: 1},
			},
			err:  boom,
			want: Stats{Index: 1, Samples: 4, Start: at(0), End: at(3), BaseMemory: 1 << 30, PeakMemory: 3 << 30, MeanUtilization: 50, MaxUtilization: 100, Err: boom},
		},
		{
			name:    "mean is not rounded",
			samples: []Sample{{Time: at(0), Utilization: 1}, {Time: at(1), Utilization: 2}},
			want:    Stats{Index: 1, Samples: 2, Start: at(0), End: at(1), MeanUtilization: 1.5, MaxUtilization: 2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := summarize(1, tc.samples, tc.err); got != tc.want {
				t.Fatalf("summarize:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func fakeGPU(script ...FakeReading) *FakeMonitorForTests {
	return &FakeMonitorForTests{
		Devs:   []Device{{Index: 0, Name: "Fake GPU", MemoryTotal: 8 << 30, ComputeMajor: 8, ComputeMinor: 9}},
		Script: script,
	}
}

// With an interval far longer than the test, the sampler reads exactly twice:
// at start and at Stop. The figures are then fully determined by the script.
func TestSamplerStartAndStopReadings(t *testing.T) {
	m := fakeGPU(FakeReading{MemoryUsed: 100, Utilization: 10}, FakeReading{MemoryUsed: 300, Utilization: 90})
	s := StartSampler(context.Background(), m, 0, time.Hour)
	st := s.Stop()
	if st.Samples != 2 || st.BaseMemory != 100 || st.PeakMemory != 300 || st.MeanUtilization != 50 || st.MaxUtilization != 90 || st.Err != nil {
		t.Fatalf("Stop() = %+v", st)
	}
	if again := s.Stop(); again != st {
		t.Fatalf("second Stop() = %+v, first %+v", again, st)
	}
	if m.Calls() != 2 {
		t.Fatalf("sampled %d times, want 2", m.Calls())
	}
}

func TestSamplerTicks(t *testing.T) {
	m := fakeGPU(FakeReading{MemoryUsed: 1, Utilization: 0}, FakeReading{MemoryUsed: 7, Utilization: 100}, FakeReading{MemoryUsed: 2, Utilization: 100})
	s := StartSampler(context.Background(), m, 0, time.Millisecond)
	for m.Calls() < 5 {
		time.Sleep(time.Millisecond)
	}
	st := s.Stop()
	// The script repeats its last reading: every reading after the first
	// two is {2, 100}.
	wantMean := (0 + 100 + 100*float64(st.Samples-2)) / float64(st.Samples)
	if st.Samples < 5 || st.PeakMemory != 7 || st.BaseMemory != 1 || st.MaxUtilization != 100 || st.MeanUtilization != wantMean {
		t.Fatalf("Stop() = %+v, want mean %v", st, wantMean)
	}
	if !st.End.After(st.Start) {
		t.Fatalf("End %v not after Start %v", st.End, st.Start)
	}
}

func TestSamplerKeepsFirstError(t *testing.T) {
	first, second := errors.New("first"), errors.New("second")
	m := fakeGPU(FakeReading{Err: first}, FakeReading{Err: second}, FakeReading{MemoryUsed: 5, Utilization: 5})
	s := StartSampler(context.Background(), m, 0, time.Millisecond)
	for m.Calls() < 3 {
		time.Sleep(time.Millisecond)
	}
	st := s.Stop()
	if !errors.Is(st.Err, first) || st.PeakMemory != 5 || st.Samples < 1 {
		t.Fatalf("Stop() = %+v", st)
	}
}

func TestSamplerBadIndex(t *testing.T) {
	st := StartSampler(context.Background(), fakeGPU(), 3, time.Hour).Stop()
	if !errors.Is(st.Err, ErrNoDevice) || st.Samples != 0 {
		t.Fatalf("Stop() = %+v", st)
	}
}

// A cancelled context ends sampling; Stop still returns what was read, and
// the cancellation itself is not reported as a failed reading.
func TestSamplerContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	m := fakeGPU(FakeReading{MemoryUsed: 9, Utilization: 30})
	s := StartSampler(ctx, m, 0, time.Hour)
	cancel()
	st := s.Stop()
	if st.Samples != 1 || st.PeakMemory != 9 || st.Err != nil {
		t.Fatalf("Stop() = %+v", st)
	}
}
