package fp16

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
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
		// torchvision's vit_b_16 numbers its blocks with an underscore.
		{"/encoder/layers/encoder_layer_0/self_attention/Transpose", "/encoder/layers/encoder_layer_11/self_attention/Transpose", true},
		{"/encoder/layers/encoder_layer_0/self_attention/Transpose_2", "/encoder/layers/encoder_layer_0/self_attention/Transpose_3", false},
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
	// The crash prior (keep the Transposes), then a search over the
	// Transposes of one block: 10 conversions; 31 before the search knew
	// crashOps, the siblings as units and only converted nodes.
	if r.Fallback.Trials > 12 {
		t.Errorf("%d conversions tried, want at most 12", r.Fallback.Trials)
	}
	t.Logf("kept %d nodes in float32 (%d conversions tried), %d converted: %+v", len(r.Fallback.Kept), r.Fallback.Trials, converted, r.Fallback.Kept)
}

// fakeModel lists the float16 nodes of a 12-block encoder named as
// torchvision's vit_b_16 names them, with an embedding before and a head
// after, in topological order, and their op types.
func fakeModel() ([]string, map[string]string) {
	ops := map[string]string{"/conv_proj/Conv": "Conv", "/Concat": "Concat", "/heads/head/Gemm": "Gemm"}
	cands := []string{"/conv_proj/Conv", "/Concat"}
	block := []struct{ name, op string }{
		{"ln_1/Sub", "Sub"}, {"ln_1/Div", "Div"}, {"self_attention/MatMul", "MatMul"}, {"self_attention/Transpose", "Transpose"},
		{"self_attention/Transpose_1", "Transpose"}, {"self_attention/Softmax", "Softmax"}, {"self_attention/Transpose_2", "Transpose"},
		{"self_attention/MatMul_1", "MatMul"}, {"self_attention/Transpose_3", "Transpose"}, {"mlp/mlp.0/MatMul", "MatMul"},
		{"mlp/mlp.1/Erf", "Erf"}, {"mlp/mlp.3/MatMul", "MatMul"}, {"Add", "Add"},
	}
	for l := range 12 {
		for _, n := range block {
			name := fmt.Sprintf("/encoder/layers/encoder_layer_%d/%s", l, n.name)
			cands, ops[name] = append(cands, name), n.op
		}
	}
	return append(cands, "/heads/head/Gemm"), ops
}

// oracle is an attempt that passes when every node of need is kept, and
// counts the attempts.
func oracle(need func(string) bool, crash bool, n *int) attempt {
	return func(_ context.Context, extra []string) (*Result, *verdict, string, error) {
		*n++
		kept := map[string]bool{}
		for _, e := range extra {
			kept[e] = true
		}
		for _, c := range fakeCands {
			if need(c) && !kept[c] {
				return &Result{}, &verdict{crashed: crash}, "fails: " + c, nil
			}
		}
		return &Result{}, &verdict{}, "", nil
	}
}

var fakeCands, fakeOps = fakeModel()

// TestFallbackSteps counts the conversions the search tries (each one a
// conversion, a save and an ONNX Runtime session on the real stage) on a
// vit_b_16-sized graph: 158 float16 nodes in 12 blocks. A crash in the
// attention's Transposes costs 1 conversion for the crash prior and a few
// per Transpose of one block; the other copies come with it. A precision
// failure in the head costs O(log units). The search before units and the
// prior (commit 096c079) took 70 conversions in the first and last cases,
// stopped at its cap of 64 and kept 120 and 60 nodes (blocks numbered
// encoder_layer_N were not seen as copies), and 11 in the others.
func TestFallbackSteps(t *testing.T) {
	for _, tc := range []struct {
		name      string
		need      func(string) bool
		crash     bool
		maxTrials int
		kept      int
	}{
		{"crash in two Transposes of every block", func(c string) bool {
			return strings.HasSuffix(c, "/Transpose_2") || strings.HasSuffix(c, "/Transpose_3")
		}, true, 10, 24},
		{"crash in one Transpose of the last block", func(c string) bool {
			return c == "/encoder/layers/encoder_layer_11/self_attention/Transpose"
		}, true, 6, 12},
		{"precision lost in the head", func(c string) bool { return c == "/heads/head/Gemm" }, false, 10, 1},
		{"precision lost in every block's Erf", func(c string) bool { return strings.HasSuffix(c, "/Erf") }, false, 10, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			rep, kept, last, err := fallback(context.Background(), oracle(tc.need, tc.crash, &n), fakeCands, fakeOps, "fails", tc.crash)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range fakeCands {
				if tc.need(c) && !slices.Contains(kept, c) {
					t.Errorf("%s is needed but not kept", c)
				}
			}
			if len(kept) != tc.kept || len(rep.Kept) != tc.kept || rep.Capped {
				t.Errorf("kept %d nodes (report %d, capped %v), want %d: %v", len(kept), len(rep.Kept), rep.Capped, tc.kept, kept)
			}
			if n != rep.Trials || n > tc.maxTrials {
				t.Errorf("%d conversions (report says %d), want at most %d", n, rep.Trials, tc.maxTrials)
			}
			// The last attempt passed with the nodes found: the stage ships
			// it without converting again.
			if last == nil || !slices.Equal(last.set, kept) {
				t.Errorf("last passing attempt %+v, want one for the kept nodes", last)
			}
			t.Logf("%d conversions, kept %d", n, len(kept))
		})
	}
}
