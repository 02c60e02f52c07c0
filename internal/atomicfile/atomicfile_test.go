package atomicfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteReplacesWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(path, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "{\n  \"a\": 1\n}\n" {
		t.Fatalf("content %q", got)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	assertOnly(t, dir, "report.json")
}

// A fill that fails half-way leaves the old file as it was and no temporary
// file behind.
func TestFailedWriteLeavesNoPartialFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(path, []byte("old model"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk on fire")
	err := Write(path, func(w io.Writer) error {
		if _, err := w.Write([]byte(strings.Repeat("x", 3<<20))); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v: want the fill's error naming %s", err, path)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "old model" {
		t.Fatalf("destination changed to %d bytes", len(got))
	}
	assertOnly(t, dir, "model.onnx")

	// A new file that fails is never created.
	fresh := filepath.Join(dir, "fresh.onnx")
	if err := Write(fresh, func(io.Writer) error { return boom }); err == nil {
		t.Fatal("no error")
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Fatalf("fresh.onnx exists after a failed write: %v", err)
	}
	assertOnly(t, dir, "model.onnx")

	// JSON that cannot be encoded writes nothing (NaN can: null, see
	// TestWriteJSONNonFinite).
	if err := WriteJSON(fresh, map[string]any{"c": make(chan int)}); err == nil {
		t.Fatal("a channel encoded")
	}
	assertOnly(t, dir, "model.onnx")
}

func TestWriteIntoMissingFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "x.json")
	err := WriteFile(path, []byte("x"))
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v, want one naming %s", err, path)
	}
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("folder holds %v, want %v", got, names)
	}
}

// TestWriteJSONNonFinite: a report holding NaN and ±Inf (a relative error
// over NaN outputs) is written, not refused ("json: unsupported value:
// +Inf" failed quantize on libonnx-testdata's pow): each such value is null
// and listed under non_finite; everything else is what encoding/json
// writes, field order, omitempty, embedded structs and Marshalers included.
func TestWriteJSONNonFinite(t *testing.T) {
	type Inner struct {
		Err  float64 `json:"max_rel_error"`
		Skip float64 `json:"skip,omitempty"`
	}
	type Base struct {
		Model string `json:"model"`
	}
	type Report struct {
		Base
		Verification Inner              `json:"verification"`
		Outputs      []Inner            `json:"outputs"`
		ByName       map[string]float64 `json:"by_name"`
		Ptr          *Inner             `json:"ptr,omitempty"`
		Raw          json.RawMessage    `json:"raw"`
		Hidden       float64            `json:"-"`
		Any          any                `json:"any"`
	}
	inf := math.Inf(1)
	r := Report{Base: Base{Model: "pow.onnx"}, Verification: Inner{Err: inf},
		Outputs: []Inner{{Err: 0.5}, {Err: math.NaN()}}, ByName: map[string]float64{"b": math.Inf(-1), "a": 1},
		Raw: json.RawMessage(`{"x":1}`), Hidden: inf, Any: float32(2)}
	path := filepath.Join(t.TempDir(), "report.json")
	if err := WriteJSON(path, r); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, got)
	}
	want := `{"model":"pow.onnx","verification":{"max_rel_error":null},"outputs":[{"max_rel_error":0.5},{"max_rel_error":null}],` +
		`"by_name":{"a":1,"b":null},"raw":{"x":1},"any":2,` +
		`"non_finite":["verification.max_rel_error: +Inf","outputs[1].max_rel_error: NaN","by_name.b: -Inf"]}`
	var compact bytes.Buffer
	if err := json.Compact(&compact, got); err != nil {
		t.Fatal(err)
	}
	if compact.String() != want {
		t.Errorf("got  %s\nwant %s", compact.String(), want)
	}
	// Finite values: byte for byte what encoding/json writes.
	r.Verification.Err, r.Outputs[1].Err, r.ByName["b"] = 1, 2, 3
	r.Hidden = 0
	if err := WriteJSON(path, r); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(path)
	std, _ := json.MarshalIndent(r, "", "  ")
	if string(got) != string(std)+"\n" {
		t.Errorf("finite report differs from encoding/json:\n%s\nwant\n%s", got, std)
	}
	fin, err := marshalFinite(r)
	if err != nil || string(fin) != string(std) {
		t.Errorf("marshalFinite on finite values differs from encoding/json (%v):\n%s\nwant\n%s", err, fin, std)
	}
}

// WriteByName renames what fill wrote by name into place, and a fill that
// fails (after writing half a file) leaves nothing.
func TestWriteByName(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.onnx")
	if err := WriteByName(path, func(tmp string) error { return os.WriteFile(tmp, []byte("optimized"), 0o600) }); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "optimized" {
		t.Fatalf("content %q", got)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
	boom := errors.New("optimizer crashed")
	err := WriteByName(path, func(tmp string) error {
		os.WriteFile(tmp, []byte("half"), 0o600)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "optimized" {
		t.Fatalf("destination changed to %q", got)
	}
	assertOnly(t, dir, "model.onnx")
}
