package quantize

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/charmbracelet/log"

	rt "github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/internal/transform"
	"github.com/sentinelzer0/szrun/stages/quantize/internal/qtest"
)

// repoRoot is the module root, found from this file's location.
func repoRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func fixture(t testing.TB, rel string) string {
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(repoRoot(t), rel)
}

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// runStage runs the real stage with params as a recipe would give them.
func runStage(t testing.TB, with map[string]any) (*stages.Output, *Report, error) {
	t.Helper()
	return runStageIn(t, t.TempDir(), with)
}

func runStageIn(t testing.TB, dir string, with map[string]any) (*stages.Output, *Report, error) {
	t.Helper()
	qtest.RequireORT(t)
	st := New()
	params, err := st.Spec().Coerce(with, stages.CoerceOptions{BaseDir: repoRoot(t), CheckPaths: true})
	if err != nil {
		return nil, nil, err
	}
	in := &stages.Input{Instance: "quantize", Params: params, WorkDir: dir, Log: log.New(logWriter{t})}
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

// writeNPY writes a little-endian .npy file (format 1.0) for tests.
func writeNPY(t testing.TB, path, descr string, shape []int64, data []byte) {
	t.Helper()
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.FormatInt(d, 10)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, tuple)
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad%64) + "\n"
	var buf bytes.Buffer
	buf.WriteString("\x93NUMPY")
	buf.Write([]byte{1, 0})
	_ = binary.Write(&buf, binary.LittleEndian, uint16(len(header)))
	buf.WriteString(header)
	buf.Write(data)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newSession(model string) (*rt.Session, error) {
	return rt.NewSession(context.Background(), model, rt.SessionOptions{})
}

// testDataset opens a data file for the model open in s, as the stage does.
func testDataset(path string, s *rt.Session) (*dataset, error) {
	d, err := transform.Data(s.Inputs(), s.Outputs(), transform.DataOptions{Param: "data", Path: path})
	if err != nil {
		return nil, err
	}
	return &dataset{Data: d, info: s.Inputs()}, nil
}

// runOutputs runs the model at path over ds as the stage runs its reference
// and returns each output's float32 values.
func runOutputs(ctx context.Context, path string, ds *dataset, batch int64, threads int) ([][]float32, error) {
	v, err := reference(ctx, path, ds, batch, threads)
	if err != nil {
		return nil, err
	}
	return outputs32(v.Want)
}
