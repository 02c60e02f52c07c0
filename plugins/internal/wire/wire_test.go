package wire

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sentinelzer0/szrun/stages"
)

var testSpec = stages.Spec{
	Name:          "engine",
	Version:       "3",
	Summary:       "build an engine",
	Doc:           "Longer *markdown*.",
	Environmental: true,
	Params: []stages.Param{
		{Name: "model", Type: stages.Model, Required: true, Doc: "the model"},
		{Name: "precision", Type: stages.String, Default: "fp16", Enum: []string{"fp16", "int8"}},
		{Name: "workspace", Type: stages.Int, Default: int64(1) << 60},
		{Name: "ratio", Type: stages.Float, Default: 0.25},
		{Name: "timeout", Type: stages.Duration, Default: 90 * time.Second},
		{Name: "waits", Type: stages.List, Elem: stages.Duration, Default: []any{time.Second, time.Minute}},
		{Name: "profile", Type: stages.Map, Fields: []stages.Param{
			{Name: "min", Type: stages.Int, Default: int64(1)},
			{Name: "verbose", Type: stages.Bool, Default: true},
		}},
	},
	Outputs: []stages.OutputSpec{
		{Name: "engine", Kind: stages.FileOutput},
		{Name: "latency", Kind: stages.ValueOutput, Type: "number"},
	},
}

func TestSpecRoundTrip(t *testing.T) {
	p, err := SpecToProto(testSpec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := SpecFromProto(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, testSpec) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", got, testSpec)
	}
}

func TestSpecFromProtoRejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(s *stages.Spec)
		edit   func(js *string)
		msg    string
	}{
		{name: "unknown type", modify: func(s *stages.Spec) { s.Params[0].Type = "tensor" }, msg: `unknown type "tensor"`},
		{name: "no version", modify: func(s *stages.Spec) { s.Version = "" }, msg: "empty version"},
		{name: "default of the wrong type", edit: func(js *string) { *js = `"soon"` }, msg: "bad default"},
		{name: "default not JSON", edit: func(js *string) { *js = `{` }, msg: "is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := testSpec
			spec.Params = append([]stages.Param(nil), testSpec.Params...)
			if tt.modify != nil {
				tt.modify(&spec)
			}
			p, err := SpecToProto(spec)
			if err != nil {
				t.Fatal(err)
			}
			if tt.edit != nil {
				tt.edit(&p.Params[4].DefaultJson) // timeout
			}
			_, err = SpecFromProto(p)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.msg)
			}
		})
	}
}

func TestParamsRoundTrip(t *testing.T) {
	params, err := testSpec.Coerce(map[string]any{
		"model": "/m.onnx", "timeout": "1m30s", "waits": []any{"2s"}, "profile": map[string]any{"min": 4},
	}, stages.CoerceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	js, err := EncodeJSON(params)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js, `"timeout":"1m30s"`) || !strings.Contains(js, `"workspace":1152921504606846976`) {
		t.Errorf("encoded: %s", js)
	}
	got, err := DecodeParams(testSpec, js)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, params) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", got, params)
	}
}

func TestDecodeObject(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]any
		wantErr string
	}{
		{in: "", want: map[string]any{}},
		{in: `{"a":1,"b":1.5,"c":[2,"x"],"d":{"e":null}}`, want: map[string]any{
			"a": int64(1), "b": 1.5, "c": []any{int64(2), "x"}, "d": map[string]any{"e": nil},
		}},
		{in: `{"a":1} {}`, wantErr: "trailing data"},
		{in: `[1]`, wantErr: "expected a JSON object"},
		{in: `{not json`, wantErr: "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := DecodeObject(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, %v; want %#v", got, err, tt.want)
			}
		})
	}
}

func TestCheckOutput(t *testing.T) {
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "e.plan"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	open := testSpec
	open.OpenOutputs = true
	tests := []struct {
		name   string
		spec   stages.Spec
		files  map[string]string
		values map[string]any
		msg    string // "" for success
	}{
		{name: "relative", spec: testSpec, files: map[string]string{"engine": "e.plan"}, values: map[string]any{"latency": 1.5}},
		{name: "absolute", spec: testSpec, files: map[string]string{"engine": filepath.Join(work, "e.plan")}},
		{name: "missing", spec: testSpec, files: map[string]string{"engine": "x.plan"}, msg: `output "engine": file ` + filepath.Join(work, "x.plan") + " does not exist"},
		{name: "outside", spec: testSpec, files: map[string]string{"engine": "../e.plan"}, msg: "lies outside the work dir"},
		{name: "undeclared", spec: testSpec, values: map[string]any{"speed": 1}, msg: `output "speed" is not declared by stage engine (declared: engine, latency)`},
		{name: "open outputs", spec: open, values: map[string]any{"speed": 1}},
		{name: "wrong kind", spec: testSpec, files: map[string]string{"latency": "e.plan"}, msg: `declared as a value output but was returned as a file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := CheckOutput(tt.spec, work, tt.files, tt.values)
			if tt.msg != "" {
				if err == nil || !strings.Contains(err.Error(), tt.msg) {
					t.Fatalf("err = %v, want %q", err, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for name, p := range out.Files {
				if !filepath.IsAbs(p) {
					t.Errorf("file %s: %s is not absolute", name, p)
				}
			}
		})
	}
}

// FuzzDecodeObject: whatever a plugin sends as values_json, decoding must not
// panic, and what decodes must reach a fixed point after one more round trip
// (2.0 comes back as the integer 2: JSON does not keep the difference).
func FuzzDecodeObject(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"a":[1,2.5,"x",{"b":null}]}`, `{"n":1e400}`, `{"a":1}x`, `[`, `{"":0.0}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := DecodeObject(s)
		if err != nil {
			return
		}
		roundTrip := func(m map[string]any) (map[string]any, string) {
			js, err := EncodeJSON(m)
			if err != nil {
				t.Fatalf("re-encode %#v (from %q): %v", m, s, err)
			}
			m2, err := DecodeObject(js)
			if err != nil {
				t.Fatalf("decode %s (from %q): %v", js, s, err)
			}
			return m2, js
		}
		m2, _ := roundTrip(m)
		m3, js := roundTrip(m2)
		if !reflect.DeepEqual(m2, m3) {
			t.Fatalf("no fixed point for %q: %#v -> %s -> %#v", s, m2, js, m3)
		}
	})
}
