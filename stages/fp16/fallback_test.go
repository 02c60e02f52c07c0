package fp16

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// TestFallbackOverflow converts a model with a Linear whose weights (1e6) are
// beyond float16's range: clamped, its output is off by an order of magnitude.
// With fallback off the stage fails; with auto it keeps exactly that Linear in
// float32, says so in the report, and the model verifies (checked again here
// by running both models on other inputs).
func TestFallbackOverflow(t *testing.T) {
	testenv.RequireORT(t)
	model := abs(t, "../../examples/models/fp16_overflow.onnx")
	_, err := New().Run(context.Background(), input(t, map[string]any{"model": model, "fallback": "off", "samples": int64(16)}))
	if err == nil || !strings.Contains(err.Error(), "above max_rel_error") {
		t.Fatalf("fallback off: %v, want a verification failure", err)
	}
	out, err := New().Run(context.Background(), input(t, map[string]any{"model": model, "samples": int64(16)}))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out.Files["report"])
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.Fallback == nil {
		t.Fatal("no fallback in the report")
	}
	var kept []string
	for _, k := range r.Fallback.Kept {
		kept = append(kept, k.Node)
		if k.Why == "" || k.Op == "" {
			t.Errorf("kept %+v: no op or reason", k)
		}
	}
	if strings.Join(kept, ",") != "/big/Gemm" {
		t.Errorf("kept %v in float32, want [/big/Gemm]", kept)
	}
	if out.Values["fallback_nodes"].(int64) != 1 || out.Values["converted_nodes"].(int64) == 0 {
		t.Errorf("values %v", out.Values)
	}
	if !strings.Contains(r.Fallback.Failure, "above max_rel_error") || r.Fallback.Trials > maxTrials {
		t.Errorf("fallback %+v", r.Fallback)
	}
	// The shipped model itself verifies: no Inf, small error.
	d, err := evaluate.RandomData(mustInputs(t, model), evaluate.RandomOptions{Samples: 64, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	want, err := evaluate.Run(context.Background(), model, d, evaluate.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	got, err := evaluate.Run(context.Background(), out.Files["model"], d, evaluate.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, worst, err := checkOutputs(want, got, 0.05); err != nil {
		t.Errorf("shipped model: %v (worst %.3g)", err, worst)
	}
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

func TestSibling(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"/enc/layers.0/self_attn/Transpose", "/enc/layers.11/self_attn/Transpose", true},
		{"/enc/layers.0/self_attn/Transpose", "/enc/layers.1/self_attn/Transpose_2", false},
		{"/features.3/conv/Conv", "/features.12/conv/Conv", true},
		{"/Transpose_2", "/Transpose_3", false},
		{"/pre/Gemm", "/pre/Gemm", false},
	} {
		if got := sibling(tc.a, tc.b); got != tc.want {
			t.Errorf("sibling(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestFallbackCrash converts torch.nn.TransformerEncoder exported at opset 13,
// whose float16 form makes ONNX Runtime 1.30's CPU engine segfault while it
// creates the session. The crash happens in the worker process, reads as a
// load failure, and the fallback keeps a few nodes in float32 until the model
// loads and verifies; the report names them and the crash.
func TestFallbackCrash(t *testing.T) {
	testenv.RequireORT(t)
	model := abs(t, "../../examples/models/torch_encoder_op13.onnx")
	out, err := New().Run(context.Background(), input(t, map[string]any{"model": model}))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out.Files["report"])
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.Fallback == nil || len(r.Fallback.Kept) == 0 {
		t.Fatalf("no fallback in the report: %s", data)
	}
	if !strings.Contains(r.Fallback.Failure, "SIGSEGV") {
		t.Errorf("failure %q does not name the crash", r.Fallback.Failure)
	}
	converted := out.Values["converted_nodes"].(int64)
	if kept := int64(len(r.Fallback.Kept)); kept*4 > converted {
		t.Errorf("kept %d nodes in float32 for %d converted: not a small set (%+v)", kept, converted, r.Fallback.Kept)
	}
	t.Logf("kept %d nodes in float32 (%d conversions tried), %d converted: %+v", len(r.Fallback.Kept), r.Fallback.Trials, converted, r.Fallback.Kept)
}
