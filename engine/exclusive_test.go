package engine_test

import (
	"context"
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
