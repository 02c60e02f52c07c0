package onnx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// externalFixture saves tinyModel plus a 12000-byte weight "big" with external
// data in a folder of its own and returns the path and the model as saved.
func externalFixture(t *testing.T) (string, *onnxpb.ModelProto) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "src.onnx")
	mp := tinyModel()
	big := make([]float32, 3000)
	for i := range big {
		big[i] = float32(i) / 7
	}
	mp.Graph.Initializer = append(mp.Graph.Initializer, floatInit("big", big, 3000))
	if err := Save(&Model{Proto: mp}, path, SaveOptions{External: ExternalAlways}); err != nil {
		t.Fatal(err)
	}
	return path, mp
}

func initializer(mp *onnxpb.ModelProto, name string) *onnxpb.TensorProto {
	for _, ti := range mp.GetGraph().GetInitializer() {
		if ti.GetName() == name {
			return ti
		}
	}
	return nil
}

// TestKeepExternalRoundTrip: a model loaded with KeepExternal holds no weight
// data, and saving it (external, or inline with ExternalNever) copies the
// weights from the source file: loading the result gives the original model.
func TestKeepExternalRoundTrip(t *testing.T) {
	path, want := externalFixture(t)
	m, err := LoadWith(path, LoadOptions{KeepExternal: true})
	if err != nil {
		t.Fatal(err)
	}
	big := initializer(m.Proto, "big")
	if !m.External || !IsExternal(big) || big.RawData != nil {
		t.Fatalf("big = %v, want it left in its external file", big)
	}
	before := proto.Clone(m.Proto)
	for _, mode := range []ExternalMode{ExternalAuto, ExternalNever} {
		out := filepath.Join(t.TempDir(), "out.onnx")
		if err := Save(m, out, SaveOptions{External: mode}); err != nil {
			t.Fatalf("mode %d: %v", mode, err)
		}
		if !proto.Equal(before, m.Proto) {
			t.Fatalf("mode %d: Save changed the caller's model", mode)
		}
		_, statErr := os.Stat(out + ".data")
		if (mode == ExternalNever) != errors.Is(statErr, os.ErrNotExist) {
			t.Errorf("mode %d: data file: %v", mode, statErr)
		}
		back, err := Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(back.Proto, want) {
			t.Fatalf("mode %d: the saved model differs from the original", mode)
		}
	}
	// Saving over the model's own path reads the old data while it writes the new.
	if err := Save(m, path, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if back, err := Load(path); err != nil || !proto.Equal(back.Proto, want) {
		t.Fatalf("saved over itself: %v", err)
	}
}

// TestReadExternal streams a kept tensor's bytes in whole elements, and
// LoadExternal brings it into raw_data.
func TestReadExternal(t *testing.T) {
	path, want := externalFixture(t)
	m, err := LoadWith(path, LoadOptions{KeepExternal: true})
	if err != nil {
		t.Fatal(err)
	}
	big := initializer(m.Proto, "big")
	var got []byte
	err = ReadExternal(big, m.Dir, 1001, func(chunk []byte) error {
		if len(chunk)%4 != 0 || len(chunk) > 1001 {
			t.Errorf("chunk of %d bytes", len(chunk))
		}
		got = append(got, chunk...)
		return nil
	})
	if err != nil || !bytes.Equal(got, initializer(want, "big").RawData) {
		t.Fatalf("ReadExternal: %v, %d bytes", err, len(got))
	}
	if err := LoadExternal(big, m.Dir); err != nil || IsExternal(big) || !proto.Equal(big, initializer(want, "big")) {
		t.Fatalf("LoadExternal: %v", err)
	}
}

// TestKeepExternalChecksReferences: a reference whose length does not fit
// the dims, or that reaches past the file, fails the load as Load fails.
func TestKeepExternalChecksReferences(t *testing.T) {
	path, _ := externalFixture(t)
	data, err := os.ReadFile(path + ".data")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".data", data[:len(data)-8], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadWith(path, LoadOptions{KeepExternal: true}); err == nil {
		t.Fatal("a truncated data file loaded")
	}
	mp, _ := externalFixture(t)
	m, err := LoadWith(mp, LoadOptions{KeepExternal: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range initializer(m.Proto, "big").ExternalData {
		if kv.GetKey() == "length" {
			kv.Value = proto.String("400")
		}
	}
	bad := filepath.Join(filepath.Dir(mp), "bad.onnx")
	if err := os.WriteFile(bad, mustMarshal(t, m.Proto), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadWith(bad, LoadOptions{KeepExternal: true}); !errors.Is(err, ErrDataSize) {
		t.Fatalf("length 400 for 3000 floats: err = %v, want ErrDataSize", err)
	}
}

func mustMarshal(t *testing.T, mp *onnxpb.ModelProto) []byte {
	t.Helper()
	b, err := Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeepExternalHostileReferences: references a damaged or hostile model
// carries fail the load with KeepExternal as they fail Load, naming the
// tensor, and a data file that vanishes after the load fails the save.
func TestKeepExternalHostileReferences(t *testing.T) {
	for _, tc := range []struct{ key, value, want string }{
		{"location", "../outside.data", "outside the model's directory"},
		{"location", "/etc/passwd", "outside the model's directory"},
		{"location", "missing.data", "open external data"},
		{"offset", "-4096", "outside the file"},
		{"offset", "lots", "external data offset"},
		{"length", "99999999", "outside the file"},
	} {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			path, _ := externalFixture(t)
			m, err := LoadWith(path, LoadOptions{KeepExternal: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, kv := range initializer(m.Proto, "big").ExternalData {
				if kv.GetKey() == tc.key {
					kv.Value = proto.String(tc.value)
				}
			}
			bad := filepath.Join(filepath.Dir(path), "bad.onnx")
			if err := os.WriteFile(bad, mustMarshal(t, m.Proto), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, keep := range []bool{true, false} {
				_, err := LoadWith(bad, LoadOptions{KeepExternal: keep})
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `tensor "big"`) {
					t.Errorf("keep %v: err = %v, want %q naming the tensor", keep, err, tc.want)
				}
			}
		})
	}
	path, _ := externalFixture(t)
	m, err := LoadWith(path, LoadOptions{KeepExternal: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path + ".data"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.onnx")
	if err := Save(m, out, SaveOptions{}); err == nil || !strings.Contains(err.Error(), `tensor "big"`) {
		t.Fatalf("save with the data file gone: err = %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed save left %s behind: %v", out, err)
	}
}
