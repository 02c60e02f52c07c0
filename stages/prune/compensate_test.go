package prune

import (
	"context"
	"fmt"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// TestCompensation: folding the removed channels' mean activations into the
// next biases must keep the rewrite exact (pruned equals masked, both
// compensated) and should not cost accuracy on the digits test split.
func TestCompensation(t *testing.T) {
	testenv.RequireORT(t)
	d, err := evaluate.LoadData(digitsTest)
	if err != nil {
		t.Fatal(err)
	}
	labels := loadLabels(t, digitsTest)
	for _, amount := range []float64{0.3, 0.5} {
		t.Run(fmt.Sprint(amount), func(t *testing.T) {
			plain := Options{Strategy: Structured, Amount: amount, Scope: "layer", Multiple: 1}
			comp := plain
			comp.cal = &calibration{data: d, opts: evaluate.Options{Threads: 1}}
			p0, _ := pruneFile(t, digitsModel, plain, false)
			p1, res := pruneFile(t, digitsModel, comp, false)
			m1, _ := pruneFile(t, digitsModel, comp, true)
			checkModel(t, p1)
			if res.Compensated == 0 {
				t.Fatal("no layer compensated")
			}
			a, b := runData(t, p1, digitsTest), runData(t, m1, digitsTest)
			if cl := evaluate.AllClose(b.Tensors["logits"], a.Tensors["logits"], 1e-4, 1e-4); cl.Exceeding > 0 {
				t.Errorf("compensated: %d logits differ from the masked model", cl.Exceeding)
			}
			acc0 := evaluate.Accuracy(runData(t, p0, digitsTest), "logits", labels)
			acc1 := evaluate.Accuracy(a, "logits", labels)
			t.Logf("amount %v: accuracy %.4f plain, %.4f compensated (%d layers)", amount, acc0, acc1, res.Compensated)
		})
	}
}

// TestCompensationEncoder: on the encoder the pruned feed-forward layers'
// channels reach the second MatMul as [N, seq, 256]; their means are per
// last-axis feature and go into the bias Add after it.
func TestCompensationEncoder(t *testing.T) {
	testenv.RequireORT(t)
	d, err := evaluate.LoadData(encoderData)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Strategy: Structured, Amount: 0.5, Multiple: 1}
	plain, _ := pruneFile(t, encoderModel, o, false)
	o.cal = &calibration{data: d, opts: evaluate.Options{Threads: 1}}
	comp, res := pruneFile(t, encoderModel, o, false)
	masked, _ := pruneFile(t, encoderModel, o, true)
	if res.Compensated != 2 {
		t.Errorf("%d layers compensated, want the two second feed-forward MatMuls", res.Compensated)
	}
	ref := runData(t, encoderModel, encoderData)
	a, b := runData(t, comp, encoderData), runData(t, masked, encoderData)
	if cl := evaluate.AllClose(b.Tensors["logits"], a.Tensors["logits"], 1e-4, 1e-4); cl.Exceeding > 0 {
		t.Errorf("compensated: %d logits differ from the masked model", cl.Exceeding)
	}
	labels := loadLabels(t, encoderData)
	t.Logf("encoder, 50%% of feed-forward channels: accuracy %.4f -> %.4f plain, %.4f compensated",
		evaluate.Accuracy(ref, "logits", labels), evaluate.Accuracy(runData(t, plain, encoderData), "logits", labels),
		evaluate.Accuracy(a, "logits", labels))
}

// TestApplyCalibration: a library caller compensates through Options.Calibration.
func TestApplyCalibration(t *testing.T) {
	testenv.RequireORT(t)
	arrays, err := runtime.LoadNPZ(digitsCalib)
	if err != nil {
		t.Fatal(err)
	}
	m := loadProto(t, digitsModel)
	res, err := Apply(context.Background(), m, Options{Strategy: Structured, Amount: 0.3, Calibration: arrays})
	if err != nil {
		t.Fatal(err)
	}
	if res.Compensated == 0 || res.RemovedChannels == 0 {
		t.Errorf("compensated %d layers, removed %d channels", res.Compensated, res.RemovedChannels)
	}
}
