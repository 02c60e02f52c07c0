package gpu

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// FakeMonitorForTests is a scripted Monitor for tests on machines without a
// GPU. Sample returns Script's readings in turn for every index, then keeps
// repeating the last one; a reading with a non-nil Err fails.
type FakeMonitorForTests struct {
	Devs   []Device
	Script []FakeReading

	mu     sync.Mutex
	next   int
	closed bool
}

// FakeReading is one scripted Sample result.
type FakeReading struct {
	MemoryUsed  uint64
	Utilization uint32
	Err         error
}

var _ Monitor = (*FakeMonitorForTests)(nil)

func (f *FakeMonitorForTests) Devices() ([]Device, error) {
	return append([]Device(nil), f.Devs...), nil
}

func (f *FakeMonitorForTests) Sample(ctx context.Context, index int) (Sample, error) {
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if index < 0 || index >= len(f.Devs) {
		return Sample{}, fmt.Errorf("sample GPU %d of %d: %w", index, len(f.Devs), ErrNoDevice)
	}
	if len(f.Script) == 0 {
		return Sample{Time: time.Now(), Index: index}, nil
	}
	r := f.Script[min(f.next, len(f.Script)-1)]
	f.next++
	if r.Err != nil {
		return Sample{}, r.Err
	}
	return Sample{Time: time.Now(), Index: index, MemoryUsed: r.MemoryUsed, Utilization: r.Utilization}, nil
}

// Calls returns how many times Sample read the script.
func (f *FakeMonitorForTests) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.next
}

func (f *FakeMonitorForTests) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}
