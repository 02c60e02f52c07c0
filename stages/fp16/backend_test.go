package fp16

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/x448/float16"
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Half-precision tolerance against the suite's expected outputs:
// |got - want| <= backendRtol*|want| + backendAtol*max(1, max|want|).
const (
	backendRtol = 1e-2
	backendAtol = 5e-3
)

// onnxTestdata finds ONNX's backend test suite (Debian's libonnx-testdata);
// its absence fails in CI.
func onnxTestdata(t testing.TB) string {
	dir := os.Getenv("ONNX_TESTDATA")
	if dir == "" {
		dir = "/usr/share/libonnx-testdata/data"
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ONNX backend test data not found at %s (set ONNX_TESTDATA or install libonnx-testdata): %v", dir, err)
		}
		t.Skipf("ONNX backend test data not found at %s; set ONNX_TESTDATA", dir)
	}
	return dir
}

// backendCase is the outcome for one model of the suite.
type backendCase struct {
	name string
	// skip says why the model is not a float model ONNX Runtime runs
	// correctly (then it does not count); fail why the conversion broke it.
	skip, fail string
	// converted is the saved float16 model, for onnx.checker.
	converted, original, convertedIO string
	// note says what could not be checked in a passing case.
	note string
}

// TestBackendSuite converts every float model of the ONNX backend test
// suite that ONNX Runtime runs correctly and checks the float16 model
// against the suite's expected outputs, then runs onnx.checker on all of
// them. The outcome is compared with testdata/backend_results.md (refresh
// with -update).
func TestBackendSuite(t *testing.T) {
	testenv.RequireORT(t)
	root := onnxTestdata(t)
	var dirs []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "model.onnx" {
			dirs = append(dirs, filepath.Dir(p))
		}
		return err
	})
	sort.Strings(dirs)
	if len(dirs) < 500 {
		t.Fatalf("found only %d models under %s", len(dirs), root)
	}
	tmp := t.TempDir()
	cases := make([]backendCase, len(dirs))
	work := make(chan int)
	var wg sync.WaitGroup
	for range 2 { // CI has 2 cores; each session uses one thread
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				rel, _ := filepath.Rel(root, dirs[i])
				cases[i] = runBackendCase(dirs[i], filepath.Join(tmp, fmt.Sprintf("%04d.onnx", i)))
				cases[i].name = rel
			}
		}()
	}
	for i := range dirs {
		work <- i
	}
	close(work)
	wg.Wait()

	var paths []string
	for _, c := range cases {
		if c.skip == "" && c.fail == "" {
			paths = append(paths, c.converted, c.original, c.convertedIO)
		}
	}
	rejected := checkModels(t, paths)
	for i, c := range cases {
		if c.skip != "" || c.fail != "" {
			continue
		}
		if _, bad := rejected[c.original]; bad {
			cases[i].skip = "onnx.checker rejects the original"
		} else if why, bad := rejected[c.converted]; bad {
			cases[i].fail = "onnx.checker: " + why
		} else if why, bad := rejected[c.convertedIO]; bad {
			cases[i].fail = "onnx.checker on the fp16-I/O model: " + why
		}
	}
	got := backendReport(cases)
	path := filepath.Join("testdata", "backend_results.md")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestBackendSuite -update)", err)
	}
	// A model failing that the file does not list as failing is an error.
	// Other differences (a model moving between passing and not counted,
	// which ONNX Runtime's float32 numerics on another CPU can cause) are
	// only reported, so the test is stable across machines.
	known := failureNames(want)
	for _, c := range cases {
		if c.fail != "" && !known[c.name] {
			t.Errorf("%s: %s", c.name, c.fail)
		}
	}
	if !bytes.Equal(got, want) {
		t.Logf("backend results differ from %s (check, then run with -update):\n%s", path, got)
	}
}

// failureNames reads the model names listed under "## Failures".
func failureNames(md []byte) map[string]bool {
	names := map[string]bool{}
	in := false
	for _, line := range strings.Split(string(md), "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == "## Failures"
		case in && strings.HasPrefix(line, "- `"):
			if end := strings.Index(line[3:], "`"); end > 0 {
				names[line[3:3+end]] = true
			}
		}
	}
	return names
}

func runBackendCase(dir, out string) (c backendCase) {
	orig := filepath.Join(dir, "model.onnx")
	m, err := onnx.Load(orig)
	if err != nil {
		return backendCase{skip: "onnx.Load: " + err.Error()}
	}
	inputs, expected, frozen, err := loadTestSet(m, filepath.Join(dir, "test_data_set_0"))
	if err != nil {
		return backendCase{skip: err.Error()}
	}
	if frozen {
		// Inputs runtime cannot feed (scalars, empty tensors) became
		// initializers holding the test's values: save that model as the
		// original.
		orig = strings.TrimSuffix(out, ".onnx") + "_orig.onnx"
		if err := onnx.Save(m, orig, onnx.SaveOptions{}); err != nil {
			return backendCase{skip: "save frozen original: " + err.Error()}
		}
	}
	ref, err := runOnce(orig, inputs)
	if err != nil {
		return backendCase{skip: "ONNX Runtime: " + firstLine(err)}
	}
	if why := compareExpected(ref, expected, 1e-3, 1e-5); why != "" {
		return backendCase{skip: "ONNX Runtime's own outputs differ: " + why}
	}
	half := proto.Clone(m.Proto).(*onnxpb.ModelProto)
	_, err = Convert(context.Background(), m.Proto, Options{})
	switch {
	case errors.Is(err, ErrNoFloat32), errors.Is(err, ErrAlreadyFloat16):
		return backendCase{skip: "no float32 tensors"}
	case err != nil:
		return backendCase{fail: "convert: " + firstLine(err)}
	}
	if err := onnx.Save(m, out, onnx.SaveOptions{}); err != nil {
		return backendCase{fail: "save: " + firstLine(err)}
	}
	got, err := runOnce(out, inputs)
	if err != nil {
		msg := strings.ReplaceAll(firstLine(err), out, "fp16.onnx")
		return backendCase{fail: "ONNX Runtime on the fp16 model: " + msg}
	}
	if why := compareExpected(got, expected, backendRtol, backendAtol); why != "" {
		return backendCase{fail: "outputs: " + why}
	}
	// Again with float16 inputs and outputs (keep_io_types: false).
	if _, err := Convert(context.Background(), half, Options{FP16IO: true}); err != nil {
		return backendCase{fail: "convert with fp16 I/O: " + firstLine(err)}
	}
	halfOut := strings.TrimSuffix(out, ".onnx") + "_io16.onnx"
	if err := onnx.Save(&onnx.Model{Proto: half}, halfOut, onnx.SaveOptions{}); err != nil {
		return backendCase{fail: "save: " + firstLine(err)}
	}
	// Float16 inputs are rounded: the reference is the original model run
	// on the same rounded values, and outputs beyond float16's range cannot
	// be checked.
	hin := halfInputs(inputs)
	ref2, err := runOnce(orig, widen(hin, inputs))
	if err != nil {
		return backendCase{fail: "ONNX Runtime on rounded inputs: " + firstLine(err)}
	}
	got, err = runOnce(halfOut, hin)
	if err != nil {
		msg := strings.ReplaceAll(firstLine(err), halfOut, "fp16.onnx")
		return backendCase{fail: "ONNX Runtime on the fp16-I/O model: " + msg}
	}
	c = backendCase{converted: out, original: orig, convertedIO: halfOut}
	if name := beyondHalf(ref2); name != "" {
		c.note = fmt.Sprintf("fp16 I/O not checked: output %q exceeds float16's range", name)
	} else if why := compareExpected(got, ref2, backendRtol, backendAtol); why != "" {
		return backendCase{fail: "outputs with fp16 I/O: " + why}
	}
	return c
}

// widen turns the tensors halfInputs rounded back into float32 (exactly);
// orig are the inputs before rounding.
func widen(in, orig []*runtime.Tensor) []*runtime.Tensor {
	out := make([]*runtime.Tensor, len(in))
	for i, t := range in {
		out[i] = t
		if t.DType == "float16" && orig[i].DType == "float32" {
			bits := t.Data.([]uint16)
			f := make([]float32, len(bits))
			for j, v := range bits {
				f[j] = float16.Frombits(v).Float32()
			}
			out[i] = &runtime.Tensor{Name: t.Name, DType: "float32", Shape: t.Shape, Data: f}
		}
	}
	return out
}

// beyondHalf names the first float output with a finite value float16
// cannot hold.
func beyondHalf(ts []*runtime.Tensor) string {
	for _, t := range ts {
		if t.DType != "float32" {
			continue
		}
		for _, v := range t.Data.([]float32) {
			if a := math.Abs(float64(v)); a > 65504 && !math.IsInf(a, 0) {
				return t.Name
			}
		}
	}
	return ""
}

// halfInputs stores float32 inputs as float16, as a model converted with
// fp16 I/O takes them.
func halfInputs(in []*runtime.Tensor) []*runtime.Tensor {
	out := make([]*runtime.Tensor, len(in))
	for i, t := range in {
		out[i] = t
		if f, ok := t.Data.([]float32); ok {
			h := make([]float16.Float16, len(f))
			onnx.Float32ToFloat16(h, f)
			bits := make([]uint16, len(h))
			for j, v := range h {
				bits[j] = uint16(v)
			}
			out[i] = &runtime.Tensor{Name: t.Name, DType: "float16", Shape: t.Shape, Data: bits}
		}
	}
	return out
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}

func runOnce(path string, inputs []*runtime.Tensor) ([]*runtime.Tensor, error) {
	s, err := runtime.NewSession(context.Background(), path, runtime.SessionOptions{IntraOpThreads: 1, InterOpThreads: 1})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Run(context.Background(), inputs)
}

// loadTestSet reads input_N.pb and output_N.pb, naming them after the
// model's inputs and outputs in order.
// Inputs runtime cannot feed (rank 0 or empty) are frozen into the model
// as initializers; frozen says whether that happened.
func loadTestSet(m *onnx.Model, dir string) (inputs, expected []*runtime.Tensor, frozen bool, err error) {
	g := m.Proto.GetGraph()
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	var inNames, outNames []string
	for _, vi := range g.GetInput() {
		if !inits[vi.GetName()] {
			inNames = append(inNames, vi.GetName())
		}
	}
	for _, vi := range g.GetOutput() {
		outNames = append(outNames, vi.GetName())
	}
	read := func(prefix string, names []string) ([]*runtime.Tensor, error) {
		var ts []*runtime.Tensor
		for i, name := range names {
			data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%s_%d.pb", prefix, i)))
			if err != nil {
				return nil, fmt.Errorf("test data: %s %q not stored as a tensor", prefix, name)
			}
			tp := &onnxpb.TensorProto{}
			if err := proto.Unmarshal(data, tp); err != nil {
				return nil, fmt.Errorf("test data %s_%d is not a tensor (sequence or optional)", prefix, i)
			}
			t, err := toTensor(name, tp)
			if err != nil {
				return nil, err
			}
			if prefix == "input" && (len(t.Shape) == 0 || t.Len() == 0) {
				freeze(g, name, tp)
				frozen = true
				continue
			}
			ts = append(ts, t)
		}
		return ts, nil
	}
	if inputs, err = read("input", inNames); err != nil {
		return nil, nil, false, err
	}
	expected, err = read("output", outNames)
	return inputs, expected, frozen, err
}

// freeze turns graph input name into an initializer holding tp.
func freeze(g *onnxpb.GraphProto, name string, tp *onnxpb.TensorProto) {
	tp.Name = proto.String(name)
	g.Initializer = append(g.Initializer, tp)
	for i, vi := range g.GetInput() {
		if vi.GetName() == name {
			g.Input = append(g.Input[:i], g.Input[i+1:]...)
			break
		}
	}
}

func toTensor(name string, tp *onnxpb.TensorProto) (*runtime.Tensor, error) {
	t := &runtime.Tensor{Name: name, Shape: tp.GetDims()}
	if t.Shape == nil {
		t.Shape = []int64{}
	}
	var err error
	switch onnx.DataType(tp.GetDataType()) {
	case onnx.Float:
		t.DType = "float32"
		t.Data, err = onnx.Float32s(tp)
	case onnx.Double:
		t.DType = "float64"
		t.Data, err = onnx.Float64s(tp)
	case onnx.Float16:
		var h []uint16
		v, e := onnx.Float16s(tp)
		for _, x := range v {
			h = append(h, uint16(x))
		}
		t.DType, t.Data, err = "float16", h, e
	case onnx.Int64:
		t.DType = "int64"
		t.Data, err = onnx.Int64s(tp)
	case onnx.Int32:
		t.DType = "int32"
		t.Data, err = onnx.Int32s(tp)
	case onnx.Int8:
		t.DType = "int8"
		t.Data, err = onnx.Int8s(tp)
	case onnx.Uint8:
		t.DType = "uint8"
		t.Data, err = onnx.Uint8s(tp)
	case onnx.Int16:
		t.DType = "int16"
		t.Data, err = onnx.Int16s(tp)
	case onnx.Uint16:
		t.DType = "uint16"
		t.Data, err = onnx.Uint16s(tp)
	case onnx.Uint32:
		t.DType = "uint32"
		t.Data, err = onnx.Uint32s(tp)
	case onnx.Uint64:
		t.DType = "uint64"
		t.Data, err = onnx.Uint64s(tp)
	case onnx.Bool:
		t.DType = "bool"
		t.Data, err = onnx.Bools(tp)
	default:
		return nil, fmt.Errorf("test data %q: runtime cannot hold %s tensors", name, onnx.DataTypeName(tp.GetDataType()))
	}
	if err != nil {
		return nil, fmt.Errorf("test data %q: %w", name, err)
	}
	if err := t.Check(); err != nil {
		return nil, fmt.Errorf("test data %q: %w", name, err)
	}
	return t, nil
}

// compareExpected checks outputs against the suite's: float outputs within
// rtol/atol scaled by the output's magnitude, others exactly.
func compareExpected(got, want []*runtime.Tensor, rtol, atol float64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d outputs, expected %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Len() != w.Len() {
			return fmt.Sprintf("output %q: %d elements, expected %d", w.Name, g.Len(), w.Len())
		}
		a, b := evaluate.Float64s(g), evaluate.Float64s(w)
		if a == nil || b == nil {
			return fmt.Sprintf("output %q: cannot compare %s", w.Name, w.DType)
		}
		scale := 1.0
		for _, v := range b {
			if !math.IsInf(v, 0) && !math.IsNaN(v) {
				scale = math.Max(scale, math.Abs(v))
			}
		}
		exact := !isFloat(w.DType)
		for j := range b {
			x, y := a[j], b[j]
			if math.IsNaN(y) && math.IsNaN(x) || x == y {
				continue
			}
			if exact || math.Abs(x-y) > rtol*math.Abs(y)+atol*scale || math.IsNaN(x) {
				return fmt.Sprintf("output %q[%d] = %.6g, expected %.6g", w.Name, j, x, y)
			}
		}
	}
	return ""
}

func backendReport(cases []backendCase) []byte {
	var pass, fail []backendCase
	skips := map[string][]string{}
	for _, c := range cases {
		switch {
		case c.skip != "":
			key := c.skip
			if i := strings.Index(key, ":"); i > 0 && !strings.HasPrefix(key, "runtime cannot") {
				key = key[:i]
			}
			if strings.HasPrefix(key, "test data") || strings.HasPrefix(key, "runtime cannot") {
				key = "inputs or outputs runtime cannot feed or read (scalars, empty, sequences, strings)"
			}
			skips[key] = append(skips[key], c.name)
		case c.fail != "":
			fail = append(fail, c)
		default:
			pass = append(pass, c)
		}
	}
	var b bytes.Buffer
	total := len(pass) + len(fail)
	fmt.Fprintf(&b, "# fp16 on the ONNX backend test suite\n\n")
	fmt.Fprintf(&b, "Generated by `go test ./stages/fp16 -run TestBackendSuite -update`; do not edit.\n\n")
	fmt.Fprintf(&b, "Every float model of the suite that ONNX Runtime runs and gets right is converted\n")
	fmt.Fprintf(&b, "(keep_io_types, default block list), run again and compared with the suite's expected\n")
	fmt.Fprintf(&b, "outputs within |got-want| <= %g*|want| + %g*max(1, max|want|); every converted model\n", backendRtol, backendAtol)
	fmt.Fprintf(&b, "also goes through onnx.checker (full_check). Each is converted a second time with\n")
	fmt.Fprintf(&b, "float16 inputs and outputs (keep_io_types: false) and compared, within the same\n")
	fmt.Fprintf(&b, "tolerance, with the original model run on the same float16-rounded inputs.\n\n")
	fmt.Fprintf(&b, "**%d of %d float models pass (%.1f%%).** %d models of the suite are not counted (below).\n\n",
		len(pass), total, 100*float64(len(pass))/float64(max(total, 1)), len(cases)-total)
	fmt.Fprintf(&b, "## Failures\n\n")
	if len(fail) == 0 {
		fmt.Fprintf(&b, "None.\n")
	}
	for _, c := range fail {
		fmt.Fprintf(&b, "- `%s`: %s\n", c.name, c.fail)
	}
	fmt.Fprintf(&b, "\n## Passing with a limit\n\n")
	notes := 0
	for _, c := range pass {
		if c.note != "" {
			fmt.Fprintf(&b, "- `%s`: %s\n", c.name, c.note)
			notes++
		}
	}
	if notes == 0 {
		fmt.Fprintf(&b, "None.\n")
	}
	fmt.Fprintf(&b, "\n## Not counted\n\n")
	keys := make([]string, 0, len(skips))
	for k := range skips {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "- %s: %d models: %s\n", k, len(skips[k]), strings.Join(skips[k], ", "))
	}
	return b.Bytes()
}
