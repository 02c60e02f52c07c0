package evaluate

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/runtime"
)

// writeNPZRaw writes tensors as a .npz, stored or deflated as numpy.savez and
// numpy.savez_compressed do.
func writeNPZRaw(t testing.TB, path string, compressed bool, arrays map[string]*runtime.Tensor) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, name := range sortedKeys(arrays) {
		method := zip.Store
		if compressed {
			method = zip.Deflate
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(npyBytes(arrays[name])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// npyBytes encodes a tensor as a version 1.0 .npy file.
func npyBytes(a *runtime.Tensor) []byte {
	descr := map[string]string{"float32": "<f4", "int64": "<i8"}[a.DType]
	dims := make([]string, len(a.Shape))
	for i, d := range a.Shape {
		dims[i] = fmt.Sprint(d)
	}
	shape := strings.Join(dims, ", ")
	if len(dims) == 1 {
		shape += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape)
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	b.WriteByte(byte(len(h)))
	b.WriteByte(byte(len(h) >> 8))
	b.WriteString(h)
	b.Write(a.Bytes())
	return b.Bytes()
}

func vad(t *testing.T) (model string, feeds map[string]*runtime.Tensor) {
	t.Helper()
	testenv.RequireORT(t)
	feeds, err := runtime.LoadNPZ(testenv.Example(t, "data/stateful_vad_feeds.npz"))
	if err != nil {
		t.Fatal(err)
	}
	return testenv.Example(t, "models/stateful_vad.onnx"), feeds
}

// checkVAD runs the stateful model over d and compares its outputs with the
// ones PyTorch computed for the same feeds.
func checkVAD(t *testing.T, model string, d *Data, want map[string]*runtime.Tensor) {
	t.Helper()
	out, err := Run(context.Background(), model, d, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"output", "stateN"} {
		got := out.Tensors[name]
		if runtime.FormatShape(got.Shape) != runtime.FormatShape(want[name].Shape) {
			t.Fatalf("%s: shape %s, want %s", name, runtime.FormatShape(got.Shape), runtime.FormatShape(want[name].Shape))
		}
		w := want[name].Data.([]float32)
		for i, v := range got.Data.([]float32) {
			if math.Abs(float64(v-w[i])) > 1e-5 {
				t.Fatalf("%s[%d] = %v, torch %v", name, i, v, w[i])
			}
		}
	}
}

// TestStackedFeeds feeds a Silero-VAD-like model (input [batch, samples], state
// [2, batch, 32], scalar int64 sr) from stacked feeds in every form a user may
// have them: the .npz file (stored and compressed), a folder of one .npz per
// sample, and fixed_inputs for sr; every form gives PyTorch's outputs.
func TestStackedFeeds(t *testing.T) {
	model, feeds := vad(t)
	dir := t.TempDir()
	in := map[string]*runtime.Tensor{"input": feeds["input"], "state": feeds["state"], "sr": feeds["sr"]}

	t.Run("file", func(t *testing.T) {
		d, err := LoadData(testenv.Example(t, "data/stateful_vad_feeds.npz"))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if d.N != 8 {
			t.Fatalf("N = %d, want 8", d.N)
		}
		checkVAD(t, model, d, feeds)
	})
	t.Run("compressed", func(t *testing.T) {
		path := filepath.Join(dir, "feeds_compressed.npz")
		writeNPZRaw(t, path, true, in)
		d, err := LoadData(path)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		checkVAD(t, model, d, feeds)
		// Going back re-reads from the start of the compressed member.
		s, err := runtime.NewSession(context.Background(), model, runtime.SessionOptions{IntraOpThreads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, i := range []int64{7, 0, 3} {
			f, err := d.Feed(s.Inputs(), i)
			if err != nil {
				t.Fatal(err)
			}
			want := feeds["input"].Data.([]float32)[i*512]
			if got := f[0].Data.([]float32)[0]; got != want || runtime.FormatShape(f[0].Shape) != "[1,512]" {
				t.Fatalf("feed %d: input %s starts %v, want [1,512] starting %v", i, runtime.FormatShape(f[0].Shape), got, want)
			}
		}
	})
	t.Run("folder of npz", func(t *testing.T) {
		folder := filepath.Join(dir, "samples")
		if err := os.Mkdir(folder, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range int64(8) {
			one := map[string]*runtime.Tensor{}
			for name, a := range in {
				s, err := runtime.Slice(a, i, 1)
				if err != nil {
					t.Fatal(err)
				}
				one[name] = &runtime.Tensor{Name: name, DType: s.DType, Shape: s.Shape[1:], Data: s.Data}
			}
			// Natural order: sample_10 would sort after sample_9.
			writeNPZRaw(t, filepath.Join(folder, fmt.Sprintf("sample_%d.npz", i)), false, one)
		}
		d, err := LoadData(folder)
		if err != nil {
			t.Fatal(err)
		}
		checkVAD(t, model, d, feeds)
	})
	t.Run("fixed sr", func(t *testing.T) {
		d, err := NewData(map[string]*runtime.Tensor{"input": feeds["input"], "state": feeds["state"]})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Match(mustInputs(t, model)); err == nil || !strings.Contains(err.Error(), "fixed_inputs: {sr: VALUE}") {
			t.Fatalf("Match without sr: %v", err)
		}
		if err := d.Fix(map[string]any{"sr": int64(16000)}); err != nil {
			t.Fatal(err)
		}
		checkVAD(t, model, d, feeds)
		if err := d.Fix(map[string]any{"sr": 1.5}); err != nil {
			t.Fatal(err)
		}
		if err := d.Match(mustInputs(t, model)); err == nil || !strings.Contains(err.Error(), "1.5 is not an integer, the model wants int64") {
			t.Fatalf("Match with sr 1.5: %v", err)
		}
	})
}

func mustInputs(t *testing.T, model string) []runtime.IOInfo {
	t.Helper()
	s, err := runtime.NewSession(context.Background(), model, runtime.SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return s.Inputs()
}

// TestFeedShapes resolves random inputs' shapes for the stateful model: a
// dimension nothing fixes is an error listing it with a ready shapes: line; the
// batch named on input's axis 0 fixes state's axis 1; the old form (without
// the batch) still works, with a warning.
func TestFeedShapes(t *testing.T) {
	model, _ := vad(t)
	info := mustInputs(t, model)
	m, err := onnx.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	g := m.Proto.GetGraph()
	skip := map[string]bool{"sr": true}
	_, err = FeedShapes(info, g, nil, skip, nil)
	want := `dynamic dimensions with no value: input[1] ("samples"); give the inputs' full shapes, e.g. (edit the values) shapes: {input: [1, 128], state: [2, 1, 32]}`
	if err == nil || err.Error() != want {
		t.Fatalf("no shapes: %v\nwant %s", err, want)
	}
	for _, tt := range []struct {
		shapes map[string][]int64
		warn   string
	}{
		{map[string][]int64{"input": {1, 512}}, ""},
		{map[string][]int64{"input": {512}}, "shapes.input: [512] is one dimension short"},
	} {
		var warned string
		got, err := FeedShapes(info, g, tt.shapes, skip, func(s string) { warned = s })
		if err != nil {
			t.Fatal(err)
		}
		if a, b := runtime.FormatShape(got["input"]), runtime.FormatShape(got["state"]); a != "[1,512]" || b != "[2,1,32]" {
			t.Errorf("%v: input %s state %s", tt.shapes, a, b)
		}
		if !strings.Contains(warned, tt.warn) || (tt.warn == "") != (warned == "") {
			t.Errorf("%v: warning %q, want %q", tt.shapes, warned, tt.warn)
		}
	}
	if _, err := FeedShapes(info, g, map[string][]int64{"input": {2, 3, 4}}, skip, nil); err == nil || !strings.Contains(err.Error(), "has rank 3, the input [N,?] has rank 2") {
		t.Errorf("rank 3: %v", err)
	}

	// Random data for it: stacked feeds (state's batch is not on axis 0), sr fixed.
	d, err := RandomData(info, RandomOptions{Graph: g, Shapes: map[string][]int64{"input": {1, 512}}, Fixed: map[string]any{"sr": 16000}, Samples: 3})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), model, d, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if s := runtime.FormatShape(out.Tensors["stateN"].Shape); s != "[3,2,1,32]" {
		t.Errorf("random stateN %s, want [3,2,1,32]", s)
	}
}

// TestFixedBatchRandom verifies a model whose batch is fixed at 1 ([1, 16, 96],
// as openWakeWord's) with several random samples: one feed per run.
func TestFixedBatchRandom(t *testing.T) {
	testenv.RequireORT(t)
	model := testenv.Example(t, "models/fixed_batch.onnx")
	info := mustInputs(t, model)
	for _, shapes := range []map[string][]int64{nil, {"x": {1, 16, 96}}} {
		d, err := RandomData(info, RandomOptions{Shapes: shapes, Samples: 4})
		if err != nil {
			t.Fatal(err)
		}
		out, err := Run(context.Background(), model, d, Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		if s := runtime.FormatShape(out.Tensors["y"].Shape); s != "[4,4]" {
			t.Errorf("shapes %v: y %s, want [4,4]", shapes, s)
		}
	}
	if _, err := RandomData(info, RandomOptions{Shapes: map[string][]int64{"x": {4, 16, 96}}, Samples: 4}); err == nil ||
		!strings.Contains(err.Error(), "the model fixes dimension 0 of [1,16,96] to 1") {
		t.Errorf("shapes [4,16,96]: %v", err)
	}
}
