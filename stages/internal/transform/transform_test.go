package transform

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/internal/normalize"
)

// extendedDigits is the digits CNN as ONNX Runtime's extended optimizer
// writes it: its Conv+Relu pairs are com.microsoft FusedConv nodes.
func extendedDigits(t *testing.T) string {
	t.Helper()
	testenv.RequireORT(t)
	out := filepath.Join(t.TempDir(), "digits_extended.onnx")
	if err := runtime.Optimize(context.Background(), testenv.Example(t, "models/digits_cnn.onnx"), out, "extended", 1); err != nil {
		t.Fatal(err)
	}
	return out
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// A model ONNX Runtime optimized at level extended is normalized back to
// standard ops, saved where every session reads it, runs to the same outputs
// as the original, and Close removes the copy.
func TestOpenNormalizesFusedModel(t *testing.T) {
	src := extendedDigits(t)
	work := t.TempDir()
	tm, err := Open(src, Options{Stage: "test", WorkDir: work})
	if err != nil {
		t.Fatal(err)
	}
	if tm.Normalized.Unfused["com.microsoft.FusedConv"] == 0 || !tm.Normalized.Changed() {
		t.Fatalf("no FusedConv unfused: %+v", tm.Normalized)
	}
	if tm.Path != filepath.Join(work, NormalizedFile) || tm.Input != src {
		t.Fatalf("paths %s, %s", tm.Input, tm.Path)
	}
	for _, n := range tm.Proto.GetGraph().GetNode() {
		if n.GetDomain() == "com.microsoft" {
			t.Errorf("node %s is still %s.%s", n.GetName(), n.GetDomain(), n.GetOpType())
		}
	}
	ctx := context.Background()
	data, err := evaluate.LoadData(testenv.Example(t, "data/digits_test.npz"))
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	s, err := runtime.NewSession(ctx, src, runtime.SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	v, err := Reference(ctx, s, data, evaluate.Options{Threads: 1})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, cmp, err := v.Check(ctx, tm.Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, oc := range cmp.Outputs {
		if oc.MaxRelError > 1e-5 || oc.CandAccuracy == nil || *oc.AccuracyDrop != 0 {
			t.Errorf("output %s: rel error %g, accuracy drop %v", oc.Name, oc.MaxRelError, oc.AccuracyDrop)
		}
	}
	if err := tm.Close(); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, work); len(got) != 0 {
		t.Errorf("work dir holds %v after Close", got)
	}
}

// The work dir is made when it does not exist yet (a stage's subfolder).
func TestOpenMakesWorkDir(t *testing.T) {
	work := filepath.Join(t.TempDir(), "sub", "dir")
	tm, err := Open(extendedDigits(t), Options{Stage: "test", WorkDir: work})
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	if tm.Path != filepath.Join(work, NormalizedFile) {
		t.Fatalf("path %s", tm.Path)
	}
}

// A model that needs nothing is used where it is: nothing is written.
func TestOpenLeavesNormalModel(t *testing.T) {
	testenv.RequireORT(t)
	src := testenv.Example(t, "models/digits_cnn.onnx")
	work := t.TempDir()
	var sawOriginal bool
	tm, err := Open(src, Options{Stage: "test", WorkDir: work, Check: func(*onnxpb.ModelProto) error { sawOriginal = true; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if tm.Path != src || tm.Normalized.Changed() || !sawOriginal {
		t.Fatalf("path %s, changed %v, check ran %v", tm.Path, tm.Normalized.Changed(), sawOriginal)
	}
	if got := entries(t, work); len(got) != 0 {
		t.Errorf("work dir holds %v", got)
	}
	if err := tm.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("Close touched the user's model: %v", err)
	}
}

// A model with external data keeps its layout in the normalized copy, sizes
// count the data files, and Close removes both files.
func TestOpenExternalData(t *testing.T) {
	m, err := onnx.Load(extendedDigits(t))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "ext.onnx")
	if err := onnx.Save(m, src, onnx.SaveOptions{External: onnx.ExternalAlways}); err != nil {
		t.Fatal(err)
	}
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("KeepExternal=%v", keep), func(t *testing.T) {
			work := t.TempDir()
			tm, err := Open(src, Options{Stage: "test", WorkDir: work, Load: onnx.LoadOptions{KeepExternal: keep}})
			if err != nil {
				t.Fatal(err)
			}
			if got := entries(t, work); !slices.Equal(got, []string{NormalizedFile, NormalizedFile + ".data"}) {
				t.Fatalf("work dir holds %v, want the model and its data file", got)
			}
			before, after, err := Sizes(src, tm.Path)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := os.Stat(src + ".data")
			if data == nil || before <= data.Size() || after <= data.Size() {
				t.Fatalf("sizes %d -> %d do not count the external data", before, after)
			}
			// The model in memory is the copy's: saved again, it is whole.
			again := filepath.Join(t.TempDir(), "again.onnx")
			if err := Save(tm.Model, again); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{tm.Path, again} {
				s, err := runtime.NewSession(context.Background(), p, runtime.SessionOptions{IntraOpThreads: 1})
				if err != nil {
					t.Fatalf("ONNX Runtime cannot load %s: %v", filepath.Base(p), err)
				}
				s.Close()
			}
			tm.Close()
			if got := entries(t, work); len(got) != 0 {
				t.Errorf("work dir holds %v after Close", got)
			}
		})
	}
}

// Hostile inputs: nothing is written and the error says what is wrong with
// which file or node.
func TestOpenHostile(t *testing.T) {
	testenv.RequireORT(t)
	good, err := os.ReadFile(testenv.Example(t, "models/digits_cnn.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	truncated := filepath.Join(dir, "truncated.onnx")
	os.WriteFile(truncated, good[:len(good)/2], 0o644)

	// A real ORT-written FusedConv whose activation normalize cannot unfuse.
	fused := extendedDigits(t)
	m, err := onnx.Load(fused)
	if err != nil {
		t.Fatal(err)
	}
	var victim string
	for _, n := range m.Proto.GetGraph().GetNode() {
		if n.GetOpType() != "FusedConv" {
			continue
		}
		victim = n.GetName()
		for _, a := range n.GetAttribute() {
			if a.GetName() == "activation" {
				a.S = []byte("Softplus")
			}
		}
		break
	}
	bad := filepath.Join(dir, "softplus.onnx")
	if err := onnx.Save(m, bad, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, path string
		want       []string
		nodeErr    bool
	}{
		{"truncated", truncated, []string{"test:", "truncated.onnx"}, false},
		{"missing", filepath.Join(dir, "nope.onnx"), []string{"nope.onnx"}, false},
		{"folder", dir, []string{dir}, false},
		{"unnormalizable", bad, []string{"softplus.onnx", victim, `"Softplus"`}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			work := t.TempDir()
			_, err := Open(c.path, Options{Stage: "test", WorkDir: work})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			var ne *normalize.NodeError
			if c.nodeErr && (!errors.As(err, &ne) || ne.Node != victim) {
				t.Errorf("error %v is not a NodeError naming %s", err, victim)
			}
			if got := entries(t, work); len(got) != 0 {
				t.Errorf("wrote %v before failing", got)
			}
		})
	}
}

// A save that fails at its last step (the rename: a folder holds the name)
// leaves neither a partial file nor a temporary one.
func TestFailedSaveLeavesNoPartialFile(t *testing.T) {
	src := extendedDigits(t)
	work := t.TempDir()
	blocker := filepath.Join(work, NormalizedFile)
	if err := os.Mkdir(blocker, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Open(src, Options{Stage: "test", WorkDir: work})
	if err == nil || !strings.Contains(err.Error(), NormalizedFile) {
		t.Fatalf("error %v, want one naming %s", err, NormalizedFile)
	}
	if got := entries(t, work); !slices.Equal(got, []string{NormalizedFile}) {
		t.Errorf("work dir holds %v, want only the blocking folder", got)
	}
	if st, _ := os.Stat(blocker); st == nil || !st.IsDir() {
		t.Error("the folder was replaced")
	}
}

// Data checks a data file against the model before any work: a misspelt
// array, a missing input, and random inputs when there is no file.
func TestData(t *testing.T) {
	testenv.RequireORT(t)
	ctx := context.Background()
	s, err := runtime.NewSession(ctx, testenv.Example(t, "models/digits_cnn.onnx"), runtime.SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := Data(s.Inputs(), s.Outputs(), DataOptions{Param: "data", Path: testenv.Example(t, "data/digits_test.npz")})
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 360 || len(d.Labels) != 360 {
		t.Errorf("%d samples, %d labels", d.N, len(d.Labels))
	}
	d.Close()
	_, err = Data(s.Inputs(), s.Outputs(), DataOptions{Param: "calibration.data", Path: testenv.Example(t, "data/encoder_inputs.npz")})
	for _, w := range []string{"parameter calibration.data", "encoder_inputs.npz", `missing "input"`, `unknown "input_ids"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not say %q", err, w)
		}
	}
	d, err = Data(s.Inputs(), s.Outputs(), DataOptions{Param: "data", Random: evaluate.RandomOptions{Samples: 3, Seed: 1}})
	if err != nil || d.N != 3 {
		t.Fatalf("random: %v", err)
	}
	d.Close()
	if _, err := Data(s.Inputs(), s.Outputs(), DataOptions{Param: "data", Path: filepath.Join(t.TempDir(), "none.npz")}); err == nil {
		t.Error("a missing data file opened")
	}
}

// Verification fails when a candidate gives NaN where the original does not
// (a weight set to NaN), and when it does not load at all.
func TestVerifierCatchesNaNAndBrokenModels(t *testing.T) {
	testenv.RequireORT(t)
	ctx := context.Background()
	src := testenv.Example(t, "models/digits_cnn.onnx")
	s, err := runtime.NewSession(ctx, src, runtime.SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	data, err := Data(s.Inputs(), s.Outputs(), DataOptions{Param: "data", Path: testenv.Example(t, "data/digits_test.npz")})
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	v, err := Reference(ctx, s, data, evaluate.Options{Threads: 1})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}

	m, err := onnx.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	nan := proto.Clone(m.Proto).(*onnxpb.ModelProto)
	for _, init := range nan.GetGraph().GetInitializer() {
		if vals, err := onnx.Float32s(init); err == nil && len(vals) > 16 {
			vals[0] = float32(math.NaN())
			onnx.SetFloat32s(init, vals)
			break
		}
	}
	dir := t.TempDir()
	nanPath := filepath.Join(dir, "nan.onnx")
	if err := Save(&onnx.Model{Proto: nan}, nanPath); err != nil {
		t.Fatal(err)
	}
	_, cmp, err := v.Check(ctx, nanPath)
	if err == nil || cmp == nil || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("NaN candidate: %v", err)
	}

	broken := filepath.Join(dir, "broken.onnx")
	os.WriteFile(broken, []byte("not a model"), 0o644)
	if _, cmp, err := v.Check(ctx, broken); !errors.Is(err, ErrRun) || cmp != nil {
		t.Fatalf("broken candidate: %v", err)
	}
}

// An opset-6 model of Debian's libonnx-testdata (PyTorch 0.3), which ONNX
// Runtime 1.30 cannot load (no BatchNormalization(6) kernel), is lifted to
// opset 7 and loads and runs; normalize's TestOpset6TestData checks such
// lifts against the package's expected outputs.
func TestOpenLiftsOpset6(t *testing.T) {
	testenv.RequireORT(t)
	dir := "/usr/share/libonnx-testdata/data/pytorch-converted/test_BatchNorm2d_eval"
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("libonnx-testdata missing (scripts/setup.sh installs it): %v", err)
		}
		t.Skip("libonnx-testdata not installed (scripts/setup.sh)")
	}
	tm, err := Open(filepath.Join(dir, "model.onnx"), Options{Stage: "test", WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	if tm.Normalized.FromOpset != 6 || tm.Normalized.ToOpset != normalize.ORTMinOpset {
		t.Fatalf("report %+v", tm.Normalized)
	}
	ctx := context.Background()
	s, err := runtime.NewSession(ctx, tm.Path, runtime.SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := Data(s.Inputs(), s.Outputs(), DataOptions{Param: "data", Random: evaluate.RandomOptions{Samples: 2, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := evaluate.RunSession(ctx, s, d, evaluate.Options{Threads: 1}); err != nil {
		t.Fatal(err)
	}
}
