package prune

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// TestDigitsAccuracyTable prunes the digits CNN at 10 to 50% and prints its
// test-split accuracy (no fine-tuning), for the docs and the report. It only
// asserts what must hold: light pruning keeps most of the accuracy.
func TestDigitsAccuracyTable(t *testing.T) {
	testenv.RequireORT(t)
	labels := loadLabels(t, digitsTest)
	base := evaluate.Accuracy(runData(t, digitsModel, digitsTest), "logits", labels)
	var tab strings.Builder
	fmt.Fprintf(&tab, "digits_cnn test accuracy, unpruned %.2f%%\n", 100*base)
	fmt.Fprintf(&tab, "| strategy | scope | 10%% | 20%% | 30%% | 40%% | 50%% | params at 50%% |\n|---|---|---|---|---|---|---|---|\n")
	calib, err := evaluate.LoadData(digitsCalib)
	if err != nil {
		t.Fatal(err)
	}
	cal := &calibration{data: calib, opts: evaluate.Options{Threads: 1}}
	rows := []struct {
		strategy, scope string
		multiple        int
		cal             *calibration
	}{
		{Magnitude, "layer", 0, nil}, {Magnitude, "global", 0, nil},
		{Structured, "layer", 1, nil}, {Structured, "global", 1, nil},
		{Structured, "layer", 1, cal}, {Structured, "global", 1, cal},
		{Structured, "layer", 8, cal}, {Structured, "global", 8, cal},
	}
	for _, row := range rows {
		name := row.strategy
		if row.strategy == Structured {
			name = fmt.Sprintf("%s, channel_multiple %d", row.strategy, row.multiple)
			if row.cal != nil {
				name += ", compensated"
			}
		}
		fmt.Fprintf(&tab, "| %s | %s |", name, row.scope)
		var params int64
		for _, amount := range []float64{0.1, 0.2, 0.3, 0.4, 0.5} {
			o := Options{Strategy: row.strategy, Scope: row.scope, Amount: amount, Multiple: row.multiple, cal: row.cal}
			pruned, _ := pruneFile(t, digitsModel, o, false)
			acc := evaluate.Accuracy(runData(t, pruned, digitsTest), "logits", labels)
			fmt.Fprintf(&tab, " %.2f |", 100*acc)
			if amount == 0.1 && acc < base-0.03 {
				t.Errorf("%s %s 10%%: accuracy %.4f, unpruned %.4f", name, row.scope, acc, base)
			}
			var err error
			if params, err = loadModelStats(pruned); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Fprintf(&tab, " %d |\n", params)
	}
	t.Log("\n" + tab.String())
}
