package quantize

import (
	"context"
	"testing"

	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// TestAccuracyBudget: resnet_small's fully quantized static model is a few
// percent off its fp32 outputs; with max_rel_error 2% the stage measures
// each layer's effect and keeps the most sensitive ones in float until the
// budget holds. The result is re-checked here with ONNX Runtime.
func TestAccuracyBudget(t *testing.T) {
	const budget = 0.02
	out, rep, err := runStage(t, map[string]any{
		"model": "examples/models/resnet_small.onnx", "verify_speed": false,
		"calibration": map[string]any{"data": "examples/data/resnet_inputs.npz"},
		"accuracy":    map[string]any{"data": "examples/data/resnet_inputs.npz", "max_rel_error": budget},
	})
	if err != nil {
		t.Fatal(err)
	}
	b := rep.Budget
	if b == nil || !b.Met {
		t.Fatalf("budget not met: %+v", b)
	}
	if len(b.Sensitivity) == 0 || len(b.KeptFloat) == 0 {
		t.Fatalf("expected a sensitivity search and float layers, got %+v", b)
	}
	t.Logf("kept in float: %v; final max rel error %.4f; %d quantized, %d float", b.KeptFloat, rep.Verification.MaxRelError, rep.QuantizedNodes, rep.FloatNodes)
	for _, name := range b.KeptFloat {
		for _, d := range rep.Nodes {
			if d.Node == name && d.Quantized {
				t.Errorf("%s is listed as kept float but quantized", name)
			}
		}
	}
	// Independent check against ONNX Runtime.
	ds := mustDataset(t, out.Files["model"], "examples/data/resnet_inputs.npz")
	ctx := context.Background()
	ref, err := runOutputs(ctx, fixture(t, "examples/models/resnet_small.onnx"), ds, 8, 2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := runOutputs(ctx, out.Files["model"], ds, 8, 2)
	if err != nil {
		t.Fatal(err)
	}
	if m := compare(ref, got, nil); m.MaxRelError > budget {
		t.Errorf("ORT measures %.4f max relative error, budget %.4f", m.MaxRelError, budget)
	}
}

// TestAccuracyBudgetAlreadyMet: no search when the quantized model is good.
func TestAccuracyBudgetAlreadyMet(t *testing.T) {
	_, rep, err := runStage(t, map[string]any{
		"model": "examples/models/digits_cnn.onnx", "verify_speed": false,
		"calibration": map[string]any{"data": "examples/data/digits_calib.npz"},
		"accuracy":    map[string]any{"data": "examples/data/digits_test.npz", "max_drop": 0.005},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Budget == nil || !rep.Budget.Met || len(rep.Budget.Sensitivity) != 0 || rep.FloatNodes != 0 {
		t.Fatalf("budget %+v, float nodes %d", rep.Budget, rep.FloatNodes)
	}
}

func mustDataset(t *testing.T, model, data string) *dataset {
	t.Helper()
	s, err := newSession(model)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ds, err := testDataset(fixture(t, data), s)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestAccuracyBudgetMaxDrop: dynamic INT8 loses one sequence of 512 on the
// encoder; with max_drop 0 the stage keeps layers in float until none is lost.
func TestAccuracyBudgetMaxDrop(t *testing.T) {
	_, rep, err := runStage(t, map[string]any{
		"model": "examples/models/encoder.onnx", "mode": "int8-dynamic", "verify_speed": false,
		"accuracy": map[string]any{"data": "examples/data/encoder_test.npz", "max_drop": 0.0},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, v := rep.Budget, rep.Verification
	t.Logf("kept float %v; accuracy %.4f -> %.4f", b.KeptFloat, v.Before, v.After)
	if !b.Met || v.After < v.Before {
		t.Fatalf("budget %+v, accuracy %.4f vs fp32 %.4f", b, v.After, v.Before)
	}
}

// TestAgreementBudget: resnet_small calibrated on its own inputs agrees
// with fp32 on about 90% of random inputs; with accuracy.min_agreement 0.99
// over 64 random samples (no labels, no data file) the stage keeps layers in
// float until the top-1 agreement holds, reports it, and the model it writes
// agrees on those inputs when ONNX Runtime runs it here.
func TestAgreementBudget(t *testing.T) {
	const budget, samples = 0.99, 64
	out, rep, err := runStage(t, map[string]any{
		"model": "examples/models/resnet_small.onnx", "verify_speed": false,
		"calibration": map[string]any{"data": "examples/data/resnet_inputs.npz"},
		"accuracy":    map[string]any{"samples": samples, "min_agreement": budget},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, v := rep.Budget, rep.Verification
	t.Logf("kept float %v; agreement %.4f; %d quantized, %d float", b.KeptFloat, rep.Agreement, rep.QuantizedNodes, rep.FloatNodes)
	if b == nil || !b.Met || b.MinAgreement != budget {
		t.Fatalf("budget %+v", b)
	}
	if len(b.Sensitivity) == 0 || len(b.KeptFloat) == 0 || rep.QuantizedNodes == 0 {
		t.Fatalf("expected a search that keeps some layers in float and quantizes others: %+v, %d quantized", b, rep.QuantizedNodes)
	}
	if v.Samples != samples || rep.Agreement < budget || out.Values["agreement"] != rep.Agreement {
		t.Fatalf("verification %+v, output agreement %v", v, out.Values["agreement"])
	}
	// The fully quantized model broke the budget: some layer alone flips a class.
	flips := false
	for _, e := range b.Sensitivity {
		flips = flips || e.Agreement < 1
	}
	if !flips {
		t.Errorf("no layer alone lowers the agreement: %+v", b.Sensitivity)
	}
	// Independent check: the same random inputs (seed 1), both models run
	// by ONNX Runtime here.
	s, err := newSession(fixture(t, "examples/models/resnet_small.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := evaluate.RandomData(s.Inputs(), evaluate.RandomOptions{Samples: samples, Seed: 1})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	ctx := context.Background()
	ref, err := evaluate.Run(ctx, fixture(t, "examples/models/resnet_small.onnx"), data, evaluate.Options{Batch: 16})
	if err != nil {
		t.Fatal(err)
	}
	got, err := evaluate.Run(ctx, out.Files["model"], data, evaluate.Options{Batch: 16})
	if err != nil {
		t.Fatal(err)
	}
	if a := evaluate.Top1Agreement(evaluate.Compare(ref, got, nil).Outputs, ""); a < budget {
		t.Errorf("ONNX Runtime measures top-1 agreement %.4f, budget %.2f", a, budget)
	}
}
