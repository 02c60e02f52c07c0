package quantize

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/quantize/internal/qtest"
)

// repoRoot is the module root, found from this file's location.
func repoRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func fixture(t testing.TB, rel string) string { return filepath.Join(repoRoot(t), rel) }

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// runStage runs the real stage with params as a recipe would give them.
func runStage(t testing.TB, with map[string]any) (*stages.Output, *Report, error) {
	t.Helper()
	qtest.RequireORT(t)
	st := New()
	params, err := st.Spec().Coerce(with, stages.CoerceOptions{BaseDir: repoRoot(t), CheckPaths: true})
	if err != nil {
		return nil, nil, err
	}
	in := &stages.Input{Instance: "quantize", Params: params, WorkDir: t.TempDir(), Log: log.New(logWriter{t})}
	out, err := st.Run(context.Background(), in)
	if err != nil {
		return nil, nil, err
	}
	var rep Report
	data, err := os.ReadFile(out.Files["report"])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	return out, &rep, nil
}
