package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

func TestSaveLoadInline(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.onnx")
	m := &Model{Proto: tinyModel()}
	if err := Save(m, path, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(m.Proto, back.Proto) || back.External {
		t.Fatalf("round trip changed the model (external=%v)", back.External)
	}
	if _, err := os.Stat(path + ".data"); !os.IsNotExist(err) {
		t.Errorf("inline save wrote a data file: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
}

func TestSaveExternal(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ext.onnx")
	mp := tinyModel()
	big := make([]float32, 3000) // 12000 bytes: above the 1024 threshold
	for i := range big {
		big[i] = float32(i)
	}
	mp.Graph.Initializer = append(mp.Graph.Initializer, floatInit("big", big, 3000), floatInit("big2", big[:500], 500))
	m := &Model{Proto: mp}
	before := proto.Clone(mp)
	if err := Save(m, path, SaveOptions{External: ExternalAlways}); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(before, mp) {
		t.Fatal("Save modified the caller's model")
	}
	// The saved proto references the data file at aligned offsets; small
	// tensors stay inline.
	raw, _ := os.ReadFile(path)
	saved := new(onnxpb.ModelProto)
	if err := proto.Unmarshal(raw, saved); err != nil {
		t.Fatal(err)
	}
	var offsets []string
	for _, ti := range saved.Graph.Initializer {
		if ti.GetDataLocation() != onnxpb.TensorProto_EXTERNAL {
			if len(ti.RawData) >= 1024 {
				t.Errorf("%s: %d bytes kept inline", ti.GetName(), len(ti.RawData))
			}
			continue
		}
		for _, kv := range ti.ExternalData {
			switch kv.GetKey() {
			case "location":
				if kv.GetValue() != "ext.onnx.data" {
					t.Errorf("location %q", kv.GetValue())
				}
			case "offset":
				off, _ := strconv.Atoi(kv.GetValue())
				if off%4096 != 0 {
					t.Errorf("%s: offset %d not aligned", ti.GetName(), off)
				}
				offsets = append(offsets, kv.GetValue())
			}
		}
	}
	if strings.Join(offsets, ",") != "0,12288" {
		t.Errorf("offsets = %v, want [0 12288]", offsets)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !back.External || !proto.Equal(back.Proto, mp) {
		t.Fatal("external round trip changed the model")
	}
	// Saving the loaded model again with default options keeps the layout.
	path2 := filepath.Join(dir, "again.onnx")
	if err := Save(back, path2, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path2 + ".data"); err != nil {
		t.Errorf("default save of an external model did not write data: %v", err)
	}
}

func TestUnknownFieldsPreserved(t *testing.T) {
	base, err := Marshal(tinyModel())
	if err != nil {
		t.Fatal(err)
	}
	// Field 99 (varint) is not in the schema: a future ONNX addition.
	data := protowire.AppendTag(base, 99, protowire.VarintType)
	data = protowire.AppendVarint(data, 42)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.onnx")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(in)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.onnx")
	if err := Save(m, out, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if string(got) != string(data) {
		t.Errorf("unknown field lost or bytes changed: %d bytes in, %d out", len(data), len(got))
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	good, err := Marshal(tinyModel())
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, mutate func(*onnxpb.ModelProto)) string {
		mp := tinyModel()
		mutate(mp)
		b, err := proto.Marshal(mp)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	raw := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	tests := []struct {
		name   string
		path   string
		want   []string
		target error
	}{
		{"truncated", raw("trunc.onnx", good[:len(good)/2]), []string{"trunc.onnx", "parse protobuf"}, nil},
		{"corrupt", raw("corrupt.onnx", []byte("\xff\xff\xff\xff garbage")), []string{"corrupt.onnx", "parse protobuf"}, nil},
		{"empty", raw("empty.onnx", nil), []string{"empty.onnx", "not an ONNX model"}, nil},
		{"not a model", raw("text.onnx", []byte("\x0a\x00")), []string{"text.onnx"}, nil},
		{"missing file", filepath.Join(dir, "nope.onnx"), []string{"nope.onnx"}, os.ErrNotExist},
		{"size mismatch", write("size.onnx", func(mp *onnxpb.ModelProto) {
			mp.Graph.Initializer[0].Dims = []int64{4, 3}
		}), []string{"size.onnx", `tensor "W"`, "need 48", "found 24"}, ErrDataSize},
		{"typed size mismatch", write("typed.onnx", func(mp *onnxpb.ModelProto) {
			b := mp.Graph.Initializer[1]
			b.RawData, b.FloatData = nil, []float32{1, 2}
		}), []string{"typed.onnx", `tensor "b"`, "float_data"}, ErrDataSize},
		{"unknown data type", write("dtype.onnx", func(mp *onnxpb.ModelProto) {
			mp.Graph.Initializer[1].DataType = proto.Int32(99)
		}), []string{"dtype.onnx", `tensor "b"`, "99"}, ErrUnknownDataType},
		{"missing external file", write("ext.onnx", func(mp *onnxpb.ModelProto) {
			w := mp.Graph.Initializer[0]
			w.RawData = nil
			w.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			w.ExternalData = []*onnxpb.StringStringEntryProto{kv("location", "weights.bin")}
		}), []string{"ext.onnx", `tensor "W"`, "weights.bin"}, os.ErrNotExist},
		{"external escapes dir", write("escape.onnx", func(mp *onnxpb.ModelProto) {
			w := mp.Graph.Initializer[0]
			w.RawData = nil
			w.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			w.ExternalData = []*onnxpb.StringStringEntryProto{kv("location", "../../etc/passwd")}
		}), []string{"escape.onnx", `tensor "W"`, "outside"}, nil},
		{"external range", write("range.onnx", func(mp *onnxpb.ModelProto) {
			os.WriteFile(filepath.Join(dir, "short.bin"), make([]byte, 10), 0o644)
			w := mp.Graph.Initializer[0]
			w.RawData = nil
			w.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			w.ExternalData = []*onnxpb.StringStringEntryProto{kv("location", "short.bin"), kv("offset", "4"), kv("length", "24")}
		}), []string{"range.onnx", `tensor "W"`, "short.bin", "outside the file"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.path)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tc.target != nil && !errors.Is(err, tc.target) {
				t.Errorf("error %q is not %v", err, tc.target)
			}
		})
	}
}

func TestLoadBytesExternalWithoutDir(t *testing.T) {
	mp := tinyModel()
	w := mp.Graph.Initializer[0]
	w.RawData = nil
	w.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
	w.ExternalData = []*onnxpb.StringStringEntryProto{kv("location", "w.bin")}
	b, _ := proto.Marshal(mp)
	if _, err := LoadBytes(b, ""); err == nil || !strings.Contains(err.Error(), `tensor "W"`) {
		t.Fatalf("LoadBytes = %v, want an error naming tensor W", err)
	}
}

func TestSaveAutoExternalOverLimit(t *testing.T) {
	defer func(old int) { maxProto = old }(maxProto)
	maxProto = 4096 // pretend 4 KiB is the protobuf limit
	mp := tinyModel()
	mp.Graph.Initializer = append(mp.Graph.Initializer, floatInit("big", make([]float32, 2048), 2048))
	dir := t.TempDir()
	path := filepath.Join(dir, "auto.onnx")
	if err := Save(&Model{Proto: mp}, path, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !back.External || !proto.Equal(back.Proto, mp) {
		t.Errorf("auto save over the limit: external=%v", back.External)
	}
	err = Save(&Model{Proto: mp}, filepath.Join(dir, "never.onnx"), SaveOptions{External: ExternalNever})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "never.onnx") {
		t.Errorf("ExternalNever over the limit: %v", err)
	}
	// Nothing over the threshold: no data file is left behind.
	small := filepath.Join(dir, "small.onnx")
	if err := Save(&Model{Proto: tinyModel()}, small, SaveOptions{External: ExternalAlways}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(small + ".data"); !os.IsNotExist(err) {
		t.Errorf("empty data file written: %v", err)
	}
}
