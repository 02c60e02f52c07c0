package onnx

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// onnxTestdata finds ONNX's backend test suite (Debian's libonnx-testdata).
// In CI its absence is a failure: the suite is the main evidence that the
// loader and codecs handle real models.
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

func testdataModels(t testing.TB) []string {
	dir := onnxTestdata(t)
	var models []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "model.onnx" {
			models = append(models, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(models) < 500 {
		t.Fatalf("found only %d models under %s", len(models), dir)
	}
	sort.Strings(models)
	return models
}

// decodeCount decodes t with the codec for its type and returns the number
// of elements produced; ok is false for types with no codec (complex, fp8).
func decodeCount(t *onnxpb.TensorProto) (n int, ok bool, err error) {
	count := func(l int, err error) (int, bool, error) { return l, true, err }
	switch DataType(t.GetDataType()) {
	case Float:
		v, err := Float32s(t)
		return count(len(v), err)
	case Double:
		v, err := Float64s(t)
		return count(len(v), err)
	case Int8:
		v, err := Int8s(t)
		return count(len(v), err)
	case Int16:
		v, err := Int16s(t)
		return count(len(v), err)
	case Int32:
		v, err := Int32s(t)
		return count(len(v), err)
	case Int64:
		v, err := Int64s(t)
		return count(len(v), err)
	case Uint8:
		v, err := Uint8s(t)
		return count(len(v), err)
	case Uint16:
		v, err := Uint16s(t)
		return count(len(v), err)
	case Uint32:
		v, err := Uint32s(t)
		return count(len(v), err)
	case Uint64:
		v, err := Uint64s(t)
		return count(len(v), err)
	case Bool:
		v, err := Bools(t)
		return count(len(v), err)
	case Float16:
		v, err := Float16s(t)
		return count(len(v), err)
	case BFloat16:
		v, err := BF16s(t)
		return count(len(v), err)
	case Int4:
		v, err := Int4s(t)
		return count(len(v), err)
	case Uint4:
		v, err := Uint4s(t)
		return count(len(v), err)
	case String:
		v, err := Strings(t)
		return count(len(v), err)
	}
	return 0, false, ValidateTensor(t)
}

func TestBackendModelsRoundTrip(t *testing.T) {
	models := testdataModels(t)
	tmp := t.TempDir()
	identical := 0
	for i, path := range models {
		name := strings.TrimPrefix(path, onnxTestdata(t)+"/")
		m, err := Load(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, err := m.Stats(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		sorted := proto.Clone(m.Proto.GetGraph()).(*onnxpb.GraphProto)
		if err := TopoSort(sorted); err != nil {
			t.Errorf("%s: %v", name, err)
		} else if !proto.Equal(sorted, m.Proto.GetGraph()) {
			t.Errorf("%s: TopoSort reordered an already sorted graph", name)
		}
		out := filepath.Join(tmp, fmt.Sprintf("m%d.onnx", i))
		if err := Save(m, out, SaveOptions{}); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		back, err := Load(out)
		if err != nil {
			t.Errorf("%s: reload: %v", name, err)
			continue
		}
		if !proto.Equal(m.Proto, back.Proto) {
			t.Errorf("%s: model changed in a save/load round trip", name)
		}
		a, _ := os.ReadFile(path)
		b, _ := os.ReadFile(out)
		if string(a) == string(b) {
			identical++
		} else {
			t.Errorf("%s: saved bytes differ from the original file (%d vs %d bytes)", name, len(b), len(a))
		}
		os.Remove(out)
	}
	t.Logf("%d models load, sort, summarize and round-trip; %d byte-identical to the original file", len(models), identical)
}

func TestBackendTensorsDecode(t *testing.T) {
	models := testdataModels(t)
	var decoded, nocodec, skipped int
	for _, path := range models {
		m, err := Load(path)
		if err != nil {
			continue // reported by TestBackendModelsRoundTrip
		}
		inputs := graphInputs(m.Proto.GetGraph())
		outputs := m.Proto.GetGraph().GetOutput()
		sets, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "test_data_set_*"))
		for _, set := range sets {
			for _, io := range []struct {
				prefix string
				vis    []*onnxpb.ValueInfoProto
			}{{"input", inputs}, {"output", outputs}} {
				for k, vi := range io.vis {
					file := filepath.Join(set, fmt.Sprintf("%s_%d.pb", io.prefix, k))
					data, err := os.ReadFile(file)
					if err != nil {
						continue // optional inputs may be absent
					}
					tt := vi.GetType().GetTensorType()
					if tt == nil {
						skipped++ // sequence, map or optional: not a TensorProto
						continue
					}
					tp := new(onnxpb.TensorProto)
					if err := proto.Unmarshal(data, tp); err != nil {
						t.Errorf("%s: %v", file, err)
						continue
					}
					n, ok, err := decodeCount(tp)
					if err != nil {
						t.Errorf("%s: %v", file, err)
						continue
					}
					if !ok {
						nocodec++
						continue
					}
					want, _ := NumElements(tp.GetDims())
					if int64(n) != want {
						t.Errorf("%s: decoded %d elements, dims %v", file, n, tp.GetDims())
					}
					decoded++
				}
			}
		}
	}
	t.Logf("decoded %d tensors; %d validated only (no codec); %d non-tensor values skipped", decoded, nocodec, skipped)
	if decoded < 1000 {
		t.Errorf("decoded only %d test tensors", decoded)
	}
}
