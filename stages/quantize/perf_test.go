package quantize

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/transform"
	"github.com/sentinelzer0/szrun/stages/quantize/internal/qtest"
)

// TestPerfTable quantizes resnet_small and the encoder every way the stage
// offers and times each against the ORT-optimized fp32 model at batch 1 and 8
// with 2 threads. It always runs (CI too) with a few iterations, checking that
// every model loads, runs and stays within 5% output error; SZRUN_PERF=1 times
// with enough iterations for the table in docs/PERFORMANCE.md:
//
//	SZRUN_PERF=1 go test ./stages/quantize -run TestPerfTable -v
func TestPerfTable(t *testing.T) {
	perf := os.Getenv("SZRUN_PERF") == "1"
	iters := 3
	if perf {
		iters = 200
	}
	type variant struct {
		name string
		with map[string]any
	}
	models := []struct {
		name, model, calib, acc string
		variants                []variant
	}{
		{"resnet_small", "examples/models/resnet_small.onnx", "examples/data/resnet_inputs.npz", "", []variant{
			{"int8-dynamic", map[string]any{"mode": "int8-dynamic"}},
			{"int8-static qdq minmax (default)", map[string]any{"mode": "int8-static"}},
			{"int8-static qdq entropy", map[string]any{"mode": "int8-static", "calibration": map[string]any{"method": "entropy"}}},
			{"int8-static qoperator", map[string]any{"mode": "int8-static", "format": "qoperator"}},
			{"int8-static qdq s8 activations", map[string]any{"mode": "int8-static", "activation_type": "int8"}},
			{"int8-static qdq per-tensor", map[string]any{"mode": "int8-static", "per_channel": false}},
		}},
		{"encoder", "examples/models/encoder.onnx", "examples/data/encoder_inputs.npz", "examples/data/encoder_test.npz", []variant{
			{"int8-dynamic (default)", map[string]any{"mode": "int8-dynamic"}},
			{"int8-static qdq minmax", map[string]any{"mode": "int8-static"}},
			{"int8-static qdq s8 activations", map[string]any{"mode": "int8-static", "activation_type": "int8"}},
		}},
	}
	if mb := os.Getenv("SZRUN_MOBILENET"); mb != "" {
		// make_fixtures.py --mobilenet; random weights, so random calibration data.
		models = append(models, struct {
			name, model, calib, acc string
			variants                []variant
		}{"mobilenet_v2", mb, writeNamedData(t, "input", 8, 3, 224, 224), "", []variant{
			{"int8-dynamic", map[string]any{"mode": "int8-dynamic"}},
			{"int8-static qdq minmax (default)", map[string]any{"mode": "int8-static"}},
		}})
	}
	if !perf {
		// CI: the defaults and dynamic mode only, each still loaded, run,
		// checked and timed a few times.
		for i := range models {
			var keep []variant
			for _, v := range models[i].variants {
				if strings.Contains(v.name, "default") || strings.Contains(v.name, "dynamic") {
					keep = append(keep, v)
				}
			}
			models[i].variants = keep
		}
	}
	var table []string
	table = append(table, "| model | variant | size KB | max rel err | b1 ms | b1 speedup | b8 ms | b8 speedup |", "|---|---|---:|---:|---:|---:|---:|---:|")
	for _, mc := range models {
		var paths []string
		var reps []*Report
		for _, v := range mc.variants {
			with := map[string]any{"model": mc.model, "verify_speed": false}
			if mc.acc != "" {
				with["accuracy"] = map[string]any{"data": mc.acc}
			}
			for k, x := range v.with {
				with[k] = x
			}
			if with["mode"] == ModeStatic {
				c := map[string]any{"data": mc.calib}
				if m, ok := with["calibration"].(map[string]any); ok {
					for k, x := range m {
						c[k] = x
					}
				}
				with["calibration"] = c
			}
			out, rep, err := runStage(t, with)
			if err != nil {
				t.Fatalf("%s %s: %v", mc.name, v.name, err)
			}
			qtest.Check(t, out.Files["model"])
			// MobileNetV2 has random weights and random calibration data: its
			// error is reported, not held to the 5% bar of the real fixtures.
			if strings.Contains(v.name, "default") && mc.name != "mobilenet_v2" && rep.Verification.MaxRelError > 0.05 {
				t.Errorf("%s %s: max relative output error %.4f > 5%%", mc.name, v.name, rep.Verification.MaxRelError)
			}
			if len(paths) == 0 {
				// The baseline: the same ORT-optimized fp32 model the stage compared with.
				paths = append(paths, filepath.Join(filepath.Dir(out.Files["model"]), "fp32_optimized.onnx"))
				size, err := onnx.FileSize(paths[0])
				if err != nil {
					t.Fatal(err)
				}
				reps = append(reps, &Report{Report: transform.Report{SizeAfter: size, Verification: &transform.Verification{}}})
			}
			paths = append(paths, out.Files["model"])
			reps = append(reps, rep)
		}
		var ms [2][]float64
		n := iters
		if mc.name == "mobilenet_v2" {
			n = max(iters/10, 3)
		}
		for b, bs := range []int64{1, 8} {
			ms[b] = latenciesAt(t, paths, mc.calib, bs, n)
		}
		for i, rep := range reps {
			name := "fp32 optimized"
			if i > 0 {
				name = mc.variants[i-1].name
			}
			table = append(table, fmt.Sprintf("| %s | %s | %d | %.4f | %.3f | %.2f | %.3f | %.2f |", mc.name, name,
				rep.SizeAfter/1024, rep.Verification.MaxRelError, ms[0][i], ms[0][0]/ms[0][i], ms[1][i], ms[1][0]/ms[1][i]))
		}
	}
	t.Logf("latency, 2 threads, median of %d interleaved runs:\n%s", iters, strings.Join(table, "\n"))
}

// latenciesAt times models on the first bs samples of a data file.
func latenciesAt(t *testing.T, models []string, data string, bs int64, iters int) []float64 {
	t.Helper()
	s, err := runtime.NewSession(context.Background(), models[0], runtime.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := testDataset(fixture(t, data), s)
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	in, err := transform.SpeedInputs(ds.Data, ds.info, bs)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := transform.Speed(context.Background(), models, transform.SpeedOptions{Inputs: in, Runs: iters, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	ms := make([]float64, len(models))
	for i, m := range tm.Medians {
		ms[i] = m.Value
	}
	return ms
}
