package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/builtin"
)

// occupancy records which stage instances run at once.
type occupancy struct {
	mu      sync.Mutex
	running map[string]bool
	overlap []string // "a|b": a started while b ran
}

func (o *occupancy) enter(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for other := range o.running {
		o.overlap = append(o.overlap, id+"|"+other)
	}
	o.running[id] = true
}

func (o *occupancy) leave(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.running, id)
}

// sleeper holds its slot for a moment; exclusive says whether it needs the
// machine alone.
type sleeper struct {
	name      string
	exclusive bool
	occ       *occupancy
}

func (s sleeper) Spec() stages.Spec {
	return stages.Spec{Name: s.name, Version: "1", Summary: "sleeps", Exclusive: s.exclusive, NoCache: true,
		Params: []stages.Param{{Name: "n", Type: stages.Int}}}
}

func (s sleeper) Run(_ context.Context, in *stages.Input) (*stages.Output, error) {
	s.occ.enter(in.Instance)
	time.Sleep(20 * time.Millisecond)
	s.occ.leave(in.Instance)
	return &stages.Output{}, nil
}

// TestExclusiveStageRunsAlone: with -j 3 the plain stages overlap, and the
// exclusive one (as benchmark declares itself) shares the machine with none.
func TestExclusiveStageRunsAlone(t *testing.T) {
	dir := t.TempDir()
	recipe := `version: 1
name: alone
stages:
  a: { uses: work, with: { n: 1 } }
  b: { uses: work, with: { n: 2 } }
  timer: { uses: timer, with: { n: 3 } }
  c: { uses: work, with: { n: 4 } }
  d: { uses: work, with: { n: 5 } }
`
	path := filepath.Join(dir, "alone.yaml")
	if err := os.WriteFile(path, []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	occ := &occupancy{running: map[string]bool{}}
	reg := builtin.Registry()
	reg.MustRegister(sleeper{name: "work", occ: occ})
	reg.MustRegister(sleeper{name: "timer", exclusive: true, occ: occ})
	res, err := engine.Run(context.Background(), engine.Options{Recipe: path, Catalog: &engine.StageCatalog{Builtin: reg},
		Parallelism: 3, CacheDir: filepath.Join(dir, "cache"), StateDir: filepath.Join(dir, "state"), OutDir: filepath.Join(dir, "out")})
	if err != nil || res.Status != engine.StatusSucceeded {
		t.Fatal(err, res.Status)
	}
	plain := 0
	for _, o := range occ.overlap {
		switch o {
		case "timer|a", "timer|b", "timer|c", "timer|d", "a|timer", "b|timer", "c|timer", "d|timer":
			t.Errorf("the exclusive stage shared the machine: %s", o)
		default:
			plain++
		}
	}
	if plain == 0 {
		t.Errorf("plain stages never overlapped with -j 3: %v", occ.overlap)
	}
}

// TestQuantizeIsExclusiveOnlyWhenItTimes runs two real quantize instances
// with -j 2. Whether they time fp32 against INT8 comes from an upstream
// output, so it is only known when they are ready: without the speed check
// they overlap (seen in the run record's start and duration), with it they
// never do.
func TestQuantizeIsExclusiveOnlyWhenItTimes(t *testing.T) {
	model, err := filepath.Abs("../examples/models/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	for _, speed := range []bool{false, true} {
		t.Run(fmt.Sprintf("verify_speed=%v", speed), func(t *testing.T) {
			dir := t.TempDir()
			recipe := fmt.Sprintf(`version: 1
name: two-quantize
stages:
  pick:
    uses: shell
    with:
      run: |
        echo '{"speed": %v}' > v.json
      values: v.json
  q:
    uses: quantize
    matrix:
      per_channel: [true, false]
    with:
      model: %s
      mode: int8-dynamic
      per_channel: ${{ matrix.per_channel }}
      verify_speed: ${{ stages.pick.outputs.speed }}
      speed_iterations: 3
      threads: 1
`, speed, model)
			path := filepath.Join(dir, "q.yaml")
			if err := os.WriteFile(path, []byte(recipe), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := engine.Run(context.Background(), engine.Options{Recipe: path,
				Catalog: &engine.StageCatalog{Builtin: builtin.Registry()}, Parallelism: 2,
				CacheDir: filepath.Join(dir, "cache"), StateDir: filepath.Join(dir, "state"), OutDir: filepath.Join(dir, "out")})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != engine.StatusSucceeded {
				for _, s := range res.Stages {
					t.Logf("%s: %s %s", s.Instance, s.Status, s.Error)
				}
				t.Fatalf("status %s", res.Status)
			}
			rec, err := engine.ReadRunRecord(filepath.Join(res.RunDir, "run.json"))
			if err != nil {
				t.Fatal(err)
			}
			var spans [][2]time.Time
			for _, s := range rec.Stages {
				if s.Stage == "q" {
					spans = append(spans, [2]time.Time{s.Start, s.Start.Add(time.Duration(s.DurationMS) * time.Millisecond)})
				}
			}
			if len(spans) != 2 {
				t.Fatalf("%d quantize instances in run.json, want 2", len(spans))
			}
			overlap := spans[0][0].Before(spans[1][1]) && spans[1][0].Before(spans[0][1])
			if overlap == speed {
				t.Errorf("verify_speed %v: the instances overlapped: %v, want %v (spans %v)", speed, overlap, !speed, spans)
			}
		})
	}
}

// cachedTimer is an exclusive stage whose results are cached, as
// benchmark's are.
type cachedTimer struct{ occ *occupancy }

func (s cachedTimer) Spec() stages.Spec {
	return stages.Spec{Name: "ctimer", Version: "1", Summary: "times", Exclusive: true,
		Params: []stages.Param{{Name: "n", Type: stages.Int}}}
}

func (s cachedTimer) Run(_ context.Context, in *stages.Input) (*stages.Output, error) {
	s.occ.enter(in.Instance)
	time.Sleep(20 * time.Millisecond)
	s.occ.leave(in.Instance)
	return &stages.Output{}, nil
}

// slowWork holds its slot for n ms and is never cached.
type slowWork struct{}

func (slowWork) Spec() stages.Spec {
	return stages.Spec{Name: "slow", Version: "1", Summary: "sleeps n ms", NoCache: true,
		Params: []stages.Param{{Name: "n", Type: stages.Int}}}
}

func (slowWork) Run(_ context.Context, in *stages.Input) (*stages.Output, error) {
	time.Sleep(time.Duration(in.Params["n"].(int64)) * time.Millisecond)
	return &stages.Output{}, nil
}

// TestCachedExclusiveStageDoesNotWait: an exclusive stage whose result is in
// the cache is restored, not timed, so it does not wait for the machine to
// be free: on the second run it is done while a slow stage still runs.
func TestCachedExclusiveStageDoesNotWait(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(path, []byte(`version: 1
name: cached-alone
stages:
  slow: { uses: slow, with: { n: 1500 } }
  timer: { uses: ctimer, with: { n: 1 } }
`), 0o644); err != nil {
		t.Fatal(err)
	}
	occ := &occupancy{running: map[string]bool{}}
	reg := builtin.Registry()
	reg.MustRegister(slowWork{})
	reg.MustRegister(cachedTimer{occ: occ})
	opts := engine.Options{Recipe: path, Catalog: &engine.StageCatalog{Builtin: reg}, Parallelism: 2,
		CacheDir: filepath.Join(dir, "cache"), StateDir: filepath.Join(dir, "state"), OutDir: filepath.Join(dir, "out")}
	for run := 1; run <= 2; run++ {
		res, err := engine.Run(context.Background(), opts)
		if err != nil || res.Status != engine.StatusSucceeded {
			t.Fatal(err, res.Status)
		}
		by := map[string]*engine.StageResult{}
		for _, s := range res.Stages {
			by[s.Instance] = s
		}
		slow, timer := by["slow"], by["timer"]
		slowEnd := slow.Start.Add(msDur(slow.DurationMS))
		overlapped := timer.Start.Before(slowEnd) && slow.Start.Before(timer.Start.Add(msDur(timer.DurationMS)))
		switch {
		case run == 1 && (timer.Cached || overlapped):
			t.Errorf("first run: the timer was cached (%v) or shared the machine (timer at %v, slow %v+%dms)", timer.Cached, timer.Start, slow.Start, slow.DurationMS)
		case run == 2 && !timer.Cached:
			t.Errorf("second run: the timer was not restored from the cache")
		case run == 2 && !timer.Start.Before(slowEnd):
			t.Errorf("second run: the cached timer waited for the slow stage (timer at %v, slow ended %v)", timer.Start, slowEnd)
		}
	}
}
